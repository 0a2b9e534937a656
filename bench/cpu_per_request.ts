/**
 * CPU per request on a Worker: the free plan allows 10 ms of CPU per request. One typical
 * sentence (8–16 tokens with [CLS] and [SEP], big.txt lines drawn by a seeded generator)
 * per `POST /embed`, through the Worker's own fetch handler (edge/worker_handler.ts: JSON
 * in, tokenizer, model, pooling, JSON out) run inline in this process as the default build
 * runs it (the tokenizer and kernels handed over as compiled modules, the prepared assets
 * read through an `ASSETS`-like binding, one thread, the Worker's token budget), on the
 * all-MiniLM-L6-v2 structure (generated weights: real sizes, real latency):
 *
 * - `int8 request`: `embedge quantize`'s int8 model on embedge's kernels;
 * - `fp32 request`: the fp32 model on the kernels, for reference;
 * - `int8 embed()`: `Embedder.embed` of the same sentence on the same int8 assets (the
 *   request without HTTP, JSON and the batcher);
 * - `tokenize`: that embedder's `tokenizer.encode` alone.
 *
 * Each side runs every sentence once per pass; passes are interleaved (int8 request, fp32
 * request, int8 embed(), tokenize, …) `--reps` times after a warm-up pass. Per request: the
 * process's CPU time (getrusage; what a CPU limit counts, unlike the wall clock, which on a
 * shared machine includes waiting for a core and the batcher's short wait for company) and
 * the wall time. Median and p95 over all
 * requests, the spread of the passes' medians, the load average before and after.
 * With `--workerd`, the same requests are also sent to the int8 Worker under `wrangler dev`
 * (bench/workerd_requests.ts), whose own per-request times come from its
 * `EMBEDGE_LOG_TIMINGS=requests` lines.
 *
 * @example
 * ```sh
 * deno run -A bench/cpu_per_request.ts                 # 64 sentences × 5 passes per side
 * deno run -A bench/cpu_per_request.ts --reps 1 --sentences 8 --out /tmp/x
 * ```
 * @module
 */
import os from "node:os";
import process from "node:process";
import { parseArgs } from "node:util";
import { prepareWorkerAssets } from "../bin/worker_assets.ts";
import { PART_BYTES } from "../edge/assets.ts";
import { createWorker, type WorkerEnv } from "../edge/worker_handler.ts";
import { Embedder } from "../src/model/embedder.ts";
import { quantize } from "../src/model/onnx/quantize.ts";
import { benchMiniLmStructure } from "../tests/support/minilm_structure.ts";
import { directoryAssets } from "../tests/support/directory_assets.ts";
import { interleaved, sampleLines } from "./sides.ts";
import { machine, median, quantile } from "./machine.ts";
import { writeResults } from "./write_results.ts";
import { cpuPerRequestMarkdown, type SideSummary } from "./cpu_per_request_markdown.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    reps: { type: "string", default: "5" },
    sentences: { type: "string", default: "64" },
    workerd: { type: "boolean", default: false },
    out: { type: "string" },
  },
});
const REPS = Number(args.reps), N = Number(args.sentences);
const root = new URL("../", import.meta.url).pathname;
const sharedDir = Deno.env.get("EMBEDGE_SHARED") ?? `${root}../shared/`;
const cache = `${root}.cache/`;

// the assets bench/worker_memory.ts prepares, in the same place
const minilm = await benchMiniLmStructure(sharedDir);
try {
  await Deno.stat(`${minilm}/onnx/model_int8.onnx`);
} catch {
  await quantize(minilm);
}
const assets = {
  int8: `${cache}bench-worker-assets-MiniLM-int8`,
  fp32: `${cache}bench-worker-assets-MiniLM-fp32`,
};
await prepareWorkerAssets(minilm, assets.int8, PART_BYTES, "int8");
await prepareWorkerAssets(minilm, assets.fp32, PART_BYTES);

/**
 * The process's CPU time so far (user + system, getrusage), ms. A thread's own counter
 * (`/proc/thread-self/schedstat`) was tried first: for the running thread it is only brought
 * up to date at the scheduler's ticks and switches, and a 1 ms busy loop read 0.02–1.05 ms
 * on it against 0.5–1.1 ms here. getrusage is current, but counts every thread: V8's
 * garbage collector and compiler threads too (an upper bound of the request's thread).
 */
function processCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

const compile = async (path: string) => new WebAssembly.Module(await Deno.readFile(root + path));
const modules = {
  tokenizerWasm: await compile("wasm/build/tokenizer.wasm"),
  kernelsWasm: await compile("wasm/build/bert_kernels.wasm"),
};
/** The Worker's handler serving `dir` as its ASSETS binding; `request(body)` → the answer. */
async function worker(dir: string, vars: Record<string, string>) {
  const handler = createWorker(modules);
  const env: WorkerEnv = {
    EMBEDGE_LOG: "off",
    ...vars,
    ASSETS: directoryAssets(dir),
  };
  const call = (path: string, body?: string) =>
    handler.fetch(
      new Request(`http://worker.local${path}`, body ? { method: "POST", body } : {}),
      env,
      {},
    );
  const info = await (await call("/info")).json(); // loads the model
  if (info.engine !== "embedge-kernels") throw new Error(`${dir}: engine ${info.engine}`);
  return {
    info,
    async request(body: string) {
      const res = await call("/embed", body);
      const out = await res.text();
      if (!res.ok) throw new Error(`/embed answered ${res.status}: ${out.slice(0, 200)}`);
      return out;
    },
  };
}
const int8Worker = await worker(assets.int8, { EMBEDGE_DTYPE: "int8", EMBEDGE_MODEL_ID: "int8" });
const fp32Worker = await worker(assets.fp32, { EMBEDGE_MODEL_ID: "fp32" });
const embedder = await Embedder.load(assets.int8, {
  backend: "wasm",
  dtype: "int8",
  batchTokens: 512,
  tokenizerCache: false,
  tokenizerWasm: modules.tokenizerWasm,
  kernelsWasm: modules.kernelsWasm,
});

// typical sentences: big.txt lines of 8–16 tokens, [CLS] and [SEP] included
const tokens = (text: string) => embedder.tokenizer.encode(text).ids.length;
const candidates = Deno.readTextFileSync(`${sharedDir}corpus/big.txt`).split("\n")
  .map((l) => l.trim()).filter((l) => /[.!?]$/.test(l) && tokens(l) >= 8 && tokens(l) <= 16);
const texts = sampleLines(candidates, N, 7);
const bodies = texts.map((t) => JSON.stringify({ inputs: t }));
const lengths = texts.map(tokens);

type Side = "int8 request" | "fp32 request" | "int8 embed()" | "tokenize";
const work: Record<Side, (i: number) => Promise<unknown>> = {
  "int8 request": (i) => int8Worker.request(bodies[i]),
  "fp32 request": (i) => fp32Worker.request(bodies[i]),
  "int8 embed()": (i) => embedder.embed([texts[i]]),
  "tokenize": (i) => Promise.resolve(embedder.tokenizer.encode(texts[i])),
};
const SIDES = Object.keys(work) as Side[];
type Samples = { cpu: number[]; wall: number[]; passes: number[] };
const samples = Object.fromEntries(
  SIDES.map((s) => [s, { cpu: [], wall: [], passes: [] } as Samples]),
) as Record<Side, Samples>;
const calls = Object.fromEntries(SIDES.map((s) => [s, 0])) as Record<Side, number>;
const pass = (side: Side) => async () => {
  const record = calls[side]++ > 0; // the first pass is the warm-up
  const cpu: number[] = [];
  for (let i = 0; i < texts.length; i++) {
    const c0 = processCpuMs(), t0 = performance.now();
    await work[side](i);
    const wall = performance.now() - t0, used = processCpuMs() - c0;
    if (!record) continue;
    cpu.push(used);
    samples[side].cpu.push(used);
    samples[side].wall.push(wall);
  }
  if (record) samples[side].passes.push(median(cpu));
};

const loadBefore = os.loadavg();
await interleaved(
  Object.fromEntries(SIDES.map((s) => [s, pass(s)])) as Record<Side, () => Promise<void>>,
  REPS,
);
const loadAfter = os.loadavg();
await embedder.close();

const summary = Object.fromEntries(SIDES.map((side) => {
  const s = samples[side];
  return [
    side,
    {
      requests: s.cpu.length,
      cpuMs: { median: median(s.cpu), p95: quantile(s.cpu, 0.95), max: Math.max(...s.cpu) },
      wallMs: { median: median(s.wall), p95: quantile(s.wall, 0.95) },
      passMediansCpuMs: [Math.min(...s.passes), Math.max(...s.passes)],
    } satisfies SideSummary,
  ];
})) as Record<Side, SideSummary>;

let workerd;
if (args.workerd) {
  const { workerdRequestTimes } = await import("./workerd_requests.ts");
  workerd = await workerdRequestTimes(assets.int8, { EMBEDGE_DTYPE: "int8" }, bodies, REPS);
}

const m = machine();
const report = {
  benchmark: "cpu-per-request",
  machine: m,
  load: { before: loadBefore, after: loadAfter },
  repetitions: REPS,
  model: "all-MiniLM-L6-v2 structure (generated weights); int8: quantize's model of it",
  sides: {
    "int8 request":
      "POST /embed of one sentence through edge/worker_handler.ts (default build: tokenizer + embedge's kernels, 1 thread, 512 cells per run), int8 model",
    "fp32 request": "the same with the fp32 model",
    "int8 embed()": "Embedder.embed([sentence]) on the same int8 assets, embedge's kernels",
    "tokenize": "that embedder's tokenizer.encode(sentence)",
  },
  engines: { int8: int8Worker.info.engine, fp32: fp32Worker.info.engine },
  sentences: {
    count: texts.length,
    tokens: { min: Math.min(...lengths), median: median(lengths), max: Math.max(...lengths) },
    examples: texts.slice(0, 3),
  },
  summary,
  workerd,
};
const md = cpuPerRequestMarkdown(report);
await writeResults("cpu-per-request", report, md, {
  title: { text: "CPU per request, one sentence (median and p95); 10 ms free-plan limit in red" },
  data: {
    values: SIDES.flatMap((side) => [
      { side, stat: "median", ms: summary[side].cpuMs.median },
      { side, stat: "p95", ms: summary[side].cpuMs.p95 },
    ]),
  },
  layer: [
    {
      mark: "bar",
      encoding: {
        y: { field: "side", type: "nominal", title: null },
        yOffset: { field: "stat" },
        x: { field: "ms", type: "quantitative", title: "process CPU ms per request" },
        color: { field: "stat", type: "nominal" },
      },
    },
    { mark: { type: "rule", color: "red" }, encoding: { x: { datum: 10 } } },
  ],
}, args.out);
console.log(md);
