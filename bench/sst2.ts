/**
 * SST-2 sentiment accuracy per pooling mode: trains the logistic-regression head on
 * `../shared/datasets/sst2/train.tsv` for each of cls, mean, max and mean_max, evaluates on
 * the held-out `dev.tsv`, and classifies the walkthrough's two sentences ("I love Paris." →
 * positive, "I hate traffic." → negative). Embeddings go through the on-disk cache, so a
 * rerun only trains. Writes `bench/results/sst2-<date>-<host>.{json,md}` and `sst2-latest.md`.
 *
 * The model is `--model` (default `EMBEDGE_MODEL`, else ../shared/models/all-MiniLM-L6-v2);
 * without ONNX weights there it is the generated demo BERT (random weights), and the report
 * says so: such numbers measure the pipeline, not BERT.
 *
 * @example
 * ```sh
 * deno run -A bench/sst2.ts                      # full train/dev
 * deno run -A bench/sst2.ts --limit 2000 --out /tmp  # a slice
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { embedCached } from "../bin/classify.ts";
import { loadOrDemo } from "../bin/embed.ts";
import { parseTable } from "../src/classifier/dataset.ts";
import { evaluate, predictProba, train } from "../src/classifier/logistic.ts";
import type { Pooling } from "../src/model/pooling.ts";
import { machine } from "./machine.ts";

const here = (p: string) => new URL(p, import.meta.url).pathname;
const shared = Deno.env.get("EMBEDGE_SHARED") ?? here("../../shared/");
const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: {
      type: "string",
      default: Deno.env.get("EMBEDGE_MODEL") ?? `${shared}/models/all-MiniLM-L6-v2`,
    },
    train: { type: "string", default: `${shared}/datasets/sst2/train.tsv` },
    dev: { type: "string", default: `${shared}/datasets/sst2/dev.tsv` },
    poolings: { type: "string", default: "cls,mean,max,mean_max" },
    limit: { type: "string" },
    seed: { type: "string", default: "42" },
    cache: { type: "string", default: here("../.cache/embeddings") },
    out: { type: "string" },
  },
});

const limit = values.limit ? Number(values.limit) : Infinity;
const read = (path: string) => {
  const t = parseTable(Deno.readTextFileSync(path));
  return { texts: t.texts.slice(0, limit), labels: t.labels.slice(0, limit) };
};
const trainSet = read(values.train!);
const devSet = read(values.dev!);
const labels = [...new Set(trainSet.labels)].sort();
const index = (ls: string[]) => Int32Array.from(ls, (l) => labels.indexOf(l));
const yTrain = index(trainSet.labels), yDev = index(devSet.labels);
let demo = false;
const embedder = await loadOrDemo(values.model!, (s) => {
  demo = true;
  console.error(s);
});
const seedSentences = [
  { text: "I love Paris.", expected: "1" },
  { text: "I hate traffic.", expected: "0" },
];

const m = machine();
const rows = [];
for (const pooling of values.poolings!.split(",") as Pooling[]) {
  const setup = {
    modelId: embedder.info.modelId,
    pooling,
    normalize: embedder.info.normalize,
    maxLength: 128,
  };
  const t0 = performance.now();
  const X = await embedCached(embedder, setup, trainSet.texts, values.cache!);
  const Xd = await embedCached(embedder, setup, devSet.texts, values.cache!);
  const t1 = performance.now();
  const clf = train(X, yTrain, embedder.dimensions(pooling), labels, {
    embedding: setup,
    seed: Number(values.seed),
  });
  const t2 = performance.now();
  const metrics = evaluate(clf, Xd, yDev);
  const seeds = await embedder.embed(seedSentences.map((s) => s.text), {
    pooling,
    normalize: setup.normalize,
    maxLength: 128,
  });
  const p = predictProba(clf, seeds.data);
  const k = labels.length;
  const seedPredictions = seedSentences.map((s, i) => {
    const row = Array.from(p.subarray(i * k, (i + 1) * k));
    const best = row.indexOf(Math.max(...row));
    return { ...s, label: labels[best], score: row[best] };
  });
  const r = {
    pooling,
    dims: embedder.dimensions(pooling),
    devAccuracy: metrics.accuracy,
    perClass: metrics.perClass,
    confusion: metrics.confusion,
    epochs: clf.training.bestEpoch,
    embedSeconds: (t1 - t0) / 1000,
    trainSeconds: (t2 - t1) / 1000,
    seedPredictions,
  };
  rows.push(r);
  console.error(
    `${pooling}: dev accuracy ${(100 * r.devAccuracy).toFixed(2)}%, seeds ${
      seedPredictions.map((s) => `${s.text} → ${s.label} (${s.score.toFixed(2)})`).join("; ")
    }`,
  );
}

const report = {
  machine: m,
  model: embedder.info.modelId,
  pretrained: !demo,
  train: { path: values.train, rows: trainSet.texts.length },
  dev: { path: values.dev, rows: devSet.texts.length },
  seed: Number(values.seed),
  results: rows,
};
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const md = [
  `# SST-2 sentiment on ${embedder.info.modelId} embeddings`,
  "",
  `${
    m.date.slice(0, 10)
  } · ${m.cpu} · ${m.cores} cores · Deno ${m.deno} · train ${trainSet.texts.length} rows, dev ${devSet.texts.length} rows · seed ${report.seed}`,
  "",
  demo
    ? "**No pretrained weights were present**: the model is embedge's generated demo BERT with random weights, so these accuracies measure the pipeline (random contextual features + logistic regression), not BERT. Rerun with `EMBEDGE_MODEL` pointing at a model with `onnx/model.onnx`."
    : "Pretrained weights.",
  "",
  '| pooling | dims | dev accuracy | F1 (neg / pos) | "I love Paris." | "I hate traffic." | embed s | train s |',
  "| --- | ---: | ---: | --- | --- | --- | ---: | ---: |",
  ...rows.map((r) =>
    `| ${r.pooling} | ${r.dims} | ${pct(r.devAccuracy)} | ${
      r.perClass.map((c) => c.f1.toFixed(3)).join(" / ")
    } | ${
      r.seedPredictions.map((s) =>
        `${s.label} (${s.score.toFixed(2)})${s.label === s.expected ? " ✓" : " ✗"}`
      ).join(" | ")
    } | ${r.embedSeconds.toFixed(1)} | ${r.trainSeconds.toFixed(1)} |`
  ),
  "",
  "Labels: 1 positive, 0 negative. Embed time is near zero when the embeddings came from the cache.",
  "",
].join("\n");
const dir = values.out ? `${values.out.replace(/\/$/, "")}/` : here("./results/");
const stamp = `${m.date.slice(0, 10)}-${m.host}`;
Deno.writeTextFileSync(`${dir}sst2-${stamp}.json`, JSON.stringify(report, null, 2));
Deno.writeTextFileSync(`${dir}sst2-${stamp}.md`, md);
Deno.writeTextFileSync(`${dir}sst2-latest.md`, md);
console.log(md);
