/**
 * embedge's WASM backend (its kernels, and for reference embedge on onnxruntime-web) vs
 * transformers.js on onnxruntime-web (its web build, device `wasm`), all with one thread,
 * in one Deno process on the same model: the
 * all-MiniLM-L6-v2 structure with its external data inlined (transformers.js's web build
 * mounts external data under its own file name, which this graph does not use). 128
 * big.txt sentences in request-sized slices of 1, 8 and 32, mean pooling + normalize,
 * interleaved (embedge, embedge on onnxruntime-web, transformers.js, …) `--reps` times
 * after a warm-up.
 *
 * transformers.js runs its web build here because its Node build offers only
 * onnxruntime-node. Two seams are bridged for Deno, neither touching its inference:
 * `caches` refuses `file:` URLs (transformers.js then loads the files uncached), and Deno
 * cannot import the `blob:` URL transformers.js makes of onnxruntime's loader, so
 * `URL.createObjectURL` hands back the loader's own `file:` URL (the same module text).
 *
 * @example
 * ```sh
 * deno run -A bench/wasm_peers.ts             # 5 repetitions
 * deno run -A bench/wasm_peers.ts --reps 2 --out /tmp/x
 * ```
 * @module
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { Embedder } from "../src/model/embedder.ts";
import { inlineExternalData } from "../src/model/onnx/quantize.ts";
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
const root = new URL("../.cache/tjs-web/", import.meta.url).pathname;
const dir = `${root}bench-minilm-inline`;
try {
  await Deno.stat(`${dir}/onnx/model.onnx`);
} catch {
  await Deno.mkdir(`${dir}/onnx`, { recursive: true });
  for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json"]) {
    await Deno.copyFile(`${source}/${f}`, `${dir}/${f}`);
  }
  const graph = await Deno.readFile(`${source}/onnx/model.onnx`);
  await Deno.writeFile(
    `${dir}/onnx/model.onnx`,
    inlineExternalData(graph, (location) => Deno.readFileSync(`${source}/onnx/${location}`)),
  );
}

// transformers.js, web build, onnxruntime-web (its own copy), one thread
const ortDist = new URL(
  "../node_modules/@huggingface/transformers/node_modules/onnxruntime-web/dist/",
  import.meta.url,
).href;
const loader = `${ortDist}ort-wasm-simd-threaded.asyncify.mjs`;
URL.createObjectURL = () => loader;
// the same API as the package's Node build, whose types describe it
const tjs = (await import(
  "../node_modules/@huggingface/transformers/dist/transformers.web.js"
)) as unknown as typeof import("@huggingface/transformers");
tjs.env.allowRemoteModels = false;
tjs.env.allowLocalModels = true; // off by default in the web build
tjs.env.localModelPath = new URL(`file://${root}`).href;
const ortEnv = tjs.env.backends.onnx.wasm!;
ortEnv.numThreads = 1;
ortEnv.wasmPaths = {
  wasm: `${ortDist}ort-wasm-simd-threaded.asyncify.wasm`,
  mjs: loader,
};
tjs.env.backends.onnx.logLevel = "error";
const quiet = console.warn;
console.warn = () => {}; // "Failed to cache …" for each file: URL
const extractor = await tjs.pipeline("feature-extraction", "bench-minilm-inline", {
  dtype: "fp32",
  device: "wasm",
});
console.warn = quiet;
const embedge = await Embedder.load(dir, { backend: "wasm", threads: 1 });
const embedgeOrt = await Embedder.load(dir, { backend: "wasm", threads: 1, kernels: false });

const lines = Deno.readTextFileSync(`${sharedDir}/corpus/big.txt`).split("\n")
  .map((l) => l.trim()).filter((l) => l.length > 0);
const texts = sampleLines(lines, 128, 7);

const loadBefore = os.loadavg();
const options = { pooling: "mean", normalize: true } as const;
const results: Record<string, unknown> = {};
let maxDiff = 0;
for (const bs of [1, 8, 32]) {
  const slices = Array.from(
    { length: Math.ceil(texts.length / bs) },
    (_, i) => texts.slice(i * bs, (i + 1) * bs),
  );
  const sides = {
    embedge: async () => {
      for (const s of slices) await embedge.embed(s, options);
    },
    embedgeOrt: async () => {
      for (const s of slices) await embedgeOrt.embed(s, options);
    },
    transformersJs: async () => {
      for (const s of slices) await extractor(s, options);
    },
  };
  const ms = await interleaved(sides, REPS);
  const a = (await embedge.embed(slices[0], options)).data;
  const b = (await extractor(slices[0], options)).data as Float32Array;
  const c = (await embedgeOrt.embed(slices[0], options)).data;
  for (let i = 0; i < a.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]), Math.abs(c[i] - b[i]));
  }
  const sps = (t: number) => texts.length / (t / 1000);
  results[`batch ${bs}`] = {
    embedge: sps(median(ms.embedge)),
    embedgeRange: [sps(Math.max(...ms.embedge)), sps(Math.min(...ms.embedge))],
    embedgeOrt: sps(median(ms.embedgeOrt)),
    embedgeOrtRange: [sps(Math.max(...ms.embedgeOrt)), sps(Math.min(...ms.embedgeOrt))],
    transformersJs: sps(median(ms.transformersJs)),
    transformersJsRange: [sps(Math.max(...ms.transformersJs)), sps(Math.min(...ms.transformersJs))],
    ratio: median(ms.transformersJs) / median(ms.embedge),
    ortRatio: median(ms.transformersJs) / median(ms.embedgeOrt),
  };
  console.error(`batch ${bs}: ${JSON.stringify(results[`batch ${bs}`])}`);
}
const loadAfter = os.loadavg();
await embedge.close();
await embedgeOrt.close();

const m = machine();
const report = {
  benchmark: "wasm-peers",
  machine: m,
  load: { before: loadBefore, after: loadAfter },
  repetitions: REPS,
  model: "all-MiniLM-L6-v2 structure (generated weights), external data inlined",
  sides: {
    embedge: `backend wasm, engine ${embedge.info.engine} (WASM SIMD + relaxed-SIMD FMA), 1 thread`,
    embedgeOrt: `backend wasm, engine ${embedgeOrt.info.engine} 1.30.0 (WASM SIMD), 1 thread`,
    transformersJs:
      "@huggingface/transformers 4.3.1 web build, its onnxruntime-web (asyncify WASM build), device wasm, 1 thread",
  },
  sentencesPerSec: results,
  maxAbsDiff: maxDiff,
};
type Row = {
  embedge: number;
  embedgeRange: number[];
  embedgeOrt: number;
  embedgeOrtRange: number[];
  ortRatio: number;
  transformersJs: number;
  transformersJsRange: number[];
  ratio: number;
};
const f = (v: number, d = 1) => v.toFixed(d);
const md = [
  "# WASM vs WASM: embedge and transformers.js on onnxruntime-web",
  "",
  `${m.date} · ${m.cpu} · ${m.cores} cores · Deno ${m.deno} · load ${f(loadBefore[0], 2)} before, ${
    f(loadAfter[0], 2)
  } after · median of ${REPS} interleaved repetitions after a warm-up, (min–max) beside it`,
  "",
  `${report.model}; 128 big.txt sentences in request-sized slices, mean pooling + normalize, one thread each; vectors agree within ${
    maxDiff.toExponential(1)
  }. embedge: ${report.sides.embedge}; for reference, embedge on onnxruntime-web: ${report.sides.embedgeOrt}. transformers.js: ${report.sides.transformersJs}. Sentences/s:`,
  "",
  "The ratio splits into two effects: *same engine, embedge's batching* is embedge on",
  "onnxruntime-web against transformers.js; *same batching, embedge's engine* is embedge on its",
  "kernels against embedge on onnxruntime-web (the same code around the model).",
  "",
  "| batch | embedge (wasm: kernels) | embedge on onnxruntime-web | transformers.js (wasm) | embedge / transformers.js | same engine, embedge's batching (embedge on onnxruntime-web / transformers.js) | same batching, embedge's engine (kernels / onnxruntime-web) |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...Object.entries(results).map(([k, v]) => {
    const s = v as Row;
    const cell = (x: number, r: number[]) => `${f(x)} (${f(r[0])}–${f(r[1])})`;
    return `| ${k} | ${cell(s.embedge, s.embedgeRange)} | ${
      cell(s.embedgeOrt, s.embedgeOrtRange)
    } | ${cell(s.transformersJs, s.transformersJsRange)} | ${f(s.ratio, 2)}× | ${
      f(s.ortRatio, 2)
    }× | ${f(s.embedge / s.embedgeOrt, 2)}× |`;
  }),
  "",
].join("\n");
await writeResults("wasm-peers", report, md, {
  title: {
    text: "Sentences/s on WASM, 1 thread (MiniLM structure)",
  },
  data: {
    values: Object.entries(results).flatMap(([batch, v]) => [
      { batch, side: "embedge (kernels)", sps: (v as Row).embedge },
      { batch, side: "embedge on onnxruntime-web", sps: (v as Row).embedgeOrt },
      { batch, side: "transformers.js", sps: (v as Row).transformersJs },
    ]),
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
