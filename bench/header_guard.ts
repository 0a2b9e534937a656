/**
 * What the header guard (edge/header_guard/) costs: `GET /health` through the Deno
 * server (`edge/deno.ts`) with the guard (`EMBEDGE_HEADER_TIMEOUT_MS=10000`, the default)
 * and without it (`0`), on 127.0.0.1. `--connections` keep-alive clients send one request
 * at a time each (raw HTTP/1.1, cheaper than fetch, so that the server is what is
 * measured) for `--seconds` per configuration, split into rounds taken in turn (A, B, A,
 * B), each on a server started afresh. Reports req/s (median of the rounds), the server's
 * CPU time per request (steadier on a busy machine) and latency percentiles; writes `bench/results/header-guard-*`. Loops stop by themselves.
 *
 * @example
 * ```sh
 * deno run -A bench/header_guard.ts --seconds 30 --connections 16
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { makeTestModel } from "../tests/support/test_model.ts";
import { startDenoServer } from "../tests/support/local_server.ts";
import { machine, quantile } from "./machine.ts";
import { writeResults } from "./write_results.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "30" },
    rounds: { type: "string", default: "3" },
    connections: { type: "string", default: "16" },
    // a note for the results (e.g. which guard the working tree holds)
    label: { type: "string", default: "" },
    "no-write": { type: "boolean", default: false },
  },
});
const seconds = Number(values.seconds), rounds = Number(values.rounds);
const connections = Number(values.connections);
const warmupMs = 2000;
const request = new TextEncoder().encode("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");

/** One keep-alive client: requests in turn until `until`; each answer read whole. */
async function client(port: number, until: number, latencies: number[]): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const buf = new Uint8Array(16 * 1024);
  let errors = 0;
  try {
    while (Date.now() < until) {
      const t0 = performance.now();
      await conn.write(request);
      let got = new Uint8Array(0), need = -1;
      while (need < 0 || got.length < need) {
        const n = await conn.read(buf);
        if (n === null) throw new Error("closed");
        const joined = new Uint8Array(got.length + n);
        joined.set(got);
        joined.set(buf.subarray(0, n), got.length);
        got = joined;
        if (need < 0) {
          const text = new TextDecoder().decode(got);
          const end = text.indexOf("\r\n\r\n");
          if (end < 0) continue;
          if (!text.startsWith("HTTP/1.1 200")) errors++;
          need = end + 4 + Number(/content-length: (\d+)/i.exec(text)?.[1] ?? 0);
        }
      }
      latencies.push(performance.now() - t0);
    }
  } finally {
    conn.close();
  }
  return errors;
}

/** CPU time (user + system) a process has used, in ms (Linux /proc; clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14, 15)
}

interface Round {
  requests: number;
  /** The server's CPU time per request, in ms: less sensitive to a busy machine than req/s. */
  cpuMsPerRequest: number;
  reqPerSecond: number;
  errors: number;
  latencies: number[];
}

async function round(modelDir: string, guard: boolean, ms: number): Promise<Round> {
  const { url, proc } = await startDenoServer(modelDir, {
    EMBEDGE_WORKERS: "0",
    EMBEDGE_HEADER_TIMEOUT_MS: guard ? "10000" : "0",
  });
  const port = Number(new URL(url).port);
  try {
    const warm = Date.now() + warmupMs;
    await Promise.all(Array.from({ length: connections }, () => client(port, warm, [])));
    const latencies: number[] = [];
    const cpu0 = cpuMs(proc.pid);
    const t0 = Date.now();
    const errors = (await Promise.all(
      Array.from({ length: connections }, () => client(port, t0 + ms, latencies)),
    )).reduce((a, b) => a + b, 0);
    const elapsed = (Date.now() - t0) / 1000;
    return {
      requests: latencies.length,
      cpuMsPerRequest: (cpuMs(proc.pid) - cpu0) / latencies.length,
      reqPerSecond: latencies.length / elapsed,
      errors,
      latencies,
    };
  } finally {
    proc.kill("SIGTERM");
    await proc.status;
  }
}

const model = await makeTestModel({ seed: 37, layers: 1 });
const before = Deno.loadavg()[0];
const runs: Record<"guard" | "none", Round[]> = { guard: [], none: [] };
for (let r = 0; r < rounds; r++) {
  for (const which of ["guard", "none"] as const) {
    const result = await round(model.dir, which === "guard", (seconds * 1000) / rounds);
    runs[which].push(result);
    console.error(
      `round ${r + 1} ${which}: ${result.reqPerSecond.toFixed(0)} req/s, ` +
        `${(result.cpuMsPerRequest * 1000).toFixed(0)} µs CPU a request`,
    );
  }
}
const summary = (rs: Round[]) => {
  const rates = rs.map((r) => r.reqPerSecond).sort((a, b) => a - b);
  const all = rs.flatMap((r) => r.latencies);
  return {
    reqPerSecond: rates[Math.floor(rates.length / 2)],
    min: rates[0],
    max: rates.at(-1)!,
    requests: all.length,
    // pooled: the server's CPU over all rounds / all requests
    cpuUsPerRequest: 1000 * rs.reduce((a, r) => a + r.cpuMsPerRequest * r.requests, 0) /
      all.length,
    errors: rs.reduce((a, r) => a + r.errors, 0),
    p50: quantile(all, 0.5),
    p99: quantile(all, 0.99),
  };
};
const m = machine();
const report = {
  machine: m,
  label: values.label,
  settings: { seconds, rounds, connections, warmupMs, route: "GET /health" },
  loadBefore: before,
  loadAfter: Deno.loadavg()[0],
  guard: summary(runs.guard),
  none: summary(runs.none),
};
const row = (name: string, s: ReturnType<typeof summary>) =>
  `| ${name} | ${s.reqPerSecond.toFixed(0)} (${s.min.toFixed(0)}–${s.max.toFixed(0)}) | ` +
  `${s.cpuUsPerRequest.toFixed(0)} | ${s.p50.toFixed(2)} | ${
    s.p99.toFixed(2)
  } | ${s.requests} | ${s.errors} |`;
const markdown = [
  "# Header guard cost",
  "",
  `${m.date.slice(0, 16)} · ${m.cpu} · ${m.cores} cores · Deno ${m.deno} · load ${
    before.toFixed(2)
  } before, ${
    report.loadAfter.toFixed(2)
  } after · ${connections} keep-alive connections × ${seconds} s per server in ${rounds} interleaved rounds · GET /health${
    values.label ? ` · ${values.label}` : ""
  }`,
  "",
  "The load generator runs on the same cores as the server (and, here, other work), so req/s",
  "swings with the machine's load; the server's CPU time per request (its utime + stime over",
  "the timed part, from /proc) is the less load-sensitive measure of what the guard costs.",
  "",
  "| server | req/s (min–max) | server CPU µs / request | p50 ms | p99 ms | requests | non-200 |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  row("Deno.serve behind the guard", report.guard),
  row("Deno.serve alone", report.none),
  "",
  `Guard / alone: ${(report.guard.reqPerSecond / report.none.reqPerSecond).toFixed(2)}× ` +
  `throughput, ${(report.guard.cpuUsPerRequest / report.none.cpuUsPerRequest).toFixed(2)}× ` +
  "the server's CPU time per request.",
].join("\n");
console.log(markdown);
if (!values["no-write"]) {
  const stem = await writeResults("header-guard", report, markdown, {
    title: "GET /health req/s",
    data: {
      values: [
        ...runs.guard.map((r) => ({ server: "guard", reqPerSecond: r.reqPerSecond })),
        ...runs.none.map((r) => ({ server: "alone", reqPerSecond: r.reqPerSecond })),
      ],
    },
    mark: "tick",
    encoding: {
      y: { field: "server", type: "nominal" },
      x: { field: "reqPerSecond", type: "quantitative" },
    },
  });
  console.error(`wrote bench/results/${stem}.{json,md}`);
}
