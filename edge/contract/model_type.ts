/**
 * `/info`'s `model_type`, as text-embeddings-inference (TEI) reports it: `{ embedding: {
 * pooling } }`, `{ classifier: { id2label, label2id } }` or `{ reranker: { id2label,
 * label2id } }` (TEI's `ModelType`; a one-label classifier is a reranker, and a SPLADE
 * model is an embedding model with pooling `splade`).
 *
 * TEI serves one model and names its type. embedge serves an embedding model and, beside
 * it, optionally a sequence-classification or SPLADE model; `model_type` names the model
 * `POST /` and `/invocations` answer with (app.ts `dispatchOf`: the classifier, else the
 * SPLADE model, else the embedding model), so that a client reading `/info` learns what
 * TEI's root route does here. The embedding model's own pooling stays in `/info`'s
 * `pooling`.
 *
 * @example
 * ```ts
 * import { teiModelType } from "./model_type.ts";
 * console.log(teiModelType({ pooling: "mean" })); // { embedding: { pooling: "mean" } }
 * console.log(teiModelType({ pooling: "mean", labels: ["negative", "positive"] }));
 * // { classifier: { id2label: { "0": "negative", "1": "positive" }, label2id: { negative: 0, positive: 1 } } }
 * console.log(teiModelType({ pooling: "mean", labels: ["relevance"] }).reranker !== undefined); // true
 * console.log(teiModelType({ pooling: "mean", sparse: true })); // { embedding: { pooling: "splade" } }
 * ```
 * @module
 */
import { POOLINGS } from "../../src/model/pooling.ts";
import { schema } from "../schema.ts";

/** TEI's `ClassifierModel`: the labels by logit index, and the index of each label. */
export interface ClassifierModel {
  id2label: Record<string, string>;
  label2id: Record<string, number>;
}

/** TEI's `ModelType`: one key, the kind of the served model. */
export interface TeiModelType {
  embedding?: { pooling: string };
  classifier?: ClassifierModel;
  reranker?: ClassifierModel;
}

/** What decides the model type: the embedding model's pooling, and the other models. */
export interface ServedModels {
  /** The embedding model's pooling. */
  pooling: string;
  /** The sequence-classification model's labels, when one is loaded. */
  labels?: readonly string[];
  /** Whether a SPLADE model is loaded. */
  sparse?: boolean;
}

/** The model type of the model the root route answers with (see the module comment). */
export function teiModelType({ pooling, labels, sparse }: ServedModels): TeiModelType {
  if (labels) {
    const classifier = {
      id2label: Object.fromEntries(labels.map((label, i) => [String(i), label])),
      label2id: Object.fromEntries(labels.map((label, i) => [label, i])),
    };
    return labels.length === 1 ? { reranker: classifier } : { classifier };
  }
  return { embedding: { pooling: sparse ? "splade" : pooling } };
}

const classifierModel = {
  type: "object",
  properties: {
    id2label: { type: "object", additionalProperties: { type: "string" } },
    label2id: { type: "object", additionalProperties: { type: "integer", minimum: 0 } },
  },
  required: ["id2label", "label2id"],
  additionalProperties: false,
};
/** One key of `ModelType`, its value as `value` describes it. */
const variant = (key: string, value: Record<string, unknown>) => ({
  type: "object",
  properties: { [key]: value },
  required: [key],
  additionalProperties: false,
});

/** The schema of `model_type` in `/info` (OpenAPI document and answer type). */
export const modelTypeSchema = schema<TeiModelType>({
  oneOf: [
    variant("embedding", {
      type: "object",
      properties: { pooling: { type: "string", enum: [...POOLINGS, "splade"] } },
      required: ["pooling"],
      additionalProperties: false,
    }),
    variant("classifier", classifierModel),
    variant("reranker", classifierModel),
  ],
});
