/**
 * Head-of-line blocking, before and after fair turns (edge/batching/): while one client's
 * request of 256 inputs × 128 tokens runs in a pool of two workers (the trained
 * embedge-mini-mlm), another client sends one-sentence requests one after another. Measures
 * each small request's latency and the bulk request's throughput, and the bulk alone.
 * "before" is the batcher with parts off (`partTokens` 2^53: every job is one `embed` call
 * and jobs run first come, first served, as before parts existed); "after" the default
 * parts. Modes alternate within each repetition (order flipped every other one) so that
 * the machine's load, which other work changes, falls on both; the load average is
 * recorded around every measurement. Writes `bench/results/fairness-*.{json,md}`.
 *
 * @example
 * ```sh
 * deno run -A bench/fairness.ts --reps 5 --backends native,wasm
 * ```
 * @module
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { Embedder } from "../src/model/embedder.ts";
import { createApp } from "../edge/app.ts";
import { machine, median, quantile } from "./machine.ts";
import { writeResults } from "./write_results.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    reps: { type: "string", default: "5" },
    backends: { type: "string", default: "native,wasm" },
    inputs: { type: "string", default: "256" },
    "small-every-ms": { type: "string", default: "250" },
    out: { type: "string" },
  },
});
const reps = Number(values.reps);
const smallEveryMs = Number(values["small-every-ms"]);
const bulkInputs = Number(values.inputs);
const sharedDir = Deno.env.get("EMBEDGE_SHARED") ??
  new URL("../../shared/", import.meta.url).pathname;
const modelDir = `${sharedDir}/models/embedge-mini-mlm`;
const lines = Deno.readTextFileSync(`${sharedDir}/corpus/big.txt`).split("\n")
  .map((l) => l.trim()).filter((l) => l.length > 20);
// 30 lines each: well past the model's 128 positions, so every input is cut to 128 tokens
const bulk = Array.from({ length: bulkInputs }, (_, i) => lines.slice(i * 4, i * 4 + 30).join(" "));
const smalls = lines.slice(5000, 5200).filter((l) => l.length < 120);

const MODES = { before: Number.MAX_SAFE_INTEGER, after: undefined } as const;
type Mode = keyof typeof MODES;

/** One measurement. */
interface Sample {
  backend: string;
  mode: Mode;
  rep: number;
  /** With the small requests' stream, or the bulk request alone. */
  scenario: "with-small" | "bulk-alone";
  bulkSeconds: number;
  bulkInputsPerSecond: number;
  smallMs: number[];
  load1Before: number;
  load1After: number;
}

async function measure(
  embedder: Embedder,
  backend: string,
  mode: Mode,
  rep: number,
  withSmall: boolean,
): Promise<Sample> {
  const partTokens = MODES[mode];
  const app = createApp(embedder, {
    log: false,
    timeoutMs: 600_000,
    batching: partTokens === undefined ? {} : { partTokens },
  });
  const post = (inputs: string[]) =>
    app.request("/embed", { method: "POST", body: JSON.stringify({ inputs, truncate: true }) });
  const load1Before = os.loadavg()[0];
  const t0 = performance.now();
  let done = false;
  const big = Promise.resolve(post(bulk)).then(async (r) => {
    if (r.status !== 200) throw new Error(`bulk request: ${r.status} ${await r.text()}`);
    await r.arrayBuffer();
    done = true;
    return performance.now() - t0;
  });
  const smallMs: number[] = [];
  if (withSmall) {
    // open loop: one small request every `smallEveryMs` while the bulk request runs, each
    // timed on its own (a closed loop would send few while it is blocked and many after)
    const answers: Promise<void>[] = [];
    await new Promise((r) => setTimeout(r, 100)); // the bulk request is running
    for (let k = 0; !done; k++) {
      const s0 = performance.now();
      answers.push(
        Promise.resolve(post([smalls[k % smalls.length]])).then(async (r) => {
          if (r.status !== 200) throw new Error(`small request: ${r.status}`);
          await r.arrayBuffer();
          smallMs.push(performance.now() - s0);
        }),
      );
      await new Promise((r) => setTimeout(r, smallEveryMs));
    }
    await Promise.all(answers);
  }
  const ms = await big;
  return {
    backend,
    mode,
    rep,
    scenario: withSmall ? "with-small" : "bulk-alone",
    bulkSeconds: ms / 1000,
    bulkInputsPerSecond: bulkInputs / (ms / 1000),
    smallMs,
    load1Before,
    load1After: os.loadavg()[0],
  };
}

const samples: Sample[] = [];
for (const backend of values.backends.split(",")) {
  const embedder = await Embedder.load(modelDir, {
    backend: backend as "native" | "wasm",
    workers: 2,
  });
  console.error(`${backend}: engine ${embedder.info.engine}, threads ${embedder.session.threads}`);
  await measure(embedder, backend, "after", -1, false); // warm-up, not kept
  for (let rep = 0; rep < reps; rep++) {
    const order: Mode[] = rep % 2 ? ["after", "before"] : ["before", "after"];
    for (const mode of order) {
      for (const withSmall of [true, false]) {
        const s = await measure(embedder, backend, mode, rep, withSmall);
        samples.push(s);
        console.error(
          `${backend} ${mode} rep ${rep} ${s.scenario}: bulk ${s.bulkSeconds.toFixed(2)} s, ` +
            `small n=${s.smallMs.length} median ${
              s.smallMs.length ? median(s.smallMs).toFixed(0) : "-"
            } ms, load ${s.load1Before.toFixed(2)}`,
        );
      }
    }
  }
  await embedder.close();
}

/** Median and spread (min–max) of a list. */
const stat = (xs: number[]) => ({
  median: median(xs),
  min: Math.min(...xs),
  max: Math.max(...xs),
  n: xs.length,
});

const summary = values.backends.split(",").flatMap((backend) =>
  (Object.keys(MODES) as Mode[]).map((mode) => {
    const of = (scenario: Sample["scenario"]) =>
      samples.filter((s) => s.backend === backend && s.mode === mode && s.scenario === scenario);
    const all = of("with-small").flatMap((s) => s.smallMs);
    return {
      backend,
      mode,
      // per repetition: the median small latency, then their median and spread
      smallMedianMs: stat(of("with-small").map((s) => median(s.smallMs))),
      smallP95Ms: quantile(all, 0.95),
      smallMaxMs: Math.max(...all),
      smallCount: all.length,
      bulkWithSmallInputsPerSecond: stat(of("with-small").map((s) => s.bulkInputsPerSecond)),
      bulkAloneInputsPerSecond: stat(of("bulk-alone").map((s) => s.bulkInputsPerSecond)),
      load1: stat(
        samples.filter((s) => s.backend === backend && s.mode === mode).map((s) => s.load1Before),
      ),
    };
  })
);

const m = machine();
const f = (x: number, d = 0) => x.toFixed(d);
const range = (s: { median: number; min: number; max: number }, d = 0) =>
  `${f(s.median, d)} (${f(s.min, d)}–${f(s.max, d)})`;
const markdown = [
  `# Head-of-line blocking: a small request during a bulk one (${m.date.slice(0, 10)})`,
  "",
  `${m.cpu}, ${m.cores} cores, ${m.os}, Deno ${m.deno}. Model embedge-mini-mlm (4 layers, 256 ` +
  `hidden) in a pool of 2 workers. Bulk request: ${bulkInputs} inputs × 128 tokens; small ` +
  `requests: one big.txt sentence each, one every ${smallEveryMs} ms (open loop) while the ` +
  `bulk request runs. ${reps} repetitions, modes interleaved. before = parts off (one embed call ` +
  `per job, first come first served); after = parts of 4,096 cells, round-robin turns.`,
  "",
  `Machine load (1-min load average at each measurement's start) was shared with other ` +
  `developers' work: median and range per row below.`,
  "",
  "| backend | mode | small ms: median of the per-rep medians (min–max) | small p95 ms (all) | small max ms | n small | bulk inputs/s with small (median, min–max) | bulk inputs/s alone | load1 |",
  "|---|---|---|---|---|---|---|---|---|",
  ...summary.map((s) =>
    `| ${s.backend} | ${s.mode} | ${range(s.smallMedianMs)} | ${f(s.smallP95Ms)} | ${
      f(s.smallMaxMs)
    } | ${s.smallCount} | ${range(s.bulkWithSmallInputsPerSecond, 1)} | ${
      range(s.bulkAloneInputsPerSecond, 1)
    } | ${range(s.load1, 2)} |`
  ),
  "",
].join("\n");

const stem = await writeResults(
  "fairness",
  { machine: m, reps, bulkInputs, summary, samples } as { machine: typeof m },
  markdown,
  {
    title: "Small-request latency during a bulk request (median per repetition)",
    data: {
      values: samples.filter((s) => s.scenario === "with-small" && s.smallMs.length).map((s) => ({
        config: `${s.backend} ${s.mode}`,
        ms: median(s.smallMs),
      })),
    },
    mark: { type: "point", filled: true },
    encoding: {
      y: { field: "config", type: "nominal", title: null },
      x: { field: "ms", type: "quantitative", title: "ms", scale: { type: "log" } },
    },
  },
  values.out,
);
console.log(markdown);
console.error(`wrote bench/results/${stem}.{json,md}`);
