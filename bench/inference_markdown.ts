/**
 * The Markdown page of an inference run (bench/inference.ts): headline tables for
 * transformers.js, int8, the backends, WASM threads, latency by padding and pooling, and
 * throughput, each with its spread, and the machine's load.
 *
 * @example
 * ```ts ignore
 * import { inferenceMarkdown } from "./inference_markdown.ts";
 * console.log(inferenceMarkdown(report, { texts: 128, sentences: 8, paddings, poolings, engines, wasmThreads: 2 }));
 * ```
 * @module
 */
import type { machine } from "./machine.ts";

/** A median with its spread, in milliseconds. */
interface Spread {
  ms: number;
  minMs: number;
  maxMs: number;
  p95Ms: number;
}

/** What bench/inference.ts measured (its JSON), as far as the page reads it. */
export interface InferenceReport {
  mode: string;
  machine: ReturnType<typeof machine>;
  load: { before: number[]; after: number[] };
  repetitions: number;
  model: string;
  runtime: string;
  threads: number;
  latencyMsBatch1: Record<string, Record<string, { p50: number; p95: number; min: number }>>;
  throughput: Record<string, unknown>;
  webVsNode: Record<string, unknown>;
  wasmThreading: Record<
    string,
    { oneThread: Spread; threads: number; nThreads: Spread; speedup: number }
  >;
  transformersJs: { sentencesPerSec: Record<string, unknown>; maxAbsDiff: number };
  int8: {
    bytes: { fp32: number; int8: number };
    sessionRunMs: Record<string, unknown>;
    cosineOverTexts: Record<string, { mean: number; min: number }>;
  };
  padding: {
    meanTokens: number;
    fixed512OverDynamicFlops: number;
    measuredFixedMaxOverLongest: number;
  };
}

/** What a run knows that its report does not hold. */
interface RunFacts {
  /** Texts of the throughput and transformers.js runs. */
  texts: number;
  /** Sentences of the latency grid. */
  sentences: number;
  paddings: readonly (string | number)[];
  poolings: readonly string[];
  /** The engine of each side: native, wasm, wasm with the int8 model. */
  engines: { native: string; wasm: string; wasmInt8: string };
  wasmThreads: number;
}

/** The page; `run` gives what the report does not hold. */
export function inferenceMarkdown(report: InferenceReport, run: RunFacts): string {
  return [
    ...headLines(report),
    ...peerTables(report, run),
    ...engineTables(report, run),
    ...sweepTables(report, run),
  ].join("\n");
}

/** The title, the machine and its load, what was compared. */
function headLines(report: InferenceReport): string[] {
  const m = report.machine;
  const REPS = report.repetitions;
  const loadBefore = report.load.before;
  const loadAfter = report.load.after;
  const f = (x: number, d = 2) => x.toFixed(d);
  const overloaded = Math.max(loadBefore[0], loadAfter[0]) > m.cores;
  return [
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
  ];
}

/** embedge against transformers.js, and int8 against fp32. */
function peerTables(report: InferenceReport, run: RunFacts): string[] {
  const threads = report.threads;
  const vsTjs = report.transformersJs.sentencesPerSec;
  const tjsMaxDiff = report.transformersJs.maxAbsDiff;
  const int8Report = report.int8;
  const int8Speed = report.int8.sessionRunMs;
  const int8Cosines = report.int8.cosineOverTexts;
  const f = (x: number, d = 2) => x.toFixed(d);
  return [
    `## embedge vs transformers.js`,
    "",
    `Feature-extraction (mean + normalize), ${run.texts} big.txt sentences in request-sized slices, both on onnxruntime-node with ${threads} intra-op threads; vectors agree within ${
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
    } %); cosine int8 vs fp32 over the ${run.texts} texts (mean pooling): native mean ${
      int8Cosines.native.mean.toFixed(6)
    } / min ${int8Cosines.native.min.toFixed(6)}, wasm mean ${
      int8Cosines.wasm.mean.toFixed(6)
    } / min ${
      int8Cosines.wasm.min.toFixed(6)
    }. Engines: native fp32 and int8 on ${run.engines.native}; wasm fp32 on ${run.engines.wasm}, int8 on ${run.engines.wasmInt8}.`,
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
  ];
}

/** The backends on the same tensors, and onnxruntime-web's threads. */
function engineTables(report: InferenceReport, run: RunFacts): string[] {
  const threads = report.threads;
  const wasmThreads = run.wasmThreads;
  const backends = report.webVsNode;
  const wasmThreading = report.wasmThreading;
  const f = (x: number, d = 2) => x.toFixed(d);
  return [
    "## Backends on the same tensors (ms per session.run)",
    "",
    `| batch | native (${threads} threads) | wasm (${run.engines.wasm}, 1 thread) | wasm / native |`,
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
  ];
}

/** Latency by padding and pooling, throughput by batch, the cost of fixed padding. */
function sweepTables(report: InferenceReport, run: RunFacts): string[] {
  const paddings = run.paddings;
  const poolings = run.poolings;
  const grid = report.latencyMsBatch1;
  const batchSweep = report.throughput;
  const f = (x: number, d = 2) => x.toFixed(d);
  return [
    `## Latency per sentence, batch 1 (native; ms, p50 over ${run.sentences} big.txt sentences)`,
    "",
    'By padding and pooling (fixed lengths below a sentence\'s length truncate it; "none" = token vectors):',
    "",
    `| pooling | ${
      paddings.map((p) => (p === "longest" ? "longest" : `fixed ${p}`)).join(" | ")
    } |`,
    `| --- | ${paddings.map(() => "---:").join(" | ")} |`,
    ...poolings.map((pool) =>
      `| ${pool} | ${paddings.map((p) => f(grid[pool][String(p)].p50)).join(" | ")} |`
    ),
    "",
    `## Throughput (${run.texts} big.txt sentences, max length 128)`,
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
  ];
}
