/**
 * The WASM engines on Node, where relaxed SIMD may be missing (Node 20 validates it only
 * behind `--experimental-wasm-relaxed-simd`): onnxruntime-web, embedge's kernels built with
 * plain SIMD (`bert_kernels_simd.wasm`) and, where the runtime validates it, the relaxed-SIMD
 * build — side by side in one Node process on the npm build (`dist/`), one thread each,
 * batch 1 / 8 / 32, interleaved, median of `--reps` (default 5) with min–max. The run is made
 * twice, plain `node` and `node --experimental-wasm-relaxed-simd`, so the relaxed build is
 * measured on the same Node too. Which engine the library picks where relaxed SIMD is
 * missing follows from these numbers (src/model/kernels/kernel_session.ts).
 *
 * @example
 * ```sh
 * deno run -A bench/node_engines.ts             # writes bench/results/node-engines-*
 * deno run -A bench/node_engines.ts --reps 3 --model ../shared/models/embedge-mini-mlm
 * ```
 * @module
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { machine } from "./machine.ts";
import { writeResults } from "./write_results.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    reps: { type: "string", default: "5" },
    model: { type: "string" },
    out: { type: "string" },
  },
});
const root = new URL("../", import.meta.url).pathname;
const shared = Deno.env.get("EMBEDGE_SHARED") ?? `${root}../shared`;
const model = values.model ?? `${shared}/models/embedge-mini-mlm`;
const corpus = `${shared}/corpus/big.txt`;

/** Runs a command, failing with its stderr. */
async function run(command: string, args: string[], cwd = root): Promise<string> {
  const out = await new Deno.Command(command, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

await run("npm", ["run", "build:npm"]);
const kernels = ["bert_kernels_simd.wasm", "bert_kernels.wasm"].map((f) =>
  `${root}wasm/build/${f}`
);
const loadBefore = os.loadavg();
const runs: Record<string, {
  node: string;
  v8: string;
  texts: number;
  results: Record<string, Record<string, Side>>;
  unavailable: string[];
}> = {};
interface Side {
  sentencesPerSec: number;
  range: [number, number];
  engine: string;
  maxAbsDiff: number;
}
for (
  const [label, flags] of [["node", []], ["node --experimental-wasm-relaxed-simd", [
    "--experimental-wasm-relaxed-simd",
  ]]] as const
) {
  const out = await run("node", [
    ...flags,
    `${root}bench/node_engines_child.mjs`,
    `${root}dist`,
    model,
    corpus,
    values.reps!,
    ...kernels,
  ]);
  runs[label] = JSON.parse(out.trim().split("\n").at(-1)!);
  console.error(label, JSON.stringify(runs[label].results));
}
const loadAfter = os.loadavg();
const m = machine();
const report = {
  benchmark: "node-engines",
  machine: m,
  load: { before: loadBefore, after: loadAfter },
  repetitions: Number(values.reps),
  model,
  sides: {
    "onnxruntime-web": "onnxruntime-web 1.30 (WASM SIMD), 1 thread, kernels: false",
    "bert_kernels_simd.wasm": "embedge-kernels, plain-SIMD build (multiply, then add)",
    "bert_kernels.wasm": "embedge-kernels, relaxed-SIMD build (fused multiply-add)",
  },
  runs,
};
const f = (x: number, d = 1) => x.toFixed(d);
const names = Object.keys(report.sides);
const md = [
  "# WASM engines on Node",
  "",
  `${m.date} · ${m.cpu} · ${m.cores} cores · load ${f(loadBefore[0], 2)} before, ${
    f(loadAfter[0], 2)
  } after · model ${
    model.split("/").at(-1)
  } · 64 big.txt sentences in request-sized slices, mean pooling + normalize · median of ${values.reps} interleaved repetitions after a warm-up, (min–max)`,
  "",
  ...Object.entries(runs).flatMap(([label, r]) => [
    `## \`${label}\` (Node ${r.node}, V8 ${r.v8})`,
    "",
    r.unavailable.length ? `Not valid on this runtime: ${r.unavailable.join(", ")}.\n` : "",
    `| batch | ${names.join(" | ")} | plain-SIMD kernels / onnxruntime-web |`,
    `| --- | ${names.map(() => "---:").join(" | ")} | ---: |`,
    ...Object.entries(r.results).map(([batch, sides]) =>
      `| ${batch} | ${
        names.map((n) =>
          sides[n]
            ? `${f(sides[n].sentencesPerSec)} (${f(sides[n].range[0])}–${
              f(sides[n].range[1])
            }), diff ${sides[n].maxAbsDiff.toExponential(1)}`
            : "—"
        ).join(" | ")
      } | ${
        f(
          sides["bert_kernels_simd.wasm"].sentencesPerSec /
            sides["onnxruntime-web"].sentencesPerSec,
          2,
        )
      }× |`
    ),
    "",
  ]),
].join("\n");
const stem = await writeResults("node-engines", report, md, {
  title: { text: "Sentences/s on Node, WASM engines, 1 thread" },
  data: {
    values: Object.entries(runs).flatMap(([label, r]) =>
      Object.entries(r.results).flatMap(([batch, sides]) =>
        Object.entries(sides).map(([side, s]) => ({
          batch,
          side: `${side} (${label.includes("relaxed") ? "flag" : "plain node"})`,
          sps: s.sentencesPerSec,
        }))
      )
    ),
  },
  mark: "bar",
  encoding: {
    x: { field: "batch", type: "nominal" },
    xOffset: { field: "side" },
    y: { field: "sps", type: "quantitative", title: "sentences/s" },
    color: { field: "side" },
  },
}, values.out);
console.log(stem);
