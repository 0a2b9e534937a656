/**
 * The Worker's cold start under `wrangler dev` (workerd, local): from starting the process
 * to the first `/embed` answer, `--rounds` times per build, alternating the builds:
 *
 * - `default` (edge/worker.ts): the tokenizer and embedge's kernels;
 * - `ort` (edge/worker_ort.ts): the same plus onnxruntime-web's JS and 14 MB wasm.
 *
 * The model (default: embedge-mini-mlm, fp32) runs on the kernels in both, so the
 * difference between the builds is what carrying onnxruntime-web costs at start.
 *
 * Parts: `listening` (wrangler started, bundled the Worker and started workerd: its port
 * accepts), then the first `/embed` request, which loads the model. Its steps come from
 * the lines the Worker prints with `EMBEDGE_LOG_TIMINGS=on` (edge/worker_handler.ts):
 * `files` (asset reads), `tokenizer`, `session` (graph parsed, weights packed for the
 * kernels), `first run` (the load's probe), `load`. workerd compiles the imported wasm
 * modules before the Worker runs, out of its sight: the compile time of the same bytes in
 * this process's V8 (`new WebAssembly.Module`) stands in for it. Also: the bundle
 * (`wrangler deploy --dry-run --outdir`, raw and gzip) of each build, the load average
 * before and after every start.
 *
 * @example
 * ```sh
 * deno run -A bench/worker_cold_start.ts                 # 5 rounds × 2 builds
 * deno run -A bench/worker_cold_start.ts --rounds 1 --out /tmp/x
 * ```
 * @module
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { prepareWorkerAssets } from "../bin/worker_assets.ts";
import { startWranglerDev, type WorkerBuild } from "../tests/support/wrangler_dev.ts";
import { workerBundle } from "./worker_bundle.ts";
import { machine, median } from "./machine.ts";
import { writeResults } from "./write_results.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "5" },
    model: { type: "string" },
    builds: { type: "string", default: "default,ort" },
    out: { type: "string" },
  },
});
const rounds = Number(args.rounds);
const builds = args.builds.split(",") as WorkerBuild[];
const sharedDir = Deno.env.get("EMBEDGE_SHARED") ??
  new URL("../../shared/", import.meta.url).pathname;
const modelDir = args.model ?? `${sharedDir}models/embedge-mini-mlm`;
const modelId = modelDir.replace(/\/+$/, "").split("/").pop()!;
const root = new URL("../", import.meta.url).pathname;

const assetsDir = await Deno.makeTempDir({ prefix: "embedge-cold-assets-" });
await prepareWorkerAssets(modelDir, assetsDir);

/** One start: milliseconds from spawning wrangler. */
interface Start {
  build: WorkerBuild;
  round: number;
  listeningMs: number;
  firstEmbedMs: number;
  /** The first /embed request alone (sent once the port accepts). */
  firstRequestMs: number;
  /** A second /embed of the same text: the model run without the load. */
  warmRequestMs: number;
  /** Then a /health: the request path (wrangler's proxy, workerd, the app) without a run. */
  warmHealthMs: number;
  /** Process start → the Worker's first request began loading the model (its wall clock). */
  loadBeganMs: number;
  /** The load's end → the first answer (the /embed run and the way back). */
  afterLoadMs: number;
  /** The Worker's own time for the first /embed after its load (its timing line). */
  firstRunInWorkerMs: number;
  /** The Worker's answer to the first /embed (its wall clock) → the answer here. */
  answerTransitMs: number;
  /** The Worker's own timing lines: step → ms. */
  steps: Record<string, number>;
  engine?: string;
  loadBefore: number[];
  loadAfter: number[];
  error?: string;
}

const body = JSON.stringify({ inputs: "The river runs through the old city at night." });
const post = () => ({ method: "POST", body, signal: AbortSignal.timeout(300_000) });

async function accepts(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

async function coldStart(build: WorkerBuild, round: number): Promise<Start> {
  const loadBefore = os.loadavg();
  const t0 = performance.now(), t0Epoch = Date.now();
  const worker = await startWranglerDev({
    assetsDir,
    build,
    vars: {
      EMBEDGE_MODEL_ID: modelId,
      EMBEDGE_LOG: "off",
      EMBEDGE_LOG_TIMINGS: "on",
      EMBEDGE_BATCHING: "off",
    },
    waitForHealth: false,
    logLevel: "log", // the Worker's console.log lines
  });
  const port = Number(new URL(worker.url).port);
  const start: Start = {
    build,
    round,
    listeningMs: NaN,
    firstEmbedMs: NaN,
    firstRequestMs: NaN,
    warmRequestMs: NaN,
    warmHealthMs: NaN,
    loadBeganMs: NaN,
    afterLoadMs: NaN,
    firstRunInWorkerMs: NaN,
    answerTransitMs: NaN,
    steps: {},
    loadBefore,
    loadAfter: [],
  };
  try {
    const deadline = t0 + 300_000;
    while (!(await accepts(port))) {
      if (performance.now() > deadline) throw new Error("wrangler never listened");
      await new Promise((r) => setTimeout(r, 20));
    }
    start.listeningMs = performance.now() - t0;
    // wrangler may accept before workerd serves: a refused or reset request is tried again
    for (;;) {
      const sent = performance.now();
      try {
        const r = await fetch(`${worker.url}/embed`, post());
        const text = await r.text();
        if (r.status === 200) {
          start.firstEmbedMs = performance.now() - t0;
          start.firstRequestMs = performance.now() - sent;
          break;
        }
        if (r.status === 503 && text.includes("did not load")) throw new Error(text);
      } catch (e) {
        if (e instanceof Error && e.message.includes("did not load")) throw e;
      }
      if (performance.now() > deadline) throw new Error("no /embed answer");
      await new Promise((r) => setTimeout(r, 20));
    }
    const sent = performance.now();
    await (await fetch(`${worker.url}/embed`, post())).text();
    start.warmRequestMs = performance.now() - sent;
    const healthSent = performance.now();
    await (await fetch(`${worker.url}/health`)).text();
    start.warmHealthMs = performance.now() - healthSent;
    start.engine = (await (await fetch(`${worker.url}/info`)).json()).engine;
    for (const m of worker.log().matchAll(/embedge timing: (.+?) (\d+) ms/g)) {
      start.steps[m[1]] = Number(m[2]);
    }
    const began = Number(worker.log().match(/embedge timing: load began at (\d+)/)?.[1]);
    start.loadBeganMs = began - t0Epoch;
    start.afterLoadMs = start.firstEmbedMs - start.loadBeganMs - start.steps.load;
    const first = worker.log().match(
      /embedge timing: request 1 \/embed (\d+) ms, answered at (\d+)/,
    );
    if (first) {
      start.firstRunInWorkerMs = Number(first[1]);
      start.answerTransitMs = start.firstEmbedMs - (Number(first[2]) - t0Epoch);
    }
  } catch (e) {
    start.error = String(e).slice(0, 500);
    console.error(worker.log().slice(-2000));
  } finally {
    await worker.stop();
    start.loadAfter = os.loadavg();
  }
  return start;
}

/** `new WebAssembly.Module` of the bytes workerd compiles at start, median of 5. */
function compileMs(path: string): { file: string; bytes: number; ms: number } {
  const bytes = Deno.readFileSync(root + path);
  const times = Array.from({ length: 5 }, () => {
    const t = performance.now();
    new WebAssembly.Module(bytes);
    return performance.now() - t;
  });
  return { file: path, bytes: bytes.length, ms: median(times) };
}

const bundles = Object.fromEntries(
  await Promise.all(builds.map(async (b) => [b, await workerBundle(assetsDir, b)])),
);
const compiles = [
  compileMs("wasm/build/tokenizer.wasm"),
  compileMs("wasm/build/bert_kernels.wasm"),
  ...(builds.includes("ort")
    ? [compileMs("node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm")]
    : []),
];
const starts: Start[] = [];
for (let round = 0; round < rounds; round++) {
  for (const build of round % 2 ? [...builds].reverse() : builds) {
    const s = await coldStart(build, round);
    starts.push(s);
    console.log(
      `round ${round + 1} ${build}: listening ${s.listeningMs.toFixed(0)} ms, first /embed ${
        s.firstEmbedMs.toFixed(0)
      } ms (load began ${s.loadBeganMs.toFixed(0)}, after load ${s.afterLoadMs.toFixed(0)}, warm ${
        s.warmRequestMs.toFixed(0)
      }), ${JSON.stringify(s.steps)}, load ${s.loadBefore[0].toFixed(1)}${
        s.error ? `, failed: ${s.error}` : ""
      }`,
    );
  }
}
await Deno.remove(assetsDir, { recursive: true });

const STEPS = ["files", "tokenizer", "session", "first run", "load"];
const summary = Object.fromEntries(builds.map((build) => {
  const ok = starts.filter((s) => s.build === build && !s.error);
  const med = (f: (s: Start) => number) => ok.length ? median(ok.map(f)) : NaN;
  return [build, {
    starts: ok.length,
    failures: starts.filter((s) => s.build === build && s.error).length,
    engine: ok[0]?.engine,
    listeningMs: med((s) => s.listeningMs),
    firstEmbedMs: med((s) => s.firstEmbedMs),
    firstEmbedRangeMs: [
      Math.min(...ok.map((s) => s.firstEmbedMs)),
      Math.max(...ok.map((s) => s.firstEmbedMs)),
    ],
    firstRequestMs: med((s) => s.firstRequestMs),
    warmRequestMs: med((s) => s.warmRequestMs),
    warmHealthMs: med((s) => s.warmHealthMs),
    loadBeganMs: med((s) => s.loadBeganMs),
    afterLoadMs: med((s) => s.afterLoadMs),
    firstRunInWorkerMs: med((s) => s.firstRunInWorkerMs),
    answerTransitMs: med((s) => s.answerTransitMs),
    steps: Object.fromEntries(STEPS.map((k) => [k, med((s) => s.steps[k] ?? NaN)])),
    bundle: { bytes: bundles[build].bytes, gzipBytes: bundles[build].gzipBytes },
  }];
}));
const loads = starts.flatMap((s) => [s.loadBefore[0], s.loadAfter[0]]);
const m = machine();
const report = {
  machine: m,
  model: modelId,
  rounds,
  engines: Object.fromEntries(builds.map((b) => [b, summary[b].engine])),
  loadAverage1m: { min: Math.min(...loads), max: Math.max(...loads), median: median(loads) },
  summary,
  bundles,
  wasmCompileInDeno: compiles,
  starts,
};
const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
const md = [
  `# Worker cold start under wrangler dev: ${modelId}`,
  "",
  `${m.date} · ${m.cpu} · ${m.cores} cores · Deno ${m.deno} · ${rounds} starts per build, alternating.`,
  `Machine shared with other work: 1-minute load average ${report.loadAverage1m.min.toFixed(1)}–${
    report.loadAverage1m.max.toFixed(1)
  } (median ${report.loadAverage1m.median.toFixed(1)}) on ${m.cores} cores.`,
  "",
  "Medians (ms). Engine of every build: " +
  builds.map((b) => `${b}: ${summary[b].engine}`).join(", ") + ".",
  "",
  `| build | bundle raw | bundle gzip | listening | load began | ${
    STEPS.join(" | ")
  } | after load | of which /embed in the Worker | of which answer's way out | first /embed | warm /embed | warm /health | starts |`,
  `|---|---:|---:|---:|---:|${
    STEPS.map(() => "---:").join("|")
  }|---:|---:|---:|---:|---:|---:|---:|`,
  ...builds.map((b) => {
    const s = summary[b];
    const cells = [
      b,
      kb(s.bundle.bytes),
      kb(s.bundle.gzipBytes),
      s.listeningMs.toFixed(0),
      s.loadBeganMs.toFixed(0),
      ...STEPS.map((k) => s.steps[k].toFixed(0)),
      s.afterLoadMs.toFixed(0),
      s.firstRunInWorkerMs.toFixed(0),
      s.answerTransitMs.toFixed(0),
      `**${s.firstEmbedMs.toFixed(0)}** (${
        s.firstEmbedRangeMs.map((x) => x.toFixed(0)).join("–")
      })`,
      s.warmRequestMs.toFixed(0),
      s.warmHealthMs.toFixed(0),
      `${s.starts}${s.failures ? ` (+${s.failures} failed)` : ""}`,
    ];
    return `| ${cells.join(" | ")} |`;
  }),
  "",
  "From process start: `listening` (wrangler's port accepts), `load began` (the Worker's first",
  "request starts loading the model, by its wall clock: wrangler's bundling, workerd's start and",
  "module compile happen before), then the Worker's own EMBEDGE_LOG_TIMINGS steps: `files` (asset",
  "reads), `tokenizer`, `session` (graph parsed, weights packed for the kernels), `first run` (the",
  "load's probe), `load` (all of them); `after load`: the load's end → the first answer (the /embed",
  "run and the way back: the Worker's own time for it, by its timing line, and from its answer, by",
  "its wall clock, to the answer here); `first /embed`: process start → first answer (min–max). `warm /embed`,",
  "`warm /health`: the next requests (wrangler's local proxy and workerd's request path included).",
  "",
  "wasm compile of the same bytes in Deno's V8 (a stand-in: workerd compiles them out of the Worker's sight):",
  "",
  "| file | bytes | ms |",
  "|---|---:|---:|",
  ...compiles.map((c) => `| ${c.file} | ${c.bytes} | ${c.ms.toFixed(1)} |`),
  "",
].join("\n");
const stem = await writeResults("worker-cold-start", report, md, {
  title: { text: `First /embed after starting wrangler dev (${modelId}), ms` },
  data: {
    values: starts.filter((s) => !s.error).map((s) => ({ build: s.build, ms: s.firstEmbedMs })),
  },
  mark: { type: "tick", thickness: 2 },
  encoding: {
    x: { field: "ms", type: "quantitative" },
    y: { field: "build", type: "nominal" },
  },
}, args.out);
console.log(md);
console.log(`bench/results/${stem}.{json,md}`);
