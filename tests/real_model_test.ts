/**
 * Real pretrained weights, picked up automatically from `../shared/models/<name>/onnx/
 * model.onnx` when present (none are there today: these tests are then skipped):
 * embeddings equal onnxruntime-node within 1e-5 and transformers.js feature-extraction
 * (mean + normalize) within 1e-4 on 200 sentences of big.txt, and
 * cosine("I love Paris.", "I adore Paris.") > cosine("I love Paris.", "I hate traffic.").
 */
import * as ortNode from "onnxruntime-node";
import { assert } from "./support/assert.ts";
import { shared } from "./support/paths.ts";
import { Embedder } from "../src/model/embedder.ts";
import { cosine } from "../src/model/similarity.ts";

const models: string[] = [];
try {
  for (const d of Deno.readDirSync(shared("models"))) {
    try {
      Deno.statSync(shared(`models/${d.name}/onnx/model.onnx`));
      models.push(d.name);
    } catch { /* no weights */ }
  }
} catch { /* no shared models */ }

const sentences = (() => {
  try {
    return Deno.readTextFileSync(shared("corpus/big.txt")).split("\n").filter((l) =>
      l.trim().length > 20
    )
      .slice(0, 200);
  } catch {
    return [];
  }
})();

if (models.length === 0) {
  // reported as ignored: there is nothing to check without weights
  Deno.test({
    name: "real weights: none under ../shared/models/*/onnx/model.onnx",
    ignore: true,
    fn() {},
  });
}

for (const name of models) {
  const dir = shared(`models/${name}`);

  Deno.test(`real weights ${name}: equals onnxruntime-node within 1e-5`, async () => {
    const e = await Embedder.load(dir);
    const native = await ortNode.InferenceSession.create(`${dir}/onnx/model.onnx`);
    const b = e.tokenizer.encodeBatch(sentences.slice(0, 32), { maxLength: 128, truncation: true });
    const dims = [b.batchSize, b.sequenceLength];
    const feeds: Record<string, ortNode.Tensor> = {
      input_ids: new ortNode.Tensor("int64", b.inputIds, dims),
      attention_mask: new ortNode.Tensor("int64", b.attentionMask, dims),
    };
    if (e.info.hasTokenTypes) {
      feeds.token_type_ids = new ortNode.Tensor("int64", b.tokenTypeIds, dims);
    }
    const out = await native.run(feeds);
    const n = out[e.session.hiddenOutput].data as Float32Array;
    const w = await e.session.run(
      b.inputIds,
      b.attentionMask,
      b.tokenTypeIds,
      b.batchSize,
      b.sequenceLength,
    );
    let maxDiff = 0, maxAbs = 0;
    for (let i = 0; i < n.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(n[i] - w.hidden[i]));
      maxAbs = Math.max(maxAbs, Math.abs(n[i]));
    }
    assert(maxDiff / maxAbs < 1e-5, `relative difference ${maxDiff / maxAbs}`);
    await e.close();
  });

  Deno.test(`real weights ${name}: equals transformers.js feature-extraction within 1e-4`, async () => {
    const tf = await import("@huggingface/transformers");
    tf.env.allowRemoteModels = false;
    tf.env.localModelPath = shared("models") + "/";
    const extractor = await tf.pipeline("feature-extraction", name, { dtype: "fp32" });
    const e = await Embedder.load(dir);
    const ours = await e.embed(sentences, { pooling: "mean", normalize: true });
    const theirs = await extractor(sentences, { pooling: "mean", normalize: true });
    const t = theirs.data as Float32Array;
    let maxDiff = 0;
    for (let i = 0; i < t.length; i++) maxDiff = Math.max(maxDiff, Math.abs(t[i] - ours.data[i]));
    assert(maxDiff < 1e-4, `max difference ${maxDiff}`);
    await e.close();
  });

  Deno.test(`real weights ${name}: love/adore closer than love/hate`, async () => {
    const e = await Embedder.load(dir);
    const v = await e.embed(["I love Paris.", "I adore Paris.", "I hate traffic."]);
    const d = v.dims[1];
    const row = (i: number) => v.data.subarray(i * d, (i + 1) * d);
    assert(cosine(row(0), row(1)) > cosine(row(0), row(2)));
    await e.close();
  });
}
