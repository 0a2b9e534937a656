/**
 * What a timed-out bulk request costs the requests after it (issue 27 item 12): with a
 * 1 s request timeout, a request of 256 inputs × 128 tokens is answered 503; meanwhile a
 * one-sentence request goes out every 250 ms for 4 s. Before (the batcher with parts off,
 * `partTokens` 2^53: the timed-out job runs to its end) the small requests queue behind
 * runs nobody will read and time out too; after (parts of 4,096 cells) the job stops after
 * its running part. Counts the small requests answered 503, per repetition; modes
 * interleaved, the load average recorded. A pool of two workers, embedge-mini-mlm. Writes
 * `bench/results/timeout-cascade-*.{json,md}`.
 *
 * @example
 * ```sh
 * deno run -A bench/timeout_cascade.ts --reps 5 --backends native,wasm
 * ```
 * @module
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { Embedder } from "../src/model/embedder.ts";
import { createApp } from "../edge/app.ts";
import { machine, median } from "./machine.ts";
import { writeResults } from "./write_results.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    reps: { type: "string", default: "5" },
    backends: { type: "string", default: "native,wasm" },
    out: { type: "string" },
  },
});
const reps = Number(values.reps);
const timeoutMs = 1000, smallEveryMs = 250, smallForMs = 4000;
const sharedDir = Deno.env.get("EMBEDGE_SHARED") ??
  new URL("../../shared/", import.meta.url).pathname;
const lines = Deno.readTextFileSync(`${sharedDir}/corpus/big.txt`).split("\n")
  .map((l) => l.trim()).filter((l) => l.length > 20);
const bulk = Array.from({ length: 256 }, (_, i) => lines.slice(i * 4, i * 4 + 30).join(" "));
const smalls = lines.slice(5000, 5200).filter((l) => l.length < 120);
const MODES = { before: Number.MAX_SAFE_INTEGER, after: undefined } as const;
type Mode = keyof typeof MODES;

interface Sample {
  backend: string;
  mode: Mode;
  rep: number;
  bulkStatus: number;
  sent: number;
  lost: number;
  /** Seconds from the bulk request's start until the pool had no run left. */
  busySeconds: number;
  load1: number;
}

const samples: Sample[] = [];
for (const backend of values.backends.split(",")) {
  const embedder = await Embedder.load(`${sharedDir}/models/embedge-mini-mlm`, {
    backend: backend as "native" | "wasm",
    workers: 2,
  });
  let inFlight = 0;
  const run = embedder.session.run.bind(embedder.session);
  embedder.session.run = async (...a) => {
    inFlight++;
    try {
      return await run(...a);
    } finally {
      inFlight--;
    }
  };
  for (let rep = 0; rep < reps; rep++) {
    const order: Mode[] = rep % 2 ? ["after", "before"] : ["before", "after"];
    for (const mode of order) {
      const partTokens = MODES[mode];
      const app = createApp(embedder, {
        log: false,
        timeoutMs,
        batching: partTokens === undefined ? {} : { partTokens },
      });
      const post = (inputs: string[]) =>
        Promise.resolve(app.request("/embed", {
          method: "POST",
          body: JSON.stringify({ inputs, truncate: true }),
        })).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        });
      const load1 = os.loadavg()[0];
      const t0 = performance.now();
      const big = post(bulk);
      const answers: Promise<number>[] = [];
      await new Promise((r) => setTimeout(r, 100));
      while (performance.now() - t0 < smallForMs) {
        answers.push(post([smalls[answers.length % smalls.length]]));
        await new Promise((r) => setTimeout(r, smallEveryMs));
      }
      const statuses = await Promise.all(answers);
      const bulkStatus = await big;
      while (inFlight > 0) await new Promise((r) => setTimeout(r, 20));
      const s: Sample = {
        backend,
        mode,
        rep,
        bulkStatus,
        sent: statuses.length,
        lost: statuses.filter((x) => x !== 200).length,
        busySeconds: (performance.now() - t0) / 1000,
        load1,
      };
      samples.push(s);
      console.error(
        `${backend} ${mode} rep ${rep}: bulk ${bulkStatus}, lost ${s.lost}/${s.sent}, ` +
          `busy ${s.busySeconds.toFixed(1)} s, load ${load1.toFixed(2)}`,
      );
    }
  }
  await embedder.close();
}

const m = machine();
const rows = values.backends.split(",").flatMap((backend) =>
  (Object.keys(MODES) as Mode[]).map((mode) => {
    const of = samples.filter((s) => s.backend === backend && s.mode === mode);
    return {
      backend,
      mode,
      lost: of.reduce((a, s) => a + s.lost, 0),
      sent: of.reduce((a, s) => a + s.sent, 0),
      lostPerRep: of.map((s) => s.lost),
      busySecondsMedian: median(of.map((s) => s.busySeconds)),
      load1: of.map((s) => s.load1),
    };
  })
);
const markdown = [
  `# After a timeout: small requests lost behind a timed-out bulk request (${m.date.slice(0, 10)})`,
  "",
  `${m.cpu}, ${m.cores} cores, Deno ${m.deno}. embedge-mini-mlm in a pool of 2 workers; request ` +
  `timeout ${timeoutMs} ms; a 256 × 128-token request (503) and one one-sentence request every ` +
  `${smallEveryMs} ms for ${smallForMs / 1000} s from its start. ${reps} repetitions, modes ` +
  `interleaved. before = parts off (the timed-out job runs to its end); after = parts of 4,096 ` +
  `cells (the job stops after its running part). Load: the 1-min load average at each start ` +
  `(other developers' work shares the machine).`,
  "",
  "| backend | mode | small requests lost (503) / sent | lost per repetition | pool busy after the bulk's start, s (median) | load1 |",
  "|---|---|---|---|---|---|",
  ...rows.map((r) =>
    `| ${r.backend} | ${r.mode} | ${r.lost} / ${r.sent} | ${r.lostPerRep.join(", ")} | ${
      r.busySecondsMedian.toFixed(1)
    } | ${r.load1.map((x) => x.toFixed(1)).join(", ")} |`
  ),
  "",
].join("\n");
const stem = await writeResults(
  "timeout-cascade",
  { machine: m, reps, timeoutMs, smallEveryMs, smallForMs, rows, samples } as {
    machine: typeof m;
  },
  markdown,
  {
    title: "Small requests lost (503) behind a timed-out bulk request, per repetition",
    data: { values: samples.map((s) => ({ config: `${s.backend} ${s.mode}`, lost: s.lost })) },
    mark: { type: "point", filled: true },
    encoding: {
      y: { field: "config", type: "nominal", title: null },
      x: { field: "lost", type: "quantitative", title: "requests lost" },
    },
  },
  values.out,
);
console.log(markdown);
console.error(`wrote bench/results/${stem}.{json,md}`);
