/**
 * Reranking with a cross-encoder: a sequence-classification model run on `[CLS] query
 * [SEP] text [SEP]` pairs (token types 0 then 1), one logit per pair read as relevance.
 * This module holds the part after the model: which logit scores relevance, the score
 * (sigmoid of that logit unless raw), and TEI's `/rerank` answer `[{ index, score, text? }]`
 * sorted by score, best first. `TextClassifier.rerank` runs the model.
 *
 * @example
 * ```ts
 * import { rankTexts } from "./rerank.ts";
 * const ranks = rankTexts(Float64Array.of(0.2, 0.9, 0.5), ["a", "b", "c"], { returnText: true, topK: 2 });
 * console.log(ranks); // [ { index: 1, score: 0.9, text: "b" }, { index: 2, score: 0.5, text: "c" } ]
 * ```
 * @module
 */
import { InputError } from "../../errors.ts";

/** One ranked text (TEI's `Rank`): its index among the texts given, its score. */
export interface Rank {
  index: number;
  score: number;
  /** The text itself, when `returnText` asked for it. */
  text?: string;
}

/** How the ranks are cut and dressed. */
export interface RankOptions {
  /** Put each text in its rank (default false). */
  returnText?: boolean;
  /** Ranks kept, best first (default all). */
  topK?: number;
}

/**
 * The logit that scores relevance: `label` (an index or a label name) when given, else the
 * only one. A model with several labels and no `label` is an InputError, since which of its
 * logits means "relevant" is not something the model says.
 */
export function relevanceColumn(
  labels: readonly string[],
  label: number | string | undefined,
): number {
  if (label === undefined) {
    if (labels.length === 1) return 0;
    throw new InputError(
      `the model has ${labels.length} labels (${labels.join(", ")}); a reranker has one: ` +
        "name the label that scores relevance (label)",
      "label",
    );
  }
  const column = typeof label === "number" ? label : labels.indexOf(label);
  if (!(Number.isInteger(column) && column >= 0 && column < labels.length)) {
    throw new InputError(
      `label must be one of ${labels.join(", ")} or an index in 0..${labels.length - 1}`,
      "label",
    );
  }
  return column;
}

/** Refuses a `topK` that is not a positive integer, or a `returnText` that is no boolean. */
export function checkRankOptions(options: RankOptions): void {
  if (options.topK !== undefined && !(Number.isInteger(options.topK) && options.topK >= 1)) {
    throw new InputError("topK must be a positive integer", "topK");
  }
  if (options.returnText !== undefined && typeof options.returnText !== "boolean") {
    throw new InputError("returnText must be true or false", "returnText");
  }
}

/**
 * The texts' ranks by score, best first; equal scores keep the texts' order (so a run is
 * reproducible), cut to `topK`.
 */
export function rankTexts(
  scores: Float64Array,
  texts: readonly string[],
  options: RankOptions = {},
): Rank[] {
  checkRankOptions(options);
  const topK = options.topK ?? texts.length;
  const order = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
  return order.slice(0, topK).map((index) => ({
    index,
    score: scores[index],
    ...(options.returnText ? { text: texts[index] } : {}),
  }));
}
