/**
 * The Worker within Cloudflare's limits (128 MB per isolate, counting its JS heap and its
 * WebAssembly memories; 3 MB / 10 MB compressed bundle), for the all-MiniLM-L6-v2
 * structure in fp32 and in int8 (`embedge quantize`), both on embedge's kernels, as the
 * default Worker build (edge/worker.ts, no onnxruntime-web) runs them:
 *
 * 1. **Isolate memory**, measured where it can be read: a Deno child per variant
 *    (bench/wasm_memory_child.ts) loads the prepared Worker assets as the Worker does and
 *    records every WebAssembly memory (the kernels' and the tokenizer's; wasm memory grows
 *    to its high-water mark and never shrinks), the JS heap and the ArrayBuffers outside it,
 *    after two GCs, at every step of the load (the files' bytes and the packed weights alive
 *    at once) and after a request mix (8-sentence batches, then 32 inputs of 512 tokens), at
 *    the Worker's default of 512 cells per model run and at the Deno default of 16,384; and
 *    its process's resident high-water mark above that of a child that loads nothing (an
 *    upper bound: garbage not yet collected counts there). Children alternate fp32, int8,
 *    fp32, … for `--rounds` rounds.
 * 2. **workerd under `wrangler dev`** (the default build; bench/workerd_memory.ts): its
 *    resident memory (runtime, compiled code and the isolate: an upper bound, with a tiny
 *    model as the runtime's own baseline) and request latency, `--workerd-rounds` rounds.
 * 3. **Bundle** of the default build: `wrangler deploy --dry-run --outdir`, raw and gzip.
 *    The model is not in it (static assets or R2).
 *
 * Every row names the engine that ran it (`Embedder.info.engine`, `/info`'s `engine`).
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
import { machine, median } from "./machine.ts";
import { writeResults } from "./write_results.ts";
import { workerBundle } from "./worker_bundle.ts";
import { workerdMemory, type WorkerdRun } from "./workerd_memory.ts";
import { workerMemoryMarkdown } from "./worker_memory_markdown.ts";

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

// 1. the isolate's own memory (wasm memories + JS heap + ArrayBuffers), in Deno children
interface Snapshot {
  wasmMiB: number;
  memoriesMiB: number[];
  heapMiB: number;
  externalMiB: number;
  totalMiB: number;
}
interface ChildResult {
  onnxFile: string;
  engine: string;
  loadSteps: Record<string, Snapshot>;
  afterLoad: Snapshot;
  afterShort: Snapshot;
  afterLong: Snapshot;
  vmHwmMiB: number;
}
/** One child; dtype `none` only imports the modules (the runtime's own resident mark). */
async function child(dir: string, dtype: string, budget: number) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      new URL("./wasm_memory_child.ts", import.meta.url).pathname,
      dir,
      dtype,
      String(budget),
      corpus,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (out.code !== 0) throw new Error(`${dir} ${dtype}: the memory child failed`);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
}
const isolate: Record<string, ChildResult[]> = {};
const baselineHwm: number[] = [];
const BUDGETS = [512, 16384];
const loadPeak = (r: ChildResult) => Math.max(...Object.values(r.loadSteps).map((s) => s.totalMiB));
for (let r = 0; r < rounds; r++) {
  baselineHwm.push((await child(tiny, "none", 512)).vmHwmMiB);
  for (const name of ["MiniLM fp32", "MiniLM int8"] as const) {
    for (const budget of BUDGETS) {
      const result: ChildResult = await child(
        assets[name].dir,
        variants[name].dtype ?? "fp32",
        budget,
      );
      (isolate[`${name} / ${budget} cells`] ??= []).push(result);
      console.error(
        `round ${r + 1} ${name} ${budget} cells (${result.engine}): load peak ${
          loadPeak(result).toFixed(1)
        } MiB, after the runs ${
          result.afterLong.totalMiB.toFixed(1)
        } MiB (wasm ${result.afterLong.wasmMiB}), VmHWM ${
          result.vmHwmMiB.toFixed(0)
        } MiB (baseline ${baselineHwm[r].toFixed(0)})`,
      );
    }
  }
}

// 2. workerd under wrangler dev, default build: peak RSS and latency. fp32 goes last:
// wrangler dev has been seen to stall under it, which is recorded, not fatal
const WORKERD_ORDER: Name[] = ["tiny (baseline)", "MiniLM int8", "MiniLM fp32"];
const runs: Record<Name, WorkerdRun[]> = {
  "tiny (baseline)": [],
  "MiniLM fp32": [],
  "MiniLM int8": [],
};
for (let r = 0; r < workerdRounds; r++) {
  for (const name of WORKERD_ORDER) {
    const dtype = variants[name].dtype;
    const m = await workerdMemory({
      assetsDir: assets[name].dir,
      vars: {
        EMBEDGE_LOG: "off",
        EMBEDGE_MODEL_ID: name,
        ...(dtype ? { EMBEDGE_DTYPE: dtype } : {}),
      },
      sentences,
      long,
    });
    runs[name].push(m);
    console.error(
      `round ${r + 1} ${name} (${m.engine}): peak ${m.peak.toFixed(0)} MiB, after load ${
        m.afterLoad.toFixed(0)
      }, 8 sentences ${m.ms.length ? median(m.ms).toFixed(0) : "-"} ms, ${m.fds} open files${
        m.error ? `, failed: ${m.error}` : ""
      }`,
    );
  }
}

// 3. the deployable bundle of the build measured here (bench/worker_cold_start.ts: both)
const bundle = await workerBundle(assets["MiniLM int8"].dir, "default");
const loadAfter = os.loadavg();

const m = machine();
const summary = Object.fromEntries(WORKERD_ORDER.map((name) => {
  const rs = runs[name], ok = rs.filter((r) => !r.error);
  const peaks = rs.map((r) => r.peak).filter((p) => !isNaN(p));
  const after = rs.map((r) => r.afterLoad).filter((p) => !isNaN(p));
  return [name, {
    engine: ok[0]?.engine ?? "",
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
const baseHwm = median(baselineHwm);
const isolateSummary = Object.fromEntries(
  Object.entries(isolate).map(([key, rs]) => {
    const peak = rs.map((r) =>
      Math.max(loadPeak(r), r.afterLoad.totalMiB, r.afterShort.totalMiB, r.afterLong.totalMiB)
    );
    const step = (s: string) => median(rs.map((r) => r.loadSteps[s]?.totalMiB ?? NaN));
    return [key, {
      engine: rs[0].engine,
      onnxFile: rs[0].onnxFile,
      loadStepsMiB: Object.fromEntries(
        Object.keys(rs[0].loadSteps).map((s) => [s, step(s)]),
      ),
      loadPeakMiB: median(rs.map(loadPeak)),
      afterLoadWasmMiB: median(rs.map((r) => r.afterLoad.wasmMiB)),
      memoriesAfterLoadMiB: rs[0].afterLoad.memoriesMiB,
      peakWasmMiB: median(rs.map((r) => r.afterLong.wasmMiB)),
      peakHeapMiB: median(rs.map((r) => Math.max(r.afterShort.heapMiB, r.afterLong.heapMiB))),
      // ArrayBuffers still held after the runs: the model files' bytes, if something keeps them
      externalAfterRunsMiB: median(rs.map((r) => r.afterLong.externalMiB)),
      runsPeakMiB: median(rs.map((r) => Math.max(r.afterShort.totalMiB, r.afterLong.totalMiB))),
      peakTotalMiB: median(peak),
      peakTotalRangeMiB: [Math.min(...peak), Math.max(...peak)],
      processHwmAboveBaselineMiB: median(rs.map((r) => r.vmHwmMiB)) - baseHwm,
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
      "WebAssembly memories (embedge's kernels, the engine of the default Worker build, + tokenizer) + JS heap + ArrayBuffers, after GC, at each load step and after the runs, in Deno children loading the prepared assets as the Worker does; processHwmAboveBaselineMiB: the child's VmHWM above a child that loads nothing (upper bound)",
    baselineVmHwmMiB: baseHwm,
    variants: isolateSummary,
    children: isolate,
  },
  workerd: {
    what:
      "workerd RSS under wrangler dev, default build (runtime + compiled wasm + the isolate), model from static assets",
    variants: summary,
  },
  bundle: { build: "default (edge/worker.ts, no onnxruntime-web)", ...bundle },
};
const md = workerMemoryMarkdown(report);
await writeResults("worker-memory", report, md, {
  title: {
    text: "Isolate peak (load + runs: wasm + JS heap + ArrayBuffers); 128 MB limit in red",
  },
  data: {
    values: Object.entries(isolateSummary).map(([key, v]) => ({
      variant: `${key} (${v.engine})`,
      mib: v.peakTotalMiB,
    })),
  },
  layer: [
    {
      mark: "bar",
      encoding: {
        y: { field: "variant", type: "nominal", title: null },
        x: { field: "mib", type: "quantitative", title: "peak MiB" },
      },
    },
    { mark: { type: "rule", color: "red" }, encoding: { x: { datum: 128 } } },
  ],
}, args.out);
console.log(md);
