/**
 * The generated BERT in a temp directory, with the tokenizer of
 * `../shared/models/all-MiniLM-L6-v2`.
 *
 * @example
 * ```ts
 * import { makeTestModel } from "./test_model.ts";
 * const { dir, weights } = await makeTestModel({ hidden: 32, layers: 2 });
 * console.log(dir, weights.hidden);
 * ```
 * @module
 */
import type { BertShape, BertWeights } from "../../src/model/fixtures/generated_bert.ts";
import {
  type GeneratedModelOptions,
  writeGeneratedModel,
} from "../../src/model/fixtures/demo_model.ts";
import { shared, tempDir } from "./paths.ts";

/** A generated model on disk. */
export interface TestModel {
  dir: string;
  weights: BertWeights;
  onnx: Uint8Array;
}

/**
 * Writes a generated model directory (tokenizer from shared MiniLM) into a temp dir;
 * `json` adds JSON files by path (e.g. `config_sentence_transformers.json` with prompts).
 */
export async function makeTestModel(
  shape: Partial<BertShape> = {},
  options: GeneratedModelOptions = {},
  json: Record<string, unknown> = {},
): Promise<TestModel> {
  const dir = await tempDir("embedge-test-model-");
  const { weights, onnx } = await writeGeneratedModel(
    dir,
    shared("models/all-MiniLM-L6-v2"),
    shape,
    options,
  );
  for (const [path, value] of Object.entries(json)) {
    await Deno.writeTextFile(`${dir}/${path}`, JSON.stringify(value));
  }
  return { dir, weights, onnx };
}
