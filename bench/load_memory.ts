/**
 * What loading a model costs in memory on the WASM backend (embedge's kernels), before and
 * after a change: the same child (load_memory_child.ts) loads the MiniLM-structure model,
 * int8 (`embedge quantize`) and fp32, from two source trees given, the sides alternating
 * in order round by round. Per side: the peak resident memory during the load, and after
 * the load and a full GC the resident memory, the ArrayBuffers' memory (`external`: where
 * a model file still referenced shows), the JS heap and the WebAssembly memories.
 *
 * Machine load (1-minute load average) is recorded before and after: the machine is
 * shared, and resident memory is the process's own, so load moves it less than timings.
 *
 * @example
 * ```sh
 * git worktree add --detach /tmp/before HEAD~1 && ln -s "$PWD/node_modules" /tmp/before/
 * deno run -A bench/load_memory.ts --before /tmp/before --after . --rounds 5
 * ```
 * @module
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { quantize } from "../src/model/onnx/quantize.ts";
import { benchMiniLmStructure } from "../tests/support/minilm_structure.ts";
import { machine, median } from "./machine.ts";
import { writeResults } from "./write_results.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    before: { type: "string" },
    after: { type: "string", default: "." },
    "before-name": { type: "string", default: "before" },
    "after-name": { type: "string", default: "after" },
    rounds: { type: "string", default: "5" },
    model: { type: "string" },
    out: { type: "string" },
  },
});
if (!args.before) throw new Error("--before <source tree> is required");
const rounds = Number(args.rounds);
const sharedDir = Deno.env.get("EMBEDGE_SHARED") ??
  new URL("../../shared/", import.meta.url).pathname;
const model = args.model ?? await benchMiniLmStructure(sharedDir);
try {
  await Deno.stat(`${model}/onnx/model_int8.onnx`);
} catch {
  await quantize(model);
}
const sides = { [args["before-name"]]: args.before, [args["after-name"]]: args.after };
const sideNames = Object.keys(sides);
const DTYPES = ["int8", "fp32"] as const;

interface Settled {
  rssMiB: number;
  heapMiB: number;
  externalMiB: number;
  wasmMiB: number;
}
interface ChildResult {
  engine: string;
  onnxFile: string;
  peakLoadMiB: number;
  afterLoad: Settled;
}

async function child(tree: string, dtype: string): Promise<ChildResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      new URL("./load_memory_child.ts", import.meta.url).pathname,
      tree,
      model,
      dtype,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (out.code !== 0) throw new Error(`${tree} ${dtype}: the child failed`);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
}

const loadBefore = os.loadavg();
const results: Record<string, ChildResult[]> = {};
for (let r = 0; r < rounds; r++) {
  // alternate which side goes first, so that a drift in the machine's state favours neither
  const order = r % 2 ? [...sideNames].reverse() : sideNames;
  for (const dtype of DTYPES) {
    for (const side of order) {
      const result = await child(sides[side], dtype);
      (results[`${dtype} / ${side}`] ??= []).push(result);
      console.error(
        `round ${r + 1} ${dtype} ${side}: peak ${result.peakLoadMiB.toFixed(1)} MiB, after load ` +
          `rss ${result.afterLoad.rssMiB.toFixed(1)}, external ${
            result.afterLoad.externalMiB.toFixed(1)
          }, wasm ${result.afterLoad.wasmMiB.toFixed(1)} MiB (${result.engine})`,
      );
    }
  }
}
const loadAfter = os.loadavg();

const spread = (xs: number[]) => ({
  median: median(xs),
  min: Math.min(...xs),
  max: Math.max(...xs),
});
const summary = Object.fromEntries(
  Object.entries(results).map(([key, rs]) => [key, {
    engine: [...new Set(rs.map((r) => r.engine))].join(", "),
    onnxFile: rs[0].onnxFile,
    peakLoadMiB: spread(rs.map((r) => r.peakLoadMiB)),
    rssAfterLoadMiB: spread(rs.map((r) => r.afterLoad.rssMiB)),
    externalAfterLoadMiB: spread(rs.map((r) => r.afterLoad.externalMiB)),
    heapAfterLoadMiB: spread(rs.map((r) => r.afterLoad.heapMiB)),
    wasmAfterLoadMiB: spread(rs.map((r) => r.afterLoad.wasmMiB)),
  }]),
);
const m = machine();
const report = {
  benchmark: "load-memory",
  machine: m,
  load: { before: loadBefore, after: loadAfter },
  rounds,
  sides,
  model,
  what:
    "Embedder.load on the WASM backend (embedge's kernels) of the MiniLM-structure model, one Deno child per load with --expose-gc; peak = VmHWM after the load (and its first run), the rest after a full GC",
  summary,
  runs: results,
};
const f = (x: number) => x.toFixed(1);
const cell = (s: { median: number; min: number; max: number }) =>
  `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
const md = [
  "# Memory of a model load on the kernels, before and after",
  "",
  `${m.date} · ${m.cpu} · ${m.cores} cores · Deno ${m.deno} · load ${
    loadBefore[0].toFixed(2)
  } before, ${loadAfter[0].toFixed(2)} after · ${rounds} rounds, sides alternating`,
  "",
  `Sides: ${Object.entries(sides).map(([k, v]) => `${k} = \`${v}\``).join(", ")}. Model: the`,
  "MiniLM structure (tests/support/minilm_structure.ts), int8 from `embedge quantize`.",
  "One Deno child per load (`Embedder.load`, backend wasm); peak resident memory during the",
  "load (VmHWM), then after a full GC: resident memory, ArrayBuffers (`external`, where a",
  "model file still referenced shows), JS heap, WebAssembly memories. MiB, median (min–max).",
  "",
  "| variant / side | engine | peak during load | resident after load | ArrayBuffers after load | JS heap | wasm memories |",
  "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
  ...Object.entries(summary).sort(([a], [b]) => a.localeCompare(b)).map(([key, s]) =>
    `| ${key} | ${s.engine} | ${cell(s.peakLoadMiB)} | ${cell(s.rssAfterLoadMiB)} | ${
      cell(s.externalAfterLoadMiB)
    } | ${cell(s.heapAfterLoadMiB)} | ${cell(s.wasmAfterLoadMiB)} |`
  ),
  "",
].join("\n");

await writeResults("load-memory", report, md, {
  title: { text: "Resident memory after a model load (MiB), by variant and side" },
  data: {
    values: Object.entries(summary).map(([key, s]) => ({
      variant: key,
      mib: s.rssAfterLoadMiB.median,
    })),
  },
  mark: "bar",
  encoding: {
    y: { field: "variant", type: "nominal", title: null },
    x: { field: "mib", type: "quantitative", title: "resident after load (MiB)" },
  },
}, args.out);
console.log(md);
