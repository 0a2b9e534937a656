/**
 * The numbers, table and plot of bench/before_after.ts: each side's rounds of a measurement
 * as median with min–max, after/before of the medians, and which engine ran on each side.
 *
 * @example
 * ```ts
 * import { summarize } from "./before_after_report.ts";
 * const run = (x: number) => ({ engine: "e", metrics: { "req/s": x } });
 * const s = summarize([run(10), run(12), run(11)], [run(22), run(20), run(21)]);
 * console.log(s.metrics["req/s"].ratio); // 1.9090909090909092
 * ```
 * @module
 */
import { median } from "./machine.ts";

/** The three measurements, as the child script names its modes. */
export type Kind = "tokenizer" | "inference" | "http";

/** One child's answer: the engine that ran and its numbers. */
export interface ChildResult {
  engine: string;
  backend?: string;
  threads?: number;
  metrics: Record<string, number>;
}

/** One side's rounds of one number. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  values: number[];
}

/** Whether a larger number is better: throughput yes, latency and memory no. */
export const lowerIsBetter = (metric: string): boolean => / ms$| MiB$/.test(metric);

const spread = (values: number[]): Spread => ({
  median: median(values),
  min: Math.min(...values),
  max: Math.max(...values),
  values,
});

/** The engines a side's children named, e.g. "embedge-kernels (wasm, 1 thread)". */
function engines(results: ChildResult[]): string {
  const named = results.map((r) =>
    r.backend
      ? `${r.engine} (${r.backend}, ${r.threads} thread${r.threads === 1 ? "" : "s"})`
      : r.engine
  );
  return [...new Set(named)].join("; ");
}

/** Per metric: both sides' spreads and after/before of their medians. */
export function summarize(before: ChildResult[], after: ChildResult[]) {
  const metrics: Record<string, { before: Spread; after: Spread; ratio: number }> = {};
  for (const name of Object.keys(before[0].metrics)) {
    const b = spread(before.map((r) => r.metrics[name]));
    const a = spread(after.map((r) => r.metrics[name]));
    metrics[name] = { before: b, after: a, ratio: a.median / b.median };
  }
  return { engines: { before: engines(before), after: engines(after) }, metrics };
}

type Summary = ReturnType<typeof summarize>;
/** What the table and the plot read of bench/before_after.ts's report. */
export interface BeforeAfterReport {
  machine: { date: string; cpu: string; cores: number; deno: string };
  load: { before: number[]; after: number[]; atEachChild: number[] };
  commits: Record<"before" | "after", { rev: string; sha: string; subject: string }>;
  settings: {
    rounds: number;
    passes: number;
    lines: number;
    texts: number;
    batches: number[];
    connections: number;
    seconds: number;
    warmupSeconds: number;
    backend?: string;
  };
  wallSeconds: number;
  secondsPerKind?: Record<string, number>;
  kinds: Record<string, Summary>;
}

/** Whether `x` lies in `side`'s min–max; one round has no range to lie in. */
const within = (side: Spread, x: number) =>
  side.values.length < 2 ? "n/a (1 round)" : side.min <= x && x <= side.max ? "yes" : "**no**";

const f = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** The results file's Markdown: commits, machine and load, one table row per number. */
export function beforeAfterMarkdown(r: BeforeAfterReport): string {
  const s = r.settings, m = r.machine;
  const loads = r.load.atEachChild;
  const short = (side: "before" | "after") =>
    `\`${r.commits[side].sha.slice(0, 7)}\` (${r.commits[side].rev}): ${r.commits[side].subject}`;
  const rows = Object.entries(r.kinds).flatMap(([kind, k]) =>
    Object.entries(k.metrics).map(([name, v]) =>
      `| ${kind} | ${name} | ${f(v.before.median)} (${f(v.before.min)}–${f(v.before.max)}) | ${
        f(v.after.median)
      } (${f(v.after.min)}–${f(v.after.max)}) | ${v.ratio.toFixed(3)}${
        lowerIsBetter(name) ? " (lower is better)" : ""
      } | ${within(v.before, v.after.median)} |`
    )
  );
  const engineLines = Object.entries(r.kinds).map(([kind, k]) =>
    `- ${kind}: before ${k.engines.before}; after ${k.engines.after}${
      k.engines.before === k.engines.after ? "" : " (**different engines**)"
    }`
  );
  return [
    "# Before/after: the same benchmarks on two revisions, in one run",
    "",
    `- before: ${short("before")}`,
    `- after: ${short("after")}`,
    "",
    `${m.date.slice(0, 16)}Z · ${m.cpu} · ${m.cores} cores · Deno ${m.deno} · load (1 min) ${
      r.load.before[0].toFixed(2)
    } before, ${r.load.after[0].toFixed(2)} after, ${Math.min(...loads).toFixed(2)}–${
      Math.max(...loads).toFixed(2)
    } when the children started · ${(r.wallSeconds / 60).toFixed(1)} minutes in all${
      r.secondsPerKind
        ? ` (${
          Object.entries(r.secondsPerKind).map(([k, sec]) => `${k} ${(sec / 60).toFixed(1)}`)
            .join(", ")
        })`
        : ""
    }`,
    "",
    `Each side's measurements run in child processes in that revision's git worktree, in turn (before, after, before, after …: ${s.rounds} round${
      s.rounds === 1 ? "" : "s"
    }). Every child warms up once and reports the median of its ${s.passes} timed pass${
      s.passes === 1 ? "" : "es"
    }; each cell is the median over the rounds with min–max. Tokenizer: ${
      s.lines || "all"
    } big.txt lines, \`encode\` per line and \`encodeBatch\` of 64. Inference: ${s.texts} big.txt sentences, embedded in slices of ${
      s.batches.join(" / ")
    } (padding longest) on the WASM backend, one thread. HTTP: the revision's edge/deno.ts (backend ${
      s.backend ?? "the server's default"
    }), ${s.connections} connections posting one sentence each to /embed, ${s.warmupSeconds} s warm-up then ${s.seconds} s timed, a fresh server per round. after/before above 1 is faster for rates, slower or larger for ms and MiB.`,
    "",
    "Engines:",
    "",
    ...engineLines,
    "",
    "| measurement | number | before | after | after/before | after's median within before's min–max |",
    "| --- | --- | ---: | ---: | ---: | :---: |",
    ...rows,
    "",
  ].join("\n");
}

/** Vega-lite: after/before per number (bar) and every round of each side over before's median. */
export function beforeAfterPlot(r: BeforeAfterReport): Record<string, unknown> {
  const label = (kind: string, name: string) => `${kind}: ${name}`;
  const bars = Object.entries(r.kinds).flatMap(([kind, k]) =>
    Object.entries(k.metrics).map(([name, v]) => ({ number: label(kind, name), ratio: v.ratio }))
  );
  const points = Object.entries(r.kinds).flatMap(([kind, k]) =>
    Object.entries(k.metrics).flatMap(([name, v]) =>
      (["before", "after"] as const).flatMap((side) =>
        v[side].values.map((x) => ({
          number: label(kind, name),
          side,
          ratio: x / v.before.median,
        }))
      )
    )
  );
  const y = {
    field: "number",
    type: "nominal",
    title: null,
    sort: null,
    axis: { labelLimit: 320 },
  };
  return {
    title: `after / before: ${r.commits.after.sha.slice(0, 7)} over ${
      r.commits.before.sha.slice(0, 7)
    } (bars: medians; dots: each round over before's median)`,
    height: 22 * bars.length,
    layer: [
      {
        data: { values: bars },
        mark: { type: "bar", color: "#9ecae1" },
        encoding: { y, x: { field: "ratio", type: "quantitative", title: "after / before" } },
      },
      {
        data: { values: points },
        mark: { type: "point", filled: true, size: 30 },
        encoding: {
          y,
          x: { field: "ratio", type: "quantitative" },
          color: { field: "side", type: "nominal", title: "round of" },
        },
      },
      {
        data: { values: [{ level: 1 }] },
        mark: { type: "rule", color: "black" },
        encoding: { x: { field: "level", type: "quantitative" } },
      },
    ],
  };
}
