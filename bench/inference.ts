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
import { Embedder } from "../src/model/embedder.ts";
import { quantize } from "../src/model/onnx/quantize.ts";
import type { TokenPooling } from "../src/model/pooling.ts";
import { benchMiniLmStructure } from "../tests/support/minilm_structure.ts";
import { interleaved, sampleLines } from "./sides.ts";
import { machine, median, quantile } from "./machine.ts";
import { compareTransformersJs } from "./inference_tjs.ts";
import { inferenceMarkdown } from "./inference_markdown.ts";

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

// 4. embedge (native) vs transformers.js feature-extraction (bench/inference_tjs.ts)
const { vsTjs, tjsMaxDiff } = await compareTransformersJs(native, {
  cache,
  texts,
  threads,
  batches: quick ? [8] : BATCHES,
  reps: REPS,
});

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
const int8Engine = int8Embedders.wasm.info.engine;
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
const md = inferenceMarkdown(report, {
  texts: texts.length,
  sentences: sentences.length,
  paddings,
  poolings,
  engines: {
    native: native.info.engine,
    wasm: wasm.info.engine,
    wasmInt8: int8Engine,
  },
  wasmThreads,
});
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
