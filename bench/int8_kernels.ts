/**
 * int8 on embedge's WASM kernels against fp32 on the kernels and int8 on onnxruntime-web,
 * all on the WASM backend with one thread, in one Deno process on the all-MiniLM-L6-v2
 * structure (generated weights; `quantize`'s int8 models of it: full range, and 7-bit
 * weights (`--reduce-range`), which the kernels multiply with relaxed dot products). 128
 * big.txt sentences in request-sized slices of 1, 8 and 32, mean pooling + normalize,
 * interleaved (int8 kernels, 7-bit int8 kernels, fp32 kernels, int8 onnxruntime-web, …)
 * `--reps` times after a warm-up;
 * median and (min–max) sentences/s, and the machine's load before and after.
 *
 * @example
 * ```sh
 * deno run -A bench/int8_kernels.ts             # 5 repetitions
 * deno run -A bench/int8_kernels.ts --reps 2 --out /tmp/x
 * ```
 * @module
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { Embedder } from "../src/model/embedder.ts";
import { inlineExternalData, INT8_FILE, quantizeModel } from "../src/model/onnx/quantize.ts";
import { kernelsUrl } from "../src/model/kernels/kernel_session.ts";
import { benchMiniLmStructure } from "../tests/support/minilm_structure.ts";
import { interleaved, sampleLines } from "./sides.ts";
import { machine, median } from "./machine.ts";
import { writeResults } from "./write_results.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: { reps: { type: "string", default: "5" }, out: { type: "string" } },
});
const REPS = Number(args.reps);
const sharedDir = Deno.env.get("EMBEDGE_SHARED") ??
  new URL("../../shared/", import.meta.url).pathname;
const source = await benchMiniLmStructure(sharedDir);
const dir = new URL("../.cache/bench-minilm-int8/", import.meta.url).pathname;
const REDUCED_FILE = "onnx/model_int8_reduced.onnx";
try {
  await Deno.stat(`${dir}/${REDUCED_FILE}`);
} catch {
  await Deno.mkdir(`${dir}/onnx`, { recursive: true });
  for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json"]) {
    await Deno.copyFile(`${source}/${f}`, `${dir}/${f}`);
  }
  const graph = await Deno.readFile(`${source}/onnx/model.onnx`);
  const read = (location: string) => Deno.readFileSync(`${source}/onnx/${location}`);
  await Deno.writeFile(`${dir}/onnx/model.onnx`, inlineExternalData(graph, read));
  await Deno.writeFile(`${dir}/${INT8_FILE}`, quantizeModel(graph, { readExternal: read }).model);
  const reduced = quantizeModel(graph, { readExternal: read, reduceRange: true }).model;
  await Deno.writeFile(`${dir}/${REDUCED_FILE}`, reduced);
}

const load = (dtype: "fp32" | "int8", kernels: boolean) =>
  Embedder.load(dir, { backend: "wasm", threads: 1, dtype, kernels });
const embedders = {
  int8Kernels: await load("int8", true),
  int8ReducedKernels: await Embedder.load(dir, {
    backend: "wasm",
    threads: 1,
    onnxFile: REDUCED_FILE,
  }),
  fp32Kernels: await load("fp32", true),
  int8Ort: await load("int8", false),
};
type Side = keyof typeof embedders;
// which int8 products the kernels chose here: uint8 × int8 relaxed dot products where they
// are exact (x64 with AVX-VNNI), else dot_i16x8_s (7-bit weights: relaxed dot products)
const probe = new WebAssembly.Instance(await WebAssembly.compile(await Deno.readFile(kernelsUrl())))
  .exports as unknown as { unsignedDotExact(): number };
const unsignedDots = probe.unsignedDotExact() === 1;
const SIDES = Object.keys(embedders) as Side[];
for (const side of ["int8Kernels", "int8ReducedKernels"] as const) {
  if (embedders[side].info.engine !== "embedge-kernels") {
    throw new Error(`${side} is not on the kernels: ${embedders[side].info.engineNote}`);
  }
}

const lines = Deno.readTextFileSync(`${sharedDir}/corpus/big.txt`).split("\n")
  .map((l) => l.trim()).filter((l) => l.length > 0);
const texts = sampleLines(lines, 128, 7);

const loadBefore = os.loadavg();
const options = { pooling: "mean", normalize: true } as const;
const results: Record<string, Record<string, unknown>> = {};
let maxDiff = 0;
for (const bs of [1, 8, 32]) {
  const slices = Array.from(
    { length: Math.ceil(texts.length / bs) },
    (_, i) => texts.slice(i * bs, (i + 1) * bs),
  );
  const pass = (side: Side) => async () => {
    for (const s of slices) await embedders[side].embed(s, options);
  };
  const ms = await interleaved(
    Object.fromEntries(SIDES.map((side) => [side, pass(side)])) as Record<
      Side,
      () => Promise<void>
    >,
    REPS,
  );
  // the two int8 engines' vectors (rounding flips included: tests/kernels_int8_test.ts)
  const a = (await embedders.int8Kernels.embed(slices[0], options)).data;
  const b = (await embedders.int8Ort.embed(slices[0], options)).data;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
  const sps = (t: number) => texts.length / (t / 1000);
  const row: Record<string, unknown> = {};
  for (const side of SIDES) {
    row[side] = sps(median(ms[side]));
    row[`${side}Range`] = [sps(Math.max(...ms[side])), sps(Math.min(...ms[side]))];
  }
  row.overFp32Kernels = median(ms.fp32Kernels) / median(ms.int8Kernels);
  row.overInt8Ort = median(ms.int8Ort) / median(ms.int8Kernels);
  row.reducedOverFp32Kernels = median(ms.fp32Kernels) / median(ms.int8ReducedKernels);
  row.reducedOverInt8Ort = median(ms.int8Ort) / median(ms.int8ReducedKernels);
  results[`batch ${bs}`] = row;
  console.error(`batch ${bs}: ${JSON.stringify(row)}`);
}
const loadAfter = os.loadavg();
for (const e of Object.values(embedders)) await e.close();

const m = machine();
const UNSIGNED = "uint8 × int8 i32x4.relaxed_dot_i8x16_i7x16_add_s, exact here: vpdpbusd";
const report = {
  benchmark: "int8-kernels",
  machine: m,
  load: { before: loadBefore, after: loadAfter },
  repetitions: REPS,
  model: "all-MiniLM-L6-v2 structure (generated weights); int8: quantize's model of it",
  sides: {
    int8Kernels: `int8 model, embedge's kernels (${
      unsignedDots ? UNSIGNED : "i32x4.dot_i16x8_s"
    }), 1 thread`,
    int8ReducedKernels: `int8 model with 7-bit weights (--reduce-range), embedge's kernels (${
      unsignedDots ? UNSIGNED : "i32x4.relaxed_dot_i8x16_i7x16_add_s"
    }), 1 thread`,
    fp32Kernels: "fp32 model, embedge's kernels (relaxed-SIMD FMA), 1 thread",
    int8Ort: "int8 model, onnxruntime-web 1.30.0 (WASM SIMD), 1 thread",
  },
  sentencesPerSec: results,
  maxAbsDiffInt8Engines: maxDiff,
  unsignedDotExact: unsignedDots,
};
const f = (v: number, d = 1) => v.toFixed(d);
const cell = (row: Record<string, unknown>, side: Side) => {
  const r = row[`${side}Range`] as number[];
  return `${f(row[side] as number)} (${f(r[0])}–${f(r[1])})`;
};
const md = [
  "# int8 on embedge's kernels vs fp32 on the kernels and int8 on onnxruntime-web",
  "",
  `${m.date} · ${m.cpu} · ${m.cores} cores · Deno ${m.deno} · load ${f(loadBefore[0], 2)} before, ${
    f(loadAfter[0], 2)
  } after · median of ${REPS} interleaved repetitions after a warm-up, (min–max) beside it`,
  "",
  `${report.model}; 128 big.txt sentences in request-sized slices, mean pooling + normalize, backend wasm, one thread each. The two int8 engines' vectors differ by up to ${
    maxDiff.toExponential(1)
  } (activations rounded the other way at a quantization step: tests/kernels_int8_test.ts). int8 products on the kernels here: ${
    unsignedDots
      ? "uint8 × int8 relaxed dot products (exact here: unsignedDotExact)"
      : "dot_i16x8_s, 7-bit weights on relaxed dot products (unsignedDotExact false)"
  }. Sentences/s:`,
  "",
  "| batch | int8, kernels | int8 7-bit, kernels | fp32, kernels | int8, onnxruntime-web | int8 kernels / fp32 kernels | int8 kernels / int8 onnxruntime-web | 7-bit kernels / fp32 kernels | 7-bit kernels / int8 onnxruntime-web |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...Object.entries(results).map(([k, row]) =>
    `| ${k} | ${cell(row, "int8Kernels")} | ${cell(row, "int8ReducedKernels")} | ${
      cell(row, "fp32Kernels")
    } | ${cell(row, "int8Ort")} | ${f(row.overFp32Kernels as number, 2)}× | ${
      f(row.overInt8Ort as number, 2)
    }× | ${f(row.reducedOverFp32Kernels as number, 2)}× | ${
      f(row.reducedOverInt8Ort as number, 2)
    }× |`
  ),
  "",
].join("\n");
await writeResults("int8-kernels", report, md, {
  title: { text: "Sentences/s on WASM, 1 thread (MiniLM structure)" },
  data: {
    values: Object.entries(results).flatMap(([batch, row]) =>
      SIDES.map((side) => ({
        batch,
        side: report.sides[side].split(",")[0] + `, ${side}`,
        sps: row[side],
      }))
    ),
  },
  mark: "bar",
  encoding: {
    y: { field: "side", type: "nominal", title: null },
    x: { field: "sps", type: "quantitative", title: "sentences/s (median)" },
    row: { field: "batch", type: "nominal", title: null },
    color: { field: "side", type: "nominal", legend: null },
  },
}, args.out);
console.log(md);
