/**
 * `embedge quantize`: int8 weights per output column, int8 word embeddings per row, run at
 * the graph level on both onnxruntime builds, and on real shapes: vectors of the int8
 * model against the fp32 model over 1,000 big.txt sentences (cosine ≥ 0.99994 mean,
 * ≥ 0.9999 min: near what is measured), every int8 weight within half a step of its fp32
 * weight, the file ≤ 30 % of fp32, layer selection still found.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "./support/assert.ts";
import { hasShared, shared, tempDir } from "./support/paths.ts";
import { writeMiniLmStructure } from "./support/minilm_structure.ts";
import { encodeModel, type ModelSpec } from "../src/model/onnx/writer.ts";
import { quantize, quantizeModel } from "../src/model/onnx/quantize.ts";
import { readGraph, tensorFloats } from "../src/model/onnx/graph.ts";
import { loadRuntime } from "../src/model/engine/runtimes.ts";
import { Embedder } from "../src/model/embedder.ts";
import { rng } from "../src/random.ts";
import { field, varintField } from "../src/model/onnx/protobuf.ts";
import { InputError, ModelLoadError } from "../src/errors.ts";

const backends = ["native", "wasm"] as const;
const random = (n: number, seed: number, scale = 1) => {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() - 0.5) * 2 * scale);
};

/**
 * ids [n] → Gather(T [50, 16]) → MatMul(W1 [16, 12]) → h → y = Gemm(h, W2ᵀ, C), and
 * y2 = Gemm(h, W2ᵀ, C, alpha 0.5): a Gemm the quantizer leaves float, sharing W2.
 */
function tinyModel(opset = 17): ModelSpec {
  return {
    opset,
    nodes: [
      { op: "Gather", inputs: ["table", "input_ids"], outputs: ["e"] },
      { op: "MatMul", inputs: ["e", "w1"], outputs: ["h"] },
      {
        op: "Gemm",
        inputs: ["h", "w2", "c"],
        outputs: ["y"],
        attributes: { transB: { i: 1 } },
      },
      {
        op: "Gemm",
        inputs: ["h", "w2", "c"],
        outputs: ["y2"],
        attributes: { transB: { i: 1 }, alpha: { f: 0.5 } },
      },
    ],
    initializers: [
      // one row of zeros: its scale must not divide by zero
      { name: "table", dims: [50, 16], data: random(800, 1).fill(0, 16, 32) },
      { name: "w1", dims: [16, 12], data: random(192, 2, 0.5) },
      { name: "w2", dims: [8, 12], data: random(96, 3, 0.5) },
      { name: "c", dims: [8], data: random(8, 4, 0.1) },
    ],
    inputs: [{ name: "input_ids", type: "int64", dims: ["n"] }],
    outputs: [
      { name: "y", type: "float", dims: ["n", 8] },
      { name: "y2", type: "float", dims: ["n", 8] },
    ],
  };
}

/**
 * Every int8 weight of `int8` read back (q × its column's or row's scale) against the fp32
 * weight it came from: rounding to the nearest step leaves at most half a step, plus the
 * scale's own float32 rounding (≤ 127 × 2⁻²⁴ of a step). Returns how many weights were
 * compared and the worst error in steps.
 */
function checkDequantized(
  fp32: Uint8Array,
  int8: Uint8Array,
  readExternal: (location: string) => Uint8Array = () => new Uint8Array(),
): { compared: number; worst: number } {
  const floats = new Map(readGraph(fp32).initializers.map((t) => [t.name, t]));
  const quantized = new Map(readGraph(int8).initializers.map((t) => [t.name, t]));
  let compared = 0, worst = 0;
  for (const [name, t] of quantized) {
    if (!name.endsWith("_int8")) continue;
    const key = name.slice(0, -"_int8".length), transposed = key.endsWith("ᵀ");
    const original = floats.get(transposed ? key.slice(0, -1) : key)!;
    const w = tensorFloats(original, readExternal);
    const q = new Int8Array(t.raw!.slice().buffer);
    const scaleTensor = quantized.get(`${key}_scale`)!;
    const scales = tensorFloats(scaleTensor, () => new Uint8Array());
    const [rows, cols] = t.dims;
    // [V, 1] scales: one per row (embeddings); [N]: one per column (projections)
    const perRow = scaleTensor.dims.length === 2;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const step = perRow ? scales[r] : scales[c];
        const fp = transposed ? w[c * rows + r] : w[r * cols + c];
        const steps = Math.abs(q[r * cols + c] * step - fp) / step;
        worst = Math.max(worst, steps);
        assert(steps <= 0.5 + 1e-5, `${name}[${r}, ${c}]: ${steps} steps from ${fp}`);
        compared++;
      }
    }
  }
  return { compared, worst };
}

async function run(backend: "native" | "wasm", model: Uint8Array, ids: number[]) {
  const runtime = await loadRuntime(backend);
  const session = await runtime.create(model, { threads: 1 });
  const out = await session.run(
    { input_ids: runtime.int64(BigInt64Array.from(ids, BigInt), [ids.length]) },
    ["y", "y2"],
  );
  await session.release();
  return { y: out.y.data as Float32Array, y2: out.y2.data as Float32Array };
}

Deno.test("quantizeModel: MatMul, Gemm (transB, bias) and word embeddings become int8; outputs stay within 3 % of fp32 on both backends", async () => {
  const fp32 = encodeModel(tinyModel());
  const { model, report } = quantizeModel(fp32);
  assertEquals(report.projections, 2); // the MatMul and the first Gemm
  assertEquals(report.embeddingTables, 1);
  assertEquals(report.quantizedParameters, 800 + 192 + 96);
  assertEquals(report.skipped, ["Gemm y2: Gemm alpha/beta ≠ 1"]);
  const graph = readGraph(model);
  const names = new Set(graph.initializers.map((t) => t.name));
  // the table and w1 are gone; w2 stays float because the skipped Gemm still reads it
  assert(!names.has("table") && !names.has("w1") && names.has("w2"), [...names].join(" "));
  assertEquals(graph.nodes.filter((n) => n.op === "MatMulInteger").length, 2);
  // the table (per row), w1 (per column) and w2 (transposed, per column of w2ᵀ)
  const read = checkDequantized(fp32, model);
  assertEquals(read.compared, 800 + 192 + 96);
  assert(read.worst > 0.45, `worst ${read.worst} steps: rounding is never that close`);
  const reduced = checkDequantized(fp32, quantizeModel(fp32, { reduceRange: true }).model);
  assertEquals(reduced.compared, 800 + 192 + 96);
  const ids = [0, 1, 7, 49, 23, 1, 0];
  for (const backend of backends) {
    const a = await run(backend, fp32, ids), b = await run(backend, model, ids);
    for (const key of ["y", "y2"] as const) {
      let worst = 0, scale = 0, differs = false;
      for (let i = 0; i < a[key].length; i++) {
        worst = Math.max(worst, Math.abs(a[key][i] - b[key][i]));
        scale = Math.max(scale, Math.abs(a[key][i]));
        if (a[key][i] !== b[key][i]) differs = true;
      }
      assert(differs, `${backend} ${key}: the int8 model computed exactly the fp32 values`);
      assert(worst <= 0.03 * scale, `${backend} ${key}: error ${worst} of ${scale}`);
    }
    // id 1 is the zero row: int8 zeros, scale 1, no NaN
    assert(b.y.every(Number.isFinite), `${backend}: non-finite output`);
  }
});

Deno.test("quantizeModel: reduceRange keeps weights within ±63, full range reaches ±127; embeddings can stay float", () => {
  const fp32 = encodeModel(tinyModel());
  const extremes = (model: Uint8Array, name: string) => {
    const t = readGraph(model).initializers.find((i) => i.name === name)!;
    const q = new Int8Array(t.raw!.slice().buffer);
    return [Math.min(...q), Math.max(...q)];
  };
  const full = quantizeModel(fp32).model, reduced = quantizeModel(fp32, { reduceRange: true });
  // each column's largest |w| maps to the limit exactly
  assertEquals(Math.max(...extremes(full, "w1_int8").map(Math.abs)), 127);
  assertEquals(Math.max(...extremes(reduced.model, "w1_int8").map(Math.abs)), 63);
  const floatTable = quantizeModel(fp32, { embeddings: false });
  assertEquals(floatTable.report.embeddingTables, 0);
  assert(readGraph(floatTable.model).initializers.some((t) => t.name === "table"));
});

Deno.test("quantize: clear errors for bytes that are no model, nothing to quantize, opset 9, external data outside the model folder", async () => {
  assertThrows(() => quantizeModel(Uint8Array.of(0x3a, 0x05, 1)), ModelLoadError);
  const noProjection = encodeModel({
    opset: 17,
    nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }],
    initializers: [],
    inputs: [{ name: "x", type: "float", dims: [2] }],
    outputs: [{ name: "y", type: "float", dims: [2] }],
  });
  assertThrows(() => quantizeModel(noProjection), InputError, "no MatMul or Gemm");
  assertThrows(() => quantizeModel(encodeModel(tinyModel(9))), InputError, "opset 9");
  const dir = await tempDir();
  await assertRejects(() => quantize(dir), ModelLoadError, "cannot read");
  // a weight whose external data location climbs out of the model's folder
  await Deno.mkdir(`${dir}/onnx`);
  await Deno.writeFile(`${dir}/outside.bin`, new Uint8Array(16 * 12 * 4));
  await Deno.writeFile(`${dir}/onnx/model.onnx`, escapingModel());
  await assertRejects(() => quantize(dir), ModelLoadError, "leaves");
});

/** The tiny model with w1 stored as external data at "../outside.bin". */
function escapingModel(): Uint8Array {
  const spec = tinyModel();
  spec.initializers = spec.initializers.filter((t) => t.name !== "w1");
  const base = encodeModel(spec);
  const entry = (key: string, value: string) => field(13, [...field(1, key), ...field(2, value)]);
  const w1 = field(5, [
    ...varintField(1, 16),
    ...varintField(1, 12),
    ...varintField(2, 1),
    ...field(8, "w1"),
    ...entry("location", "../outside.bin"),
    ...entry("offset", "0"),
    ...entry("length", String(16 * 12 * 4)),
    ...varintField(14, 1),
  ]);
  const graph = readGraph(base);
  const [start, end] = graph.graphSpan;
  const body = new Uint8Array([...graph.graph, ...w1]);
  return new Uint8Array([
    ...base.subarray(0, start),
    ...field(7, body),
    ...base.subarray(end),
  ]);
}

const sentences = (() => {
  if (!hasShared("corpus/big.txt")) return [];
  return Deno.readTextFileSync(shared("corpus/big.txt")).split("\n").map((l) => l.trim())
    .filter((l) => l.length > 20).slice(0, 1000);
})();

/** Cosines between the fp32 and int8 vectors of the same sentences (mean pooling). */
async function cosines(dir: string, backend: "native" | "wasm", count: number) {
  const fp32 = await Embedder.load(dir, { backend });
  const int8 = await Embedder.load(dir, { backend, dtype: "int8" });
  assertEquals(int8.info.onnxFile, "onnx/model_int8.onnx");
  const texts = sentences.slice(0, count);
  const options = { pooling: "mean", normalize: true } as const;
  const [a, b] = [await fp32.embed(texts, options), await int8.embed(texts, options)];
  const w = a.dims[1];
  const out = texts.map((_, i) => {
    let dot = 0;
    for (let k = 0; k < w; k++) dot += a.data[i * w + k] * b.data[i * w + k];
    return dot;
  });
  // the layer boundaries are found in the int8 graph too
  const layer = await int8.embed(["I love Paris."], { layers: [-2] });
  assertEquals(layer.dims, [1, w]);
  await fp32.close();
  await int8.close();
  return out;
}

/**
 * What int8 may cost in cosine to the fp32 vector: measured 1 − mean 1.6e-5 … 2.9e-5 and
 * 1 − min 3.1e-5 … 5.0e-5 (MiniLM structure and mini-mlm, native and WASM); the bars are
 * about twice that. Rounding down instead of to the nearest step (Math.trunc) costs 4–11×
 * more and fails them; the first bars (0.99 / 0.97) let it through.
 */
const COSINE_MEAN = 0.99994, COSINE_MIN = 0.9999;

async function checkModel(label: string, dir: string) {
  const report = await quantize(dir);
  const ratio = report.bytesAfter / report.bytesBefore;
  assert(ratio <= 0.3, `${label}: int8 is ${(ratio * 100).toFixed(1)} % of fp32`);
  const read = checkDequantized(
    await Deno.readFile(`${dir}/onnx/model.onnx`),
    await Deno.readFile(`${dir}/onnx/model_int8.onnx`),
    (location) => Deno.readFileSync(`${dir}/onnx/${location}`),
  );
  assertEquals(read.compared, report.quantizedParameters);
  console.log(`${label}: ${read.compared} int8 weights, worst ${read.worst.toFixed(6)} steps off`);
  for (const backend of backends) {
    // 1,000 sentences on the native build; 200 on the (slower) WASM build
    const c = await cosines(dir, backend, backend === "native" ? 1000 : 200);
    const mean = c.reduce((x, y) => x + y, 0) / c.length, min = Math.min(...c);
    console.log(
      `${label} ${backend}: ${c.length} sentences, cosine mean ${mean.toFixed(6)}, ` +
        `min ${min.toFixed(6)}, size ${(ratio * 100).toFixed(1)} %`,
    );
    assertEquals(c.length, backend === "native" ? 1000 : 200);
    assert(
      mean >= COSINE_MEAN && min >= COSINE_MIN,
      `${label} ${backend}: mean ${mean}, min ${min}`,
    );
  }
}

Deno.test({
  name:
    "int8 of the all-MiniLM-L6-v2 structure (external data): ≤ 30 % of fp32, cosine ≥ 0.99994 mean / ≥ 0.9999 min on big.txt, every weight within half a step",
  ignore: !hasShared("models/all-MiniLM-L6-v2/onnx-graph-only/model.onnx") ||
    !hasShared("corpus/big.txt"),
  fn: async () => {
    const { dir } = await writeMiniLmStructure(shared("models/all-MiniLM-L6-v2"), await tempDir());
    await checkModel("MiniLM structure", dir);
  },
});

Deno.test({
  name:
    "int8 of the trained embedge-mini-mlm: ≤ 30 % of fp32, cosine ≥ 0.99994 mean / ≥ 0.9999 min on big.txt, every weight within half a step",
  ignore: !hasShared("models/embedge-mini-mlm/onnx/model.onnx") || !hasShared("corpus/big.txt"),
  fn: async () => {
    const dir = await tempDir();
    await Deno.mkdir(`${dir}/onnx`);
    for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json", "onnx/model.onnx"]) {
      await Deno.copyFile(shared(`models/embedge-mini-mlm/${f}`), `${dir}/${f}`);
    }
    await checkModel("embedge-mini-mlm", dir);
  },
});
