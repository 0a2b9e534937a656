/**
 * The embedding engine on the project's generated BERT: onnxruntime-web against the
 * float64 reference forward pass and onnxruntime-node, pooling math against hand-computed
 * values, padding and batching invariance, word vectors, and typed errors.
 */
import * as ortNode from "onnxruntime-node";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertRejects,
  assertThrows,
} from "./support/assert.ts";
import { bertOnnx, bertWeights } from "../src/model/fixtures/generated_bert.ts";
import { referenceForward, renameInput } from "./support/bert_reference.ts";
import { hasShared } from "./support/paths.ts";
import { makeTestModel } from "./support/test_model.ts";
import { Embedder, MAX_BATCH_TOKENS } from "../src/model/embedder.ts";
import type { ModelSession } from "../src/model/engine/session.ts";
import type { Tokenizer } from "../src/tokenizer/tokenizer.ts";
import { normalizeRows, pool } from "../src/model/pooling.ts";
import { cosine, dot, topK } from "../src/model/similarity.ts";
import { InputError, InputTooLongError, ModelLoadError } from "../src/errors.ts";

const ignore = !hasShared("models/all-MiniLM-L6-v2/tokenizer.json");
const model = ignore ? null : await makeTestModel({ seed: 7 });
const embedder = ignore ? null : await Embedder.load(model!.dir, { modelId: "embedge-test-bert" });
// the portable build, loaded explicitly (the default picks native where it loads)
const wasmEmbedder = ignore
  ? null
  : await Embedder.load(model!.dir, { modelId: "embedge-test-bert", backend: "wasm" });

const TEXTS = [
  "I love Paris.",
  "I adore Paris.",
  "I hate traffic.",
  "The quick brown fox jumps over the lazy dog near the riverbank at dawn.",
  "Unaffable tokenizers don't break on héllo wörld or 東京.",
];

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-12);
}

Deno.test({
  name:
    "generated BERT: every engine (onnxruntime-node, embedge's WASM kernels, onnxruntime-web) equals the float64 reference within 1e-4",
  ignore,
  async fn() {
    assertEquals(wasmEmbedder!.info.backend, "wasm");
    assertEquals(wasmEmbedder!.info.engine, "embedge-kernels");
    const ortWeb = await Embedder.load(model!.dir, { backend: "wasm", kernels: false });
    assertEquals(ortWeb.info.engine, "onnxruntime-web");
    for (const e of [embedder!, wasmEmbedder!, ortWeb]) {
      const toks = await e.embedTokens(TEXTS);
      for (let i = 0; i < TEXTS.length; i++) {
        const ids = Array.from(toks[i].ids);
        const ref = referenceForward(
          model!.weights,
          [ids],
          [ids.map(() => 1)],
          [ids.map(() => 0)],
        );
        const err = relErr(toks[i].vectors, ref.hidden[0].flat());
        assert(err < 1e-4, `${e.info.engine} text ${i}: relative error ${err}`);
      }
    }
    await ortWeb.close();
  },
});

Deno.test({
  name: "generated BERT: onnxruntime-web equals onnxruntime-node (native) within 1e-5",
  ignore,
  async fn() {
    const session = await ortNode.InferenceSession.create(model!.onnx);
    const batch = embedder!.tokenizer.encodeBatch(TEXTS);
    const dims = [batch.batchSize, batch.sequenceLength];
    const out = await session.run({
      input_ids: new ortNode.Tensor("int64", batch.inputIds, dims),
      attention_mask: new ortNode.Tensor("int64", batch.attentionMask, dims),
      token_type_ids: new ortNode.Tensor("int64", batch.tokenTypeIds, dims),
    });
    const native = out.last_hidden_state.data as Float32Array;
    const web = await wasmEmbedder!.session.run(
      batch.inputIds,
      batch.attentionMask,
      batch.tokenTypeIds,
      batch.batchSize,
      batch.sequenceLength,
    );
    const h = web.hiddenSize;
    // compare real tokens only (padded positions carry no meaning)
    for (let r = 0; r < batch.batchSize; r++) {
      for (let s = 0; s < batch.lengths[r]; s++) {
        const at = (r * batch.sequenceLength + s) * h;
        const err = relErr(web.hidden.subarray(at, at + h), native.subarray(at, at + h));
        assert(err < 1e-5, `row ${r} token ${s}: ${err}`);
      }
    }
    const pooled = web.pooler!, nativePooled = out.pooler_output.data as Float32Array;
    assert(relErr(pooled, nativePooled) < 1e-5, "pooler output differs");
  },
});

Deno.test({
  name: "padding longest, fixed 16/128 and buckets, and any batch split give the same vectors",
  ignore,
  async fn() {
    const base = await embedder!.embed(TEXTS, { normalize: false });
    for (
      const o of [
        { padding: "max_length", maxLength: 128 },
        { padding: "buckets" },
        { batchTokens: 1 }, // one input per run
        { batchTokens: 40 },
      ] as const
    ) {
      const other = await embedder!.embed(TEXTS, { normalize: false, ...o });
      assertEquals(other.dims, base.dims);
      assert(
        relErr(other.data, base.data) < 1e-5,
        `${JSON.stringify(o)}: ${relErr(other.data, base.data)}`,
      );
    }
    // fixed 16 truncates the long inputs: the short ones are unchanged
    const fixed16 = await embedder!.embed(TEXTS.slice(0, 3), {
      padding: "max_length",
      maxLength: 16,
      normalize: false,
    });
    assert(relErr(fixed16.data, base.data.subarray(0, fixed16.data.length)) < 1e-5);
    assertEquals(
      Array.from(base.tokenCounts),
      TEXTS.map((t) => embedder!.tokenizer.encode(t).ids.length),
    );
  },
});

Deno.test({
  name: "sentence pooling from token vectors: cls, mean, max, mean_max, pooler; normalize",
  ignore,
  async fn() {
    const toks = await embedder!.embedTokens(TEXTS);
    const h = embedder!.info.hiddenSize;
    assertEquals(h, 32);
    assertEquals(embedder!.info.pooling, "mean"); // from 1_Pooling/config.json
    assertEquals(embedder!.info.normalize, true); // modules.json has Normalize
    for (const pooling of ["cls", "mean", "max", "mean_max"] as const) {
      const e = await embedder!.embed(TEXTS, { pooling, normalize: false });
      assertEquals(e.dims, [TEXTS.length, pooling === "mean_max" ? 2 * h : h]);
      toks.forEach((t, i) => {
        const n = t.ids.length;
        const col = (k: number) => Array.from({ length: n }, (_, s) => t.vectors[s * h + k]);
        const expect = pooling === "cls"
          ? col.length && Array.from({ length: h }, (_, k) => col(k)[0])
          : pooling === "mean"
          ? Array.from({ length: h }, (_, k) => col(k).reduce((a, b) => a + b, 0) / n)
          : pooling === "max"
          ? Array.from({ length: h }, (_, k) => Math.max(...col(k)))
          : [
            ...Array.from({ length: h }, (_, k) => col(k).reduce((a, b) => a + b, 0) / n),
            ...Array.from({ length: h }, (_, k) => Math.max(...col(k))),
          ];
        const got = e.data.subarray(i * e.dims[1], (i + 1) * e.dims[1]);
        assert(relErr(got, expect as number[]) < 1e-5, `${pooling} row ${i}`);
      });
    }
    const pooler = await embedder!.embed(TEXTS, { pooling: "pooler", normalize: false });
    const ids = Array.from(toks[0].ids);
    const ref = referenceForward(model!.weights, [ids], [ids.map(() => 1)], [ids.map(() => 0)]);
    assert(relErr(pooler.data.subarray(0, h), ref.pooler[0]) < 1e-4);
    const normed = await embedder!.embed(TEXTS);
    assert(normed.normalized);
    for (let i = 0; i < TEXTS.length; i++) {
      const row = normed.data.subarray(i * h, (i + 1) * h);
      assertAlmostEquals(Math.sqrt(dot(row, row)), 1, 1e-5);
    }
  },
});

Deno.test("pooling math against hand-computed values, masks respected", () => {
  // 2 rows × 3 tokens × 2 dims; row 0 has 2 real tokens, row 1 has 3
  const hidden = Float32Array.of(1, 2, 3, -4, 99, 99, 0, 1, 2, 3, -2, 8);
  const mask = BigInt64Array.of(1n, 1n, 0n, 1n, 1n, 1n);
  assertEquals(Array.from(pool(hidden, mask, 2, 3, 2, "cls")), [1, 2, 0, 1]);
  assertEquals(Array.from(pool(hidden, mask, 2, 3, 2, "mean")), [2, -1, 0, 4]);
  assertEquals(Array.from(pool(hidden, mask, 2, 3, 2, "max")), [3, 2, 2, 8]);
  assertEquals(Array.from(pool(hidden, mask, 2, 3, 2, "mean_max")), [2, -1, 3, 2, 0, 4, 2, 8]);
  assertEquals(normalizeRows(Float32Array.of(3, 4, 0, 0), 2, 2), Float32Array.of(0.6, 0.8, 0, 0));
  assertThrows(() => pool(hidden, BigInt64Array.of(0n, 0n, 0n), 1, 3, 2, "mean"), InputError);
});

Deno.test("similarity helpers", () => {
  assertAlmostEquals(cosine([1, 0], [0, 1]), 0, 1e-12);
  assertAlmostEquals(cosine([1, 2], [2, 4]), 1, 1e-12);
  assertEquals(cosine([0, 0], [1, 1]), 0);
  const m = Float32Array.of(1, 0, 0, 1, 0.7, 0.7);
  assertEquals(topK([1, 0.1], m, 2, 2).map((h) => h.index), [0, 2]);
  assertEquals(topK([1, 0.1], m, 2, 5, "dot").length, 3);
  assertThrows(() => dot([1], [1, 2]), InputError);
});

Deno.test({
  name: "word vectors: one per word, first or mean of its subwords",
  ignore,
  async fn() {
    const [words] = await embedder!.embedWords(["Unaffable Paris"], { aggregate: "mean" });
    assertEquals(words.words, ["Unaffable", "Paris"]);
    const [toks] = await embedder!.embedTokens(["Unaffable Paris"]);
    const h = toks.hiddenSize;
    // tokens: [CLS] una ##ffa ##ble paris [SEP]
    const mean = Array.from(
      { length: h },
      (_, k) => (toks.vectors[1 * h + k] + toks.vectors[2 * h + k] + toks.vectors[3 * h + k]) / 3,
    );
    assert(relErr(words.vectors.subarray(0, h), mean) < 1e-5);
    const [first] = await embedder!.embedWords(["Unaffable Paris"], { aggregate: "first" });
    assert(relErr(first.vectors.subarray(0, h), toks.vectors.subarray(h, 2 * h)) < 1e-6);
    assert(relErr(first.vectors.subarray(h, 2 * h), toks.vectors.subarray(4 * h, 5 * h)) < 1e-6);
  },
});

Deno.test({
  name: "bad input and bad models give typed errors naming the problem",
  ignore,
  async fn() {
    const e = embedder!;
    await assertRejects(() => e.embed([]), InputError, "empty");
    const empty = await assertRejects(() => e.embed(["ok", ""]), InputError);
    assertEquals(empty.param, "inputs[1]");
    await assertRejects(() => e.embed(["ok", 3 as unknown as string]), InputError, "string");
    await assertRejects(() => e.embed("text" as unknown as string[]), InputError, "array");
    await assertRejects(
      () => e.embed(["x"], { pooling: "median" as "mean" }),
      InputError,
      "pooling",
    );
    await assertRejects(() => e.embed(["x"], { maxLength: 100000 }), InputError, "maxLength");
    const long = "word ".repeat(600);
    await assertRejects(() => e.embed([long], { truncate: false }), InputTooLongError, "512");
    assertEquals((await e.embed([long])).tokenCounts[0], 512);
    await assertRejects(
      () => Embedder.load("/nonexistent/model/dir"),
      ModelLoadError,
      "no model files",
    );
    // corrupt ONNX
    const bad = await makeTestModel({ seed: 1, layers: 1 });
    await Deno.writeFile(`${bad.dir}/onnx/model.onnx`, bad.onnx.subarray(0, 1000));
    const corrupt = await assertRejects(() => Embedder.load(bad.dir), ModelLoadError, "ONNX");
    assertEquals(corrupt.param, "onnx");
    // well-framed bytes that are not a graph reach onnxruntime, whose error is wrapped
    await Deno.writeFile(`${bad.dir}/onnx/model.onnx`, new TextEncoder().encode("\x0a\x03abc"));
    await assertRejects(() => Embedder.load(bad.dir), ModelLoadError, "onnxruntime");
    // a model without the expected inputs
    const w = bertWeights({ vocabSize: 30522, hidden: 8, layers: 1, heads: 2, intermediate: 8 });
    await Deno.writeFile(
      `${bad.dir}/onnx/model.onnx`,
      renameInput(bertOnnx(w), "input_ids", "tokens"),
    );
    await assertRejects(() => Embedder.load(bad.dir), ModelLoadError, "input_ids");
    // no pooler exported
    const noPooler = await makeTestModel({
      seed: 2,
      layers: 1,
      pooler: false,
      tokenTypeInput: false,
    });
    const np = await Embedder.load(noPooler.dir);
    assertEquals(np.info.hasPooler, false);
    assertEquals(np.info.hasTokenTypes, false);
    await assertRejects(() => np.embed(["x"], { pooling: "pooler" }), InputError, "pooler");
    await np.close();
  },
});

Deno.test({
  name: "similarity plumbing: a near-duplicate ranks above an unrelated sentence (generated model)",
  ignore,
  async fn() {
    // A seeded random model has no semantics, so this checks only that near-identical
    // token sequences stay close; the love/adore/hate check needs real weights
    // (tests/real_model_test.ts).
    const e = await embedder!.embed(["I love Paris.", "I love Paris!", "Traffic jams."]);
    const d = e.dims[1];
    const v = (i: number) => e.data.subarray(i * d, (i + 1) * d);
    assert(cosine(v(0), v(1)) > cosine(v(0), v(2)));
  },
});

Deno.test({
  name: "layers: every hidden state equals the float64 reference; mean and concat mixes",
  ignore,
  async fn() {
    const n = model!.weights.layers;
    assertEquals(embedder!.info.layers, n);
    assert(embedder!.info.layerStates, "the generated graph's layers are found");
    let compared = 0;
    for (const text of TEXTS.slice(0, 3)) {
      const ids = Array.from(embedder!.tokenizer.encode(text).ids);
      const ref = referenceForward(model!.weights, [ids], [ids.map(() => 1)], [ids.map(() => 0)]);
      for (let k = 0; k <= n; k++) {
        // the same state by its index and by its index from the end
        for (const index of [k, k - n - 1]) {
          const [t] = await embedder!.embedTokens([text], { layers: [index] });
          const err = relErr(t.vectors, ref.states[k][0].flat());
          assert(err < 1e-4, `${JSON.stringify(text)} layer ${index}: relative error ${err}`);
          compared++;
        }
      }
      // mean of the last two layers, per token
      const [mixed] = await embedder!.embedTokens([text], { layers: [-2, -1] });
      const mean = ref.states[n - 1][0].flat().map((v, i) => (v + ref.states[n][0].flat()[i]) / 2);
      assert(relErr(mixed.vectors, mean) < 1e-4, "mean of layers -2 and -1");
      // concatenation, in the order given: [CLS] of the embeddings then of the last layer
      const cat = await embedder!.embed([text], {
        layers: [0, -1],
        layerMix: "concat",
        pooling: "cls",
        normalize: false,
      });
      assertEquals(cat.dims, [1, 2 * model!.weights.hidden]);
      const expected = [...ref.states[0][0][0], ...ref.states[n][0][0]];
      assert(relErr(cat.data, expected) < 1e-4, "concat of layers 0 and -1");
      compared += 2;
    }
    assertEquals(compared, 3 * (2 * (n + 1) + 2));
    // the default is the last layer
    const last = await embedder!.embed(TEXTS, { layers: [-1] });
    const plain = await embedder!.embed(TEXTS);
    assertEquals(Array.from(last.data), Array.from(plain.data));
    // word vectors read the chosen layer too
    const [w2] = await embedder!.embedWords(["I love Paris"], { layers: [1] });
    const [t1] = await embedder!.embedTokens(["I love Paris"], { layers: [1] });
    const h = t1.hiddenSize;
    assertEquals(Array.from(w2.vectors.subarray(0, h)), Array.from(t1.vectors.subarray(h, 2 * h)));
  },
});

Deno.test({
  name: "layers: bad values and a graph without found layers give InputError naming the field",
  ignore,
  async fn() {
    const n = model!.weights.layers;
    for (
      const [layers, param] of [
        [[], "layers"],
        [[n + 1], "layers[0]"],
        [[-1, -(n + 2)], "layers[1]"],
        [[0.5], "layers[0]"],
        [["1"], "layers[0]"],
        [[-1, n], "layers"], // the same layer twice
        ["-1", "layers"],
      ] as [unknown, string][]
    ) {
      const err = await assertRejects(
        () => embedder!.embed(["x"], { layers: layers as number[] }),
        InputError,
      );
      assertEquals(err.param, param, JSON.stringify(layers));
    }
    const mix = await assertRejects(
      () => embedder!.embed(["x"], { layers: [-2, -1], layerMix: "sum" as "mean" }),
      InputError,
    );
    assertEquals(mix.param, "layerMix");
    const pooler = await assertRejects(
      () => embedder!.embed(["x"], { layers: [-2], pooling: "pooler" }),
      InputError,
    );
    assertEquals(pooler.param, "pooling");
    // a config that disagrees with the graph's layer count: only the last layer is offered
    const other = await makeTestModel({ seed: 3, layers: 2 });
    const config = JSON.parse(await Deno.readTextFile(`${other.dir}/config.json`));
    await Deno.writeTextFile(
      `${other.dir}/config.json`,
      JSON.stringify({ ...config, num_hidden_layers: 3 }),
    );
    const e = await Embedder.load(other.dir);
    assertEquals(e.info.layerStates, false);
    await e.embed(["x"], { layers: [-1] });
    const none = await assertRejects(() => e.embed(["x"], { layers: [-2] }), InputError);
    assertEquals(none.param, "layers");
    // the refusal and info.notes name the mismatch, not a graph whose layers were not found
    const mismatch = "config.json says num_hidden_layers 3 but the graph shows 2 encoder layers";
    assert(none.message.includes(mismatch), none.message);
    assert(e.info.notes.some((note) => note.includes(mismatch)), e.info.notes.join("; "));
    await e.close();
  },
});

Deno.test({
  name: "embedMany: several poolings and layers from one run equal separate embed calls",
  ignore,
  async fn() {
    const variants = [
      { pooling: "cls" },
      { pooling: "mean", normalize: true },
      { pooling: "max", layers: [0] },
      { pooling: "mean_max", layers: [-2, -1], layerMix: "concat" },
      { pooling: "pooler" },
      { pooling: "mean", layers: [0, 1, 2], layerMix: "mean", normalize: false },
    ] as const;
    // count model runs: the session's run, wrapped
    const session = embedder!.session as { run: ModelSession["run"] };
    const run = session.run;
    let runs = 0;
    session.run = (...args) => (runs++, run(...args));
    let many, single;
    try {
      many = await embedder!.embedMany(TEXTS, variants as never);
      const before = runs;
      await embedder!.embed(TEXTS);
      single = runs - before;
      runs = before;
    } finally {
      session.run = run;
    }
    assertEquals(many.length, variants.length);
    for (const [i, v] of variants.entries()) {
      const alone = await embedder!.embed(TEXTS, v as never);
      assertEquals(many[i].dims, alone.dims, JSON.stringify(v));
      assertEquals(Array.from(many[i].data), Array.from(alone.data), JSON.stringify(v));
      assertEquals(many[i].pooling, alone.pooling);
      assertEquals(many[i].normalized, alone.normalized);
    }
    // one pass over the texts, not one per variant
    assertEquals(runs, single, "model runs of embedMany vs one embed");
    await assertRejects(() => embedder!.embedMany(TEXTS, []), InputError, "variants");
  },
});

Deno.test({
  name: "backends: native and wasm give the same vectors within 1e-4; auto picks native here",
  ignore,
  async fn() {
    // onnxruntime-node is installed with the dev dependencies: auto must find it
    assertEquals(embedder!.info.backend, "native");
    for (const pooling of ["cls", "mean", "pooler"] as const) {
      const a = await embedder!.embed(TEXTS, { pooling, normalize: false });
      const b = await wasmEmbedder!.embed(TEXTS, { pooling, normalize: false });
      assertEquals(a.dims, b.dims);
      const d = a.data.reduce((m, v, i) => Math.max(m, Math.abs(v - b.data[i])), 0);
      assert(d < 1e-4, `${pooling}: max difference ${d}`);
    }
    const layered = await embedder!.embed(TEXTS, { layers: [0, -1], layerMix: "concat" });
    const layeredWasm = await wasmEmbedder!.embed(TEXTS, { layers: [0, -1], layerMix: "concat" });
    const d = layered.data.reduce((m, v, i) => Math.max(m, Math.abs(v - layeredWasm.data[i])), 0);
    assert(d < 1e-4, `layers: max difference ${d}`);
    const threaded = await Embedder.load(model!.dir, { backend: "native", threads: 1 });
    assertEquals(threaded.info.threads, 1);
    await threaded.close();
    for (const bad of [-1, 1.5, 1000]) {
      const err = await assertRejects(
        () => Embedder.load(model!.dir, { threads: bad }),
        InputError,
      );
      assertEquals(err.param, "threads");
    }
    const err = await assertRejects(
      () => Embedder.load(model!.dir, { backend: "gpu" as "wasm" }),
      InputError,
    );
    assertEquals(err.param, "backend");
  },
});

Deno.test({
  name:
    "load refuses files that disagree: hidden size in config.json, a vocabulary larger than the embedding table",
  ignore,
  async fn() {
    const m = await makeTestModel({ seed: 4, layers: 1 });
    const config = JSON.parse(await Deno.readTextFile(`${m.dir}/config.json`));
    await Deno.writeTextFile(
      `${m.dir}/config.json`,
      JSON.stringify({ ...config, hidden_size: 64 }),
    );
    const hidden = await assertRejects(() => Embedder.load(m.dir), ModelLoadError, "hidden_size");
    assertEquals(hidden.param, "config");
    await Deno.writeTextFile(`${m.dir}/config.json`, JSON.stringify(config));
    // a graph whose embedding table is smaller than the tokenizer's vocabulary
    const w = bertWeights({ vocabSize: 1000, hidden: 8, layers: 1, heads: 2, intermediate: 8 });
    await Deno.writeFile(`${m.dir}/onnx/model.onnx`, bertOnnx(w));
    await Deno.writeTextFile(`${m.dir}/config.json`, JSON.stringify({ ...config, hidden_size: 8 }));
    const vocab = await assertRejects(() => Embedder.load(m.dir), ModelLoadError, "1000 rows");
    assertEquals(vocab.param, "tokenizer");
  },
});

Deno.test({
  name: "each input is tokenized once: embed, embedTokens, embedWords and embedMany",
  ignore,
  async fn() {
    // texts run through the tokenizer: one per encode call, all of them in encodeRows
    const tok = embedder!.tokenizer as {
      encode: Tokenizer["encode"];
      encodeRows: Tokenizer["encodeRows"];
    };
    const encode = tok.encode, encodeRows = tok.encodeRows;
    let calls = 0;
    tok.encode = function (this: unknown, ...args) {
      calls++;
      return encode.apply(this, args);
    } as typeof encode;
    tok.encodeRows = function (this: unknown, ...args) {
      calls += args[0].length;
      return encodeRows.apply(this, args);
    } as typeof encodeRows;
    try {
      const texts = ["I love Paris.", "Unaffable Paris", "x"];
      for (
        const [what, run] of [
          ["embed", () => embedder!.embed(texts)],
          ["embedTokens", () => embedder!.embedTokens(texts)],
          ["embedWords", () => embedder!.embedWords(texts)],
          [
            "embedMany",
            () => embedder!.embedMany(texts, [{ pooling: "cls" }, { pooling: "mean" }]),
          ],
        ] as [string, () => Promise<unknown>][]
      ) {
        calls = 0;
        await run();
        assertEquals(calls, texts.length, what);
      }
    } finally {
      tok.encode = encode;
      tok.encodeRows = encodeRows;
    }
  },
});

Deno.test({
  name:
    "dtype picks the published variant by the Hub's file names; a missing one names the files it looked for",
  ignore,
  async fn() {
    const m = await makeTestModel({ seed: 8, layers: 1 });
    const other = await makeTestModel({ seed: 9, layers: 1 }); // stands in for a variant
    await Deno.copyFile(`${other.dir}/onnx/model.onnx`, `${m.dir}/onnx/model_quantized.onnx`);
    const fp32 = await Embedder.load(m.dir);
    const int8 = await Embedder.load(m.dir, { dtype: "int8" });
    const expected = await Embedder.load(other.dir);
    assertEquals([fp32.info.onnxFile, int8.info.onnxFile], [
      "onnx/model.onnx",
      "onnx/model_quantized.onnx",
    ]);
    const v = await int8.embed(["I love Paris."]);
    assertEquals(Array.from(v.data), Array.from((await expected.embed(["I love Paris."])).data));
    // model_int8.onnx comes first when both are there
    await Deno.copyFile(`${m.dir}/onnx/model.onnx`, `${m.dir}/onnx/model_int8.onnx`);
    assertEquals(
      (await Embedder.load(m.dir, { dtype: "int8" })).info.onnxFile,
      "onnx/model_int8.onnx",
    );
    const missing = await assertRejects(
      () => Embedder.load(m.dir, { dtype: "fp16" }),
      ModelLoadError,
    );
    assert(missing.message.includes("onnx/model_fp16.onnx"), missing.message);
    for (const bad of [{ dtype: "int4" }, { dtype: "int8", onnxFile: "onnx/model.onnx" }]) {
      const e = await assertRejects(() => Embedder.load(m.dir, bad as never), InputError);
      assertEquals(e.param, "dtype");
    }
  },
});

Deno.test({
  name: "batchTokens at load bounds the cells of every model run a call does not size itself",
  ignore,
  async fn() {
    const texts = ["I love Paris.", "I hate traffic.", "The river at night.", "A city."];
    const runs = async (options: { batchTokens?: number }) => {
      const e = await Embedder.load(model!.dir, { backend: "wasm", ...options });
      const shapes: number[] = [];
      const run = e.session.run.bind(e.session);
      e.session.run = (ids, mask, types, batch, length) => {
        shapes.push(batch * length);
        return run(ids, mask, types, batch, length);
      };
      const out = await e.embed(texts, { maxPaddingWaste: Infinity });
      const sized = await e.embed(texts, { maxPaddingWaste: Infinity, batchTokens: 16384 });
      await e.close();
      return { shapes, out, sized, info: e.info.batchTokens };
    };
    const wide = await runs({}), narrow = await runs({ batchTokens: 8 });
    assertEquals([wide.info, narrow.info], [16384, 8]);
    // default: the four fit one run (plus the call that sizes itself); 8 cells: one row each
    assertEquals(wide.shapes.length, 2);
    assertEquals(narrow.shapes.length, 4 + 1);
    const far = narrow.out.data.reduce((m, x, i) => Math.max(m, Math.abs(x - wide.out.data[i])), 0);
    assert(far < 1e-5, `rows run alone differ from rows run together by ${far}`);
    await assertRejects(
      () => Embedder.load(model!.dir, { batchTokens: 0 }),
      InputError,
      "batchTokens",
    );
    // an upper bound too, at load and per call: a run of 2^20 cells is tens of GB already
    await assertRejects(
      () => Embedder.load(model!.dir, { batchTokens: MAX_BATCH_TOKENS + 1 }),
      InputError,
      "batchTokens must be an integer from 1 to 1048576",
    );
    const e = await Embedder.load(model!.dir);
    await assertRejects(
      () => e.embed(["a"], { batchTokens: 2 ** 31 }),
      InputError,
      "batchTokens",
    );
    await e.close();
  },
});

Deno.test({
  name:
    "inputs of every kind in one call (texts, admitted encodings, token ids): the same vectors as each kind alone; errors name the caller's index",
  ignore,
  async fn() {
    const texts = ["I love Paris.", "Unaffable weather in Paris today", "x", "the the the"];
    const alone = await embedder!.embed(texts);
    const d = alone.dims[1];
    const encoded = embedder!.encode(texts[1]);
    const ids = [...embedder!.encode(texts[3]).encoding.ids].slice(1, -1); // without [CLS]/[SEP]
    const mixed = await embedder!.embed([texts[0], encoded, texts[2], ids]);
    for (let i = 0; i < texts.length; i++) {
      for (let j = 0; j < d; j++) {
        assert(
          Math.abs(mixed.data[i * d + j] - alone.data[i * d + j]) < 1e-5,
          `row ${i} differs at ${j}`,
        );
      }
    }
    // the tokenizer saw only the texts (its inputs[1] is the caller's inputs[2])
    const empty = await assertRejects(() => embedder!.embed([encoded, texts[0], ""]), InputError);
    assertEquals(empty.param, "inputs[2]");
    const long = "word ".repeat(600);
    const tooLong = await assertRejects(
      () => embedder!.embed([encoded, ids, long], { truncate: false }),
      InputTooLongError,
    );
    assertEquals(tooLong.param, "inputs[2]");
    const notText = await assertRejects(
      () => embedder!.embed([encoded, texts[0], 7 as unknown as string]),
      InputError,
    );
    assertEquals(notText.param, "inputs[2]");
    // an error from inside the tokenizer (its own length limit) is renamed the same way
    const limit = embedder!.tokenizer.maxInputChars;
    embedder!.tokenizer.maxInputChars = 20;
    try {
      const e = await assertRejects(
        () => embedder!.embed([encoded, "short", "a text longer than twenty"]),
        InputTooLongError,
      );
      assertEquals(e.param, "inputs[2]");
      assert(e.message.startsWith("inputs[2] "), e.message);
    } finally {
      embedder!.tokenizer.maxInputChars = limit;
    }
  },
});
