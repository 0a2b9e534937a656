/**
 * A Hub-layout model directory with the project's generated BERT, written to a temp
 * directory: `config.json`, the tokenizer files of `../shared/models/all-MiniLM-L6-v2`
 * (read from there, never copied into the repository), sentence-transformers pooling and
 * modules files, and `onnx/model.onnx`.
 *
 * @example
 * ```ts
 * import { makeTestModel } from "./test_model.ts";
 * const { dir, weights } = await makeTestModel({ hidden: 32, layers: 2 });
 * console.log(dir, weights.hidden);
 * ```
 * @module
 */
import { bertOnnx, type BertShape, type BertWeights, bertWeights } from "./bert_model.ts";
import { shared } from "./paths.ts";

/** A generated model on disk. */
export interface TestModel {
  dir: string;
  weights: BertWeights;
  onnx: Uint8Array;
}

/** Writes a generated model directory (tokenizer from shared MiniLM). */
export async function makeTestModel(
  shape: Partial<BertShape> = {},
  extra: { pooling?: Record<string, boolean>; normalize?: boolean } = {},
): Promise<TestModel> {
  const tokDir = shared("models/all-MiniLM-L6-v2");
  const tokenizerJson = await Deno.readTextFile(`${tokDir}/tokenizer.json`);
  const vocabSize = Object.keys(JSON.parse(tokenizerJson).model.vocab).length;
  const weights = bertWeights({
    vocabSize,
    hidden: 32,
    layers: 2,
    heads: 4,
    intermediate: 64,
    maxPositions: 512,
    ...shape,
  });
  const onnx = bertOnnx(weights);
  const dir = await Deno.makeTempDir({ prefix: "embedge-test-model-" });
  await Deno.mkdir(`${dir}/onnx`);
  await Deno.mkdir(`${dir}/1_Pooling`);
  await Deno.writeFile(`${dir}/onnx/model.onnx`, onnx);
  await Deno.writeTextFile(`${dir}/tokenizer.json`, tokenizerJson);
  await Deno.copyFile(`${tokDir}/tokenizer_config.json`, `${dir}/tokenizer_config.json`);
  await Deno.writeTextFile(
    `${dir}/config.json`,
    JSON.stringify({
      model_type: "bert",
      hidden_size: weights.hidden,
      num_hidden_layers: weights.layers,
      num_attention_heads: weights.heads,
      intermediate_size: weights.intermediate,
      max_position_embeddings: weights.maxPositions,
      vocab_size: vocabSize,
    }),
  );
  await Deno.writeTextFile(
    `${dir}/1_Pooling/config.json`,
    JSON.stringify(extra.pooling ?? { pooling_mode_mean_tokens: true }),
  );
  const modules = [
    { idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer" },
    { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" },
  ];
  if (extra.normalize ?? true) {
    modules.push({
      idx: 2,
      name: "2",
      path: "2_Normalize",
      type: "sentence_transformers.models.Normalize",
    });
  }
  await Deno.writeTextFile(`${dir}/modules.json`, JSON.stringify(modules));
  return { dir, weights, onnx };
}
