/**
 * embedge's WASM kernels (wasm/kernels/bert.ts, kernel_session.ts) against onnxruntime-web
 * on the same graph, output by output and value by value: every graph family embedge meets
 * (the generated BERT with and without token types and pooler, sizes whose widths are not
 * whole panels, the real trained mini BERT exported with its LayerNorms written out and a
 * Gemm pooler, the real MiniLM export with external data), padded batches, every layer
 * state. And what the graph reader refuses, and that a refused graph still runs (on
 * onnxruntime-web) with the reason in `engineNote`.
 */
import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { hasShared, shared, tempDir } from "./support/paths.ts";
import { writeMiniLmStructure } from "./support/minilm_structure.ts";
import { compareKernelsWithOrt } from "./support/compare_engines.ts";
import { bertGraphWeights } from "../src/model/kernels/bert_graph.ts";
import { bertOnnx, type BertShape, bertWeights } from "../src/model/fixtures/generated_bert.ts";
import { createSession, type SessionOptions } from "../src/model/engine/session.ts";
import { readGraph } from "../src/model/onnx/graph.ts";
import { Embedder } from "../src/model/embedder.ts";
import { InputError, ModelLoadError } from "../src/errors.ts";
import {
  createKernelSession,
  kernelSessionOrReason,
  kernelsUnavailable,
  kernelsUrl,
} from "../src/model/kernels/kernel_session.ts";

const TOLERANCE = 1e-4;
const compareEngines = async (bytes: Uint8Array, options: SessionOptions, vocab: number) =>
  (await compareKernelsWithOrt(bytes, options, vocab, TOLERANCE)).compared;

const generated: [string, BertShape][] = [
  ["types and pooler", { vocabSize: 500, hidden: 32, layers: 2, heads: 4, intermediate: 64 }],
  [
    "no token types, no pooler",
    {
      vocabSize: 500,
      hidden: 16,
      layers: 1,
      heads: 2,
      intermediate: 48,
      tokenTypeInput: false,
      pooler: false,
    },
  ],
  // widths that are not whole 16-column panels: 3H = 60, intermediate 36, head size 4
  ["partial panels", { vocabSize: 300, hidden: 20, layers: 2, heads: 5, intermediate: 36 }],
];
for (const [label, shape] of generated) {
  Deno.test(`kernels equal onnxruntime-web: generated BERT, ${label}`, async () => {
    const bytes = bertOnnx(bertWeights({ seed: 5, ...shape }));
    const compared = await compareEngines(
      bytes,
      { heads: shape.heads, layers: shape.layers },
      shape.vocabSize,
    );
    // every real token of every output of the three batches (hidden + layer states), + pooler
    const real = 5 + (11 + 8 + 5) + (17 + 14);
    const expected = real * shape.hidden * (shape.layers + 2) +
      (shape.pooler === false ? 0 : (1 + 3 + 2) * shape.hidden);
    assertEquals(compared, expected);
  });
}

const MINI = "models/embedge-mini-mlm/onnx/model.onnx";
Deno.test({
  name:
    "kernels equal onnxruntime-web: the trained mini BERT (LayerNorms written out, Gemm pooler)",
  ignore: !hasShared(MINI),
  async fn() {
    const compared = await compareEngines(
      await Deno.readFile(shared(MINI)),
      { heads: 4, layers: 4, layerNormEps: 1e-12 },
      30522,
    );
    assertEquals(compared, 60 * 256 * 6 + 6 * 256);
  },
});

const GRAPH = "models/all-MiniLM-L6-v2/onnx-graph-only/model.onnx";
Deno.test({
  name: "kernels equal onnxruntime-web: the MiniLM export (external data, pooler named tanh)",
  ignore: !hasShared(GRAPH),
  async fn() {
    const model = await writeMiniLmStructure(
      shared("models/all-MiniLM-L6-v2"),
      await tempDir("embedge-kernels-"),
    );
    const data = await Deno.readFile(`${model.dir}/onnx/${model.location}`);
    const compared = await compareEngines(
      await Deno.readFile(`${model.dir}/onnx/model.onnx`),
      { heads: 12, layers: 6, externalData: [{ path: model.location, data }] },
      30522,
    );
    assertEquals(compared, 60 * 384 * 8 + 6 * 384);
  },
});

Deno.test("kernels refuse what they cannot run, and the model runs on onnxruntime-web", async () => {
  const w = bertWeights({ vocabSize: 100, hidden: 16, layers: 1, heads: 2, intermediate: 32 });
  const fp32 = bertOnnx(w);
  // an attention scale other than 1/√head (kernels_int8_test.ts: int8 graphs it refuses)
  const other = withInitializer(fp32, "attn_scale", [0.5]);
  const reason = bertGraphWeights(other, { heads: 2 });
  assert(typeof reason === "string", "a graph with another attention scale is refused");
  const session = await createSession(other, { heads: 2, backend: "wasm" });
  assertEquals(session.engine, "onnxruntime-web");
  assertEquals(session.engineNote, reason);
  await session.release();
  // without the head count (no config.json) the kernels are not used either
  const headless = await createSession(fp32, { backend: "wasm" });
  assertEquals(headless.engine, "onnxruntime-web");
  assert(headless.engineNote?.includes("num_attention_heads"), headless.engineNote);
  await headless.release();
});

Deno.test("kernels: ids outside the tables and sequences past the positions are InputErrors", async () => {
  const w = bertWeights({
    vocabSize: 100,
    hidden: 16,
    layers: 1,
    heads: 2,
    intermediate: 32,
    maxPositions: 8,
  });
  const session = await createSession(bertOnnx(w), { heads: 2, backend: "wasm" });
  assertEquals(session.engine, "embedge-kernels");
  const ones = (n: number) => new BigInt64Array(n).fill(1n);
  await assertRejects(
    () => session.run(BigInt64Array.of(1n, 100n), ones(2), new BigInt64Array(2), 1, 2),
    InputError,
    "input_ids[1] = 100",
  );
  await assertRejects(
    () => session.run(BigInt64Array.of(1n, -1n), ones(2), new BigInt64Array(2), 1, 2),
    InputError,
    "input_ids[1] = -1",
  );
  await assertRejects(
    () => session.run(BigInt64Array.of(1n, 1n), ones(2), BigInt64Array.of(0n, 2n), 1, 2),
    InputError,
    "token_type_ids[1] = 2",
  );
  await assertRejects(
    () => session.run(ones(9), ones(9), new BigInt64Array(9), 1, 9),
    InputError,
    "8 positions",
  );
  // and the session still answers afterwards (the failed runs released their memory)
  const out = await session.run(ones(8), ones(8), new BigInt64Array(8), 1, 8);
  assertEquals(out.hidden.length, 8 * 16);
  await session.release();
});

Deno.test("an Embedder on the WASM backend says which engine runs it", async () => {
  const MODEL = "models/embedge-mini-mlm";
  if (!hasShared(`${MODEL}/onnx/model.onnx`)) return;
  const on = await Embedder.load(shared(MODEL), { backend: "wasm" });
  const off = await Embedder.load(shared(MODEL), {
    backend: "wasm",
    kernels: false,
  });
  assertEquals([on.info.engine, off.info.engine], ["embedge-kernels", "onnxruntime-web"]);
  const texts = ["I love Paris.", "The quick brown fox jumps over the lazy dog."];
  const [a, b] = [await on.embed(texts), await off.embed(texts)];
  let compared = 0;
  for (let i = 0; i < a.data.length; i++, compared++) {
    assert(Math.abs(a.data[i] - b.data[i]) <= 1e-5, `vector value ${i}`);
  }
  assertEquals(compared, 2 * 256);
  await on.close();
  await off.close();
});

/** The model with one initializer's values rewritten in place (its raw_data is a view). */
function withInitializer(bytes: Uint8Array, name: string, values: number[]): Uint8Array {
  const copy = bytes.slice();
  const t = readGraph(copy).initializers.find((i) => i.name === name)!;
  const view = new DataView(t.raw!.buffer, t.raw!.byteOffset, t.raw!.byteLength);
  values.forEach((v, i) =>
    t.dataType === 1 ? view.setFloat32(4 * i, v, true) : view.setBigInt64(8 * i, BigInt(v), true)
  );
  return copy;
}

Deno.test("kernels refuse a graph whose attention scale, positions or token types differ from BERT's", () => {
  const shape = { vocabSize: 100, hidden: 16, layers: 1, heads: 2, intermediate: 32 };
  const plain = bertOnnx(bertWeights(shape));
  const noTypes = bertOnnx(bertWeights({ ...shape, tokenTypeInput: false }));
  assert(typeof bertGraphWeights(plain, { heads: 2 }) !== "string", "the plain graph is read");
  assert(typeof bertGraphWeights(noTypes, { heads: 2 }) !== "string", "the graph without types");
  const cases: [Uint8Array, string][] = [
    [withInitializer(plain, "attn_scale", [0.5]), "attention scale"],
    [withInitializer(plain, "zero_scalar", [1]), "position ids"],
    [withInitializer(plain, "one_scalar", [2]), "position ids"],
    [withInitializer(noTypes, "type_zero", [1]), "token type ids"],
  ];
  for (const [bytes, reason] of cases) {
    const found = bertGraphWeights(bytes, { heads: 2 });
    assert(typeof found === "string" && found.includes(reason), `${reason}: ${found}`);
  }
  // as the head count the config gives: 4 heads of 4 is another scale than 2 of 8
  const fourHeads = bertGraphWeights(plain, { heads: 4 });
  assert(typeof fourHeads === "string" && fourHeads.includes("attention scale"), `${fourHeads}`);
});

Deno.test({
  name:
    "kernels: a LayerNorm written out (ReduceMean, Sub, Pow, Sqrt …) has its ε read from the graph",
  ignore: !hasShared(MINI),
  async fn() {
    // the config's value is only a fallback: 0.5 here must not be used
    const found = bertGraphWeights(await Deno.readFile(shared(MINI)), { heads: 4, epsilon: 0.5 });
    assert(typeof found !== "string", `${found}`);
    const norms = [
      found.embeddingNorm,
      ...found.layers.flatMap((l) => [l.attentionNorm, l.outputNorm]),
    ];
    assertEquals(norms.length, 9);
    for (const n of norms) assert(Math.abs(n.epsilon - 1e-12) < 1e-15, `ε ${n.epsilon}`);
  },
});

Deno.test("kernels refuse a graph that adds something other than the padding mask to the scores", () => {
  const bytes = bertOnnx(
    bertWeights({ vocabSize: 100, hidden: 16, layers: 1, heads: 2, intermediate: 32 }),
  );
  const graph = readGraph(bytes);
  const producers = new Map(graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  // the Add before the Softmax: scores + mask
  const softmax = graph.nodes.find((n) => n.op === "Softmax")!;
  const add = producers.get(softmax.inputs[0])!;
  assertEquals(add.op, "Add");
  const mask = add.inputs[1];
  // a learned tensor of a name as long (so the bytes keep their lengths): the embeddings' sum
  // (looked up in the word table), the first LayerNorm's input
  const learned = graph.nodes.find((n) => n.op === "LayerNormalization")!.inputs[0];
  assertEquals(learned.length, mask.length, `${learned} / ${mask}`);
  const copy = bytes.slice();
  const at = graph.graph.byteOffset - bytes.byteOffset + add.span[0];
  const node = copy.subarray(at, at + add.span[1] - add.span[0]);
  const encoded = new TextEncoder().encode(mask);
  const start = node.findIndex((_, i) =>
    node[i] === 0x0a && node[i + 1] === encoded.length &&
    encoded.every((b, k) => node[i + 2 + k] === b)
  );
  assert(start >= 0, "the mask input is in the Add node");
  node.set(new TextEncoder().encode(learned), start + 2);
  assertEquals(readGraph(copy).nodes.find((n) => n.op === "Softmax") !== undefined, true);
  const found = bertGraphWeights(copy, { heads: 2 });
  assert(typeof found === "string" && found.includes("not the padding mask"), `${found}`);
  assert(typeof bertGraphWeights(bytes, { heads: 2 }) !== "string", "the original is read");
});

Deno.test("kernels refuse BERT look-alikes they would compute wrongly: gelu's constants, the mask's values, the pooler's token", async () => {
  const shape = { vocabSize: 100, hidden: 16, layers: 1, heads: 2, intermediate: 32 };
  const plain = bertOnnx(bertWeights(shape));
  assert(typeof bertGraphWeights(plain, { heads: 2 }) !== "string", "the plain graph is read");
  // each one runs on onnxruntime-web and differs from BERT (the kernels' output on it was off
  // by 0.18 … 2.77): gelu's x/√2 as x/1, its x·0.5 as x·1, the padding mask scaled by −1 or
  // +10000 instead of −10000, the pooler reading token 1 instead of token 0
  const cases: [Uint8Array, string][] = [
    [withInitializer(plain, "sqrt2", [1]), "not exact gelu"],
    [withInitializer(plain, "half", [1]), "not exact gelu"],
    [withInitializer(plain, "mask_min", [-1]), "padding"],
    [withInitializer(plain, "mask_min", [10000]), "padding"],
    [withInitializer(plain, "cls_index", [1]), "token 0"],
    // the mask's 1 − mask as 2 − mask: real tokens get −10000 too
    [withInitializer(plain, "one_f", [2]), "to real tokens"],
  ];
  for (const [bytes, reason] of cases) {
    const found = bertGraphWeights(bytes, { heads: 2 });
    assert(typeof found === "string" && found.includes(reason), `${reason}: ${found}`);
    const session = await createSession(bytes, { heads: 2, backend: "wasm" });
    assertEquals(session.engine, "onnxruntime-web");
    assertEquals(session.engineNote, found);
    await session.release();
  }
});

/**
 * Runs `body` with WebAssembly.Memory.prototype.grow refusing (as a host out of memory does:
 * V8's RangeError) for memories under 1 MiB: the kernels' (64 KiB at start), not
 * onnxruntime-web's (which starts far larger).
 */
async function withRefusedGrow<T>(body: () => Promise<T>): Promise<T> {
  const grow = WebAssembly.Memory.prototype.grow;
  WebAssembly.Memory.prototype.grow = function (this: WebAssembly.Memory, pages: number) {
    if (this.buffer.byteLength < 2 ** 20) {
      throw new RangeError("WebAssembly.Memory.grow(): Maximum memory size exceeded");
    }
    return grow.call(this, pages);
  };
  try {
    return await body();
  } finally {
    WebAssembly.Memory.prototype.grow = grow;
  }
}

Deno.test("kernels: a batch too big for their memory is an InputError naming its size, and the session still answers", async () => {
  const shape = { vocabSize: 100, hidden: 16, layers: 1, heads: 2, intermediate: 32 };
  const weights = bertGraphWeights(bertOnnx(bertWeights(shape)), { heads: 2 });
  assert(typeof weights !== "string", `${weights}`);
  // 1 MiB holds the weights (~60 KiB) and small batches; 64 × 512 tokens need ~21 MiB
  const session = await createKernelSession(weights, undefined, { maxMemoryBytes: 2 ** 20 });
  const feeds = (batch: number, seq: number) => {
    const n = batch * seq, dims = [batch, seq];
    return {
      input_ids: { data: new BigInt64Array(n).fill(1n), dims },
      attention_mask: { data: new BigInt64Array(n).fill(1n), dims },
      token_type_ids: { data: new BigInt64Array(n), dims },
    };
  };
  await assertRejects(
    () => session.run(feeds(64, 512), ["last_hidden_state"]),
    InputError,
    "a batch of 64 × 512 tokens does not fit the kernels' memory",
  );
  const small = await session.run(feeds(2, 8), ["last_hidden_state"]);
  assertEquals(small.last_hidden_state.dims, [2, 8, 16]);
  // the host refusing to grow (no ceiling of embedge's own) is the same InputError
  const unbounded = await createKernelSession(weights);
  await withRefusedGrow(() =>
    assertRejects(
      () => unbounded.run(feeds(4, 64), ["last_hidden_state"]),
      InputError,
      "growing to",
    )
  );
  assertEquals((await unbounded.run(feeds(1, 4), ["last_hidden_state"])).last_hidden_state.dims, [
    1,
    4,
    16,
  ]);
  await session.release();
  await unbounded.release();
});

Deno.test("kernels: weights that do not fit their memory are a ModelLoadError, and the model runs on onnxruntime-web with the reason", async () => {
  // 1,000 words: the weights (~110 KiB) outgrow the kernels' first 64 KiB
  const shape = { vocabSize: 1000, hidden: 16, layers: 1, heads: 2, intermediate: 32 };
  const bytes = bertOnnx(bertWeights(shape));
  const weights = bertGraphWeights(bytes, { heads: 2 });
  assert(typeof weights !== "string", `${weights}`);
  await assertRejects(
    () => createKernelSession(weights, undefined, { maxMemoryBytes: 2 ** 15 }),
    ModelLoadError,
    "the kernels' memory cannot hold the weights",
  );
  const reason = await kernelSessionOrReason(weights, undefined, { maxMemoryBytes: 2 ** 15 });
  assert(typeof reason === "string" && reason.includes("needed, at most 32.0 KiB"), `${reason}`);
  // the host refusing to grow while the weights are packed: onnxruntime-web runs the model
  const session = await withRefusedGrow(() => createSession(bytes, { heads: 2, backend: "wasm" }));
  assertEquals(session.engine, "onnxruntime-web");
  assert(
    session.engineNote?.startsWith("the kernels' memory cannot hold the weights: growing to"),
    session.engineNote,
  );
  const out = await session.run(
    BigInt64Array.of(1n, 2n),
    BigInt64Array.of(1n, 1n),
    new BigInt64Array(2),
    1,
    2,
  );
  assertEquals(out.hidden.length, 2 * 16);
  await session.release();
});

Deno.test("kernels: a missing or uncompilable kernels file is reported as what happened", async () => {
  assertEquals(await kernelsUnavailable(), undefined, "the packaged kernels load here");
  const dir = await tempDir("embedge-kernels-");
  const missing = await kernelsUnavailable(undefined, new URL(`file://${dir}/bert_kernels.wasm`));
  assert(missing?.includes("bert_kernels.wasm is missing"), missing);
  // a wasm header and a truncated section: the compile error is passed on
  await Deno.writeFile(`${dir}/broken.wasm`, Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 9));
  const broken = await kernelsUnavailable(undefined, new URL(`file://${dir}/broken.wasm`));
  assert(broken?.startsWith("the kernels (broken.wasm) do not compile here: "), broken);
  assert(!broken?.includes("relaxed SIMD"), broken);
  assert(kernelsUrl().pathname.endsWith("wasm/build/bert_kernels.wasm"));
});
