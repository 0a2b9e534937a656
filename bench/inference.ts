/**
 * Inference benchmark on the real all-MiniLM-L6-v2 export structure (6 layers, hidden
 * 384, 12 heads) with generated weights (`src/testing/minilm_structure.ts`): real
 * latency, meaningless vectors. Measures, in one process on the same inputs:
 * - latency per sentence (batch 1) for padding `longest` vs fixed 8 … 512 and for pooling
 *   cls/mean/max/mean_max/token vectors (native backend);
 * - throughput for batch sizes 1/8/32 with `longest` and fixed 128 padding, on both
 *   backends, and the share of time outside `session.run`;
 * - the backends on the same tensors: onnxruntime-node (native, `--threads`, default the
 *   core count) vs onnxruntime-web (WASM, 1 thread, and the thread count given by
 *   `--wasm-threads` in child processes alternated with 1-thread ones, since ORT's WASM
 *   thread count is fixed per process);
 * - embedge (native) vs transformers.js feature-extraction (onnxruntime-node, the same
 *   intra-op thread count), 128 big.txt sentences in request-sized slices;
 * - the cost of fixed 512 padding on real big.txt sentence lengths (FLOPs model);
 * - int8 (`embedge quantize`) vs fp32 of the same model on each backend: session.run on the
 *   same tensors, file size, and the cosine of their vectors.
 *
 * Every comparison is repeated (≥ 5 after a warm-up; median, min and max) with its sides
 * interleaved (A, B, A, B); the 1-minute load average is recorded before and after.
 * The WASM side is the backend's engine (info.engine: embedge's kernels for this graph);
 * the WASM-vs-WASM comparison with transformers.js is bench/wasm_peers.ts.
 *
 * @example
 * ```sh
 * deno run --allow-all bench/inference.ts          # full, a few minutes
 * deno run --allow-all bench/inference.ts --quick  # smoke run
 * ```
 * @module
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { env as tjsEnv, pipeline } from "@huggingface/transformers";
import { Embedder } from "../src/model/embedder.ts";
import { quantize } from "../src/model/onnx/quantize.ts";
import type { TokenPooling } from "../src/model/pooling.ts";
import { benchMiniLmStructure } from "../tests/support/minilm_structure.ts";
import { interleaved, sampleLines } from "./sides.ts";
import { machine, median, quantile } from "./machine.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    out: { type: "string" },
    threads: { type: "string", default: String(os.cpus().length) },
    "wasm-threads": { type: "string", default: "2" },
    // internal: a child process timing the WASM backend with this many threads
    "wasm-child": { type: "string" },
  },
});
const quick = args.quick!;
const REPS = quick ? 2 : 5;
const threads = Number(args.threads);
const sharedDir = Deno.env.get("EMBEDGE_SHARED") ??
  new URL("../../shared/", import.meta.url).pathname;
const cache = await benchMiniLmStructure(sharedDir);
const lines = Deno.readTextFileSync(`${sharedDir}/corpus/big.txt`).split("\n")
  .map((l) => l.trim()).filter((l) => l.length > 0);
const sample = (n: number, seed = 1) => sampleLines(lines, n, seed);
const texts = sample(quick ? 16 : 128, 7);
const BATCHES = quick ? [1, 8] : [1, 8, 32];

/** Median with spread of a list of milliseconds. */
const spread = (ms: number[]) => ({
  ms: median(ms),
  minMs: Math.min(...ms),
  maxMs: Math.max(...ms),
  p95Ms: quantile(ms, 0.95),
});

if (args["wasm-child"]) {
  // child: session.run on the same tensors with N WASM threads, REPS timed runs per batch
  // onnxruntime-web on both sides (the kernels run one thread only): this table is about
  // onnxruntime-web's threads
  const e = await Embedder.load(cache, {
    backend: "wasm",
    threads: Number(args["wasm-child"]),
    kernels: false,
  });
  const out: Record<string, number[]> = {};
  for (const bs of BATCHES) {
    const b = e.tokenizer.encodeBatch(texts.slice(0, bs), { maxLength: 128, truncation: true });
    const go = () =>
      e.session.run(b.inputIds, b.attentionMask, b.tokenTypeIds, b.batchSize, b.sequenceLength);
    await go();
    out[bs] = [];
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      await go();
      out[bs].push(performance.now() - t0);
    }
  }
  console.log(JSON.stringify(out));
  Deno.exit(0);
}

const loadBefore = os.loadavg();
const load = (backend: "native" | "wasm") =>
  Embedder.load(cache, {
    modelId: "all-MiniLM-L6-v2 structure (generated weights)",
    backend,
    threads: backend === "native" ? threads : 1,
  });
const native = await load("native"), wasm = await load("wasm");
const embedders = { native, wasm };

// session.run time, to separate the model from everything else
const runMs = { native: 0, wasm: 0 };
const rawRun = {
  native: native.session.run.bind(native.session),
  wasm: wasm.session.run.bind(wasm.session),
};
for (const k of ["native", "wasm"] as const) {
  embedders[k].session.run = async (...a) => {
    const t0 = performance.now();
    const out = await rawRun[k](...a);
    runMs[k] += performance.now() - t0;
    return out;
  };
}

// 1. latency per sentence (batch 1) by padding and pooling, native backend; the poolings
// are interleaved per sentence so that drift in machine speed falls on all of them alike.
const sentences = sample(quick ? 1 : 8);
const paddings = quick
  ? ["longest", 16, 128] as const
  : ["longest", 8, 16, 32, 64, 128, 256, 512] as const;
const poolings: (TokenPooling | "none")[] = quick
  ? ["cls", "mean"]
  : ["cls", "mean", "max", "mean_max", "none"];
const grid: Record<string, Record<string, { p50: number; p95: number; min: number }>> = {};
for (const pooling of poolings) grid[pooling] = {};
for (const p of paddings) {
  const o = p === "longest"
    ? { padding: "longest" as const }
    : { padding: "max_length" as const, maxLength: p };
  const ms: Record<string, number[]> = Object.fromEntries(poolings.map((q) => [q, []]));
  for (const s of sentences) {
    const sides = Object.fromEntries(poolings.map((pooling) => [
      pooling,
      pooling === "none"
        ? () => native.embedTokens([s], o)
        : () => native.embed([s], { pooling, ...o }),
    ]));
    const t = await interleaved(sides, quick ? 1 : 3);
    for (const pooling of poolings) ms[pooling].push(median(t[pooling]));
  }
  for (const pooling of poolings) {
    grid[pooling][String(p)] = {
      p50: median(ms[pooling]),
      p95: quantile(ms[pooling], 0.95),
      min: Math.min(...ms[pooling]),
    };
  }
  console.error(`padding ${p}: mean ${grid.mean[String(p)].p50.toFixed(2)} ms`);
}
const paddingSweep = grid["mean"];

// 2. throughput by batch size and padding on both backends, interleaved per configuration.
// "sorted": one embed call over all texts, batched by length (the product path);
// "as sent": the texts arrive in request-sized slices, each padded on its own.
const batchSweep: Record<string, unknown> = {};
for (const bs of BATCHES) {
  for (const pad of quick ? ["longest"] as const : ["longest", "max_length"] as const) {
    for (const mode of ["sorted", "as sent"] as const) {
      if (bs === 1 && mode === "sorted") continue; // same as "as sent"
      const o = { padding: pad, maxLength: 128, batchTokens: bs * 128 };
      const job = (e: Embedder) => async () => {
        if (mode === "sorted") {
          await e.embed(texts, { ...o, batchTokens: bs * (pad === "max_length" ? 128 : 64) });
        } else {
          for (let i = 0; i < texts.length; i += bs) await e.embed(texts.slice(i, i + bs), o);
        }
      };
      const model = { native: [] as number[], wasm: [] as number[] };
      const sides = Object.fromEntries((["native", "wasm"] as const).map((k) => [k, async () => {
        runMs[k] = 0;
        await job(embedders[k])();
        model[k].push(runMs[k]);
      }])) as Record<"native" | "wasm", () => Promise<void>>;
      const t = await interleaved(sides, quick ? 1 : 3);
      for (const k of ["native", "wasm"] as const) {
        const total = median(t[k]), inModel = median(model[k].slice(1));
        const key = `batch ${bs} / ${pad === "max_length" ? "fixed 128" : pad} / ${mode} / ${k}`;
        batchSweep[key] = {
          sentencesPerSec: texts.length / (total / 1000),
          minSentencesPerSec: texts.length / (Math.max(...t[k]) / 1000),
          maxSentencesPerSec: texts.length / (Math.min(...t[k]) / 1000),
          overheadPct: (100 * (total - inModel)) / total,
        };
        console.error(`${key}: ${(texts.length / (total / 1000)).toFixed(1)} sentences/s`);
      }
    }
  }
}

// 3. the backends on the same tensors: native vs WASM (1 thread) interleaved in-process;
// WASM with more threads in child processes alternated with 1-thread children
const backends: Record<string, unknown> = {};
for (const bs of BATCHES) {
  const b = native.tokenizer.encodeBatch(texts.slice(0, bs), { maxLength: 128, truncation: true });
  const go = (k: "native" | "wasm") => () =>
    rawRun[k](b.inputIds, b.attentionMask, b.tokenTypeIds, b.batchSize, b.sequenceLength);
  const t = await interleaved({ native: go("native"), wasm: go("wasm") }, REPS);
  backends[`batch ${bs} (seq ${b.sequenceLength})`] = {
    native: spread(t.native),
    wasm1: spread(t.wasm),
    webOverNode: median(t.wasm) / median(t.native),
  };
}
const wasmThreads = Number(args["wasm-threads"]);
const childMs: Record<string, Record<string, number[]>> = { "1": {}, [wasmThreads]: {} };
for (let r = 0; r < (quick ? 1 : 3); r++) {
  for (const n of [1, wasmThreads]) {
    const { stdout, code } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL(import.meta.url).pathname,
        "--wasm-child",
        String(n),
        ...(quick ? ["--quick"] : []),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (code !== 0) throw new Error(`wasm child with ${n} threads failed`);
    const out = JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").pop()!);
    for (const [bs, ms] of Object.entries(out)) {
      (childMs[n][bs] ??= []).push(...(ms as number[]));
    }
  }
}
const wasmThreading = Object.fromEntries(BATCHES.map((bs) => [`batch ${bs}`, {
  oneThread: spread(childMs["1"][bs]),
  threads: wasmThreads,
  nThreads: spread(childMs[wasmThreads][bs]),
  speedup: median(childMs["1"][bs]) / median(childMs[wasmThreads][bs]),
}]));
console.error(
  `wasm threads: ${JSON.stringify(Object.values(wasmThreading).map((w) => +w.speedup.toFixed(2)))}`,
);

// 4. embedge (native) vs transformers.js feature-extraction (onnxruntime-node) with the
// same intra-op threads, on the same texts and model. transformers.js wants the external
// data named onnx/model.onnx_data, so it reads a linked copy of the directory.
const tjsRoot = new URL("../.cache/tjs/", import.meta.url).pathname;
const tjsDir = `${tjsRoot}bench-minilm-structure`;
await Deno.remove(tjsDir, { recursive: true }).catch(() => {});
await Deno.mkdir(`${tjsDir}/onnx`, { recursive: true });
for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json", "onnx/model.onnx"]) {
  await Deno.link(`${cache}/${f}`, `${tjsDir}/${f}`);
}
for (const e of Deno.readDirSync(`${cache}/onnx`)) {
  if (e.name === "model.onnx") continue; // the graph's external data, under both names
  await Deno.link(`${cache}/onnx/${e.name}`, `${tjsDir}/onnx/${e.name}`);
  await Deno.link(`${cache}/onnx/${e.name}`, `${tjsDir}/onnx/model.onnx_data`).catch(() => {});
}
tjsEnv.allowRemoteModels = false;
tjsEnv.localModelPath = tjsRoot;
const extractor = await pipeline("feature-extraction", "bench-minilm-structure", {
  dtype: "fp32",
  device: "cpu",
  use_external_data_format: true,
  session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
} as never);
const vsTjs: Record<string, unknown> = {};
const sameBatching = {
  pooling: "mean",
  normalize: true,
  maxPaddingWaste: Infinity,
  batchTokens: 1 << 20, // the largest allowed: no call is split
} as const;
let tjsMaxDiff = 0;
for (const bs of quick ? [8] : BATCHES) {
  const slices = Array.from(
    { length: Math.ceil(texts.length / bs) },
    (_, i) => texts.slice(i * bs, (i + 1) * bs),
  );
  const t = await interleaved({
    embedge: async () => {
      for (const s of slices) await native.embed(s, { pooling: "mean", normalize: true });
    },
    // embedge batched as transformers.js batches (each call one run, padded to its longest
    // text): the gap to transformers.js is then the engine and the code around it, and the
    // gap to `embedge` is what embedge's length-sorted grouping buys
    embedgeAsPadded: async () => {
      for (const s of slices) await native.embed(s, sameBatching);
    },
    transformersJs: async () => {
      for (const s of slices) await extractor(s, { pooling: "mean", normalize: true });
    },
  }, REPS);
  const a = (await native.embed(slices[0], { pooling: "mean", normalize: true })).data;
  const b = (await extractor(slices[0], { pooling: "mean", normalize: true })).data as Float32Array;
  for (let i = 0; i < a.length; i++) tjsMaxDiff = Math.max(tjsMaxDiff, Math.abs(a[i] - b[i]));
  const sps = (ms: number) => texts.length / (ms / 1000);
  vsTjs[`batch ${bs}`] = {
    embedge: sps(median(t.embedge)),
    embedgeRange: [sps(Math.max(...t.embedge)), sps(Math.min(...t.embedge))],
    embedgeAsPadded: sps(median(t.embedgeAsPadded)),
    embedgeAsPaddedRange: [
      sps(Math.max(...t.embedgeAsPadded)),
      sps(Math.min(...t.embedgeAsPadded)),
    ],
    transformersJs: sps(median(t.transformersJs)),
    transformersJsRange: [sps(Math.max(...t.transformersJs)), sps(Math.min(...t.transformersJs))],
    ratio: median(t.transformersJs) / median(t.embedge),
    // same engine and same batching: what is left is embedge's code around the model
    sameBatchingRatio: median(t.transformersJs) / median(t.embedgeAsPadded),
    // same engine, same code: what embedge's length-sorted grouping adds
    batchingRatio: median(t.embedgeAsPadded) / median(t.embedge),
  };
  console.error(`transformers.js batch ${bs}: ${JSON.stringify(vsTjs[`batch ${bs}`])}`);
}

// 6. int8 (embedge quantize) vs fp32 of the same model: the same tensors on each backend,
// interleaved; vectors compared by cosine over all the texts
try {
  await Deno.stat(`${cache}/onnx/model_int8.onnx`);
} catch {
  await quantize(cache);
}
const fileBytes = (files: string[]) =>
  files.reduce((n, f) => n + Deno.statSync(`${cache}/onnx/${f}`).size, 0);
const fp32Files = [...Deno.readDirSync(`${cache}/onnx`)].map((e) => e.name)
  .filter((n) => n !== "model_int8.onnx");
const int8Embedders = {
  native: await Embedder.load(cache, { backend: "native", threads, dtype: "int8" }),
  wasm: await Embedder.load(cache, { backend: "wasm", threads: 1, dtype: "int8" }),
};
const int8Speed: Record<string, unknown> = {};
for (const k of ["native", "wasm"] as const) {
  for (const bs of BATCHES) {
    const b = native.tokenizer.encodeBatch(texts.slice(0, bs), {
      maxLength: 128,
      truncation: true,
    });
    const args = [
      b.inputIds,
      b.attentionMask,
      b.tokenTypeIds,
      b.batchSize,
      b.sequenceLength,
    ] as const;
    const int8Session = int8Embedders[k].session;
    const t = await interleaved({
      fp32: () => rawRun[k](...args),
      int8: () => int8Session.run(...args),
    }, REPS);
    int8Speed[`${k} / batch ${bs}`] = {
      fp32: spread(t.fp32),
      int8: spread(t.int8),
      speedup: median(t.fp32) / median(t.int8),
    };
  }
  console.error(
    `int8 ${k}: ${
      JSON.stringify(
        Object.values(int8Speed).map((v) => +(v as { speedup: number }).speedup.toFixed(2)),
      )
    }`,
  );
}
const int8Cosines: Record<string, { mean: number; min: number }> = {};
for (const k of ["native", "wasm"] as const) {
  const o = { pooling: "mean", normalize: true } as const;
  const a = await embedders[k].embed(texts, o), b = await int8Embedders[k].embed(texts, o);
  const w = a.dims[1];
  const c = texts.map((_, i) => {
    let d = 0;
    for (let j = 0; j < w; j++) d += a.data[i * w + j] * b.data[i * w + j];
    return d;
  });
  int8Cosines[k] = { mean: c.reduce((x, y) => x + y, 0) / c.length, min: Math.min(...c) };
}
const int8Report = {
  bytes: { fp32: fileBytes(fp32Files), int8: fileBytes(["model_int8.onnx"]) },
  sessionRunMs: int8Speed,
  cosineOverTexts: int8Cosines,
};
for (const e of Object.values(int8Embedders)) await e.close();

// 5. fixed 512 vs dynamic padding on real sentence lengths (FLOPs model + measured above)
const lens = lines.slice(0, 20000).map((l) => Math.min(512, native.tokenizer.encode(l).ids.length));
const H = 384, I = 1536;
const flops = (s: number) => 6 * (4 * s * H * H + 2 * s * s * H + 2 * s * H * I); // 6 layers
const fixedCost = lens.length * flops(512);
const dynCost = lens.reduce((a, s) => a + flops(s), 0);
const loadAfter = os.loadavg();

const m = machine();
const report = {
  benchmark: "inference",
  mode: quick ? "quick" : "full",
  machine: m,
  load: { before: loadBefore, after: loadAfter },
  repetitions: REPS,
  model: native.info.modelId,
  runtime:
    `native (onnxruntime-node, ${threads} intra-op threads) and wasm (${wasm.info.engine}, 1 thread)`,
  threads,
  latencyMsBatch1: grid,
  throughput: batchSweep,
  webVsNode: backends,
  wasmThreading,
  transformersJs: {
    what:
      `@huggingface/transformers feature-extraction (mean, normalize) on onnxruntime-node, ${threads} intra-op threads, as embedge's native backend`,
    sentencesPerSec: vsTjs,
    maxAbsDiff: tjsMaxDiff,
  },
  int8: int8Report,
  padding: {
    meanTokens: lens.reduce((a, b) => a + b, 0) / lens.length,
    fixed512OverDynamicFlops: fixedCost / dynCost,
    measuredFixedMaxOverLongest: paddingSweep[String(paddings[paddings.length - 1])].p50 /
      paddingSweep["longest"].p50,
  },
};
const f = (x: number, d = 2) => x.toFixed(d);
const overloaded = Math.max(loadBefore[0], loadAfter[0]) > m.cores;
const md = [
  `# Inference benchmark (${report.mode})`,
  "",
  `${m.date} · ${m.cpu} · ${m.cores} cores · Deno ${m.deno} · load ${f(loadBefore[0])} before, ${
    f(loadAfter[0])
  } after · ${report.runtime}`,
  ...(overloaded
    ? ["", `**Warning: the load exceeded the ${m.cores} cores during the run.**`]
    : []),
  "",
  `Model: ${report.model} (6 layers, hidden 384, 12 heads). Comparisons: median of ${REPS} interleaved repetitions after a warm-up, (min–max) beside it.`,
  "",
  `## embedge vs transformers.js`,
  "",
  `Feature-extraction (mean + normalize), ${texts.length} big.txt sentences in request-sized slices, both on onnxruntime-node with ${threads} intra-op threads; vectors agree within ${
    tjsMaxDiff.toExponential(1)
  }. Sentences/s:`,
  "",
  "The ratio splits into two effects: *same batching* runs embedge batched as transformers.js",
  "batches (one run per call, padded to its longest text), so only the code around the shared",
  "engine differs; *batching* is embedge against itself, length-sorted groups vs one padded run.",
  "",
  "| batch | embedge (native) | embedge, batched as transformers.js | transformers.js | embedge / transformers.js | same batching: embedge / transformers.js | batching: sorted / padded |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...Object.entries(vsTjs).map(([k, v]) => {
    const s = v as {
      embedge: number;
      embedgeRange: number[];
      embedgeAsPadded: number;
      embedgeAsPaddedRange: number[];
      transformersJs: number;
      transformersJsRange: number[];
      ratio: number;
      sameBatchingRatio: number;
      batchingRatio: number;
    };
    const cell = (x: number, r: number[]) => `${f(x, 1)} (${f(r[0], 1)}–${f(r[1], 1)})`;
    return `| ${k} | ${cell(s.embedge, s.embedgeRange)} | ${
      cell(s.embedgeAsPadded, s.embedgeAsPaddedRange)
    } | ${cell(s.transformersJs, s.transformersJsRange)} | ${f(s.ratio)}× | ${
      f(s.sameBatchingRatio)
    }× | ${f(s.batchingRatio)}× |`;
  }),
  "",
  "## int8 (`embedge quantize`) vs fp32 of the same model (ms per session.run, same tensors)",
  "",
  `Size ${f(int8Report.bytes.int8 / 1e6, 1)} MB vs ${f(int8Report.bytes.fp32 / 1e6, 1)} MB (${
    f((100 * int8Report.bytes.int8) / int8Report.bytes.fp32, 1)
  } %); cosine int8 vs fp32 over the ${texts.length} texts (mean pooling): native mean ${
    int8Cosines.native.mean.toFixed(6)
  } / min ${int8Cosines.native.min.toFixed(6)}, wasm mean ${
    int8Cosines.wasm.mean.toFixed(6)
  } / min ${
    int8Cosines.wasm.min.toFixed(6)
  }. Engines: native fp32 and int8 on ${native.info.engine}; wasm fp32 on ${wasm.info.engine}, int8 on ${int8Embedders.wasm.info.engine}.`,
  "",
  "| backend / batch | fp32 | int8 | speed-up |",
  "| --- | ---: | ---: | ---: |",
  ...Object.entries(int8Speed).map(([k, v]) => {
    const s = v as {
      fp32: { ms: number; minMs: number; maxMs: number };
      int8: { ms: number; minMs: number; maxMs: number };
      speedup: number;
    };
    return `| ${k} | ${f(s.fp32.ms)} (${f(s.fp32.minMs)}–${f(s.fp32.maxMs)}) | ${f(s.int8.ms)} (${
      f(s.int8.minMs)
    }–${f(s.int8.maxMs)}) | ${f(s.speedup)}× |`;
  }),
  "",
  "## Backends on the same tensors (ms per session.run)",
  "",
  `| batch | native (${threads} threads) | wasm (${wasm.info.engine}, 1 thread) | wasm / native |`,
  "| --- | ---: | ---: | ---: |",
  ...Object.entries(backends).map(([k, v]) => {
    const s = v as {
      native: { ms: number; minMs: number; maxMs: number };
      wasm1: { ms: number; minMs: number; maxMs: number };
      webOverNode: number;
    };
    return `| ${k} | ${f(s.native.ms)} (${f(s.native.minMs)}–${f(s.native.maxMs)}) | ${
      f(s.wasm1.ms)
    } (${f(s.wasm1.minMs)}–${f(s.wasm1.maxMs)}) | ${f(s.webOverNode)}× |`;
  }),
  "",
  `onnxruntime-web (kernels off) with ${wasmThreads} threads vs 1 thread (separate processes, alternated 1, ${wasmThreads}, 1, ${wasmThreads} …; ms per session.run):`,
  "",
  `| batch | 1 thread | ${wasmThreads} threads | speed-up |`,
  "| --- | ---: | ---: | ---: |",
  ...Object.entries(wasmThreading).map(([k, w]) =>
    `| ${k} | ${f(w.oneThread.ms)} (${f(w.oneThread.minMs)}–${f(w.oneThread.maxMs)}) | ${
      f(w.nThreads.ms)
    } (${f(w.nThreads.minMs)}–${f(w.nThreads.maxMs)}) | ${f(w.speedup)}× |`
  ),
  "",
  `## Latency per sentence, batch 1 (native; ms, p50 over ${sentences.length} big.txt sentences)`,
  "",
  'By padding and pooling (fixed lengths below a sentence\'s length truncate it; "none" = token vectors):',
  "",
  `| pooling | ${paddings.map((p) => (p === "longest" ? "longest" : `fixed ${p}`)).join(" | ")} |`,
  `| --- | ${paddings.map(() => "---:").join(" | ")} |`,
  ...poolings.map((pool) =>
    `| ${pool} | ${paddings.map((p) => f(grid[pool][String(p)].p50)).join(" | ")} |`
  ),
  "",
  `## Throughput (${texts.length} big.txt sentences, max length 128)`,
  "",
  '"sorted" = one call, batched by length under a token budget of batch × 64 cells (× 128 for fixed); "as sent" = request-sized slices:',
  "",
  "| batch / padding / mode / backend | sentences/s (min–max) | time outside session.run |",
  "| --- | ---: | ---: |",
  ...Object.entries(batchSweep).map(([k, v]) => {
    const s = v as {
      sentencesPerSec: number;
      minSentencesPerSec: number;
      maxSentencesPerSec: number;
      overheadPct: number;
    };
    return `| ${k} | ${f(s.sentencesPerSec, 1)} (${f(s.minSentencesPerSec, 1)}–${
      f(s.maxSentencesPerSec, 1)
    }) | ${f(s.overheadPct, 1)}% |`;
  }),
  "",
  `Padding cost on real lengths (20,000 big.txt lines, mean ${
    f(report.padding.meanTokens, 1)
  } tokens): fixed 512 needs ${
    f(report.padding.fixed512OverDynamicFlops, 1)
  }× the FLOPs of dynamic padding; measured batch-1 latency fixed ${
    paddings[paddings.length - 1]
  } / longest: ${f(report.padding.measuredFixedMaxOverLongest, 1)}×.`,
  "",
].join("\n");
const outDir = args.out
  ? args.out.replace(/\/$/, "")
  : quick
  ? null
  : new URL("./results", import.meta.url).pathname;
if (outDir) {
  Deno.mkdirSync(outDir, { recursive: true });
  const stamp = `${m.date.replace(/[:.]/g, "-")}-${m.host}`;
  Deno.writeTextFileSync(`${outDir}/inference-${stamp}.json`, JSON.stringify(report, null, 2));
  Deno.writeTextFileSync(`${outDir}/inference-${stamp}.md`, md);
  Deno.writeTextFileSync(`${outDir}/inference-latest.md`, md);
}
console.log(md);
await native.close();
await wasm.close();
