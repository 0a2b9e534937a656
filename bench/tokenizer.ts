/**
 * Tokenizer benchmark: embedge (WebAssembly) side by side with Hugging Face `tokenizers`
 * (native, N-API), `@huggingface/tokenizers` (pure JS), the transformers.js tokenizer and
 * `kitoken` (WASM), in one process on the same inputs, on two corpora: every line of
 * big.txt (English prose) and a 2 MB sample of the adversarial generator's output
 * (accents, CJK, emoji, controls, long words).
 *
 * Fair by construction:
 * - each peer is timed in every mode it has (one call per line; a batch call of 64 lines
 *   where the peer offers one) and compared in its fastest honest mode (for the native
 *   binding, whose per-call cost is an awaited N-API round trip, that is batch);
 * - repetitions are interleaved (every peer and mode once, then again: A, B, A, B), at
 *   least 5 timed after a warm-up, reported as median with min and max;
 * - ids are checked against the oracle on every line first; only peers with identical ids
 *   count for the headline ratio (kitoken adds no [CLS]/[SEP], so it is compared on bare
 *   ids, with the tokenizer.json's fixed padding and truncation removed, since it applies
 *   them);
 * - cold start has its own table: embedge from tokenizer.json, embedge from its
 *   precompiled form, each peer from its own fastest format;
 * - the machine load (1-minute loadavg) is recorded before and after, with a warning in
 *   the report when it exceeds the core count.
 *
 * Writes `tokenizer-<timestamp>-<host>.{json,md}` and `tokenizer-latest.md` into
 * bench/results/ (or `--out DIR`; `--quick` without `--out` writes nothing).
 *
 * @example
 * ```sh
 * deno run --allow-all bench/tokenizer.ts            # full (a few minutes)
 * deno run --allow-all bench/tokenizer.ts --quick    # seconds, a smoke run
 * ```
 * @module
 */
import os from "node:os";
import { Tokenizer as HfNative } from "tokenizers";
import { Tokenizer } from "../src/tokenizer/tokenizer.ts";
import { compileTokenizerWasm } from "../src/tokenizer/wasm.ts";
import { adversarialStrings } from "../tests/support/adversarial.ts";
import { machine, median } from "./machine.ts";
import { writeResults } from "./write_results.ts";
import { tokenizerMarkdown } from "./tokenizer_markdown.ts";
import { type Impl, tokenizerPeers } from "./tokenizer_peers.ts";

const quick = Deno.args.includes("--quick");
const sharedDir = Deno.env.get("EMBEDGE_SHARED") ??
  new URL("../../shared/", import.meta.url).pathname;
const modelDir = `${sharedDir}/models/all-MiniLM-L6-v2`;
const tokenizerJson = Deno.readTextFileSync(`${modelDir}/tokenizer.json`);
const tokenizerConfig = JSON.parse(Deno.readTextFileSync(`${modelDir}/tokenizer_config.json`));
const utf8 = new TextEncoder();
const bytesOf = (xs: string[]) => xs.reduce((n, l) => n + utf8.encode(l).length, 0);
const REPETITIONS = quick ? 2 : 5;
// Each timed run starts from a collected heap (with --v8-flags=--expose-gc, as bench/run.ts
// and the bench:tokenizer task run it): otherwise the garbage one peer leaves is collected
// during the next one's run and counted against it.
const collect = (globalThis as { gc?: () => void }).gc;
const BATCH = 64;
const loadBefore = os.loadavg();

const oracle = HfNative.fromString(tokenizerJson);
oracle.disablePadding();
oracle.disableTruncation();
const wasmModule = await compileTokenizerWasm();
const embedge = await Tokenizer.fromTokenizerJson(tokenizerJson, tokenizerConfig);
const precompiled = embedge.toBytes();

// ---- corpora
const bigLines = Deno.readTextFileSync(`${sharedDir}/corpus/big.txt`).split("\n");
const pieces = embedge.config.vocab.filter((t) => !/^\[.*\]$/.test(t));
const adversarial: string[] = [];
for (let seed = 1, bytes = 0; bytes < (quick ? 2e5 : 2e6); seed++) {
  for (const s of adversarialStrings(1000, seed, pieces)) {
    adversarial.push(s);
    bytes += utf8.encode(s).length;
  }
}
const corpora: Record<string, string[]> = {
  "big.txt": quick ? bigLines.slice(0, 3000) : bigLines,
  "adversarial": adversarial,
};

const { impls, kitokenError } = await tokenizerPeers({
  tokenizerJson,
  tokenizerConfig,
  oracle,
  embedge,
  precompiled,
  wasmModule,
  batchSize: BATCH,
});

// ---- parity against the oracle, every line of every corpus
type Parity = { checked: number; identical: number; example?: string };
const parity: Record<string, Record<string, Parity>> = {};
for (const [corpus, lines] of Object.entries(corpora)) {
  const expected: number[][] = [];
  for (let i = 0; i < lines.length; i += 5000) {
    for (const e of await oracle.encodeBatch(lines.slice(i, i + 5000))) expected.push(e.getIds());
  }
  for (const impl of impls) {
    let identical = 0, example: string | undefined;
    for (let i = 0; i < lines.length; i++) {
      const got = Array.from(await impl.ids(lines[i]));
      const want = impl.bareIds ? expected[i].slice(1, -1) : expected[i];
      if (got.length === want.length && got.every((x, k) => x === want[k])) identical++;
      else {
        example ??= `${JSON.stringify(lines[i]).slice(0, 60)}: ${
          JSON.stringify(got.slice(0, 10))
        } vs ${JSON.stringify(want.slice(0, 10))}`;
      }
    }
    (parity[impl.name] ??= {})[corpus] = { checked: lines.length, identical, example };
    console.error(`parity ${corpus} ${impl.name}: ${identical}/${lines.length}`);
  }
}

// ---- throughput: interleaved repetitions of every (implementation, mode, corpus)
type Run = { impl: Impl; mode: "single" | "batch"; corpus: string };
const runs: Run[] = impls.flatMap((impl) =>
  (["single", "batch"] as const).filter((m) => m === "single" || impl.batch)
    .flatMap((mode) => Object.keys(corpora).map((corpus) => ({ impl, mode, corpus })))
);
const seconds = new Map<Run, number[]>(runs.map((r) => [r, []]));
const tokens = new Map<Run, number>();
for (let rep = 0; rep <= REPETITIONS; rep++) { // rep 0 warms up
  for (const r of runs) {
    const lines = corpora[r.corpus];
    collect?.();
    const t0 = performance.now();
    const n = await (r.mode === "single" ? r.impl.single(lines) : r.impl.batch!(lines));
    const dt = (performance.now() - t0) / 1000;
    if (rep > 0) seconds.get(r)!.push(dt);
    tokens.set(r, n);
  }
  console.error(`repetition ${rep}/${REPETITIONS} done`);
}
const corpusBytes = Object.fromEntries(Object.entries(corpora).map(([k, v]) => [k, bytesOf(v)]));
const throughput = runs.map((r) => {
  const s = seconds.get(r)!, mb = corpusBytes[r.corpus] / 1e6;
  return {
    name: r.impl.name,
    mode: r.mode,
    corpus: r.corpus,
    mbps: mb / median(s),
    minMbps: mb / Math.max(...s),
    maxMbps: mb / Math.min(...s),
    tokensPerSec: tokens.get(r)! / median(s),
    runs: s.length,
  };
});
const best = (name: string, corpus: string) =>
  throughput.filter((t) => t.name === name && t.corpus === corpus)
    .reduce((a, b) => (b.mbps > a.mbps ? b : a));

// ---- embedge's encodeBatch by batch size against one encode per line (interleaved)
const BATCH_SIZES = [1, 8, 32, 256];
const batchModes: (number | "single")[] = ["single", ...BATCH_SIZES];
const batchSeconds = new Map<string, number[]>();
for (let rep = 0; rep <= REPETITIONS; rep++) {
  for (const corpus of Object.keys(corpora)) {
    const lines = corpora[corpus];
    for (const mode of batchModes) {
      collect?.();
      const t0 = performance.now();
      let cells = 0; // what a consumer reads: an encoding's ids, a batch's model tensors
      if (mode === "single") {
        for (const t of lines) cells += embedge.encode(t).ids.length;
      } else {
        for (let i = 0; i < lines.length; i += mode) {
          const b = embedge.encodeBatch(lines.slice(i, i + mode));
          cells += b.inputIds.length + b.attentionMask.length;
        }
      }
      if (cells === 0) throw new Error(`${corpus}: nothing encoded`);
      const dt = (performance.now() - t0) / 1000;
      const key = `${corpus}/${mode}`;
      if (rep > 0) batchSeconds.set(key, [...(batchSeconds.get(key) ?? []), dt]);
    }
  }
}
const encodeBatch = Object.keys(corpora).flatMap((corpus) => {
  const mb = bytesOf(corpora[corpus]) / 1e6;
  const single = mb / median(batchSeconds.get(`${corpus}/single`)!);
  return batchModes.map((mode) => {
    const s = batchSeconds.get(`${corpus}/${mode}`)!;
    return {
      corpus,
      batch: mode,
      mbps: mb / median(s),
      minMbps: mb / Math.max(...s),
      maxMbps: mb / Math.min(...s),
      ofSingle: mb / median(s) / single,
    };
  });
});

// ---- cold start: each from its fastest format, interleaved
const coldLoads: { name: string; from: string; load: () => unknown }[] = [
  {
    name: "embedge",
    from: "tokenizer.json",
    load: () => Tokenizer.fromTokenizerJson(tokenizerJson, tokenizerConfig, {}, wasmModule),
  },
  ...impls.map((i) => ({ name: i.name, from: i.loadFrom, load: i.load })),
  {
    name: "embedge",
    from: "precompiled form, compiling the wasm bytes too",
    load: () =>
      Tokenizer.fromBytes(
        precompiled,
        Deno.readFileSync(new URL("../wasm/build/tokenizer.wasm", import.meta.url)),
      ),
  },
];
const coldMs = coldLoads.map(() => [] as number[]);
for (let rep = 0; rep <= (quick ? 3 : 10); rep++) {
  for (const [k, c] of coldLoads.entries()) {
    collect?.();
    const t0 = performance.now();
    await c.load();
    if (rep > 0) coldMs[k].push(performance.now() - t0);
  }
}
const coldStart = coldLoads.map((c, k) => ({
  name: c.name,
  from: c.from,
  ms: median(coldMs[k]),
  minMs: Math.min(...coldMs[k]),
  maxMs: Math.max(...coldMs[k]),
}));
const loadAfter = os.loadavg();

// ---- ratios: embedge's best mode against each peer's best mode, per corpus
const ratios = Object.fromEntries(
  Object.keys(corpora).map((corpus) => {
    const ours = best("embedge", corpus);
    const peers = impls.slice(1).map((i) => {
      const b = best(i.name, corpus);
      const p = parity[i.name][corpus];
      return {
        name: i.name,
        peerMode: b.mode,
        peerMbps: b.mbps,
        ratio: ours.mbps / b.mbps,
        identicalIds: p.identical === p.checked,
      };
    });
    const correct = peers.filter((p) => p.identicalIds);
    const fastest = correct.reduce((a, b) => (b.peerMbps > a.peerMbps ? b : a), correct[0]);
    return [corpus, {
      embedgeMode: ours.mode,
      embedgeMbps: ours.mbps,
      peers,
      fastestIdenticalPeer: fastest?.name,
      ratioVsFastestIdenticalPeer: fastest?.ratio,
    }];
  }),
);

const m = machine();
const report = {
  benchmark: "tokenizer",
  mode: quick ? "quick" : "full",
  machine: m,
  load: { before: loadBefore, after: loadAfter },
  repetitions: REPETITIONS,
  heapCollectedBeforeEachRun: collect !== undefined,
  batchSize: BATCH,
  corpora: Object.fromEntries(
    Object.entries(corpora).map(([k, v]) => [k, { lines: v.length, utf8Bytes: corpusBytes[k] }]),
  ),
  model: "all-MiniLM-L6-v2 tokenizer.json (bert-base-uncased vocabulary)",
  kitokenError: kitokenError || undefined,
  parity,
  throughput,
  coldStart,
  ratios,
  encodeBatch,
};

const md = tokenizerMarkdown(report, impls);

const outArg = Deno.args.indexOf("--out");
const outDir = outArg >= 0
  ? Deno.args[outArg + 1].replace(/\/$/, "")
  : quick
  ? null
  : new URL("./results", import.meta.url).pathname;
if (outDir) {
  // the JSON, the Markdown and a plot of every implementation's best MB/s per corpus
  await writeResults("tokenizer", report, md, {
    title: "Tokenizer throughput (MB/s, best mode, median)",
    data: {
      values: Object.keys(corpora).flatMap((corpus) =>
        impls.map((i) => ({ corpus, name: i.name, mbps: best(i.name, corpus).mbps }))
      ),
    },
    mark: "bar",
    encoding: {
      y: { field: "name", type: "nominal", title: null },
      x: { field: "mbps", type: "quantitative", title: "MB/s" },
      row: { field: "corpus", type: "nominal", title: null },
      color: { field: "name", type: "nominal", legend: null },
    },
    height: 120,
  }, outDir);
  Deno.writeTextFileSync(`${outDir}/tokenizer-latest.md`, md);
}
console.log(md);
