/**
 * HTTP load test of the Deno server (`edge/deno.ts`), started here on 127.0.0.1 with the
 * real MiniLM export structure (generated weights, real latency). `--connections`
 * concurrent clients send `POST /embed` with one big.txt sentence each for `--seconds`,
 * once with dynamic batching and once without, then the same two against the Cloudflare
 * Worker under `wrangler dev` (same model as static assets), all in one run. Reports
 * throughput, latency percentiles, status counts and the server's peak RSS; writes
 * `bench/results/`.
 * Traffic goes to the loopback address only; loops stop by themselves.
 *
 * @example
 * ```sh
 * deno run -A bench/load.ts --seconds 60 --connections 64
 * deno run -A bench/load.ts --quick
 * ```
 * @module
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { benchMiniLmStructure } from "../tests/support/minilm_structure.ts";
import { startDenoServer } from "../tests/support/local_server.ts";
import { machine, quantile } from "./machine.ts";
import { prepareWorkerAssets } from "../bin/worker_assets.ts";
import { groupRssMiB, startWranglerDev, WRANGLER } from "../tests/support/wrangler_dev.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "60" },
    // each configuration runs `seconds` in all, split into rounds taken in turn (A, B, A, B)
    rounds: { type: "string", default: "3" },
    connections: { type: "string", default: "64" },
    quick: { type: "boolean", default: false },
    worker: { type: "boolean", default: true },
    // Deno servers only (wrangler dev under this load can run workerd out of file
    // descriptors: "Too many open files", then a stall)
    "skip-worker": { type: "boolean", default: false },
    // a Deno server whose model runs in a pool of this many workers (EMBEDGE_WORKERS), batching
    // on, against the same server inline; 0 leaves it out
    pool: { type: "string", default: "2" },
    // EMBEDGE_BACKEND of the Deno servers (default: theirs, auto)
    backend: { type: "string" },
    out: { type: "string" },
  },
});
const seconds = values.quick ? 5 : Number(values.seconds);
/** Load before each round's timed part (not counted). */
const warmupSeconds = values.quick ? 1 : 5;
const connections = Number(values.connections);
const sharedDir = Deno.env.get("EMBEDGE_SHARED") ??
  new URL("../../shared/", import.meta.url).pathname;
const modelDir = await benchMiniLmStructure(sharedDir);
const sentences = Deno.readTextFileSync(`${sharedDir}/corpus/big.txt`).split("\n")
  .map((l) => l.trim()).filter((l) => l.length > 10 && l.length < 200).slice(0, 2000);

function rssMiB(pid: number): number {
  try {
    const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+) kB/);
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

interface Target {
  url: string;
  rss(): number;
  stop(): Promise<void>;
}

async function denoServer(batching: boolean, workers = 0): Promise<Target> {
  const { url, proc } = await startDenoServer(modelDir, {
    EMBEDGE_BATCHING: batching ? "on" : "off",
    EMBEDGE_MAX_QUEUE: "4096",
    EMBEDGE_WORKERS: String(workers),
    ...(values.backend ? { EMBEDGE_BACKEND: values.backend } : {}),
  });
  return {
    url,
    rss: () => rssMiB(proc.pid),
    stop: async () => {
      proc.kill("SIGTERM");
      await proc.status;
    },
  };
}

async function worker(batching: boolean): Promise<Target> {
  const assetsDir = new URL("../.cache/bench-minilm-structure-assets/", import.meta.url).pathname;
  await prepareWorkerAssets(modelDir, assetsDir); // the 87 MiB external data in parts
  const w = await startWranglerDev({
    assetsDir,
    vars: {
      EMBEDGE_MODEL_ID: "all-MiniLM-L6-v2 structure",
      EMBEDGE_LOG: "off",
      EMBEDGE_BATCHING: batching ? "on" : "off",
    },
  });
  return { url: w.url, rss: () => groupRssMiB(w.pgid), stop: w.stop };
}

/** `connections` clients sending one-sentence `/embed` requests for `seconds`. */
async function load(
  url: string,
  seconds: number,
  record: (status: number, ms: number) => void,
  onError: () => void = () => {},
): Promise<void> {
  const end = performance.now() + seconds * 1000;
  let next = 0;
  await Promise.all(Array.from({ length: connections }, async () => {
    while (performance.now() < end) {
      const text = sentences[next++ % sentences.length];
      const t0 = performance.now();
      try {
        const res = await fetch(`${url}/embed`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ inputs: text }),
          signal: AbortSignal.timeout(60_000), // a stalled server counts errors, not forever
        });
        await res.arrayBuffer();
        record(res.status, performance.now() - t0);
        if (res.status === 503) await new Promise((r) => setTimeout(r, 50));
      } catch {
        onError();
      }
    }
  }));
}

async function run(
  server: string,
  batching: boolean,
  start: () => Promise<Target>,
  seconds: number,
) {
  const target = await start();
  const url = target.url;
  const rss: number[] = [target.rss()];
  const sampler = setInterval(() => rss.push(target.rss()), 500);
  // warm-up, not counted: a fresh server compiles and tiers up its code (onnxruntime's
  // wasm in each session worker too) in its first seconds, which 20 s rounds would count
  await load(url, warmupSeconds, () => {});
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  // /health every 100 ms alongside the load: does the server stay responsive?
  const health: number[] = [];
  const probe = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) });
        await r.arrayBuffer();
        if (r.ok) health.push(performance.now() - t0);
      } catch { /* counted by its absence */ }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await Promise.all([
    probe(),
    load(url, seconds, (status, ms) => {
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status === 200) latencies.push(ms);
    }, () => errors++),
  ]);
  clearInterval(sampler);
  await target.stop();
  const ok = latencies.length;
  return {
    server,
    batching,
    requests: Object.values(statuses).reduce((a, b) => a + b, 0),
    ok,
    statuses,
    networkErrors: errors,
    throughputPerSec: ok / seconds,
    latencies,
    health,
    rss,
  };
}

type Round = Awaited<ReturnType<typeof run>>;
/** One configuration's rounds as one result: median throughput with its range, pooled
 * latency percentiles, summed statuses, RSS over all rounds. */
function summarize(rounds: Round[]) {
  const rates = rounds.map((r) => r.throughputPerSec).sort((a, b) => a - b);
  const latencies = rounds.flatMap((r) => r.latencies);
  const statuses: Record<number, number> = {};
  for (const r of rounds) {
    for (const [k, v] of Object.entries(r.statuses)) {
      statuses[Number(k)] = (statuses[Number(k)] ?? 0) + v;
    }
  }
  const rss = rounds.flatMap((r) => r.rss).filter(Number.isFinite);
  return {
    server: rounds[0].server,
    batching: rounds[0].batching,
    rounds: rounds.length,
    requests: rounds.reduce((a, r) => a + r.requests, 0),
    ok: latencies.length,
    statuses,
    networkErrors: rounds.reduce((a, r) => a + r.networkErrors, 0),
    throughputPerSec: rates[Math.floor(rates.length / 2)],
    throughputRange: [rates[0], rates[rates.length - 1]],
    latencyMs: {
      p50: quantile(latencies, 0.5),
      p90: quantile(latencies, 0.9),
      p99: quantile(latencies, 0.99),
    },
    healthMs: {
      probes: rounds.reduce((a, r) => a + r.health.length, 0),
      p50: quantile(rounds.flatMap((r) => r.health), 0.5),
      p99: quantile(rounds.flatMap((r) => r.health), 0.99),
    },
    rssMiB: {
      start: rounds[0].rss[0],
      peak: Math.max(...rss),
      end: rounds[rounds.length - 1].rss.at(-1)!,
    },
  };
}

const pool = values.quick ? 0 : Number(values.pool);
const configs: { server: string; batching: boolean; start: () => Promise<Target> }[] = [
  { server: "Deno", batching: true, start: () => denoServer(true) },
  { server: "Deno", batching: false, start: () => denoServer(false) },
  ...(pool > 0
    ? [{
      server: `Deno, ${pool} session workers`,
      batching: true,
      start: () => denoServer(true, pool),
    }]
    : []),
];
if (values.worker && !values["skip-worker"] && !values.quick) {
  try {
    Deno.statSync(WRANGLER);
    for (const batching of [true, false]) {
      configs.push({ server: "Worker (wrangler dev)", batching, start: () => worker(batching) });
    }
  } catch (e) {
    console.error(`worker runs skipped: ${e}`);
  }
}
const rounds = values.quick ? 1 : Math.max(1, Number(values.rounds));
const loadBefore = os.loadavg();
const byConfig: Round[][] = configs.map(() => []);
for (let r = 0; r < rounds; r++) {
  for (const [k, c] of configs.entries()) {
    const result = await run(c.server, c.batching, c.start, seconds / rounds);
    byConfig[k].push(result);
    console.error(
      `round ${r + 1}/${rounds} ${c.server}, batching ${c.batching ? "on" : "off"}: ${
        result.throughputPerSec.toFixed(1)
      } req/s`,
    );
  }
}
const loadAfter = os.loadavg();
const [withBatching, without, ...rest] = byConfig.map(summarize);
const pooled = pool > 0 ? rest.shift() : undefined;
const workerResults = rest;
const m = machine();
const report = {
  benchmark: "http-load",
  machine: m,
  load: { before: loadBefore, after: loadAfter },
  seconds,
  rounds,
  warmupSeconds,
  backend: values.backend ??
    "the server's default (auto: native onnxruntime-node where it loads)",
  connections,
  model: "all-MiniLM-L6-v2 structure (generated weights)",
  route: "POST /embed, one big.txt sentence per request",
  results: [withBatching, without, ...(pooled ? [pooled] : []), ...workerResults],
  batchingSpeedup: withBatching.throughputPerSec / without.throughputPerSec,
  poolSpeedup: pooled ? pooled.throughputPerSec / withBatching.throughputPerSec : undefined,
  workerBatchingSpeedup: workerResults.length === 2
    ? workerResults[0].throughputPerSec / workerResults[1].throughputPerSec
    : undefined,
};
const f = (x: number, d = 1) => x.toFixed(d);
const md = [
  `# HTTP load test`,
  "",
  `${m.date.slice(0, 10)} · ${m.cpu} · ${m.cores} cores · Deno ${m.deno} · load ${
    loadBefore[0].toFixed(2)
  } before, ${
    loadAfter[0].toFixed(2)
  } after · ${connections} connections × ${seconds} s per server in ${rounds} interleaved rounds · ${report.route} · backend: ${report.backend}`,
  "",
  `Each round starts its server afresh and loads it for ${warmupSeconds} s before the timed part (not counted). Throughput is the median of the rounds (min–max beside it); latencies are pooled over the rounds. The load generator runs on the same 2 cores.`,
  "",
  "| server | dynamic batching | req/s | p50 ms | p90 ms | p99 ms | /health p50 / p99 ms | statuses | network errors | RSS start / peak / end MiB |",
  "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |",
  ...report.results.map((r) =>
    `| ${r.server} | ${r.batching ? "on" : "off"} | ${f(r.throughputPerSec)} (${
      f(r.throughputRange[0])
    }–${f(r.throughputRange[1])}) | ${f(r.latencyMs.p50)} | ${f(r.latencyMs.p90)} | ${
      f(r.latencyMs.p99)
    } | ${f(r.healthMs.p50)} / ${f(r.healthMs.p99)} | ${
      JSON.stringify(r.statuses)
    } | ${r.networkErrors} | ${f(r.rssMiB.start, 0)} / ${f(r.rssMiB.peak, 0)} / ${
      f(r.rssMiB.end, 0)
    } |`
  ),
  "",
  `Batching on / off throughput: Deno ${f(report.batchingSpeedup, 2)}×${
    report.workerBatchingSpeedup ? `, Worker ${f(report.workerBatchingSpeedup, 2)}×` : ""
  }.${
    report.poolSpeedup
      ? ` Session pool of ${pool} / inline (both batching): ${f(report.poolSpeedup, 2)}×.`
      : ""
  } /health is probed every 100 ms by the load generator's own process, so its latency includes that process's queueing.`,
  "",
].join("\n");
if (!values.quick || values.out) {
  const dir = values.out
    ? new URL(`file://${values.out}/`)
    : new URL("./results/", import.meta.url);
  const stamp = `${m.date.replace(/[:.]/g, "-")}-${m.host}`;
  Deno.writeTextFileSync(new URL(`load-${stamp}.json`, dir), JSON.stringify(report, null, 2));
  Deno.writeTextFileSync(new URL(`load-${stamp}.md`, dir), md);
  Deno.writeTextFileSync(new URL("load-latest.md", dir), md);
}
console.log(md);
