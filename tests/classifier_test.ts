/**
 * The classifier head: logistic regression math and determinism, bad input, tables, the
 * embedding cache, the CLI on an SST-2 slice with the generated model, and POST /classify.
 */
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import { hasShared, shared, tempDir } from "./support/paths.ts";
import { makeTestModel } from "./support/test_model.ts";
import { newtonLogistic } from "./support/newton.ts";
import { rng } from "../src/random.ts";
import { checkClassifier, evaluate, predictProba, train } from "../src/classifier/logistic.ts";
import { parseTable } from "../src/classifier/dataset.ts";
import { EmbeddingCache } from "../src/classifier/cache.ts";
import { Embedder } from "../src/model/embedder.ts";
import { createApp } from "../edge/app.ts";
import { freePort } from "./support/local_server.ts";
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

Deno.test("logistic regression: separable classes, multinomial, converged, deterministic", () => {
  const { X, y } = blobs(300, 3, 4, 1);
  const a = train(X, y, 4, ["a", "b", "c"], { embedding: setup });
  const b = train(X, y, 4, ["a", "b", "c"], { embedding: setup });
  assertEquals(a, b);
  assert(a.training.converged, `not converged: ${JSON.stringify(a.training)}`);
  assert(a.training.gradientNorm <= 1e-6);
  const m = evaluate(a, X, y);
  assert(m.accuracy > 0.97, `accuracy ${m.accuracy}`);
  assertEquals(m.confusion.flat().reduce((s, v) => s + v, 0), 300);
  const p = predictProba(a, X.subarray(0, 4));
  assert(Math.abs(p[0] + p[1] + p[2] - 1) < 1e-5);
  const c = train(X, y, 4, ["a", "b", "c"], { embedding: setup, l2: 1e-1 });
  assert(JSON.stringify(c.weights) !== JSON.stringify(a.weights), "l2 is not ignored");
});

/** Overlapping two-class data (the optimum is finite), standardized as train() does. */
function noisy(n: number, dim: number, seed: number) {
  const r = rng(seed);
  const X = new Float32Array(n * dim), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = r() < 0.35 ? 1 : 0; // unbalanced, so class weights matter
    for (let d = 0; d < dim; d++) {
      X[i * dim + d] = (y[i] ? 0.4 : -0.2) * (d % 3) + 3 * (r() - 0.5) + d;
    }
  }
  return { X, y };
}

/** The trained two-class softmax against Newton's method on the same standardized rows. */
function checkAgainstNewton(
  X: Float32Array,
  y: Int32Array,
  dim: number,
  l2: number,
  classWeights: "balanced" | "none",
) {
  const clf = train(X, y, dim, ["0", "1"], { embedding: setup, l2, classWeights });
  const n = y.length;
  const Z = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dim; d++) Z[i * dim + d] = (X[i * dim + d] - clf.mean[d]) / clf.std[d];
  }
  const count1 = y.reduce((s, v) => s + v, 0);
  const cw = classWeights === "balanced" ? [n / (2 * (n - count1)), n / (2 * count1)] : [1, 1];
  const newton = newtonLogistic(
    Z,
    Int8Array.from(y, (v) => (v ? 1 : -1)),
    dim,
    Float64Array.from(y, (v) => cw[v]),
    l2,
  );
  const w = clf.weights[1].map((v, d) => v - clf.weights[0][d]);
  return { clf, newton, w, bias: clf.bias[1] - clf.bias[0] };
}

Deno.test("training reaches the optimum: objective and weights equal Newton's method", () => {
  let compared = 0;
  for (const classWeights of ["balanced", "none"] as const) {
    for (const l2 of [1e-4, 1e-2]) {
      const { X, y } = noisy(800, 6, 5);
      const { clf, newton, w, bias } = checkAgainstNewton(X, y, 6, l2, classWeights);
      assert(clf.training.converged, JSON.stringify(clf.training));
      const what = `${classWeights}, l2 ${l2}`;
      assert(
        Math.abs(clf.training.loss - newton.loss) < 1e-9,
        `${what}: loss ${clf.training.loss} vs Newton ${newton.loss}`,
      );
      w.forEach((v, d) =>
        assert(Math.abs(v - newton.w[d]) < 1e-4, `${what}: w[${d}] ${v} vs ${newton.w[d]}`)
      );
      assert(Math.abs(bias - newton.bias) < 1e-4, `${what}: bias ${bias} vs ${newton.bias}`);
      compared++;
    }
  }
  assertEquals(compared, 4);
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
    training: { iterations: 0, converged: true, loss: 0, gradientNorm: 0, options: {} },
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
  assertThrows(() => checkClassifier({ format: "x" }), InputError, "format");
  assertThrows(() => predictProba(clf, Float32Array.of(1, NaN)), InputError, "finite");
});

Deno.test("embedding cache: the second pass computes nothing", async () => {
  const root = await tempDir();
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
const realModel = "models/embedge-mini-mlm/onnx/model.onnx";
const ignore = !hasShared(sst2) || !hasShared(realModel);

Deno.test({
  name:
    "CLI train/eval/predict on an SST-2 slice with the trained mini BERT beats the majority class; POST /classify agrees",
  ignore,
  async fn() {
    const modelDir = shared("models/embedge-mini-mlm");
    const dir = await tempDir();
    const run = async (...args: string[]) => {
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("../bin/classify.ts", import.meta.url).pathname, ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
    };
    const limit = "3000";
    const common = ["--model", modelDir, "--cache", `${dir}/cache`];
    const t = await run(
      "train",
      ...common,
      "--data",
      shared(sst2),
      "--dev",
      shared("datasets/sst2/dev.tsv"),
      "--limit",
      limit,
      "--out",
      `${dir}/clf.json`,
    );
    assertEquals(t.code, 0, t.err);
    assert(t.out.includes("accuracy:") && t.out.includes("confusion"), t.out);
    assert(t.err.includes("converged") && !t.err.includes("NOT converged"), t.err);
    const acc = Number(t.out.match(/accuracy: ([\d.]+)%/)![1]);
    // the baseline to beat is the majority class of the same dev slice, not 50%
    const dev = parseTable(await Deno.readTextFile(shared("datasets/sst2/dev.tsv")));
    const slice = dev.labels.slice(0, Number(limit));
    const positives = slice.filter((l) => l === "1").length;
    const majority = 100 * Math.max(positives, slice.length - positives) / slice.length;
    assert(acc > majority + 2, `dev accuracy ${acc}% vs majority class ${majority.toFixed(2)}%`);
    const e = await run(
      "eval",
      ...common,
      "--classifier",
      `${dir}/clf.json`,
      "--data",
      shared("datasets/sst2/dev.tsv"),
      "--limit",
      limit,
    );
    assertEquals(e.code, 0, e.err);
    assertEquals(e.out.match(/accuracy: ([\d.]+)%/)![1], String(acc.toFixed(2)));
    const texts = ["I love Paris", "I hate traffic", "a dull , lifeless film"];
    const p = await run("predict", ...common, "--classifier", `${dir}/clf.json`, ...texts);
    assertEquals(p.code, 0, p.err);
    const rows = p.out.trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(rows.length, texts.length);
    // a classifier trained on another model is refused, naming the field
    const other = await makeTestModel({ seed: 32, layers: 1 });
    const bad = await run("predict", "--model", other.dir, "--classifier", `${dir}/clf.json`, "x");
    assertEquals(bad.code, 2);
    assert(bad.err.includes("modelId") && bad.err.includes("embedge-mini-mlm"), bad.err);
    // served by the app: the same labels and probabilities as the CLI
    const clf = JSON.parse(await Deno.readTextFile(`${dir}/clf.json`));
    const embedder = await Embedder.load(modelDir);
    assertEquals(clf.embedding.modelId, embedder.info.modelId);
    const app = createApp(embedder, { log: false, classifiers: { sentiment: clf } });
    const res = await app.request("/classify", {
      method: "POST",
      body: JSON.stringify({ inputs: texts }),
    });
    assertEquals(res.status, 200);
    const preds = await res.json();
    assertEquals(preds.length, texts.length);
    preds.forEach((pr: { label: string; score: number }[], i: number) => {
      assert(pr[0].score >= pr[1].score, "best first");
      assertEquals(pr[0].label, rows[i].label);
      assert(Math.abs(pr[0].score - rows[i].score) < 1e-6, `${pr[0].score} vs ${rows[i].score}`);
      assert(Math.abs(pr[0].score + pr[1].score - 1) < 1e-6);
    });
    const info = await (await app.request("/info")).json();
    assertEquals(info.classifiers[0].name, "sentiment");
    for (const name of ["nope", "constructor", "toString", "__proto__"]) {
      const missing = await app.request("/classify", {
        method: "POST",
        body: JSON.stringify({ inputs: "x", classifier: name }),
      });
      // /classify answers in TEI's error shape (edge/errors.ts): 422 Validation naming it
      const body = await missing.json();
      assertEquals(
        [missing.status, body.error_type, body.param],
        [422, "Validation", "classifier"],
        name,
      );
    }
    await embedder.close();
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name:
    "on real SST-2 vectors (mini BERT, mean) training is within 0.5 point and 1e-6 loss of Newton's optimum",
  ignore,
  async fn() {
    const embedder = await Embedder.load(shared("models/embedge-mini-mlm"));
    const read = (path: string, n: number) => {
      const t = parseTable(Deno.readTextFileSync(shared(path)));
      return {
        texts: t.texts.slice(0, n),
        y: Int32Array.from(t.labels.slice(0, n), (l) => Number(l)),
      };
    };
    const tr = read(sst2, 3000), dv = read("datasets/sst2/dev.tsv", 1500);
    const options = { pooling: "mean", normalize: false } as const;
    const X = (await embedder.embed(tr.texts, options)).data;
    const Xd = (await embedder.embed(dv.texts, options)).data;
    const dim = embedder.info.hiddenSize;
    for (const l2 of [1e-4, 1e-2]) {
      const { clf, newton, w, bias } = checkAgainstNewton(X, tr.y, dim, l2, "balanced");
      assert(clf.training.converged, JSON.stringify(clf.training));
      assert(
        Math.abs(clf.training.loss - newton.loss) < 1e-6,
        `l2 ${l2}: loss ${clf.training.loss} vs Newton ${newton.loss}`,
      );
      // Newton's classifier on the dev rows, standardized the same way
      let agree = 0, newtonCorrect = 0;
      const ours = evaluate(clf, Xd, dv.y);
      const probs = predictProba(clf, Xd);
      for (let i = 0; i < dv.y.length; i++) {
        let m = newton.bias;
        for (let d = 0; d < dim; d++) {
          m += newton.w[d] * (Xd[i * dim + d] - clf.mean[d]) / clf.std[d];
        }
        const label = m > 0 ? 1 : 0;
        if (label === dv.y[i]) newtonCorrect++;
        if (label === (probs[2 * i + 1] > probs[2 * i] ? 1 : 0)) agree++;
      }
      const newtonAccuracy = newtonCorrect / dv.y.length;
      assert(
        Math.abs(ours.accuracy - newtonAccuracy) <= 0.005,
        `l2 ${l2}: dev accuracy ${ours.accuracy} vs Newton ${newtonAccuracy}`,
      );
      assert(agree / dv.y.length > 0.99, `l2 ${l2}: predictions agree on ${agree}`);
      assert(Math.abs(bias - newton.bias) < 1e-2 * (1 + Math.abs(newton.bias)));
      assert(w.length === dim);
    }
    await embedder.close();
  },
});

/** A head trained on the generated model, remembering it; its directory and the head. */
async function smallHead(): Promise<{ model: string; head: Record<string, unknown> }> {
  const model = await makeTestModel({ seed: 41, layers: 1 });
  const embedder = await Embedder.load(model.dir);
  const texts = ["good film", "great fun", "a joy", "bad film", "dull mess", "a bore"];
  const X = (await embedder.embed(texts, { pooling: "mean" })).data;
  const head = train(X, Int32Array.of(1, 1, 1, 0, 0, 0), 32, ["negative", "positive"], {
    embedding: {
      modelId: embedder.info.modelId,
      pooling: "mean",
      normalize: embedder.info.normalize,
      maxLength: 128,
    },
  });
  await embedder.close();
  return { model: model.dir, head: { ...head, model: model.dir } };
}

/** Tampered copies of a good head file: name → file text. */
function tamperedHeads(good: Record<string, unknown>): [string, string][] {
  const text = JSON.stringify(good);
  const edit = (change: (h: Record<string, unknown> & { [k: string]: unknown }) => void) => {
    const h = JSON.parse(text);
    change(h);
    return JSON.stringify(h);
  };
  const row = (n: number, v = 0.1) => new Array(n).fill(v);
  return [
    ["truncated JSON", text.slice(0, text.length / 2)],
    ["empty file", ""],
    ["not JSON", "sentiment head"],
    ["a JSON array", "[]"],
    ["null", "null"],
    ["another format", edit((h) => (h.format = "sklearn/1"))],
    ["labels missing", edit((h) => delete h.labels)],
    ["one label", edit((h) => (h.labels = ["positive"]))],
    ["repeated labels", edit((h) => (h.labels = ["a", "a"]))],
    ["labels not strings", edit((h) => (h.labels = [0, 1]))],
    ["dim not a number", edit((h) => (h.dim = "32"))],
    ["mean too short", edit((h) => (h.mean = row(31)))],
    ["a weight row too long", edit((h) => ((h.weights as number[][])[1] = row(33)))],
    ["one weight row", edit((h) => (h.weights = [row(32)]))],
    ["bias missing", edit((h) => delete h.bias)],
    ["NaN as a string", edit((h) => ((h.weights as unknown[][])[0][3] = "NaN"))],
    ["infinite weight (1e999)", text.replace(/"bias":\[[^,\]]+/, '"bias":[1e999')],
    ["huge weight", edit((h) => ((h.weights as number[][])[0][0] = 1e300))],
    ["std zero", edit((h) => ((h.std as number[])[5] = 0))],
    ["embedding missing", edit((h) => delete h.embedding)],
    ["pooling unknown", edit((h) => ((h.embedding as { pooling: string }).pooling = "median"))],
    ["layer the model lacks", edit((h) => ((h.embedding as { layers: number[] }).layers = [9]))],
    [
      "vectors of another width",
      edit((h) => {
        h.dim = 16;
        h.mean = row(16);
        h.std = row(16, 1);
        h.weights = [row(16), row(16)];
      }),
    ],
    ["another model id", edit((h) => ((h.embedding as { modelId: string }).modelId = "bert"))],
    ["a model that is not there", edit((h) => (h.model = "/nonexistent/model"))],
  ];
}

Deno.test({
  name:
    "tampered classifier head files: classify predict refuses each in one line, exit 2, no stack trace; the good one runs on its own model",
  ignore,
  async fn() {
    const { head } = await smallHead();
    const dir = await tempDir();
    const predict = async (file: string) => {
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("../bin/classify.ts", import.meta.url).pathname, "predict"]
          .concat(["--classifier", file, "I love Paris."]),
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
    };
    // no --model: the head's own model is loaded (another one would fail the modelId check)
    await Deno.writeTextFile(`${dir}/good.json`, JSON.stringify(head));
    const good = await predict(`${dir}/good.json`);
    assertEquals(good.code, 0, good.err);
    assert(/^(negative|positive) \([01]\.\d{3}\)$/.test(good.out.trim()), good.out);
    for (const [name, text] of tamperedHeads(head)) {
      await Deno.writeTextFile(`${dir}/head.json`, text);
      const r = await predict(`${dir}/head.json`);
      const lines = r.err.trim().split("\n").filter((l) => !l.startsWith("model:"));
      assertEquals(r.code, 2, `${name}: ${r.err}`);
      assertEquals(lines.length, 1, `${name}: ${r.err}`);
      assert(!r.err.includes("    at "), `${name}: ${r.err}`);
      assertEquals(r.out, "", name);
    }
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name:
    "EMBEDGE_CLASSIFIERS: a good head starts the server on the head's own model; a missing, non-head or unfit one stops it in one line naming the classifier",
  ignore,
  async fn() {
    const { model, head } = await smallHead();
    const dir = await tempDir();
    const port = freePort();
    const serve = (spec: string) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("../edge/deno.ts", import.meta.url).pathname],
        env: { EMBEDGE_CLASSIFIERS: spec, PORT: String(port), EMBEDGE_LOG: "off" },
        stdout: "null",
        stderr: "piped",
      });
    await Deno.writeTextFile(`${dir}/good.json`, JSON.stringify(head));
    const proc = serve(`sentiment=${dir}/good.json`).spawn();
    try {
      let info: { model: { id: string } | string; classifiers: { name: string }[] } | undefined;
      for (let i = 0; i < 600 && !info; i++) {
        info = await fetch(`http://127.0.0.1:${port}/info`).then((r) => r.json(), () => undefined);
        if (!info) await new Promise((r) => setTimeout(r, 100));
      }
      assertEquals(info?.classifiers.map((c) => c.name), ["sentiment"]);
      assert(JSON.stringify(info).includes(model.split("/").pop()!), JSON.stringify(info));
      const res = await fetch(`http://127.0.0.1:${port}/classify`, {
        method: "POST",
        body: JSON.stringify({ inputs: "I love Paris." }),
      });
      assertEquals(res.status, 200);
      const [best] = (await res.json())[0];
      assert(Number.isFinite(best.score), JSON.stringify(best));
    } finally {
      proc.kill("SIGTERM");
      await proc.stderr.cancel();
      await proc.status;
    }
    const picked = new Set(["truncated JSON", "std zero", "layer the model lacks"]);
    const cases: [string, string][] = [
      ["missing file", `${dir}/missing.json`],
      ["non-head JSON", `${dir}/other.json`],
      ...tamperedHeads(head).filter(([name]) => picked.has(name)).map(([name, text], i) => {
        Deno.writeTextFileSync(`${dir}/bad${i}.json`, text);
        return [name, `${dir}/bad${i}.json`] as [string, string];
      }),
    ];
    await Deno.writeTextFile(`${dir}/other.json`, JSON.stringify({ model: "x", data: [1, 2] }));
    for (const [name, path] of cases) {
      const { code, stderr } = await serve(`sentiment=${path}`).output();
      const err = new TextDecoder().decode(stderr).trim();
      const lines = err.split("\n").filter((l) => !l.startsWith("model:"));
      assertEquals(code, 2, `${name}: ${err}`);
      assertEquals(lines.length, 1, `${name}: ${err}`);
      assert(lines[0].includes(`EMBEDGE_CLASSIFIERS: sentiment=${path}`), `${name}: ${err}`);
      assert(!err.includes("    at "), `${name}: ${err}`);
    }
    await Deno.remove(dir, { recursive: true });
  },
});
