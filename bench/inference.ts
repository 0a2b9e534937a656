/**
 * Inference benchmark on the real all-MiniLM-L6-v2 export structure (6 layers, hidden
 * 384, 12 heads) with generated weights (`src/testing/minilm_structure.ts`): real
 * latency, meaningless vectors. Measures, in one process on the same inputs:
 * - latency per sentence (batch 1) for padding `longest` vs fixed 16/64/128/256/512 and
 *   for pooling cls/mean/max/mean_max;
 * - throughput for batch sizes 1/8/32 with `longest`, `buckets` and fixed 128 padding;
 * - the overhead of everything that is not `session.run` (tokenizing, batching, pooling);
 * - onnxruntime-web (WASM, 1 thread) vs onnxruntime-node (native) `session.run`;
 * - the cost of fixed 512 padding on real big.txt sentence lengths.
 *
 * @example
 * ```sh
 * deno run --allow-all bench/inference.ts          # full, a few minutes
 * deno run --allow-all bench/inference.ts --quick  # smoke run
 * ```
 * @module
 */
import * as ortNode from "onnxruntime-node";
import { env as tjsEnv, pipeline } from "@huggingface/transformers";
import { Embedder } from "../src/model/embedder.ts";
import type { TokenPooling } from "../src/model/pooling.ts";
import { benchMiniLmStructure } from "../src/testing/minilm_structure.ts";
import { machine, median, quantile } from "./machine.ts";

const quick = Deno.args.includes("--quick");
const sharedDir = Deno.env.get("EMBEDGE_SHARED") ??
  new URL("../../shared/", import.meta.url).pathname;
const cache = await benchMiniLmStructure(sharedDir);
const embedder = await Embedder.load(cache, {
  modelId: "all-MiniLM-L6-v2 structure (generated weights)",
});
const lines = Deno.readTextFileSync(`${sharedDir}/corpus/big.txt`).split("\n")
  .map((l) => l.trim()).filter((l) => l.length > 0);
const sample = (n: number, seed = 1) => {
  const out: string[] = [];
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(lines[x % lines.length]);
  }
  return out;
};

// Wrap session.run to separate model time from everything else.
let runMs = 0;
const run = embedder.session.run.bind(embedder.session);
embedder.session.run = async (...args) => {
  const t0 = performance.now();
  const out = await run(...args);
  runMs += performance.now() - t0;
  return out;
};

async function timeIt(
  f: () => Promise<unknown>,
  reps: number,
): Promise<{ ms: number[]; runMs: number[] }> {
  await f(); // warm-up
  const ms: number[] = [], rm: number[] = [];
  for (let i = 0; i < reps; i++) {
    runMs = 0;
    const t0 = performance.now();
    await f();
    ms.push(performance.now() - t0);
    rm.push(runMs);
  }
  return { ms, runMs: rm };
}

const stats = (xs: number[]) => ({
  p50: median(xs),
  p95: quantile(xs, 0.95),
  min: Math.min(...xs),
});

// 1. latency per sentence (batch 1) by padding and pooling; the poolings are interleaved
// per sentence so that drift in machine speed falls on all of them alike.
const sentences = sample(quick ? 1 : 8);
const paddings = quick
  ? ["longest", 16, 128] as const
  : ["longest", 8, 16, 32, 64, 128, 256, 512] as const;
// "none": token vectors (embedTokens, padding removed) instead of a sentence vector
const poolings: (TokenPooling | "none")[] = quick
  ? ["cls", "mean"]
  : ["cls", "mean", "max", "mean_max", "none"];
const grid: Record<string, Record<string, { p50: number; p95: number; min: number }>> = {};
for (const pooling of poolings) grid[pooling] = {};
for (const p of paddings) {
  const o = p === "longest"
    ? { padding: "longest" as const }
    : { padding: "max_length" as const, maxLength: p };
  const ms: Record<string, number[]> = Object.fromEntries(poolings.map((q) => [q, []]));
  for (const s of sentences) {
    for (const pooling of poolings) {
      const f = pooling === "none"
        ? () => embedder.embedTokens([s], o)
        : () => embedder.embed([s], { pooling, ...o });
      ms[pooling].push(median((await timeIt(f, quick ? 1 : 3)).ms));
    }
  }
  for (const pooling of poolings) grid[pooling][String(p)] = stats(ms[pooling]);
  console.error(
    `padding ${p}: ${
      JSON.stringify(
        Object.fromEntries(poolings.map((q) => [q, +grid[q][String(p)].p50.toFixed(1)])),
      )
    }`,
  );
}
const paddingSweep = grid["mean"];

// 2. throughput by batch size and padding; overhead outside session.run.
// "sorted": one embed call over all texts, batched by length (the product path);
// "as sent": the texts arrive in request-sized slices, each padded on its own.
const batchSweep: Record<string, unknown> = {};
const texts = sample(quick ? 16 : 128, 7);
for (const bs of quick ? [1, 8] : [1, 8, 32]) {
  for (const pad of quick ? ["longest"] as const : ["longest", "buckets", "max_length"] as const) {
    for (const mode of ["sorted", "as sent"] as const) {
      if (bs === 1 && mode === "sorted") continue; // same as "as sent"
      const o = { padding: pad, maxLength: 128, batchTokens: bs * 128 };
      const t = await timeIt(async () => {
        if (mode === "sorted") {
          await embedder.embed(texts, {
            ...o,
            batchTokens: bs * (pad === "max_length" ? 128 : 64),
          });
        } else {for (let i = 0; i < texts.length; i += bs) {
            await embedder.embed(texts.slice(i, i + bs), o);
          }}
      }, 1);
      const total = median(t.ms), model = median(t.runMs);
      const key = `batch ${bs} / ${pad === "max_length" ? "fixed 128" : pad} / ${mode}`;
      batchSweep[key] = {
        sentencesPerSec: texts.length / (total / 1000),
        overheadPct: (100 * (total - model)) / total,
      };
      console.error(`${key}: ${(texts.length / (total / 1000)).toFixed(1)} sentences/s`);
    }
  }
}

// 3. onnxruntime-web vs onnxruntime-node on the same tensors
const native = await ortNode.InferenceSession.create(`${cache}/onnx/model.onnx`);
const rt: Record<string, unknown> = {};
for (const bs of quick ? [1] : [1, 8, 32]) {
  const b = embedder.tokenizer.encodeBatch(texts.slice(0, bs), {
    maxLength: 128,
    truncation: true,
  });
  const dims = [b.batchSize, b.sequenceLength];
  const web = await timeIt(
    () => run(b.inputIds, b.attentionMask, b.tokenTypeIds, b.batchSize, b.sequenceLength),
    quick ? 2 : 5,
  );
  const nat = await timeIt(
    () =>
      native.run({
        input_ids: new ortNode.Tensor("int64", b.inputIds, dims),
        attention_mask: new ortNode.Tensor("int64", b.attentionMask, dims),
      }),
    quick ? 2 : 5,
  );
  rt[`batch ${bs} (seq ${b.sequenceLength})`] = {
    webMs: median(web.ms),
    nodeMs: median(nat.ms),
    webOverNode: median(web.ms) / median(nat.ms),
  };
}

// 4. embedge vs transformers.js feature-extraction (mean + normalize, its defaults
// otherwise) on the same texts and model. transformers.js wants the external data named
// onnx/model.onnx_data, so it reads a linked copy of the directory.
const tjsRoot = new URL("../.cache/tjs/", import.meta.url).pathname;
const tjsDir = `${tjsRoot}bench-minilm-structure`;
await Deno.remove(tjsDir, { recursive: true }).catch(() => {});
await Deno.mkdir(`${tjsDir}/onnx`, { recursive: true });
for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json", "onnx/model.onnx"]) {
  await Deno.link(`${cache}/${f}`, `${tjsDir}/${f}`);
}
for (const e of Deno.readDirSync(`${cache}/onnx`)) {
  if (e.name === "model.onnx") continue; // the graph's external data, under both names
  await Deno.link(`${cache}/onnx/${e.name}`, `${tjsDir}/onnx/${e.name}`);
  await Deno.link(`${cache}/onnx/${e.name}`, `${tjsDir}/onnx/model.onnx_data`).catch(() => {});
}
tjsEnv.allowRemoteModels = false;
tjsEnv.localModelPath = tjsRoot;
const extractor = await pipeline("feature-extraction", "bench-minilm-structure", {
  dtype: "fp32",
  use_external_data_format: true,
} as never);
const vsTjs: Record<string, { embedge: number; transformersJs: number; ratio: number }> = {};
let tjsMaxDiff = 0;
for (const bs of quick ? [8] : [1, 8, 32]) {
  const slices = Array.from(
    { length: Math.ceil(texts.length / bs) },
    (_, i) => texts.slice(i * bs, (i + 1) * bs),
  );
  const ours = await timeIt(async () => {
    for (const s of slices) await embedder.embed(s, { pooling: "mean", normalize: true });
  }, 1);
  const theirs = await timeIt(async () => {
    for (const s of slices) await extractor(s, { pooling: "mean", normalize: true });
  }, 1);
  const a = (await embedder.embed(slices[0], { pooling: "mean", normalize: true })).data;
  const b = (await extractor(slices[0], { pooling: "mean", normalize: true })).data as Float32Array;
  for (let i = 0; i < a.length; i++) tjsMaxDiff = Math.max(tjsMaxDiff, Math.abs(a[i] - b[i]));
  const e = texts.length / (median(ours.ms) / 1000), t = texts.length / (median(theirs.ms) / 1000);
  vsTjs[`batch ${bs}`] = { embedge: e, transformersJs: t, ratio: e / t };
  console.error(
    `transformers.js batch ${bs}: embedge ${e.toFixed(1)} vs ${t.toFixed(1)} sentences/s`,
  );
}

// 5. fixed 512 vs dynamic padding on real sentence lengths (FLOPs model + measured above)
const lens = lines.slice(0, 20000).map((l) =>
  Math.min(512, embedder.tokenizer.encode(l).ids.length)
);
const H = 384, I = 1536;
const flops = (s: number) => 6 * (4 * s * H * H + 2 * s * s * H + 2 * s * H * I); // 6 layers
const fixedCost = lens.length * flops(512);
const dynCost = lens.reduce((a, s) => a + flops(s), 0);

const m = machine();
const report = {
  benchmark: "inference",
  mode: quick ? "quick" : "full",
  machine: m,
  model: embedder.info.modelId,
  runtime: "onnxruntime-web (WASM SIMD, 1 thread)",
  latencyMsBatch1: grid,
  throughput: batchSweep,
  webVsNode: rt,
  transformersJs: {
    what:
      "@huggingface/transformers feature-extraction (mean, normalize); in Deno it runs on onnxruntime-node",
    sentencesPerSec: vsTjs,
    maxAbsDiff: tjsMaxDiff,
  },
  padding: {
    meanTokens: lens.reduce((a, b) => a + b, 0) / lens.length,
    fixed512OverDynamicFlops: fixedCost / dynCost,
    measuredFixedMaxOverLongest: paddingSweep[String(paddings[paddings.length - 1])].p50 /
      paddingSweep["longest"].p50,
  },
};
const f = (x: number, d = 2) => x.toFixed(d);
const md = [
  `# Inference benchmark (${report.mode})`,
  "",
  `${m.date.slice(0, 10)} · ${m.cpu} · ${m.cores} cores · Deno ${m.deno} · ${report.runtime}`,
  `Model: ${report.model} (6 layers, hidden 384, 12 heads).`,
  "",
  `Latency per sentence, batch 1 (ms, p50 over ${sentences.length} big.txt sentences), by padding and pooling (fixed lengths below a sentence's length truncate it; "none" = token vectors):`,
  "",
  `| pooling | ${paddings.map((p) => (p === "longest" ? "longest" : `fixed ${p}`)).join(" | ")} |`,
  `| --- | ${paddings.map(() => "---:").join(" | ")} |`,
  ...poolings.map((pool) =>
    `| ${pool} | ${paddings.map((p) => f(grid[pool][String(p)].p50)).join(" | ")} |`
  ),
  "",
  `Throughput on ${texts.length} big.txt sentences (max length 128); "sorted" = one call, batched by length under a token budget of batch × 64 cells (× 128 for fixed); "as sent" = request-sized slices:`,
  "",
  "| batch / padding | sentences/s | time outside session.run |",
  "| --- | ---: | ---: |",
  ...Object.entries(batchSweep).map(([k, v]) => {
    const s = v as { sentencesPerSec: number; overheadPct: number };
    return `| ${k} | ${f(s.sentencesPerSec, 1)} | ${f(s.overheadPct, 1)}% |`;
  }),
  "",
  "onnxruntime-web vs onnxruntime-node, same tensors (ms per session.run):",
  "",
  "| batch | web | node | web/node |",
  "| --- | ---: | ---: | ---: |",
  ...Object.entries(rt).map(([k, v]) => {
    const s = v as { webMs: number; nodeMs: number; webOverNode: number };
    return `| ${k} | ${f(s.webMs)} | ${f(s.nodeMs)} | ${f(s.webOverNode)}× |`;
  }),
  "",
  `embedge vs transformers.js feature-extraction (mean + normalize; in Deno transformers.js runs on onnxruntime-node, native), ${texts.length} big.txt sentences in request-sized slices, sentences/s; vectors agree within ${
    tjsMaxDiff.toExponential(1)
  }:`,
  "",
  "| batch | embedge | transformers.js | embedge / transformers.js |",
  "| --- | ---: | ---: | ---: |",
  ...Object.entries(vsTjs).map(([k, v]) =>
    `| ${k} | ${f(v.embedge, 1)} | ${f(v.transformersJs, 1)} | ${f(v.ratio)}× |`
  ),
  "",
  `Padding cost on real lengths (20,000 big.txt lines, mean ${
    f(report.padding.meanTokens, 1)
  } tokens): fixed 512 needs ${
    f(report.padding.fixed512OverDynamicFlops, 1)
  }× the FLOPs of dynamic padding; measured batch-1 latency fixed ${
    paddings[paddings.length - 1]
  } / longest: ${f(report.padding.measuredFixedMaxOverLongest, 1)}×.`,
  "",
].join("\n");
const outArg = Deno.args.indexOf("--out");
if (!quick || outArg >= 0) {
  const dir = outArg >= 0
    ? new URL(`file://${Deno.args[outArg + 1]}/`)
    : new URL("./results/", import.meta.url);
  Deno.mkdirSync(dir, { recursive: true });
  const stamp = `${m.date.slice(0, 10)}-${m.host}`;
  Deno.writeTextFileSync(new URL(`inference-${stamp}.json`, dir), JSON.stringify(report, null, 2));
  Deno.writeTextFileSync(new URL(`inference-${stamp}.md`, dir), md);
  Deno.writeTextFileSync(new URL("inference-latest.md", dir), md);
}
console.log(md);
await embedder.close();
