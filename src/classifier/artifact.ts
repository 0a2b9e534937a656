/**
 * The saved classifier (`embedge-classifier/1`, JSON): its fields, the embedding setup and
 * training it records, and `checkClassifier`, which refuses a file of the wrong shape or
 * one trained on another embedding setup. logistic.ts trains and applies it.
 *
 * @example
 * ```ts
 * import { checkClassifier } from "./artifact.ts";
 * try {
 *   checkClassifier({ format: "embedge-classifier/1", labels: ["a"] });
 * } catch (e) {
 *   console.log((e as Error).name); // InputError
 * }
 * ```
 * @module
 */
import { InputError } from "../errors.ts";
import { POOLINGS } from "../model/pooling.ts";

/** The embedding setup a classifier was trained on (it refuses any other). */
export interface EmbeddingSetup {
  modelId: string;
  pooling: string;
  normalize: boolean;
  maxLength?: number;
  /** Encoder layers read (absent: the last layer only). */
  layers?: number[];
  /** How several layers were combined (absent: mean). */
  layerMix?: "mean" | "concat";
}

/** How training ended. */
export interface TrainingRecord {
  /** L-BFGS iterations. */
  iterations: number;
  /** Whether the gradient tolerance was reached. */
  converged: boolean;
  /** The objective at the solution: mean weighted cross-entropy + L2 term. */
  loss: number;
  /** Largest gradient component at the solution. */
  gradientNorm: number;
  options: TrainOptions;
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
  training: TrainingRecord;
  /**
   * The model the head was trained on (a directory or Hub id), which `classify eval` /
   * `predict` and the server load unless told otherwise. Absent in older files.
   */
  model?: string;
}

/** Training options. */
export interface TrainOptions {
  /** L2 strength on the weights (not the biases), per the mean loss (default 1e-4). */
  l2?: number;
  /** `balanced` weighs classes by inverse frequency (default); `none` weighs rows alike. */
  classWeights?: "balanced" | "none";
  /** Stop when no gradient component exceeds this (default 1e-6). */
  gradientTolerance?: number;
  /** Most L-BFGS iterations (default 1000). */
  maxIterations?: number;
}

/** Checks an artifact (e.g. parsed JSON) and that it matches the embedding setup in use;
 * throws `InputError` naming the mismatched field.
 *
 * @example
 * ```ts
 * import { checkClassifier } from "./artifact.ts";
 * import { train } from "./logistic.ts";
 * const embedding = { modelId: "m", pooling: "mean", normalize: true };
 * const clf = train(Float32Array.of(0, 1, 5, 6), Int32Array.of(0, 0, 1, 1), 1, ["neg", "pos"], { embedding });
 * checkClassifier(JSON.parse(JSON.stringify(clf)), embedding); // ok; { ...embedding, pooling: "cls" } throws
 * ```
 */
export function checkClassifier(value: unknown, setup?: EmbeddingSetup): Classifier {
  const c = checkShape(value);
  if (setup) {
    // absent layers mean the last layer, mixed by mean
    const view = (e: EmbeddingSetup) => ({
      modelId: e.modelId,
      pooling: e.pooling,
      normalize: e.normalize,
      layers: JSON.stringify(e.layers ?? [-1]),
      layerMix: e.layers && e.layers.length > 1 ? e.layerMix ?? "mean" : "mean",
    });
    const trained = view(c.embedding), used = view(setup);
    for (const key of ["modelId", "pooling", "normalize", "layers", "layerMix"] as const) {
      if (trained[key] !== used[key]) {
        throw new InputError(
          `classifier was trained with ${key} ${JSON.stringify(trained[key])}, not ${
            JSON.stringify(used[key])
          }`,
          "classifier",
        );
      }
    }
  }
  return c;
}

/** Largest weight, bias or mean magnitude a head may hold: trained heads on standardized
 * features stay far below it, and it keeps every score finite (no `score: null`). */
const MAX_PARAMETER = 1e6;

/** A field of a classifier file that is not what it must be. */
function bad(field: string, what: string): never {
  throw new InputError(`not an embedge classifier: ${field} ${what}`, "classifier");
}

/** Checks that `values` is an array of `length` finite numbers within `limit`. */
function numbers(field: string, values: unknown, length: number, limit = MAX_PARAMETER): void {
  if (!Array.isArray(values)) bad(field, "must be an array of numbers");
  if (values.length !== length) bad(field, `has ${values.length} values, not ${length}`);
  values.forEach((v, i) => {
    if (typeof v !== "number" || !Number.isFinite(v) || Math.abs(v) > limit) {
      bad(`${field}[${i}]`, `must be a finite number within ±${limit}, not ${JSON.stringify(v)}`);
    }
  });
}

/**
 * Every field of a classifier file, checked before it is used: the format, two or more
 * distinct labels, the shapes of mean/std/weights/bias against `dim` and the labels, finite
 * numbers (std > 0), and an embedding setup of the right types. The message names the field.
 */
function checkShape(value: unknown): Classifier {
  const c = value as Classifier;
  if (typeof c !== "object" || c === null || Array.isArray(c)) bad("file", "is not an object");
  if (c.format !== "embedge-classifier/1") bad("format", `is ${JSON.stringify(c.format)}`);
  if (!Array.isArray(c.labels) || c.labels.length < 2) bad("labels", "must list 2 or more");
  c.labels.forEach((l, i) => {
    if (typeof l !== "string" || l === "") bad(`labels[${i}]`, "must be a non-empty string");
  });
  if (new Set(c.labels).size !== c.labels.length) bad("labels", "repeat a label");
  if (!Number.isInteger(c.dim) || c.dim < 1 || c.dim > 1_000_000) {
    bad("dim", `must be a whole number ≥ 1, not ${JSON.stringify(c.dim)}`);
  }
  numbers("mean", c.mean, c.dim);
  numbers("std", c.std, c.dim);
  c.std.forEach((v, i) => v > 0 || bad(`std[${i}]`, "must be > 0"));
  if (!Array.isArray(c.weights) || c.weights.length !== c.labels.length) {
    bad("weights", `must be ${c.labels.length} rows (one per label)`);
  }
  c.weights.forEach((row, i) => numbers(`weights[${i}]`, row, c.dim));
  numbers("bias", c.bias, c.labels.length);
  const e = c.embedding;
  if (typeof e !== "object" || e === null) bad("embedding", "is missing");
  if (typeof e.modelId !== "string" || e.modelId === "") bad("embedding.modelId", "is missing");
  if (!(POOLINGS as readonly string[]).includes(e.pooling)) {
    bad("embedding.pooling", `is ${JSON.stringify(e.pooling)}`);
  }
  if (typeof e.normalize !== "boolean") bad("embedding.normalize", "must be true or false");
  if (e.maxLength !== undefined && !(Number.isInteger(e.maxLength) && e.maxLength >= 2)) {
    bad("embedding.maxLength", `is ${JSON.stringify(e.maxLength)}`);
  }
  if (
    e.layers !== undefined &&
    !(Array.isArray(e.layers) && e.layers.length > 0 && e.layers.every(Number.isInteger))
  ) {
    bad("embedding.layers", `is ${JSON.stringify(e.layers)}`);
  }
  if (e.layerMix !== undefined && e.layerMix !== "mean" && e.layerMix !== "concat") {
    bad("embedding.layerMix", `is ${JSON.stringify(e.layerMix)}`);
  }
  if (c.model !== undefined && (typeof c.model !== "string" || c.model === "")) {
    bad("model", "must be a model directory or Hub id");
  }
  return c;
}
