/**
 * Tokenizer benchmark: embedge (WebAssembly) side by side with Hugging Face `tokenizers`
 * (native), `@huggingface/tokenizers` (pure JS), the transformers.js tokenizer and
 * `kitoken` (WASM), in one process on the same inputs. Each peer's ids are checked against
 * the oracle first; throughput (MB/s of UTF-8 input, tokens/s), per-text latency
 * percentiles for short/medium/long texts, and cold start are measured, and the ratios
 * are recorded under `bench/results/`.
 *
 * @example
 * ```sh
 * deno run --allow-all bench/tokenizer.ts            # full (about 3 minutes)
 * deno run --allow-all bench/tokenizer.ts --quick    # seconds, a smoke run
 * ```
 * @module
 */
import { Tokenizer as HfNative } from "tokenizers";
import { Tokenizer as HfJs } from "@huggingface/tokenizers";
import { PreTrainedTokenizer } from "@huggingface/transformers";
import { Tokenizer } from "../src/tokenizer/tokenizer.ts";
import { compileTokenizerWasm } from "../src/tokenizer/wasm.ts";
import { machine, median, quantile } from "./machine.ts";

const quick = Deno.args.includes("--quick");
const sharedDir = Deno.env.get("EMBEDGE_SHARED") ??
  new URL("../../shared/", import.meta.url).pathname;
const modelDir = `${sharedDir}/models/all-MiniLM-L6-v2`;
const tokenizerJson = Deno.readTextFileSync(`${modelDir}/tokenizer.json`);
const tokenizerConfig = JSON.parse(Deno.readTextFileSync(`${modelDir}/tokenizer_config.json`));
const corpus = Deno.readTextFileSync(`${sharedDir}/corpus/big.txt`);
const allLines = corpus.split("\n");
const lines = quick ? allLines.slice(0, 3000) : allLines;
const utf8 = new TextEncoder();
const linesBytes = lines.reduce((n, l) => n + utf8.encode(l).length, 0);

/** One implementation under test: a sync or async per-text encoder returning ids. */
interface Impl {
  name: string;
  kind: string;
  load: () => Promise<unknown> | unknown;
  encode: (t: string) => ArrayLike<number> | Promise<ArrayLike<number>>;
  /** The encoder returns a promise. */
  async?: boolean;
  batch?: (ts: string[]) => number | Promise<number>; // returns token count
}

const oracle = HfNative.fromString(tokenizerJson);
oracle.disablePadding();
oracle.disableTruncation();

const wasmModule = await compileTokenizerWasm();
const embedge = await Tokenizer.fromTokenizerJson(tokenizerJson, tokenizerConfig);
const precompiled = embedge.toBytes();
const hfJs = new HfJs(JSON.parse(tokenizerJson), tokenizerConfig);
const tfjs = new PreTrainedTokenizer(JSON.parse(tokenizerJson), tokenizerConfig);
// deno-lint-ignore no-explicit-any
let kitoken: any = null;
let kitokenError = "";
try {
  const { Kitoken } = await import("kitoken/node");
  kitoken = Kitoken.from_tokenizers(utf8.encode(tokenizerJson));
} catch (e) {
  kitokenError = String(e);
}

const impls: Impl[] = [
  {
    name: "embedge",
    kind: "WebAssembly (AssemblyScript), LinMaxMatch",
    load: () => Tokenizer.fromBytesSync(precompiled, wasmModule),
    encode: (t) => embedge.encode(t).ids,
    batch: (ts) => {
      const b = embedge.encodeBatch(ts);
      let n = 0;
      for (const l of b.lengths) n += l;
      return n;
    },
  },
  {
    name: "tokenizers (HF, native)",
    kind: "Rust via N-API",
    load: () => HfNative.fromString(tokenizerJson),
    encode: async (t) => (await oracle.encode(t)).getIds(),
    async: true,
    batch: async (ts) => {
      let n = 0;
      for (const e of await oracle.encodeBatch(ts)) n += e.getIds().length;
      return n;
    },
  },
  {
    name: "@huggingface/tokenizers",
    kind: "pure JavaScript",
    load: () => new HfJs(JSON.parse(tokenizerJson), tokenizerConfig),
    encode: (t) => hfJs.encode(t).ids,
  },
  {
    name: "transformers.js",
    kind: "pure JavaScript (PreTrainedTokenizer)",
    load: () => new PreTrainedTokenizer(JSON.parse(tokenizerJson), tokenizerConfig),
    encode: (t) => tfjs.encode(t),
  },
];
if (kitoken) {
  impls.push({
    name: "kitoken",
    kind: "WebAssembly (Rust)",
    load: async () => {
      const { Kitoken } = await import("kitoken/node");
      return Kitoken.from_tokenizers(utf8.encode(tokenizerJson));
    },
    // kitoken adds no [CLS]/[SEP]: compare and count its bare ids
    encode: (t) => kitoken.encode(t, true),
  });
}

// ---- parity against the oracle (first lines of big.txt)
const paritySample = allLines.slice(0, quick ? 500 : 5000);
const expected = (await oracle.encodeBatch(paritySample)).map((e) => e.getIds());
const parity: Record<string, { checked: number; identical: number; example?: string }> = {};
for (const impl of impls) {
  let identical = 0;
  let example: string | undefined;
  for (let i = 0; i < paritySample.length; i++) {
    let got = Array.from(await impl.encode(paritySample[i]));
    let want = expected[i];
    if (impl.name === "kitoken") want = want.slice(1, -1);
    if (got.length === want.length && got.every((x, k) => x === want[k])) identical++;
    else if (!example) {
      example = `${JSON.stringify(paritySample[i]).slice(0, 80)}: ${
        JSON.stringify(got.slice(0, 12))
      } vs ${JSON.stringify(want.slice(0, 12))}`;
      got = [];
    }
  }
  parity[impl.name] = { checked: paritySample.length, identical, example };
  console.error(`parity ${impl.name}: ${identical}/${paritySample.length}`);
}

// ---- throughput: every line, one call per line (single) and batches of 64 (batch)
async function timeSingle(impl: Impl): Promise<{ mbps: number; tokensPerSec: number }> {
  const rates: number[] = [];
  let tokens = 0;
  const passes = quick ? 2 : 5;
  for (let pass = 0; pass <= passes; pass++) {
    const t0 = performance.now();
    let n = 0;
    // awaiting a synchronous result would add a microtask hop per call: only await promises
    if (impl.async) { for (const l of lines) n += (await impl.encode(l)).length; }
    else for (const l of lines) n += (impl.encode(l) as ArrayLike<number>).length;
    const dt = (performance.now() - t0) / 1000;
    if (pass > 0) rates.push(dt); // pass 0 warms up
    tokens = n;
  }
  const dt = median(rates);
  return { mbps: linesBytes / 1e6 / dt, tokensPerSec: tokens / dt };
}

async function timeBatch(impl: Impl, size = 64): Promise<{ mbps: number; tokensPerSec: number }> {
  const rates: number[] = [];
  let tokens = 0;
  for (let pass = 0; pass <= (quick ? 2 : 3); pass++) {
    const t0 = performance.now();
    let n = 0;
    for (let i = 0; i < lines.length; i += size) n += await impl.batch!(lines.slice(i, i + size));
    const dt = (performance.now() - t0) / 1000;
    if (pass > 0) rates.push(dt);
    tokens = n;
  }
  const dt = median(rates);
  return { mbps: linesBytes / 1e6 / dt, tokensPerSec: tokens / dt };
}

// ---- latency per text, by length class (tokens as the oracle counts them)
const oracleLen = async (t: string) => (await oracle.encode(t)).getIds().length;
async function textsOfLength(target: number, count: number): Promise<string[]> {
  const out: string[] = [];
  let cur = "";
  for (const l of allLines) {
    if (!l.trim()) continue;
    if (target <= 16) {
      if ((await oracleLen(l)) <= 16) out.push(l);
    } else {
      cur += (cur ? " " : "") + l;
      if ((await oracleLen(cur)) >= target) {
        out.push(cur);
        cur = "";
      }
    }
    if (out.length >= count) break;
  }
  return out;
}
const classes = {
  "short (≤16 tokens)": await textsOfLength(16, quick ? 200 : 1000),
  "medium (~128 tokens)": await textsOfLength(128, quick ? 50 : 300),
  "long (~512 tokens)": await textsOfLength(512, quick ? 20 : 100),
};
async function latency(impl: Impl, texts: string[]) {
  for (const t of texts) await impl.encode(t); // warm-up
  const us: number[] = [];
  for (let r = 0; r < (quick ? 2 : 5); r++) {
    for (const t of texts) {
      const t0 = performance.now();
      if (impl.async) await impl.encode(t);
      else impl.encode(t);
      us.push((performance.now() - t0) * 1000);
    }
  }
  return { p50: quantile(us, 0.5), p95: quantile(us, 0.95), p99: quantile(us, 0.99) };
}

// ---- cold start: time to a ready tokenizer
async function coldStart(impl: Impl): Promise<number> {
  const ms: number[] = [];
  for (let r = 0; r < (quick ? 3 : 10); r++) {
    const t0 = performance.now();
    await impl.load();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

const results = [];
for (const impl of impls) {
  console.error(`timing ${impl.name} ...`);
  const single = await timeSingle(impl);
  const batch = impl.batch ? await timeBatch(impl) : null;
  const lat: Record<string, unknown> = {};
  for (const [k, texts] of Object.entries(classes)) lat[k] = await latency(impl, texts);
  const cold = await coldStart(impl);
  results.push({
    name: impl.name,
    kind: impl.kind,
    parity: parity[impl.name],
    single,
    batch,
    latencyUs: lat,
    coldStartMs: cold,
  });
  console.error(`  single ${single.mbps.toFixed(2)} MB/s, cold start ${cold.toFixed(2)} ms`);
}
// embedge's other cold starts: compiling the wasm from bytes, building from tokenizer.json
const wasmBytes = Deno.readFileSync(new URL("../wasm/build/tokenizer.wasm", import.meta.url));
const coldFromWasmBytes = median(
  await Promise.all([0, 1, 2, 3, 4].map(async () => {
    const t0 = performance.now();
    await Tokenizer.fromBytes(precompiled, wasmBytes);
    return performance.now() - t0;
  })),
);
const coldFromJson: number[] = [];
for (let r = 0; r < 3; r++) {
  const t0 = performance.now();
  await Tokenizer.fromTokenizerJson(tokenizerJson, tokenizerConfig, {}, wasmModule);
  coldFromJson.push(performance.now() - t0);
}

const ours = results[0];
const peers = results.slice(1).filter((r) => r.parity.identical === r.parity.checked);
const fastestSingle = peers.reduce((a, b) => (b.single.mbps > a.single.mbps ? b : a), peers[0]);
const fastestAny = peers.reduce(
  (a, b) =>
    Math.max(b.single.mbps, b.batch?.mbps ?? 0) > Math.max(a.single.mbps, a.batch?.mbps ?? 0)
      ? b
      : a,
  peers[0],
);
const report = {
  benchmark: "tokenizer",
  mode: quick ? "quick" : "full",
  machine: machine(),
  corpus: { file: "shared/corpus/big.txt", lines: lines.length, utf8Bytes: linesBytes },
  model: "all-MiniLM-L6-v2 tokenizer.json (bert-base-uncased vocabulary)",
  kitokenError: kitokenError || undefined,
  results,
  embedgeColdStartMs: {
    precompiledWithCompiledModule: ours.coldStartMs,
    precompiledCompilingWasmBytes: coldFromWasmBytes,
    fromTokenizerJson: median(coldFromJson),
  },
  ratios: {
    singleVsFastestPeerSingle: ours.single.mbps / fastestSingle.single.mbps,
    fastestPeerSingle: fastestSingle.name,
    bestVsFastestPeerBest: Math.max(ours.single.mbps, ours.batch?.mbps ?? 0) /
      Math.max(fastestAny.single.mbps, fastestAny.batch?.mbps ?? 0),
    fastestPeerBest: fastestAny.name,
    singleVsEachPeer: Object.fromEntries(
      results.slice(1).map((r) => [r.name, ours.single.mbps / r.single.mbps]),
    ),
  },
};

const m = report.machine;
const fmt = (x: number, d = 2) => x.toFixed(d);
const md = [
  `# Tokenizer benchmark (${report.mode})`,
  "",
  `${
    m.date.slice(0, 10)
  } · ${m.cpu} · ${m.cores} cores · ${m.memoryGiB} GiB · Deno ${m.deno} (V8 ${m.v8})`,
  "",
  `Corpus: every line of big.txt (${lines.length} lines, ${
    fmt(linesBytes / 1e6)
  } MB UTF-8), one call per line; batch = 64 lines per call.`,
  "",
  "| implementation | kind | ids identical to oracle | single MB/s | single M tokens/s | batch MB/s | cold start ms | embedge speed-up (single) |",
  "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
  ...results.map((r) =>
    `| ${r.name} | ${r.kind} | ${r.parity.identical}/${r.parity.checked} | ${
      fmt(r.single.mbps)
    } | ${fmt(r.single.tokensPerSec / 1e6)} | ${r.batch ? fmt(r.batch.mbps) : "—"} | ${
      fmt(r.coldStartMs)
    } | ${r === ours ? "—" : fmt(ours.single.mbps / r.single.mbps, 1) + "×"} |`
  ),
  "",
  "Per-text latency (µs, p50 / p95 / p99):",
  "",
  `| implementation | ${Object.keys(classes).join(" | ")} |`,
  `| --- | ${Object.keys(classes).map(() => "---:").join(" | ")} |`,
  ...results.map((r) =>
    `| ${r.name} | ${
      Object.values(r.latencyUs).map((v) => {
        const x = v as { p50: number; p95: number; p99: number };
        return `${fmt(x.p50, 1)} / ${fmt(x.p95, 1)} / ${fmt(x.p99, 1)}`;
      }).join(" | ")
    } |`
  ),
  "",
  `embedge cold start: ${
    fmt(report.embedgeColdStartMs.precompiledWithCompiledModule)
  } ms from the precompiled form with a compiled module (as in Workers), ${
    fmt(report.embedgeColdStartMs.precompiledCompilingWasmBytes)
  } ms including compiling the wasm bytes, ${
    fmt(report.embedgeColdStartMs.fromTokenizerJson)
  } ms building from tokenizer.json.`,
  "",
  `Speed-up over the fastest peer with identical ids: ${
    fmt(report.ratios.singleVsFastestPeerSingle, 1)
  }× one call per line (vs ${report.ratios.fastestPeerSingle}), ${
    fmt(report.ratios.bestVsFastestPeerBest, 1)
  }× best mode vs best mode (vs ${report.ratios.fastestPeerBest}).`,
  ...(kitokenError ? ["", `kitoken could not be loaded: ${kitokenError}`] : []),
  ...results.filter((r) => r.parity.example).map((r) =>
    `\n${r.name}: first mismatch ${r.parity.example}`
  ),
  "",
].join("\n");

const stamp = `${m.date.slice(0, 10)}-${m.host}`;
const dir = new URL("./results/", import.meta.url);
Deno.mkdirSync(dir, { recursive: true });
const outArg = Deno.args.indexOf("--out");
const outDir = outArg >= 0 ? new URL(`file://${Deno.args[outArg + 1]}/`) : dir;
if (!quick || outArg >= 0) {
  Deno.writeTextFileSync(
    new URL(`tokenizer-${stamp}.json`, outDir),
    JSON.stringify(report, null, 2),
  );
  Deno.writeTextFileSync(new URL(`tokenizer-${stamp}.md`, outDir), md);
  Deno.writeTextFileSync(new URL("tokenizer-latest.md", outDir), md);
}
console.log(md);
