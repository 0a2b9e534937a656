/**
 * The Markdown of a bench/worker_memory.ts run: the isolate's memory per variant (load
 * steps, runs, peak, the process's resident mark above the runtime's), workerd's under
 * `wrangler dev` and the bundle, every row naming its engine.
 *
 * @example
 * ```ts ignore
 * import { workerMemoryMarkdown } from "./worker_memory_markdown.ts";
 * console.log(workerMemoryMarkdown(JSON.parse(Deno.readTextFileSync("run.json"))));
 * ```
 * @module
 */
import type { BundleFile } from "./worker_bundle.ts";
import type { Machine } from "./machine.ts";

/** One isolate row: a variant at a token budget. */
export interface IsolateRow {
  engine: string;
  onnxFile: string;
  loadStepsMiB: Record<string, number>;
  loadPeakMiB: number;
  afterLoadWasmMiB: number;
  peakWasmMiB: number;
  peakHeapMiB: number;
  externalAfterRunsMiB: number;
  runsPeakMiB: number;
  peakTotalMiB: number;
  peakTotalRangeMiB: number[];
  processHwmAboveBaselineMiB: number;
}

/** One workerd row. */
export interface WorkerdRow {
  engine: string;
  onnxFile: string;
  assetsMB: number;
  peakMiB: number;
  peakRangeMiB: number[];
  ms8: number;
  msLong: number;
  openFilesAfter: number;
  failures: (string | undefined)[];
}

/** What the Markdown reads of a run. */
export interface WorkerMemoryReport {
  machine: Machine;
  load: { before: number[]; after: number[] };
  rounds: number;
  workerdRounds: number;
  isolate: { baselineVmHwmMiB: number; variants: Record<string, IsolateRow> };
  workerd: { variants: Record<string, WorkerdRow> };
  bundle: { build: string; bytes: number; gzipBytes: number; files: BundleFile[] };
}

/** The run as Markdown tables. */
export function workerMemoryMarkdown(report: WorkerMemoryReport): string {
  const { machine: m, load, isolate, workerd, bundle } = report;
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "–");
  const base = workerd.variants["tiny (baseline)"]?.peakMiB ?? NaN;
  return [
    "# The Worker within Cloudflare's limits",
    "",
    `${m.date} · ${m.cpu} · ${m.cores} cores · Deno ${m.deno} · load ${
      f(load.before[0], 2)
    } before, ${
      f(load.after[0], 2)
    } after · ${report.rounds} rounds of isolate measurements, ${report.workerdRounds} of workerd, variants in turn`,
    "",
    "## The isolate's memory (what the 128 MB limit counts)",
    "",
    "WebAssembly memories (the engine's and the tokenizer's), the JS heap and the ArrayBuffers",
    "outside it, after two GCs, in a Deno child loading the prepared Worker assets as the default",
    "Worker build does (precompiled tokenizer, no tokenizer cache, the engine named per row).",
    "`load peak`: the largest snapshot taken at the load's steps (after the file reads, the",
    "tokenizer, the session: the files' bytes and the packed weights alive at once, the probe",
    "run); `runs`: after 24 requests of 8 big.txt sentences and after one of 32 inputs of 512",
    "tokens (WASM memory keeps its high-water mark). `peak` is the larger of the two, median",
    "(min–max) over the rounds. `process mark` is the child's resident high-water mark (VmHWM)",
    `above a child that only imports the modules (${
      f(isolate.baselineVmHwmMiB, 0)
    } MiB): an upper bound, counting garbage not yet collected and compiled code.`,
    "",
    "| variant / cells per model run | engine | load: files read | load: session built | load peak | wasm after load | wasm after runs | JS heap | ArrayBuffers after runs | runs | **peak** | within 128 MB | process mark |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ...Object.entries(isolate.variants).map(([key, v]) =>
      `| ${key} (${v.onnxFile}) | ${v.engine} | ${f(v.loadStepsMiB.files)} MiB | ${
        f(v.loadStepsMiB.session)
      } MiB | ${f(v.loadPeakMiB)} MiB | ${f(v.afterLoadWasmMiB)} MiB | ${f(v.peakWasmMiB)} MiB | ${
        f(v.peakHeapMiB)
      } MiB | ${f(v.externalAfterRunsMiB)} MiB | ${f(v.runsPeakMiB)} MiB | **${
        f(v.peakTotalMiB)
      } MiB** (${f(v.peakTotalRangeMiB[0])}–${f(v.peakTotalRangeMiB[1])}) | ${
        v.peakTotalRangeMiB[1] < 128 ? "yes" : "**no**"
      } | ${f(v.processHwmAboveBaselineMiB, 0)} MiB |`
    ),
    "",
    "## workerd under wrangler dev (the default build)",
    "",
    "workerd's resident memory under `wrangler dev` (runtime, compiled wasm and the isolate: an",
    "upper bound of what the 128 MB isolate limit counts), peak while serving 24 requests of 8",
    "big.txt sentences and one of 32 inputs × 512 tokens. Median (min–max) over the rounds;",
    "\"above baseline\" subtracts the tiny model's peak (the runtime's own share).",
    "",
    "| variant | engine | ONNX file | assets | peak RSS | above baseline | 8 sentences | 32 long inputs | workerd open files after | runs that failed |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ...Object.entries(workerd.variants).map(([name, s]) =>
      `| ${name} | ${s.engine || "–"} | ${s.onnxFile} | ${f(s.assetsMB)} MB | ${
        f(s.peakMiB, 0)
      } MiB (${f(s.peakRangeMiB[0], 0)}–${f(s.peakRangeMiB[1], 0)}) | ${
        f(s.peakMiB - base, 0)
      } MiB | ${f(s.ms8, 0)} ms | ${f(s.msLong, 0)} ms | ${s.openFilesAfter} | ${
        s.failures.length ? s.failures.join("; ") : "none"
      } |`
    ),
    "",
    `Bundle of the build ${bundle.build} (\`wrangler deploy --dry-run --outdir\`, source maps left out): ${
      (bundle.bytes / 1024).toFixed(0)
    } KiB raw, **${
      (bundle.gzipBytes / 1024).toFixed(0)
    } KiB gzip** (limits: 3 MB free plan, 10 MB paid, compressed).`,
    "",
    "| file | bytes | gzip |",
    "| --- | ---: | ---: |",
    ...bundle.files.map((x) =>
      `| ${x.file} | ${x.bytes.toLocaleString("en")} | ${x.gzipBytes.toLocaleString("en")} |`
    ),
    "",
  ].join("\n");
}
