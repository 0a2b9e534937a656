/**
 * The whole benchmark suite in one command: tokenizer, inference, HTTP load and the
 * Worker's CPU per request (and in a full run WASM-vs-WASM peers and the Worker's memory and
 * bundle), and in a git checkout the same three on the before commit of issue 25's
 * restructure and on HEAD (bench/before_after.ts), each in its own process, then SVG plots
 * (vega-lite) and `bench/results/REPORT.md` with the headline ratios, machine and date.
 * `--quick` runs every suite in smoke mode (a minute or two, for CI) into a temporary
 * directory, leaving `bench/results/` untouched.
 *
 * @example
 * ```sh
 * deno run --allow-all bench/run.ts          # full: about 20 minutes
 * deno run --allow-all bench/run.ts --quick  # smoke run
 * deno run --allow-all bench/run.ts --report-only  # redo plots and REPORT.md
 * ```
 * @module
 */
import * as vega from "vega";
import * as vl from "vega-lite";

const quick = Deno.args.includes("--quick");
const results = new URL("./results/", import.meta.url).pathname;
const out = quick ? await Deno.makeTempDir({ prefix: "embedge-bench-" }) : results;
await Deno.mkdir(`${out}/plots`, { recursive: true });

/** Whether this is a git checkout (bench/before_after.ts needs one). */
async function gitCheckout(): Promise<boolean> {
  const root = new URL("..", import.meta.url).pathname;
  try {
    const { code } = await new Deno.Command("git", {
      args: ["-C", root, "rev-parse", "HEAD"],
      stdout: "null",
      stderr: "null",
    }).output();
    return code === 0;
  } catch {
    return false; // no git at all
  }
}
const inGit = await gitCheckout();
if (!inGit) console.error("not a git checkout: bench/before_after.ts skipped");

const suites: [string, string[]][] = [
  ["tokenizer.ts", quick ? ["--quick"] : []],
  ["inference.ts", quick ? ["--quick"] : []],
  ["load.ts", quick ? ["--quick"] : ["--seconds", "60", "--connections", "64"]],
  // the Worker's CPU per request; the full run also times it inside workerd
  ["cpu_per_request.ts", quick ? ["--reps", "1", "--sentences", "4"] : ["--workerd"]],
  // full runs only: minutes each, and their smoke is the quick inference suite
  ...(quick ? [] : [["wasm_peers.ts", []], ["worker_memory.ts", []]] as [string, string[]][]),
  // it compares two commits in git worktrees: a checkout without git (a tarball) skips it
  ...(inGit ? [["before_after.ts", quick ? ["--quick"] : []]] : []) as [string, string[]][],
];
// --report-only: plots and REPORT.md from the results already in bench/results/
for (const [script, args] of Deno.args.includes("--report-only") ? [] : suites) {
  const t0 = performance.now();
  console.error(`== bench/${script} ${args.join(" ")}`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc", // the suites collect the heap before timed runs
      new URL(script, import.meta.url).pathname,
      ...args,
      "--out",
      out,
    ],
    stdout: "null",
    stderr: "inherit",
  }).output();
  if (code !== 0) throw new Error(`bench/${script} failed (${code})`);
  console.error(`   done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

// deno-lint-ignore no-explicit-any
type Json = any;
const latest = (prefix: string): Json => {
  const files = [...Deno.readDirSync(out)].map((e) => e.name)
    .filter((n) => n.startsWith(prefix) && n.endsWith(".json")).sort();
  if (!files.length) throw new Error(`no ${prefix} results in ${out}`);
  return JSON.parse(Deno.readTextFileSync(`${out}/${files[files.length - 1]}`));
};
const tok = latest("tokenizer-"), inf = latest("inference-"), load = latest("load-");
/** A line from the latest results of a suite that full runs only make, if there are any. */
const optional = (prefix: string, line: (r: Json) => string): string[] => {
  try {
    return [line(latest(prefix))];
  } catch {
    return [];
  }
};
const stamp = (r: Json) =>
  `${r.machine.date.slice(0, 10)} · ${r.machine.cpu} · ${r.machine.cores} cores`;

async function plot(name: string, spec: Json): Promise<string> {
  const compiled = vl.compile({ width: 520, height: 260, ...spec }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  await Deno.writeTextFile(`${out}/plots/${name}.svg`, svg);
  return `plots/${name}.svg`;
}

const tokPlot = await plot("tokenizer-mbps", {
  title: {
    text: "Tokenizer throughput, each in its fastest mode (MB/s, median)",
    subtitle: stamp(tok),
  },
  data: {
    values: Object.entries(tok.ratios).flatMap(([corpus, r]: [string, Json]) => [
      { implementation: `embedge (${r.embedgeMode})`, corpus, mbps: r.embedgeMbps },
      ...r.peers.map((p: Json) => ({
        implementation: `${p.name} (${p.peerMode})${p.identicalIds ? "" : " ≠ ids"}`,
        corpus,
        mbps: p.peerMbps,
      })),
    ]),
  },
  mark: "bar",
  encoding: {
    y: { field: "implementation", type: "nominal", sort: "-x", title: null },
    x: { field: "mbps", type: "quantitative", title: "MB/s (UTF-8 input)" },
    row: { field: "corpus", type: "nominal", title: null },
  },
});

const padValues = Object.entries(inf.latencyMsBatch1).flatMap(([pooling, byPad]) =>
  Object.entries(byPad as Record<string, { p50: number }>).filter(([p]) => p !== "longest").map((
    [p, v],
  ) => ({ pooling, padding: Number(p), ms: v.p50 }))
);
const padPlot = await plot("latency-vs-padding", {
  title: { text: "Latency per sentence vs fixed padding length (batch 1)", subtitle: stamp(inf) },
  data: { values: padValues },
  mark: { type: "line", point: true },
  encoding: {
    x: {
      field: "padding",
      type: "quantitative",
      scale: { type: "log", base: 2 },
      title: "padded length (tokens)",
    },
    y: { field: "ms", type: "quantitative", title: "ms (p50)" },
    color: { field: "pooling", type: "nominal" },
  },
});

const tputValues = Object.entries(inf.throughput).map(([k, v]) => {
  const [batch, padding, mode, backend] = k.split(" / ");
  return {
    batch: Number(batch.replace("batch ", "")),
    series: `${backend ?? "wasm"}, ${padding}, ${mode}`,
    sps: (v as Json).sentencesPerSec,
  };
});
const tputPlot = await plot("throughput-vs-batch", {
  title: { text: "Sentences per second vs batch size", subtitle: stamp(inf) },
  data: { values: tputValues },
  mark: { type: "line", point: true },
  encoding: {
    x: {
      field: "batch",
      type: "quantitative",
      scale: { type: "log", base: 2 },
      title: "batch size",
    },
    y: { field: "sps", type: "quantitative", title: "sentences/s" },
    color: { field: "series", type: "nominal", title: "backend, padding, batching" },
  },
});

const loadPlot = await plot("http-load", {
  title: {
    text: `HTTP POST /embed, ${load.connections} connections × ${load.seconds} s`,
    subtitle: stamp(load),
  },
  data: {
    values: load.results.map((r: Json) => ({
      batching: `${r.server ?? "Deno"}, ${r.batching ? "dynamic batching" : "one request per run"}`,
      rps: r.throughputPerSec,
    })),
  },
  mark: "bar",
  encoding: {
    y: { field: "batching", type: "nominal", title: null, axis: { labelLimit: 320 } },
    x: { field: "rps", type: "quantitative", title: "requests/s" },
  },
});

const f = (x: number, d = 1) => x.toFixed(d);
const grid = inf.latencyMsBatch1.mean;
// the WASM side's engine, as the inference run names it ("… wasm (embedge-kernels, 1 thread)")
const wasmEngine = /wasm \(([^,]+),/.exec(inf.runtime ?? "")?.[1] ?? "onnxruntime-web";
const report = [
  `# embedge benchmark report${quick ? " (quick smoke run)" : ""}`,
  "",
  `${stamp(tok)} · ${tok.machine.memoryGiB} GiB · Deno ${tok.machine.deno} (V8 ${tok.machine.v8})`,
  "",
  "## Headlines",
  "",
  ...Object.entries(tok.ratios).map(([corpus, r]: [string, Json]) =>
    `- Tokenizer on ${corpus}: embedge ${f(r.embedgeMbps)} MB/s (${r.embedgeMode}), ${
      r.fastestIdenticalPeer
        ? `${
          f(r.ratioVsFastestIdenticalPeer)
        }× the fastest peer with identical ids (${r.fastestIdenticalPeer}, its fastest mode)`
        : "no peer with identical ids"
    }; ${
      r.peers.map((p: Json) =>
        `${f(p.ratio)}× ${p.name} (${p.peerMode}${p.identicalIds ? "" : ", different ids"})`
      ).join(", ")
    }.`
  ),
  `- Tokenizer cold start: ${
    tok.coldStart.map((c: Json) => `${c.name} from ${c.from} ${f(c.ms, 2)} ms`).join("; ")
  }.`,
  `- Inference (${inf.model}, ${inf.runtime}): ${
    f(grid.longest.p50)
  } ms per big.txt sentence with dynamic padding; time outside session.run ${
    f(Math.max(...Object.values(inf.throughput).map((v: Json) => v.overheadPct)), 1)
  }% at most.`,
  `- Padding: fixed ${Object.keys(grid).filter((k) => k !== "longest").pop()} costs ${
    f(inf.padding.measuredFixedMaxOverLongest)
  }× the latency of dynamic padding (FLOPs model over 20,000 real lengths: ${
    f(inf.padding.fixed512OverDynamicFlops)
  }× for 512).`,
  `- WASM backend (${wasmEngine}, 1 thread) vs onnxruntime-node (native, ${
    inf.threads ?? "default"
  } threads), same tensors: ${
    Object.entries(inf.webVsNode).map(([k, v]: [string, Json]) => `${k} ${f(v.webOverNode, 2)}×`)
      .join(", ")
  } slower${
    inf.wasmThreading
      ? `; onnxruntime-web with ${
        Object.values(inf.wasmThreading)[0] && (Object.values(inf.wasmThreading)[0] as Json).threads
      } threads vs 1: ${
        Object.entries(inf.wasmThreading).map(([k, v]: [string, Json]) =>
          `${k} ${f(v.speedup, 2)}×`
        )
          .join(", ")
      }`
      : ""
  }.`,
  `- HTTP (${load.backend ?? "auto"} backend): ${
    f(load.results[0].throughputPerSec)
  } req/s with dynamic batching, ${f(load.results[1].throughputPerSec)} without (${
    f(load.batchingSpeedup, 2)
  }×); p99 ${f(load.results[0].latencyMs.p99)} ms; statuses ${
    JSON.stringify(load.results[0].statuses)
  }; peak server RSS ${f(load.results[0].rssMiB.peak, 0)} MiB.${
    load.results.slice(2).map((r: Json) =>
      ` ${r.server}, batching ${r.batching ? "on" : "off"}: ${f(r.throughputPerSec)} req/s, p99 ${
        f(r.latencyMs.p99)
      } ms, statuses ${JSON.stringify(r.statuses)}.`
    ).join("")
  }${
    load.workerBatchingSpeedup
      ? ` Worker batching on / off: ${f(load.workerBatchingSpeedup, 2)}×.`
      : ""
  }`,
  inf.transformersJs
    ? `- embedge vs transformers.js feature-extraction (same model and texts; ${inf.transformersJs.what}): ${
      Object.entries(inf.transformersJs.sentencesPerSec).map(([k, v]: [string, Json]) =>
        `${k} ${f(v.ratio, 2)}×`
      ).join(", ")
    } (embedge / transformers.js throughput, medians of interleaved runs); vectors agree within ${
      inf.transformersJs.maxAbsDiff.toExponential(1)
    }.`
    : "- transformers.js feature-extraction: not in this run.",
  inf.int8
    ? `- int8 (\`embedge quantize\`) vs fp32, same tensors: ${
      Object.entries(inf.int8.sessionRunMs).map(([k, v]: [string, Json]) =>
        `${k} ${f(v.speedup, 2)}×`
      ).join(", ")
    }; ${
      f((100 * inf.int8.bytes.int8) / inf.int8.bytes.fp32, 1)
    } % of the size; cosine to fp32 min ${inf.int8.cosineOverTexts.native.min.toFixed(5)}.`
    : "- int8: not in this run.",
  ...optional(
    "wasm-peers-",
    (r) =>
      `- WASM vs WASM (${r.sides.transformersJs}): ${
        Object.entries(r.sentencesPerSec).map(([k, v]: [string, Json]) => `${k} ${f(v.ratio, 2)}×`)
          .join(", ")
      } (embedge / transformers.js, ${r.machine.date.slice(0, 10)}).`,
  ),
  ...optional("before-after-", (r) => {
    const ratios = Object.entries(r.kinds).map(([kind, k]: [string, Json]) =>
      `${kind} ${
        Object.entries(k.metrics).map(([name, v]: [string, Json]) => `${name} ${f(v.ratio, 2)}×`)
          .join(", ")
      }`
    );
    return `- Before/after (\`${r.commits.before.sha.slice(0, 7)}\` → \`${
      r.commits.after.sha.slice(0, 7)
    }\`, ${r.settings.rounds} interleaved round${r.settings.rounds === 1 ? "" : "s"}, load ${
      f(Math.min(...r.load.atEachChild), 1)
    }–${f(Math.max(...r.load.atEachChild), 1)}), after / before: ${ratios.join("; ")}.`;
  }),
  ...optional(
    "cpu-per-request-",
    (r) => {
      const side = (k: string) =>
        `median ${f(r.summary[k].cpuMs.median, 2)} ms, p95 ${f(r.summary[k].cpuMs.p95, 2)} ms`;
      return `- CPU per request on the Worker's handler (one sentence of ${r.sentences.tokens.min}–${r.sentences.tokens.max} tokens, MiniLM structure, 1 thread; the free plan allows 10 ms): int8 on ${r.engines.int8} ${
        side("int8 request")
      }; fp32 ${side("fp32 request")} (${r.machine.date.slice(0, 10)}, load ${
        f(r.load.before[0], 1)
      }).`;
    },
  ),
  ...optional(
    "worker-memory-",
    (r) =>
      `- Worker memory (wasm + JS heap, ${r.machine.date.slice(0, 10)}): ${
        Object.entries(r.isolate.variants).map(([k, v]: [string, Json]) =>
          `${k} ${f(v.peakTotalMiB, 0)} MiB`
        ).join(", ")
      }; bundle ${f(r.bundle.gzipBytes / 1e6, 2)} MB gzip.`,
  ),
  "",
  "## Plots",
  "",
  `![tokenizer](${tokPlot}) ![padding](${padPlot})`,
  "",
  `![throughput](${tputPlot}) ![load](${loadPlot})`,
  "",
  "## Details",
  "",
  "- [tokenizer-latest.md](tokenizer-latest.md), [inference-latest.md](inference-latest.md), [load-latest.md](load-latest.md); JSON files with every number beside them.",
  "",
].join("\n");
await Deno.writeTextFile(`${out}/REPORT.md`, report);
console.log(report);
console.error(`report: ${out}/REPORT.md`);
