/**
 * The classifier head: logistic regression math and determinism, bad input, tables, the
 * embedding cache, the CLI on an SST-2 slice with the generated model, and POST /classify.
 */
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import { hasShared, shared } from "./support/paths.ts";
import { makeTestModel } from "./support/test_model.ts";
import { rng } from "../src/random.ts";
import { checkClassifier, evaluate, predictProba, train } from "../src/classifier/logistic.ts";
import { parseTable } from "../src/classifier/dataset.ts";
import { EmbeddingCache } from "../src/classifier/cache.ts";
import { Embedder } from "../src/model/embedder.ts";
import { createApp } from "../edge/app.ts";
import { InputError } from "../src/errors.ts";

const setup = { modelId: "m", pooling: "mean", normalize: true };

function blobs(n: number, k: number, dim: number, seed: number) {
  const r = rng(seed);
  const X = new Float32Array(n * dim), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % k;
    y[i] = c;
    for (let d = 0; d < dim; d++) X[i * dim + d] = (d === c ? 4 : 0) + (r() - 0.5) * 2;
  }
  return { X, y };
}

Deno.test("logistic regression: separable classes, multinomial, deterministic for a seed", () => {
  const { X, y } = blobs(300, 3, 4, 1);
  const a = train(X, y, 4, ["a", "b", "c"], { embedding: setup, seed: 7 });
  const b = train(X, y, 4, ["a", "b", "c"], { embedding: setup, seed: 7 });
  assertEquals(a, b);
  const m = evaluate(a, X, y);
  assert(m.accuracy > 0.97, `accuracy ${m.accuracy}`);
  assertEquals(m.confusion.flat().reduce((s, v) => s + v, 0), 300);
  const p = predictProba(a, X.subarray(0, 4));
  assert(Math.abs(p[0] + p[1] + p[2] - 1) < 1e-5);
  const c = train(X, y, 4, ["a", "b", "c"], { embedding: setup, seed: 8 });
  assert(JSON.stringify(c.weights) !== JSON.stringify(a.weights), "another seed, another split");
});

Deno.test("metrics: precision, recall, F1 and confusion on known predictions", () => {
  // a fixed 1-D classifier: class 1 iff x > 0
  const clf = checkClassifier({
    format: "embedge-classifier/1",
    labels: ["neg", "pos"],
    dim: 1,
    mean: [0],
    std: [1],
    weights: [[-10], [10]],
    bias: [0, 0],
    embedding: setup,
    training: { epochs: 0, bestEpoch: 0, validationLoss: 0, options: {} },
  });
  const X = Float32Array.of(-1, -2, 3, 1, 2, -3);
  const y = Int32Array.of(0, 0, 0, 1, 1, 1); // predictions: 0 0 1 1 1 0
  const m = evaluate(clf, X, y);
  assertEquals(m.confusion, [[2, 1], [1, 2]]);
  assertEquals(m.accuracy, 4 / 6);
  assertEquals(m.perClass[1].precision, 2 / 3);
  assertEquals(m.perClass[1].recall, 2 / 3);
  assert(Math.abs(m.perClass[1].f1 - 2 / 3) < 1e-12);
});

Deno.test("bad input: one class, NaN features, bad tables, mismatched artifacts", () => {
  assertThrows(
    () => train(Float32Array.of(1, 2), Int32Array.of(0, 0), 1, ["a", "b"], { embedding: setup }),
    InputError,
    "one class",
  );
  assertThrows(
    () => train(Float32Array.of(1, NaN), Int32Array.of(0, 1), 1, ["a", "b"], { embedding: setup }),
    InputError,
    "finite",
  );
  assertThrows(
    () => train(Float32Array.of(1), Int32Array.of(0, 1), 1, ["a", "b"], { embedding: setup }),
    InputError,
  );
  assertThrows(() => parseTable("text\tscore\nx\t1\n"), InputError, "label");
  assertThrows(() => parseTable("words,label\nx,1\n"), InputError, "text");
  assertThrows(() => parseTable(""), InputError, "empty");
  const t = parseTable('text,label\n"hello, ""world""",pos\nbye,neg\n');
  assertEquals(t.texts, ['hello, "world"', "bye"]);
  assertEquals(t.labels, ["pos", "neg"]);
  const { X, y } = blobs(40, 2, 2, 3);
  const clf = train(X, y, 2, ["a", "b"], { embedding: setup });
  assertThrows(() => checkClassifier(clf, { ...setup, pooling: "cls" }), InputError, "pooling");
  assertThrows(() => checkClassifier(clf, { ...setup, modelId: "other" }), InputError, "modelId");
  assertThrows(() => checkClassifier({ format: "x" }), InputError, "artifact");
  assertThrows(() => predictProba(clf, Float32Array.of(1, NaN)), InputError, "finite");
});

Deno.test("embedding cache: the second pass computes nothing", async () => {
  const root = await Deno.makeTempDir();
  const compute = (missing: string[]) =>
    Promise.resolve(Float32Array.from(missing.flatMap((t) => [t.length, 1])));
  const c1 = await EmbeddingCache.open(root, setup, 2);
  const a = await c1.embed(["ab", "abc", "ab"], compute);
  assertEquals(Array.from(a), [2, 1, 3, 1, 2, 1]);
  assertEquals(c1.computed, 2);
  const c2 = await EmbeddingCache.open(root, setup, 2);
  assertEquals(Array.from(await c2.embed(["abc", "ab"], compute)), [3, 1, 2, 1]);
  assertEquals(c2.computed, 0);
  const other = await EmbeddingCache.open(root, { ...setup, pooling: "cls" }, 2);
  await other.embed(["ab"], compute);
  assertEquals(other.computed, 1);
});

const sst2 = "datasets/sst2/train.tsv";
const ignore = !hasShared(sst2) || !hasShared("models/all-MiniLM-L6-v2/tokenizer.json");

Deno.test({
  name: "CLI train/eval/predict on an SST-2 slice with the generated model, then POST /classify",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 31, layers: 1 });
    const dir = await Deno.makeTempDir();
    const run = async (...args: string[]) => {
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("../bin/classify.ts", import.meta.url).pathname, ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
    };
    const common = ["--model", model.dir, "--cache", `${dir}/cache`];
    const t = await run(
      "train",
      ...common,
      "--data",
      shared(sst2),
      "--dev",
      shared("datasets/sst2/dev.tsv"),
      "--limit",
      "600",
      "--out",
      `${dir}/clf.json`,
    );
    assertEquals(t.code, 0, t.err);
    assert(t.out.includes("accuracy:") && t.out.includes("confusion"), t.out);
    const acc = Number(t.out.match(/accuracy: ([\d.]+)%/)![1]);
    assert(acc > 50, `dev accuracy ${acc}% is not above chance`);
    const e = await run(
      "eval",
      ...common,
      "--classifier",
      `${dir}/clf.json`,
      "--data",
      shared("datasets/sst2/dev.tsv"),
      "--limit",
      "600",
    );
    assertEquals(e.code, 0, e.err);
    assertEquals(e.out.match(/accuracy: ([\d.]+)%/)![1], String(acc.toFixed(2)));
    const p = await run(
      "predict",
      ...common,
      "--classifier",
      `${dir}/clf.json`,
      "I love Paris",
      "I hate traffic",
    );
    assertEquals(p.code, 0, p.err);
    const rows = p.out.trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(rows.length, 2);
    assert(rows.every((r) => ["0", "1"].includes(r.label) && r.score >= 0.5));
    // a classifier trained on another model is refused
    const other = await makeTestModel({ seed: 32, layers: 1 });
    const bad = await run("predict", "--model", other.dir, "--classifier", `${dir}/clf.json`, "x");
    assertEquals(bad.code, 2);
    // served by the app
    const clf = JSON.parse(await Deno.readTextFile(`${dir}/clf.json`));
    const embedder = await Embedder.load(model.dir);
    assertEquals(clf.embedding.modelId, embedder.info.modelId);
    const app = createApp(embedder, { log: false, classifiers: { sentiment: clf } });
    const res = await app.request("/classify", {
      method: "POST",
      body: JSON.stringify({ inputs: ["I love Paris", "I hate traffic"] }),
    });
    assertEquals(res.status, 200);
    const preds = await res.json();
    assertEquals(preds.length, 2);
    assert(preds[0][0].score >= preds[0][1].score);
    assertEquals(preds[0][0].label, rows[0].label);
    const info = await (await app.request("/info")).json();
    assertEquals(info.classifiers[0].name, "sentiment");
    const missing = await app.request("/classify", {
      method: "POST",
      body: JSON.stringify({ inputs: "x", classifier: "nope" }),
    });
    assertEquals(missing.status, 400);
  },
});
