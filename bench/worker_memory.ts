/**
 * The Worker within Cloudflare's limits (128 MB per isolate, counting its JS heap and its
 * WebAssembly memories; 3 MB / 10 MB compressed bundle), for the all-MiniLM-L6-v2
 * structure in fp32 and in int8 (`embedge quantize`):
 *
 * 1. **Isolate memory**, measured where it can be read: a Deno child per variant runs the
 *    same onnxruntime-web build and graph as the Worker and records the size of every
 *    WebAssembly memory (onnxruntime's and the tokenizer's; wasm memory grows to its
 *    high-water mark and never shrinks) and the JS heap after a GC, after load and after
 *    a request mix (8-sentence batches, then 32 inputs of 512 tokens) at the
 *    Worker's default of 512 cells per model run and at the Deno default of 16,384.
 *    Children alternate fp32, int8, fp32, … for `--rounds` rounds.
 * 2. **workerd under `wrangler dev`**: its resident memory (runtime, compiled code and the
 *    isolate: an upper bound, with a tiny model as the runtime's own baseline) and request
 *    latency, `--workerd-rounds` rounds.
 * 3. **Bundle**: `wrangler deploy --dry-run --outdir`, raw and gzip. The model is not in
 *    it (static assets or R2).
 *
 * @example
 * ```sh
 * deno run -A bench/worker_memory.ts            # 5 + 1 rounds, a few minutes
 * deno run -A bench/worker_memory.ts --rounds 1 --workerd-rounds 1 --out /tmp/x
 * ```
 * @module
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { prepareWorkerAssets } from "../bin/worker_assets.ts";
import { PART_BYTES } from "../edge/assets.ts";
import { quantize } from "../src/model/onnx/quantize.ts";
import { writeGeneratedModel } from "../src/model/fixtures/demo_model.ts";
import { benchMiniLmStructure } from "../tests/support/minilm_structure.ts";
import { groupPids, groupRssMiB, startWranglerDev } from "../tests/support/wrangler_dev.ts";
import { machine, median } from "./machine.ts";
import { writeResults } from "./write_results.ts";
import { workerBundle } from "./worker_bundle.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "5" },
    "workerd-rounds": { type: "string", default: "1" },
    out: { type: "string" },
  },
});
const rounds = Number(args.rounds), workerdRounds = Number(args["workerd-rounds"]);
const sharedDir = Deno.env.get("EMBEDGE_SHARED") ??
  new URL("../../shared/", import.meta.url).pathname;
const cache = new URL("../.cache/", import.meta.url).pathname;
const minilm = await benchMiniLmStructure(sharedDir);
try {
  await Deno.stat(`${minilm}/onnx/model_int8.onnx`);
} catch {
  await quantize(minilm);
}
const tiny = `${cache}bench-tiny-model`;
await writeGeneratedModel(tiny, `${sharedDir}/models/all-MiniLM-L6-v2`, { layers: 1 });

const variants = {
  "tiny (baseline)": { dir: tiny, dtype: undefined },
  "MiniLM fp32": { dir: minilm, dtype: undefined },
  "MiniLM int8": { dir: minilm, dtype: "int8" as const },
};
type Name = keyof typeof variants;
const assets: Record<string, { dir: string; bytes: number }> = {};
for (const [name, v] of Object.entries(variants)) {
  const dir = `${cache}bench-worker-assets-${name.replace(/\W+/g, "-")}`;
  await prepareWorkerAssets(v.dir, dir, PART_BYTES, v.dtype);
  let bytes = 0;
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      if (e.isDirectory) walk(`${d}/${e.name}`);
      else bytes += Deno.statSync(`${d}/${e.name}`).size;
    }
  };
  walk(dir);
  assets[name] = { dir, bytes };
}

const corpus = `${sharedDir}/corpus/big.txt`;
const sentences = Deno.readTextFileSync(corpus).split("\n")
  .map((l) => l.trim()).filter((l) => l.length > 20 && l.length < 300).slice(0, 400);
// 32 inputs of 512 tokens (each long enough to be truncated there)
const long = Array.from({ length: 32 }, (_, i) => sentences.slice(i * 10, i * 10 + 40).join(" "));
const loadBefore = os.loadavg();

// 1. the isolate's own memory (wasm memories + JS heap), in Deno children on the assets
interface Snapshot {
  wasmMiB: number;
  memoriesMiB: number[];
  heapMiB: number;
}
type ChildResult = { afterLoad: Snapshot; afterShort: Snapshot; afterLong: Snapshot };
const isolate: Record<string, ChildResult[]> = {};
const BUDGETS = [512, 16384];
for (let r = 0; r < rounds; r++) {
  for (const name of ["MiniLM fp32", "MiniLM int8"] as const) {
    for (const budget of BUDGETS) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--v8-flags=--expose-gc",
          new URL("./wasm_memory_child.ts", import.meta.url).pathname,
          assets[name].dir,
          variants[name].dtype ?? "fp32",
          String(budget),
          corpus,
        ],
        stdout: "piped",
        stderr: "inherit",
      }).output();
      if (out.code !== 0) throw new Error(`${name}: the memory child failed`);
      const result = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
      (isolate[`${name} / ${budget} cells`] ??= []).push(result);
      console.error(
        `round ${r + 1} ${name} ${budget} cells: wasm ${result.afterLong.wasmMiB} MiB, heap ${
          result.afterLong.heapMiB.toFixed(1)
        } MiB`,
      );
    }
  }
}

// 2. workerd under wrangler dev: peak RSS and latency. fp32 goes last: wrangler dev has been
// seen to stall under it (workerd at its 20,000 file descriptors), which is recorded, not fatal
/** Open file descriptors of the workerd processes in a process group. */
function workerdFds(pgid: number): number {
  let n = 0;
  for (const pid of groupPids(pgid, "workerd")) {
    try {
      n += [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
    } catch { /* exited */ }
  }
  return n;
}

interface WorkerdRun {
  afterLoad: number;
  peak: number;
  ms: number[];
  longMs: number;
  fds: number;
  onnxFile?: string;
  error?: string;
}

async function measure(name: Name): Promise<WorkerdRun> {
  const v = variants[name];
  let worker;
  try {
    worker = await startWranglerDev({
      assetsDir: assets[name].dir,
      vars: {
        EMBEDGE_LOG: "off",
        EMBEDGE_MODEL_ID: name,
        ...(v.dtype ? { EMBEDGE_DTYPE: v.dtype } : {}),
      },
      // int8 graphs run on onnxruntime-web: only the opt-in build (wrangler.ort.jsonc) has it
      build: v.dtype ? "ort" : "default",
      timeoutSeconds: 300,
    });
  } catch (e) {
    const log = (e as Error).message;
    const error = `wrangler dev did not serve the Worker within 300 s${
      log.includes("Too many open files") ? " (workerd: Too many open files)" : ""
    }`;
    return { afterLoad: NaN, peak: NaN, ms: [], longMs: NaN, fds: NaN, error };
  }
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, groupRssMiB(worker.pgid, "workerd"));
  }, 50);
  const run: WorkerdRun = {
    afterLoad: groupRssMiB(worker.pgid, "workerd"),
    peak: 0,
    ms: [],
    longMs: NaN,
    fds: 0,
  };
  try {
    const post = async (inputs: string[]) => {
      const t0 = performance.now();
      const r = await fetch(`${worker.url}/embed`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ inputs, truncate: true }),
        signal: AbortSignal.timeout(180_000),
      });
      const text = await r.text();
      if (!r.ok) throw new Error(`/embed answered ${r.status} ${text.slice(0, 160)}`);
      return performance.now() - t0;
    };
    for (let i = 0; i < 24; i++) run.ms.push(await post(sentences.slice(i * 8, i * 8 + 8)));
    run.longMs = await post(long);
    const info = await (await fetch(`${worker.url}/info`, { signal: AbortSignal.timeout(30_000) }))
      .json();
    run.onnxFile = info.onnx_file;
  } catch (e) {
    run.error = `${(e as Error).message} (workerd had ${workerdFds(worker.pgid)} open files)`;
  } finally {
    clearInterval(sampler);
    run.peak = Math.max(peak, groupRssMiB(worker.pgid, "workerd"));
    run.fds = workerdFds(worker.pgid);
    await worker.stop();
  }
  return run;
}

const WORKERD_ORDER: Name[] = ["tiny (baseline)", "MiniLM int8", "MiniLM fp32"];
const runs: Record<Name, WorkerdRun[]> = {
  "tiny (baseline)": [],
  "MiniLM fp32": [],
  "MiniLM int8": [],
};
for (let r = 0; r < workerdRounds; r++) {
  for (const name of WORKERD_ORDER) {
    const m = await measure(name);
    runs[name].push(m);
    console.error(
      `round ${r + 1} ${name}: peak ${m.peak.toFixed(0)} MiB, after load ${
        m.afterLoad.toFixed(0)
      }, 8 sentences ${m.ms.length ? median(m.ms).toFixed(0) : "-"} ms, ${m.fds} open files${
        m.error ? `, failed: ${m.error}` : ""
      }`,
    );
  }
}

// the deployable bundle of the build with onnxruntime-web, the engine this run's int8 side
// is measured on (bench/worker_cold_start.ts measures both builds)
const bundle = await workerBundle(assets["MiniLM int8"].dir, "ort");
const loadAfter = os.loadavg();

const m = machine();
const summary = Object.fromEntries(WORKERD_ORDER.map((name) => {
  const rs = runs[name], ok = rs.filter((r) => !r.error);
  const peaks = rs.map((r) => r.peak).filter((p) => !isNaN(p));
  const after = rs.map((r) => r.afterLoad).filter((p) => !isNaN(p));
  return [name, {
    onnxFile: ok[0]?.onnxFile ?? "",
    assetsMB: assets[name].bytes / 1e6,
    peakMiB: median(peaks),
    peakRangeMiB: [Math.min(...peaks), Math.max(...peaks)],
    afterLoadMiB: median(after),
    ms8: ok.length ? median(ok.map((r) => median(r.ms))) : NaN,
    msLong: ok.length ? median(ok.map((r) => r.longMs)) : NaN,
    openFilesAfter: Math.max(...rs.map((r) => r.fds).filter((n) => !isNaN(n))),
    failures: rs.filter((r) => r.error).map((r) => r.error),
  }];
}));
const base = summary["tiny (baseline)"].peakMiB;
const isolateSummary = Object.fromEntries(
  Object.entries(isolate).map(([key, rs]) => {
    const total = (x: Snapshot) => x.wasmMiB + x.heapMiB;
    const peak = rs.map((r) =>
      Math.max(total(r.afterLoad), total(r.afterShort), total(r.afterLong))
    );
    return [key, {
      afterLoadWasmMiB: median(rs.map((r) => r.afterLoad.wasmMiB)),
      memoriesAfterLoadMiB: rs[0].afterLoad.memoriesMiB,
      peakWasmMiB: median(rs.map((r) => r.afterLong.wasmMiB)),
      peakHeapMiB: median(rs.map((r) => Math.max(r.afterShort.heapMiB, r.afterLong.heapMiB))),
      peakTotalMiB: median(peak),
      peakTotalRangeMiB: [Math.min(...peak), Math.max(...peak)],
    }];
  }),
);
const report = {
  benchmark: "worker-memory",
  machine: m,
  load: { before: loadBefore, after: loadAfter },
  rounds,
  workerdRounds,
  isolate: {
    what:
      "WebAssembly memories (the engine: embedge kernels for fp32, onnxruntime-web for int8, as in the Worker; + tokenizer) + JS heap after GC, same engines and graph as the Worker, in Deno children reading the prepared assets",
    variants: isolateSummary,
  },
  workerd: {
    what:
      "workerd RSS under wrangler dev (runtime + compiled wasm + the isolate), model from static assets",
    variants: summary,
  },
  bundle,
};
const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "–");
const md = [
  "# The Worker within Cloudflare's limits",
  "",
  `${m.date} · ${m.cpu} · ${m.cores} cores · Deno ${m.deno} · load ${f(loadBefore[0], 2)} before, ${
    f(loadAfter[0], 2)
  } after · ${rounds} rounds of isolate measurements, ${workerdRounds} of workerd, variants in turn`,
  "",
  "## The isolate's memory (what the 128 MB limit counts)",
  "",
  "WebAssembly memories (the model engine's: embedge's kernels for fp32, onnxruntime-web for",
  "int8, as in the Worker; and the tokenizer's) and the JS heap after a GC, in a Deno child",
  "running the same engines and graph on the prepared Worker assets",
  "(precompiled tokenizer), after 24 requests of 8 big.txt sentences and one of 32 inputs of",
  "512 tokens. WASM memory keeps its high-water mark. Median (min–max) of the peak.",
  "",
  "| variant / cells per model run | wasm after load | wasm peak | JS heap | peak total | within 128 MB |",
  "| --- | ---: | ---: | ---: | ---: | --- |",
  ...Object.entries(isolateSummary).map(([key, v]) =>
    `| ${key} | ${f(v.afterLoadWasmMiB)} MiB | ${f(v.peakWasmMiB)} MiB | ${
      f(v.peakHeapMiB)
    } MiB | ${f(v.peakTotalMiB)} MiB (${f(v.peakTotalRangeMiB[0])}–${
      f(v.peakTotalRangeMiB[1])
    }) | ${v.peakTotalRangeMiB[1] < 128 ? "yes" : "**no**"} |`
  ),
  "",
  "## workerd under wrangler dev",
  "",
  "workerd's resident memory under `wrangler dev` (runtime, compiled wasm and the isolate: an",
  "upper bound of what the 128 MB isolate limit counts), peak while serving 24 requests of 8",
  "big.txt sentences and one of 32 inputs × 512 tokens. Median (min–max) over the rounds;",
  "\"above baseline\" subtracts the tiny model's peak (the runtime's own share).",
  "",
  "| variant | ONNX file | assets | peak RSS | above baseline | 8 sentences | 32 long inputs | workerd open files after | runs that failed |",
  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ...Object.entries(summary).map(([name, s]) =>
    `| ${name} | ${s.onnxFile} | ${f(s.assetsMB)} MB | ${f(s.peakMiB, 0)} MiB (${
      f(s.peakRangeMiB[0], 0)
    }–${f(s.peakRangeMiB[1], 0)}) | ${f(s.peakMiB - base, 0)} MiB | ${f(s.ms8, 0)} ms | ${
      f(s.msLong, 0)
    } ms | ${s.openFilesAfter} | ${s.failures.length ? s.failures.join("; ") : "none"} |`
  ),
  "",
  `Bundle (\`wrangler deploy --dry-run --outdir\`, source maps left out): ${
    f(bundle.bytes / 1e6, 2)
  } MB raw, **${
    f(bundle.gzipBytes / 1e6, 2)
  } MB gzip** (limits: 3 MB free plan, 10 MB paid, compressed).`,
  "",
  "| file | bytes | gzip |",
  "| --- | ---: | ---: |",
  ...bundle.files.map((x) =>
    `| ${x.file} | ${x.bytes.toLocaleString("en")} | ${x.gzipBytes.toLocaleString("en")} |`
  ),
  "",
].join("\n");

await writeResults("worker-memory", report, md, {
  title: {
    text: "Isolate memory (wasm + JS heap) by variant and cells per run; 128 MB limit in red",
  },
  data: {
    values: Object.entries(isolateSummary).map(([key, v]) => ({
      variant: key,
      mib: v.peakTotalMiB,
    })),
  },
  layer: [
    {
      mark: "bar",
      encoding: {
        y: { field: "variant", type: "nominal", title: null },
        x: { field: "mib", type: "quantitative", title: "peak wasm + JS heap (MiB)" },
      },
    },
    { mark: { type: "rule", color: "red" }, encoding: { x: { datum: 128 } } },
  ],
}, args.out);
console.log(md);
