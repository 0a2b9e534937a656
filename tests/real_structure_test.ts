/**
 * The real all-MiniLM-L6-v2 export structure (`../shared/models/all-MiniLM-L6-v2/
 * onnx-graph-only/model.onnx`: opset 18, 104 weights in an external-data file, no
 * token_type_ids input, pooler output named `tanh`) with the external-data file filled by
 * seeded values of the right layout: a runnable model of the real structure (meaningless
 * outputs, real latency). Checks loading, input/output detection and onnxruntime-web
 * against onnxruntime-node.
 */
import * as ortNode from "onnxruntime-node";
import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { hasShared, shared, tempDir } from "./support/paths.ts";
import { writeMiniLmStructure } from "./support/minilm_structure.ts";
import { Embedder } from "../src/model/embedder.ts";
import { ModelLoadError } from "../src/errors.ts";

const GRAPH = "models/all-MiniLM-L6-v2/onnx-graph-only/model.onnx";
const ignore = !hasShared(GRAPH);

const model = ignore
  ? null
  : await writeMiniLmStructure(shared("models/all-MiniLM-L6-v2"), await tempDir("embedge-minilm-"));

Deno.test({
  name: "real MiniLM structure: external data, no token_type_ids, pooler named tanh",
  ignore,
  async fn() {
    const e = await Embedder.load(model!.dir);
    assertEquals(e.info.hiddenSize, 384);
    assertEquals(e.info.hasTokenTypes, false);
    assertEquals(e.info.hasPooler, true);
    assertEquals(e.info.pooling, "mean");
    assertEquals(e.info.normalize, true);
    assertEquals(e.info.maxLength, 512);
    const out = await e.embed(["I love Paris.", "I adore Paris.", "I hate traffic."]);
    assertEquals(out.dims, [3, 384]);
    assert(out.data.every(Number.isFinite));
    const pooled = await e.embed(["I love Paris."], { pooling: "pooler" });
    assertEquals(pooled.dims, [1, 384]);
    await e.close();
  },
});

Deno.test({
  name:
    "real MiniLM structure: the WASM backend (embedge's kernels) equals onnxruntime-node within 1e-5",
  ignore,
  async fn() {
    const e = await Embedder.load(model!.dir, { backend: "wasm" });
    assertEquals(e.info.engine, "embedge-kernels");
    const session = await ortNode.InferenceSession.create(`${model!.dir}/onnx/model.onnx`);
    const texts = Deno.readTextFileSync(shared("corpus/big.txt")).split("\n").filter((l) =>
      l.trim()
    ).slice(0, 16);
    const b = e.tokenizer.encodeBatch(texts, { maxLength: 128, truncation: true });
    const dims = [b.batchSize, b.sequenceLength];
    const native = await session.run({
      input_ids: new ortNode.Tensor("int64", b.inputIds, dims),
      attention_mask: new ortNode.Tensor("int64", b.attentionMask, dims),
    });
    const web = await e.session.run(
      b.inputIds,
      b.attentionMask,
      b.tokenTypeIds,
      b.batchSize,
      b.sequenceLength,
    );
    const n = native.last_hidden_state.data as Float32Array;
    let maxDiff = 0, maxAbs = 0;
    for (let r = 0; r < b.batchSize; r++) {
      for (let s = 0; s < b.lengths[r]; s++) {
        for (let k = 0; k < 384; k++) {
          const at = (r * b.sequenceLength + s) * 384 + k;
          maxDiff = Math.max(maxDiff, Math.abs(web.hidden[at] - n[at]));
          maxAbs = Math.max(maxAbs, Math.abs(n[at]));
        }
      }
    }
    assert(maxDiff / maxAbs < 1e-5, `relative difference ${maxDiff / maxAbs}`);
    await e.close();
  },
});

Deno.test({
  name: "real MiniLM structure: a missing external-data file is a ModelLoadError naming it",
  ignore,
  async fn() {
    const dir = await tempDir();
    await Deno.mkdir(`${dir}/onnx`);
    await Deno.copyFile(shared(GRAPH), `${dir}/onnx/model.onnx`);
    await Deno.copyFile(shared("models/all-MiniLM-L6-v2/tokenizer.json"), `${dir}/tokenizer.json`);
    await assertRejects(() => Embedder.load(dir), ModelLoadError, model!.location);
  },
});

Deno.test({
  name:
    "real MiniLM structure: equals transformers.js feature-extraction within 1e-5 (mean, normalize)",
  ignore,
  async fn() {
    // transformers.js reads the external data as onnx/model.onnx_data: a linked copy
    const root = await tempDir("embedge-tjs-");
    const dir = `${root}/minilm-structure`;
    await Deno.mkdir(`${dir}/onnx`, { recursive: true });
    for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json", "onnx/model.onnx"]) {
      await Deno.link(`${model!.dir}/${f}`, `${dir}/${f}`);
    }
    await Deno.link(`${model!.dir}/onnx/${model!.location}`, `${dir}/onnx/${model!.location}`);
    if (model!.location !== "model.onnx_data") {
      await Deno.link(`${model!.dir}/onnx/${model!.location}`, `${dir}/onnx/model.onnx_data`);
    }
    const tf = await import("@huggingface/transformers");
    tf.env.allowRemoteModels = false;
    tf.env.localModelPath = `${root}/`;
    const extractor = await tf.pipeline("feature-extraction", "minilm-structure", {
      dtype: "fp32",
      use_external_data_format: true,
    } as never);
    const e = await Embedder.load(model!.dir);
    // inputs within the max length (transformers.js drops [SEP] when it truncates)
    const texts = Deno.readTextFileSync(shared("corpus/big.txt")).split("\n")
      .filter((l) => l.trim().length > 20 && e.tokenizer.encode(l).ids.length <= 128)
      .slice(0, 64);
    assertEquals(texts.length, 64);
    const ours = await e.embed(texts, { pooling: "mean", normalize: true });
    const theirs = await extractor(texts, { pooling: "mean", normalize: true });
    assertEquals(theirs.dims, ours.dims);
    const t = theirs.data as Float32Array;
    let maxDiff = 0;
    for (let i = 0; i < t.length; i++) maxDiff = Math.max(maxDiff, Math.abs(t[i] - ours.data[i]));
    assert(maxDiff < 1e-5, `max difference ${maxDiff}`);
    await extractor.dispose();
    await e.close();
  },
});
