/**
 * SST-2 sentiment accuracy of the classifier head on sentence vectors, per pooling and per
 * encoder layer, beside two baselines computed by the same trainer (L-BFGS to the optimum
 * of the same L2-regularized, class-weighted objective):
 *
 * - the majority class of the training rows;
 * - logistic regression on a bag of words: hashed unigrams + bigrams of the model's own
 *   WordPiece tokens (src/classifier/bag_of_words.ts).
 *
 * Trains on `../shared/datasets/sst2/train.tsv`, evaluates on the held-out `dev.tsv`, and
 * classifies the walkthrough's two sentences. Every vector variant comes from one model
 * run per batch (`Embedder.embedMany`) through the on-disk cache, so a rerun only trains.
 * Writes `bench/results/sst2-<timestamp>-<host>.{json,md}` and `sst2-latest.md`.
 *
 * The model is `--model` (default `EMBEDGE_MODEL`, else ../shared/models/embedge-mini-mlm,
 * a small BERT trained here: its scores are not BERT-base's). Without ONNX weights there,
 * the generated demo BERT (random weights) is used and the report says so.
 *
 * @example
 * ```sh
 * deno run -A bench/sst2.ts                           # full train/dev, all variants
 * deno run -A bench/sst2.ts --limit 2000 --out /tmp   # a slice
 * deno run -A bench/sst2.ts --variants cls,mean       # some variants
 * ```
 * @module
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { loadOrDemo } from "../src/model/fixtures/demo_model.ts";
import { parseTable } from "../src/classifier/dataset.ts";
import { embedCachedMany } from "../src/classifier/cache.ts";
import { bagOfWords } from "../src/classifier/bag_of_words.ts";
import {
  classifyRows,
  type EmbeddingSetup,
  evaluate,
  fitSoftmax,
  predictProba,
  train,
} from "../src/classifier/logistic.ts";
import type { Pooling } from "../src/model/pooling.ts";
import { machine } from "./machine.ts";

const here = (p: string) => new URL(p, import.meta.url).pathname;
const shared = Deno.env.get("EMBEDGE_SHARED") ?? here("../../shared/");
const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: {
      type: "string",
      default: Deno.env.get("EMBEDGE_MODEL") ?? `${shared}/models/embedge-mini-mlm`,
    },
    train: { type: "string", default: `${shared}/datasets/sst2/train.tsv` },
    dev: { type: "string", default: `${shared}/datasets/sst2/dev.tsv` },
    variants: { type: "string" },
    l2: { type: "string", default: "1e-4" },
    "max-iterations": { type: "string", default: "3000" },
    limit: { type: "string" },
    cache: { type: "string", default: here("../.cache/embeddings") },
    out: { type: "string" },
  },
});

/** A way of turning a text into a sentence vector. */
interface Variant {
  name: string;
  pooling: Pooling;
  layers?: number[];
  layerMix?: "mean" | "concat";
}
const ALL: Variant[] = [
  { name: "cls", pooling: "cls" },
  { name: "mean", pooling: "mean" },
  { name: "max", pooling: "max" },
  { name: "mean_max", pooling: "mean_max" },
  { name: "pooler", pooling: "pooler" },
  { name: "cls, layer -2", pooling: "cls", layers: [-2] },
  { name: "mean, layer -2", pooling: "mean", layers: [-2] },
  { name: "mean, layers -4..-1 averaged", pooling: "mean", layers: [-4, -3, -2, -1] },
  {
    name: "mean, layers -4..-1 concatenated",
    pooling: "mean",
    layers: [-4, -3, -2, -1],
    layerMix: "concat",
  },
];

const limit = values.limit ? Number(values.limit) : Infinity;
const l2 = Number(values.l2);
const maxIterations = Number(values["max-iterations"]);
const read = (path: string) => {
  const t = parseTable(Deno.readTextFileSync(path));
  return { texts: t.texts.slice(0, limit), labels: t.labels.slice(0, limit) };
};
const trainSet = read(values.train!);
const devSet = read(values.dev!);
const labels = [...new Set(trainSet.labels)].sort();
const k = labels.length;
const index = (ls: string[]) => Int32Array.from(ls, (l) => labels.indexOf(l));
const yTrain = index(trainSet.labels), yDev = index(devSet.labels);
let demo = false;
const embedder = await loadOrDemo(values.model!, (s) => {
  demo = true;
  console.error(s);
});
const info = embedder.info;
const wanted = values.variants?.split(",").map((s) => s.trim());
const variants = ALL.filter((v) =>
  (!wanted || wanted.includes(v.name)) &&
  (v.pooling !== "pooler" || info.hasPooler) &&
  (!v.layers || (info.layerStates && v.layers.every((l) => -l <= info.layers + 1)))
);
const seedSentences = [
  { text: "I love Paris.", expected: "1" },
  { text: "I hate traffic.", expected: "0" },
];
const loadBefore = os.loadavg();
const m = machine();
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const iterations = (t: { iterations: number; converged: boolean; gradientNorm: number }) =>
  `${t.iterations}${t.converged ? "" : " (not converged)"} (${t.gradientNorm.toExponential(1)})`;
const points = (x: number) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(2)} pt`;
const accuracy = (predicted: Int32Array, truth: Int32Array) =>
  predicted.reduce((n, p, i) => n + (p === truth[i] ? 1 : 0), 0) / truth.length;

// baselines
const counts = labels.map((_, c) => yTrain.filter((y) => y === c).length);
const majority = counts.indexOf(Math.max(...counts));
const majorityAccuracy = yDev.filter((y) => y === majority).length / yDev.length;
let t0 = performance.now();
const bowTrain = bagOfWords(embedder.tokenizer, trainSet.texts);
const bowFit = fitSoftmax(bowTrain, yTrain, k, { l2, maxIterations });
const bowAccuracy = accuracy(
  classifyRows(bowFit, bagOfWords(embedder.tokenizer, devSet.texts), k),
  yDev,
);
const bowSeeds = Array.from(
  classifyRows(bowFit, bagOfWords(embedder.tokenizer, seedSentences.map((s) => s.text)), k),
  (c) => labels[c],
);
const bowSeconds = (performance.now() - t0) / 1000;
console.error(
  `majority ${pct(majorityAccuracy)}; bag of words ${
    pct(bowAccuracy)
  } (${bowFit.record.iterations} iterations, ${bowSeconds.toFixed(1)} s)`,
);

// sentence vectors: one model pass for every variant
const setups: EmbeddingSetup[] = variants.map((v) => ({
  modelId: info.modelId,
  pooling: v.pooling,
  normalize: info.normalize,
  maxLength: 128,
  ...(v.layers ? { layers: v.layers, layerMix: v.layerMix ?? "mean" } : {}),
}));
t0 = performance.now();
const progress = (what: string) => (done: number, total: number) => {
  if (done === total || done % 5000 < 64) console.error(`${what}: ${done}/${total}`);
};
const Xs = await embedCachedMany(
  embedder,
  setups,
  trainSet.texts,
  values.cache!,
  progress("train"),
);
const Xds = await embedCachedMany(embedder, setups, devSet.texts, values.cache!, progress("dev"));
const embedSeconds = (performance.now() - t0) / 1000;
const seeds = await embedder.embedMany(
  seedSentences.map((s) => s.text),
  setups.map((s) => ({
    pooling: s.pooling as Pooling,
    normalize: s.normalize,
    layers: s.layers,
    layerMix: s.layerMix,
  })),
);

const rows = variants.map((v, i) => {
  const dims = embedder.dimensions(v.pooling, setups[i]);
  const t = performance.now();
  const clf = train(Xs[i], yTrain, dims, labels, { embedding: setups[i], l2, maxIterations });
  const trainSeconds = (performance.now() - t) / 1000;
  const metrics = evaluate(clf, Xds[i], yDev);
  const p = predictProba(clf, seeds[i].data);
  const seedPredictions = seedSentences.map((s, j) => {
    const row = Array.from(p.subarray(j * k, (j + 1) * k));
    const best = row.indexOf(Math.max(...row));
    return { ...s, label: labels[best], score: row[best] };
  });
  const r = {
    variant: v.name,
    pooling: v.pooling,
    layers: v.layers ?? [-1],
    layerMix: v.layerMix ?? "mean",
    dims,
    devAccuracy: metrics.accuracy,
    overBagOfWords: metrics.accuracy - bowAccuracy,
    perClass: metrics.perClass,
    confusion: metrics.confusion,
    training: clf.training,
    trainSeconds,
    seedPredictions,
  };
  console.error(
    `${v.name}: dev ${pct(r.devAccuracy)} (${clf.training.iterations} iterations, ${
      clf.training.converged ? "converged" : "NOT converged"
    }), seeds ${seedPredictions.map((s) => `${s.text} → ${s.label}`).join("; ")}`,
  );
  return r;
});
const loadAfter = os.loadavg();

const report = {
  machine: m,
  load: { before: loadBefore, after: loadAfter },
  model: info.modelId,
  modelDirectory: values.model,
  backend: info.backend,
  threads: info.threads,
  pretrained: !demo,
  train: { path: values.train, rows: trainSet.texts.length },
  dev: { path: values.dev, rows: devSet.texts.length },
  objective: {
    l2,
    classWeights: "balanced",
    solver: `L-BFGS, gradient tolerance 1e-6, at most ${maxIterations} iterations`,
  },
  embedSeconds,
  baselines: {
    majority: { label: labels[majority], devAccuracy: majorityAccuracy },
    bagOfWords: {
      devAccuracy: bowAccuracy,
      features: "hashed WordPiece unigrams + bigrams, 2^18 buckets, 1 + ln(count)",
      training: bowFit.record,
      seconds: bowSeconds,
      seeds: seedSentences.map((s, j) => ({ ...s, label: bowSeeds[j] })),
    },
  },
  results: rows,
};
const best = [...rows].sort((a, b) => b.devAccuracy - a.devAccuracy)[0];
const mark = (label: string, expected: string) => `${label}${label === expected ? " ✓" : " ✗"}`;
const md = [
  `# SST-2 sentiment on ${info.modelId} sentence vectors`,
  "",
  `${m.date} · ${m.cpu} · ${m.cores} cores · Deno ${m.deno} · load ${
    loadBefore.map((x) => x.toFixed(2)).join("/")
  } before, ${
    loadAfter.map((x) => x.toFixed(2)).join("/")
  } after · train ${trainSet.texts.length} rows, dev ${devSet.texts.length} rows · L2 ${l2}, balanced class weights, L-BFGS to convergence`,
  "",
  demo
    ? "**No ONNX weights were present**: the model is embedge's generated demo BERT with random weights, so these accuracies measure the pipeline, not BERT."
    : `Real trained weights (${info.modelId}: ${info.layers} layers, hidden ${info.hiddenSize}; ${info.backend} backend). A small model trained briefly on this machine: these numbers say nothing about BERT-base.`,
  "",
  "`dev.tsv` is a split of the GLUE SST-2 *training* set, whose rows are phrases of the same sentences: most dev phrases occur inside some training phrase (445 of a random 500 here), so features that memorise n-grams (bag of words) are favoured; the GLUE dev set is kept elsewhere.",
  "",
  '| features | dims | dev accuracy | vs bag of words | F1 (neg / pos) | "I love Paris." | "I hate traffic." | L-BFGS iterations | train s |',
  "| --- | ---: | ---: | ---: | --- | --- | --- | ---: | ---: |",
  `| majority class (${labels[majority]}) | – | ${pct(majorityAccuracy)} | ${
    points(majorityAccuracy - bowAccuracy)
  } | – | ${mark(labels[majority], "1")} | ${mark(labels[majority], "0")} | – | – |`,
  `| bag of words (WordPiece 1+2-grams, hashed) | 262144 | ${pct(bowAccuracy)} | – | – | ${
    mark(bowSeeds[0], "1")
  } | ${mark(bowSeeds[1], "0")} | ${iterations(bowFit.record)} | ${bowSeconds.toFixed(1)} |`,
  ...rows.map((r) =>
    `| ${r.variant} | ${r.dims} | ${pct(r.devAccuracy)} | ${points(r.overBagOfWords)} | ${
      r.perClass.map((c) => c.f1.toFixed(3)).join(" / ")
    } | ${
      r.seedPredictions.map((s) => `${mark(s.label, s.expected)} (${s.score.toFixed(2)})`).join(
        " | ",
      )
    } | ${iterations(r.training)} | ${r.trainSeconds.toFixed(1)} |`
  ),
  "",
  rows.length
    ? `Best sentence-vector variant: **${best.variant}**, ${pct(best.devAccuracy)}, ${
      (100 * (best.devAccuracy - bowAccuracy)).toFixed(2)
    } points ${best.devAccuracy >= bowAccuracy ? "above" : "below"} bag of words and ${
      (100 * (best.devAccuracy - majorityAccuracy)).toFixed(2)
    } above the majority class.`
    : "",
  "",
  `Labels: 1 positive, 0 negative. Embedding all variants took ${
    embedSeconds.toFixed(0)
  } s (one model pass for all variants, or reading and hashing the on-disk cache when the vectors are there). Layer indices: -1 the last of ${info.layers} layers, 0 the embeddings.`,
  "",
].join("\n");
const dir = values.out ? `${values.out.replace(/\/$/, "")}/` : here("./results/");
const stamp = `${m.date.replace(/[:.]/g, "-")}-${m.host}`;
Deno.writeTextFileSync(`${dir}sst2-${stamp}.json`, JSON.stringify(report, null, 2));
Deno.writeTextFileSync(`${dir}sst2-${stamp}.md`, md);
Deno.writeTextFileSync(`${dir}sst2-latest.md`, md);
console.log(md);
