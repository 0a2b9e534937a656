/**
 * A multinomial logistic-regression head on sentence embeddings: features standardized,
 * L2-regularized softmax regression trained by mini-batch gradient descent with momentum,
 * early stopping on a validation split, optional balanced class weights, deterministic
 * for a seed. The result is a small JSON artifact that records the embedding setup it was
 * trained with; metrics give accuracy, per-class precision/recall/F1 and the confusion
 * matrix.
 *
 * @example
 * ```ts
 * import { evaluate, train } from "./logistic.ts";
 * const X = Float32Array.of(0, 0, 0, 1, 5, 5, 5, 6); // 4 rows × 2
 * const y = Int32Array.of(0, 0, 1, 1);
 * const clf = train(X, y, 2, ["neg", "pos"], { embedding: { modelId: "m", pooling: "mean", normalize: true } });
 * console.log(evaluate(clf, X, y).accuracy); // 1
 * ```
 * @module
 */
import { InputError } from "../errors.ts";
import { rng } from "../random.ts";

/** The embedding setup a classifier was trained on (it refuses any other). */
export interface EmbeddingSetup {
  modelId: string;
  pooling: string;
  normalize: boolean;
  maxLength?: number;
}

/** The saved classifier. */
export interface Classifier {
  format: "embedge-classifier/1";
  labels: string[];
  dim: number;
  mean: number[];
  std: number[];
  /** `[classes][dim]` on standardized features */
  weights: number[][];
  bias: number[];
  embedding: EmbeddingSetup;
  training: { epochs: number; bestEpoch: number; validationLoss: number; options: TrainOptions };
}

/** Training options. */
export interface TrainOptions {
  /** L2 strength (default 1e-3). */
  l2?: number;
  learningRate?: number;
  maxEpochs?: number;
  batchSize?: number;
  /** Fraction of rows held out for early stopping (default 0.1). */
  validationSplit?: number;
  /** Epochs without validation improvement before stopping (default 8). */
  patience?: number;
  /** `balanced` weighs classes by inverse frequency. */
  classWeights?: "balanced" | "none";
  seed?: number;
  /** Called after each epoch. */
  onEpoch?: (epoch: number, trainLoss: number, validationLoss: number) => void;
}

/** Trains on `X` (rows × `dim`) with class indices `y` into `labels`.
 *
 * @example
 * ```ts
 * import { predictProba, train } from "./logistic.ts";
 * const embedding = { modelId: "m", pooling: "mean", normalize: true };
 * const clf = train(Float32Array.of(0, 1, 5, 6), Int32Array.of(0, 0, 1, 1), 1, ["neg", "pos"], { embedding });
 * console.log(predictProba(clf, Float32Array.of(5.5))); // [p(neg), p(pos)], p(pos) > 0.5
 * ```
 */
export function train(
  X: Float32Array,
  y: Int32Array,
  dim: number,
  labels: string[],
  options: TrainOptions & { embedding: EmbeddingSetup },
): Classifier {
  const n = y.length, k = labels.length;
  if (X.length !== n * dim) {
    throw new InputError(`features are ${X.length} values, expected ${n} × ${dim}`, "features");
  }
  if (k < 2) throw new InputError("need at least two classes", "labels");
  const counts = new Array(k).fill(0);
  for (const c of y) {
    if (!(c >= 0 && c < k)) throw new InputError(`label index ${c} out of range`, "labels");
    counts[c]++;
  }
  if (counts.filter((c) => c > 0).length < 2) {
    throw new InputError(
      `training data has one class only (${labels[counts.findIndex((c) => c > 0)]})`,
      "labels",
    );
  }
  for (let i = 0; i < X.length; i++) {
    if (!Number.isFinite(X[i])) {
      throw new InputError(
        `feature ${i % dim} of row ${Math.floor(i / dim)} is not finite`,
        "features",
      );
    }
  }
  const { embedding, onEpoch, ...rest } = options;
  const o = {
    l2: 1e-3,
    learningRate: 0.1,
    maxEpochs: 200,
    batchSize: 64,
    validationSplit: 0.1,
    patience: 8,
    classWeights: "balanced" as const,
    seed: 42,
    ...rest,
  };
  const r = rng(o.seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const nVal = n >= 10 ? Math.max(1, Math.floor(n * o.validationSplit)) : 0;
  const val = order.slice(0, nVal), tr = order.slice(nVal);
  // standardize with training statistics
  const mean = new Float64Array(dim), std = new Float64Array(dim);
  for (const i of tr) for (let d = 0; d < dim; d++) mean[d] += X[i * dim + d] / tr.length;
  for (const i of tr) {
    for (let d = 0; d < dim; d++) std[d] += (X[i * dim + d] - mean[d]) ** 2 / tr.length;
  }
  for (let d = 0; d < dim; d++) std[d] = Math.sqrt(std[d]) || 1;
  const Z = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dim; d++) Z[i * dim + d] = (X[i * dim + d] - mean[d]) / std[d];
  }
  const cw = counts.map((c) => (o.classWeights === "balanced" && c > 0 ? n / (k * c) : 1));

  const W = new Float64Array(k * dim), b = new Float64Array(k);
  const vW = new Float64Array(k * dim), vb = new Float64Array(k);
  const p = new Float64Array(k);
  const forward = (i: number) => {
    let max = -Infinity;
    for (let c = 0; c < k; c++) {
      let s = b[c];
      for (let d = 0; d < dim; d++) s += W[c * dim + d] * Z[i * dim + d];
      p[c] = s;
      if (s > max) max = s;
    }
    let z = 0;
    for (let c = 0; c < k; c++) z += p[c] = Math.exp(p[c] - max);
    for (let c = 0; c < k; c++) p[c] /= z;
  };
  const loss = (rows: number[]) => {
    if (!rows.length) return 0;
    let l = 0;
    for (const i of rows) {
      forward(i);
      l -= cw[y[i]] * Math.log(Math.max(p[y[i]], 1e-12));
    }
    return l / rows.length;
  };
  let best = { loss: Infinity, epoch: 0, W: W.slice(), b: b.slice() };
  let epoch = 0;
  const gW = new Float64Array(k * dim), gb = new Float64Array(k);
  for (; epoch < o.maxEpochs; epoch++) {
    for (let i = tr.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [tr[i], tr[j]] = [tr[j], tr[i]];
    }
    for (let s = 0; s < tr.length; s += o.batchSize) {
      const batch = tr.slice(s, s + o.batchSize);
      gW.fill(0);
      gb.fill(0);
      for (const i of batch) {
        forward(i);
        for (let c = 0; c < k; c++) {
          const g = cw[y[i]] * (p[c] - (c === y[i] ? 1 : 0)) / batch.length;
          gb[c] += g;
          for (let d = 0; d < dim; d++) gW[c * dim + d] += g * Z[i * dim + d];
        }
      }
      for (let j = 0; j < W.length; j++) {
        vW[j] = 0.9 * vW[j] - o.learningRate * (gW[j] + o.l2 * W[j]);
        W[j] += vW[j];
      }
      for (let c = 0; c < k; c++) {
        vb[c] = 0.9 * vb[c] - o.learningRate * gb[c];
        b[c] += vb[c];
      }
    }
    const vl = val.length ? loss(val) : loss(tr);
    onEpoch?.(epoch + 1, loss(tr), vl);
    if (vl < best.loss - 1e-6) best = { loss: vl, epoch: epoch + 1, W: W.slice(), b: b.slice() };
    else if (epoch + 1 - best.epoch >= o.patience) {
      epoch++;
      break;
    }
  }
  return {
    format: "embedge-classifier/1",
    labels,
    dim,
    mean: Array.from(mean),
    std: Array.from(std),
    weights: Array.from(
      { length: k },
      (_, c) => Array.from(best.W.subarray(c * dim, (c + 1) * dim)),
    ),
    bias: Array.from(best.b),
    embedding,
    training: { epochs: epoch, bestEpoch: best.epoch, validationLoss: best.loss, options: rest },
  };
}

/** Class probabilities `[rows, classes]`, row-major.
 *
 * @example
 * ```ts
 * import { predictProba, train } from "./logistic.ts";
 * const embedding = { modelId: "m", pooling: "mean", normalize: true };
 * const clf = train(Float32Array.of(0, 1, 5, 6), Int32Array.of(0, 0, 1, 1), 1, ["neg", "pos"], { embedding });
 * const p = predictProba(clf, Float32Array.of(0.5, 5.5)); // 2 rows × 2 classes
 * ```
 */
export function predictProba(clf: Classifier, X: Float32Array): Float32Array {
  const dim = clf.dim, k = clf.labels.length;
  if (X.length % dim !== 0) throw new InputError(`features must be rows of ${dim}`, "features");
  const n = X.length / dim;
  const out = new Float32Array(n * k);
  const z = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dim; d++) {
      const v = X[i * dim + d];
      if (!Number.isFinite(v)) {
        throw new InputError(`feature ${d} of row ${i} is not finite`, "features");
      }
      z[d] = (v - clf.mean[d]) / clf.std[d];
    }
    let max = -Infinity;
    const s = clf.bias.map((b, c) => {
      let t = b;
      for (let d = 0; d < dim; d++) t += clf.weights[c][d] * z[d];
      if (t > max) max = t;
      return t;
    });
    let sum = 0;
    for (let c = 0; c < k; c++) sum += s[c] = Math.exp(s[c] - max);
    for (let c = 0; c < k; c++) out[i * k + c] = s[c] / sum;
  }
  return out;
}

/** Accuracy, per-class precision/recall/F1/support and the confusion matrix (rows: truth).
 *
 * @example
 * ```ts
 * import { evaluate, train } from "./logistic.ts";
 * const embedding = { modelId: "m", pooling: "mean", normalize: true };
 * const clf = train(Float32Array.of(0, 1, 5, 6), Int32Array.of(0, 0, 1, 1), 1, ["neg", "pos"], { embedding });
 * console.log(evaluate(clf, Float32Array.of(0.5, 5.5), Int32Array.of(0, 1)).confusion); // [[1, 0], [0, 1]]
 * ```
 */
export function evaluate(clf: Classifier, X: Float32Array, y: Int32Array) {
  const k = clf.labels.length;
  const probs = predictProba(clf, X);
  const confusion = Array.from({ length: k }, () => new Array(k).fill(0));
  let correct = 0;
  y.forEach((t, i) => {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[i * k + c] > probs[i * k + best]) best = c;
    confusion[t][best]++;
    if (best === t) correct++;
  });
  const perClass = clf.labels.map((label, c) => {
    const tp = confusion[c][c];
    const predicted = confusion.reduce((a, row) => a + row[c], 0);
    const support = confusion[c].reduce((a, v) => a + v, 0);
    const precision = predicted ? tp / predicted : 0, recall = support ? tp / support : 0;
    return {
      label,
      precision,
      recall,
      f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0,
      support,
    };
  });
  return { accuracy: y.length ? correct / y.length : 0, perClass, confusion };
}

/** Checks an artifact (e.g. parsed JSON) and that it matches the embedding setup in use;
 * throws `InputError` naming the mismatched field.
 *
 * @example
 * ```ts
 * import { checkClassifier, train } from "./logistic.ts";
 * const embedding = { modelId: "m", pooling: "mean", normalize: true };
 * const clf = train(Float32Array.of(0, 1, 5, 6), Int32Array.of(0, 0, 1, 1), 1, ["neg", "pos"], { embedding });
 * checkClassifier(JSON.parse(JSON.stringify(clf)), embedding); // ok; { ...embedding, pooling: "cls" } throws
 * ```
 */
export function checkClassifier(value: unknown, setup?: EmbeddingSetup): Classifier {
  const c = value as Classifier;
  const ok = c && c.format === "embedge-classifier/1" && Array.isArray(c.labels) &&
    c.labels.length >= 2 &&
    Number.isInteger(c.dim) && c.mean?.length === c.dim && c.std?.length === c.dim &&
    c.weights?.length === c.labels.length && c.weights.every((w) => w.length === c.dim) &&
    c.bias?.length === c.labels.length && typeof c.embedding?.modelId === "string";
  if (!ok) throw new InputError("not an embedge classifier artifact", "classifier");
  if (setup) {
    for (const key of ["modelId", "pooling", "normalize"] as const) {
      if (c.embedding[key] !== setup[key]) {
        throw new InputError(
          `classifier was trained with ${key} ${JSON.stringify(c.embedding[key])}, not ${
            JSON.stringify(setup[key])
          }`,
          "classifier",
        );
      }
    }
  }
  return c;
}
