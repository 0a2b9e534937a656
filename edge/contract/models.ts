/**
 * The contract of TEI's other model types (routes/predict.ts, rerank.ts, sparse.ts):
 * `/predict` (sequence classification of a text, a pair or a batch), `/rerank` (a
 * cross-encoder, a one-label classifier) and `/embed_sparse` (a SPLADE model).
 *
 * @module
 */
import type { TruncationDirection } from "../truncation.ts";
import type { ClassifyInput } from "../../src/model/classify/text_classifier.ts";
import { HttpError } from "../errors.ts";
import {
  array,
  either,
  empty,
  type Field,
  field,
  flag,
  integer,
  invalid,
  number,
  object,
  required,
  schema,
  string,
} from "../schema.ts";
import { type ContractLimits, post } from "./route.ts";

/** What one `/predict` request asks for: its items, and whether it was a batch. */
export interface PredictInputs {
  items: ClassifyInput[];
  batch: boolean;
}

/** TEI's PredictInput: a text, a pair `[a, b]`, or a batch of `[a]` and `[a, b]`. */
function predictInputs(limits: ContractLimits) {
  const text = { type: "string", minLength: 1, maxLength: limits.maxInputChars };
  const pair = { type: "array", items: text, minItems: 2, maxItems: 2 };
  const item = { type: "array", items: text, minItems: 1, maxItems: 2 };
  const batch = { type: "array", items: item, minItems: 1, maxItems: limits.maxInputs };
  const checkText = (t: unknown, p: string): string => {
    if (typeof t !== "string") throw invalid(`${p} must be a string`, p);
    if (t.length === 0) throw empty(`${p} is empty`, p);
    if (t.length > limits.maxInputChars) {
      throw new HttpError(
        413,
        `${p} has ${t.length} characters; the limit is ${limits.maxInputChars}`,
        "invalid_request_error",
        p,
      );
    }
    return t;
  };
  return required(field<PredictInputs | undefined>(
    { oneOf: [text, pair, batch] },
    (v, name) => {
      if (v === undefined || v === null) return undefined;
      if (typeof v === "string") return { items: [checkText(v, name)], batch: false };
      if (!Array.isArray(v)) throw invalid(`${name} must be a text, a pair or a batch`, name);
      if (v.length === 0) throw empty(`${name} must not be empty`, name);
      if (v.every((t) => typeof t === "string")) {
        if (v.length !== 2) {
          throw invalid(
            `${name} as a list of texts must be a pair of two, got ${v.length}; a batch is [["a"], ["b"]]`,
            name,
          );
        }
        return {
          items: [[checkText(v[0], `${name}[0]`), checkText(v[1], `${name}[1]`)]],
          batch: false,
        };
      }
      if (v.length > limits.maxInputs) {
        throw new HttpError(
          400,
          `${name} has ${v.length} items; the limit is ${limits.maxInputs}`,
          "invalid_request_error",
          name,
          {},
          "Validation",
        );
      }
      const items = v.map((x, i): ClassifyInput => {
        const p = `${name}[${i}]`;
        if (!Array.isArray(x) || x.length < 1 || x.length > 2) {
          throw invalid(
            `${p} must be ["text"] or a pair ["text", "text"] (a batch holds arrays)`,
            p,
          );
        }
        const [a, b] = x.map((t, k) => checkText(t, `${p}[${k}]`));
        return b === undefined ? a : [a, b];
      });
      return { items, batch: true };
    },
  ));
}

/** The entries of the other model types: /predict, /rerank (a classifier), /embed_sparse. */
export function modelContract(
  limits: ContractLimits,
  texts: Field<string[]>,
  truncate: Field<boolean>,
  truncationDirection: Field<TruncationDirection>,
  promptName: Field<string | undefined>,
) {
  const labelScores = array(object({ label: string(), score: number() }));
  const teiTruncation = { truncate, truncation_direction: truncationDirection };
  return {
    "/predict": post(
      "TEI's sequence classification (a text, a pair, or a batch); 424 without a classifier",
      { inputs: predictInputs(limits), raw_scores: flag(false), ...teiTruncation },
      either(labelScores, array(labelScores)),
    ),
    "/rerank": post(
      "TEI's reranking of texts against a query by a cross-encoder (a one-label classifier); best first",
      {
        query: required(field<string | undefined>(
          { type: "string", minLength: 1, maxLength: limits.maxInputChars },
          (v, name) => {
            if (v === undefined || v === null) return undefined;
            if (typeof v !== "string") throw invalid(`${name} must be a string`, name);
            if (v.length === 0) throw empty(`${name} is empty`, name);
            if (v.length > limits.maxInputChars) {
              throw new HttpError(
                413,
                `${name} has ${v.length} characters; the limit is ${limits.maxInputChars}`,
                "invalid_request_error",
                name,
              );
            }
            return v;
          },
        )),
        texts,
        raw_scores: flag(false),
        return_text: flag(false),
        ...teiTruncation,
        label: field<string | undefined>({
          type: "string",
          description: "embedge: the label whose logit scores relevance, for a model with several",
        }, (v, name) => {
          if (v === undefined || v === null) return undefined;
          if (typeof v !== "string") throw invalid(`${name} must be a string`, name);
          return v;
        }),
      },
      array(
        object({
          index: integer(),
          score: number(),
          text: schema<string | undefined>({ type: "string" }), // with return_text
        }, ["text"]),
      ),
    ),
    "/embed_sparse": post(
      "TEI's sparse (SPLADE) embeddings: non-zero entries by token id; 424 without a SPLADE model",
      { inputs: texts, ...teiTruncation, prompt_name: promptName },
      array(array(object({ index: integer(), value: number() }))),
    ),
  };
}
