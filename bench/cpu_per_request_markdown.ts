/**
 * The Markdown of a bench/cpu_per_request.ts run: CPU and wall time per request for each
 * side, against the free plan's 10 ms of CPU per request, and the Worker's own times under
 * `wrangler dev` when they were measured.
 *
 * @example
 * ```ts ignore
 * import { cpuPerRequestMarkdown } from "./cpu_per_request_markdown.ts";
 * console.log(cpuPerRequestMarkdown(JSON.parse(Deno.readTextFileSync("run.json"))));
 * ```
 * @module
 */
import { type Machine, median, quantile } from "./machine.ts";
import type { WorkerdRequestTimes } from "./workerd_requests.ts";

/** One side's numbers. */
export interface SideSummary {
  requests: number;
  cpuMs: { median: number; p95: number; max: number };
  wallMs: { median: number; p95: number };
  /** The lowest and highest of the passes' CPU medians. */
  passMediansCpuMs: number[];
}

/** What the Markdown reads of a run. */
export interface CpuPerRequestReport {
  machine: Machine;
  load: { before: number[]; after: number[] };
  repetitions: number;
  model: string;
  sides: Record<string, string>;
  engines: Record<string, string>;
  sentences: { count: number; tokens: { min: number; median: number; max: number } };
  summary: Record<string, SideSummary>;
  workerd?: WorkerdRequestTimes;
}

/** The run as Markdown. */
export function cpuPerRequestMarkdown(report: CpuPerRequestReport): string {
  const { machine: m, load, sentences, summary, workerd } = report;
  const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "–");
  return [
    "# CPU per request on the Worker (free plan: 10 ms)",
    "",
    `${m.date} · ${m.cpu} · ${m.cores} cores · Deno ${m.deno} · load ${f(load.before[0])} before, ${
      f(load.after[0])
    } after · ${report.repetitions} interleaved passes per side after a warm-up pass`,
    "",
    `${report.model}. ${sentences.count} big.txt sentences of ${sentences.tokens.min}–${sentences.tokens.max} tokens (median ${sentences.tokens.median}, [CLS] and [SEP] included), one per request. Engines: int8 ${report.engines.int8}, fp32 ${report.engines.fp32}, one thread.`,
    "",
    "CPU: the process's CPU time (user + system, getrusage) across the request, which is what a",
    "CPU limit counts; it includes V8's garbage-collector and compiler threads, so it is an upper",
    "bound of the request's own thread. Wall: the same request by the clock (on a shared machine",
    "it also holds the time spent waiting for a core, and for a request, the batcher's short wait).",
    "",
    "| side | what | requests | CPU median | CPU p95 | CPU max | passes' CPU medians | wall median | wall p95 | CPU p95 within 10 ms |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ...Object.entries(summary).map(([side, s]) =>
      `| ${side} | ${report.sides[side]} | ${s.requests} | **${f(s.cpuMs.median)} ms** | **${
        f(s.cpuMs.p95)
      } ms** | ${f(s.cpuMs.max)} ms | ${f(s.passMediansCpuMs[0])}–${
        f(s.passMediansCpuMs[1])
      } ms | ${f(s.wallMs.median)} ms | ${f(s.wallMs.p95)} ms | ${
        s.cpuMs.p95 <= 10 ? "yes" : "**no**"
      } |`
    ),
    "",
    ...(workerd
      ? [
        "## The int8 Worker under wrangler dev (workerd)",
        "",
        `The same ${sentences.count} requests, ${workerd.passes} passes, one at a time, to the default build under \`wrangler dev\` with \`EMBEDGE_LOG_TIMINGS=requests\`: the Worker's own time per request (its clock, which workerd moves on only at I/O, read after a zero-length timer: CPU time plus a timer's turn, in whole ms) and the time seen here (wrangler's local proxy included). Engine: ${workerd.engine}.`,
        "",
        "| measured | requests | median | p95 | max |",
        "| --- | ---: | ---: | ---: | ---: |",
        `| in the Worker | ${workerd.inWorkerMs.length} | **${
          f(median(workerd.inWorkerMs), 0)
        } ms** | **${f(quantile(workerd.inWorkerMs, 0.95), 0)} ms** | ${
          f(Math.max(...workerd.inWorkerMs), 0)
        } ms |`,
        `| here, through wrangler | ${workerd.clientMs.length} | ${
          f(median(workerd.clientMs), 1)
        } ms | ${f(quantile(workerd.clientMs, 0.95), 1)} ms | ${
          f(Math.max(...workerd.clientMs), 1)
        } ms |`,
        "",
      ]
      : []),
  ].join("\n");
}
