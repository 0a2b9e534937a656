/**
 * From a classifier's logits to ranked labels: the function applied to each row (`softmax`
 * over the labels, `sigmoid` per label, or `none` for the raw logits), then the labels
 * sorted by score, best first, cut to `topK`. The default function follows Hugging Face's
 * text-classification pipeline: `sigmoid` for a multi-label problem or a single output,
 * `softmax` otherwise.
 *
 * @example
 * ```ts
 * import { rankLabels, scoreRows } from "./scores.ts";
 * const scores = scoreRows(Float32Array.of(-1.762, 1.9935), 2, "softmax");
 * console.log(rankLabels(scores, 2, ["negative", "positive"], 2)[0][0].label); // positive
 * ```
 * @module
 */

/** What turns logits into scores. */
export type ScoreFunction = "softmax" | "sigmoid" | "none";

/** The functions, for validation and help texts. */
export const SCORE_FUNCTIONS: readonly ScoreFunction[] = ["softmax", "sigmoid", "none"];

/** One label of one input, with its score. */
export interface LabelScore {
  label: string;
  score: number;
}

/**
 * The function a model's config asks for: `sigmoid` when `problem_type` is
 * `multi_label_classification` or there is one label (a regression-like score), else
 * `softmax`.
 */
export function defaultScoreFunction(problemType: unknown, labels: number): ScoreFunction {
  return problemType === "multi_label_classification" || labels === 1 ? "sigmoid" : "softmax";
}

/**
 * `fn` applied to `[rows, labels]` logits (a new array). Softmax subtracts each row's
 * maximum first, so large logits do not overflow `exp`; sums run in float64.
 */
export function scoreRows(logits: Float32Array, labels: number, fn: ScoreFunction): Float64Array {
  const out = Float64Array.from(logits);
  if (fn === "none") return out;
  if (fn === "sigmoid") {
    for (let i = 0; i < out.length; i++) out[i] = 1 / (1 + Math.exp(-out[i]));
    return out;
  }
  for (let start = 0; start < out.length; start += labels) {
    const row = out.subarray(start, start + labels);
    let max = -Infinity, sum = 0;
    for (const x of row) max = Math.max(max, x);
    for (let j = 0; j < labels; j++) {
      row[j] = Math.exp(row[j] - max);
      sum += row[j];
    }
    for (let j = 0; j < labels; j++) row[j] /= sum;
  }
  return out;
}

/** Per row the `topK` labels by score, best first (ties keep label order). */
export function rankLabels(
  scores: Float64Array,
  labels: number,
  names: readonly string[],
  topK: number,
): LabelScore[][] {
  const rows: LabelScore[][] = [];
  for (let start = 0; start < scores.length; start += labels) {
    const row = Array.from({ length: labels }, (_, j) => ({
      label: names[j],
      score: scores[start + j],
    }));
    row.sort((a, b) => b.score - a.score);
    rows.push(row.slice(0, topK));
  }
  return rows;
}
