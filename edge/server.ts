/**
 * What the parts of the app share: the model, its limits (the app's options with their
 * defaults), the batching queue, the metrics, the API contract and the classifier heads,
 * made once by `createApp` and handed to each group of routes; and `Env`, the values the
 * middleware sets on each request for the routes.
 *
 * @module
 */
import type { Embedder, ModelInfo } from "../src/model/embedder.ts";
import { checkClassifier, type Classifier } from "../src/classifier/logistic.ts";
import type { Batcher } from "./batching/batcher.ts";
import type { Turn } from "./batching/jobs.ts";
import type { Metrics } from "./metrics.ts";
import type { Contract } from "./contract/table.ts";
import type { TextClassifier } from "../src/model/classify/text_classifier.ts";
import type { SparseEncoder } from "../src/model/sparse/sparse_encoder.ts";

/** embedge's version (package.json's; `/info` and the OpenAPI document report it). */
export const EMBEDGE_VERSION = "0.1.0";

/** The app's limits and switches, every one set (app.ts fills in the defaults). */
export interface Limits {
  maxBodyBytes: number;
  maxInputs: number;
  maxInputChars: number;
  maxOutputFloats: number;
  timeoutMs: number;
  bodyTimeoutMs: number;
  log: boolean;
}

/** One app's shared state. */
export interface Server {
  embedder: Embedder;
  info: ModelInfo;
  limits: Limits;
  batcher: Batcher;
  metrics: Metrics;
  routes: Contract;
  classifiers: Record<string, Classifier>;
  /** The sequence-classification model of `/predict` and `/rerank`, when one is loaded. */
  textClassifier?: TextClassifier;
  /** The SPLADE model of `/embed_sparse`, when one is loaded. */
  sparseEncoder?: SparseEncoder;
}

/** Per-request values the middleware sets for the routes. */
export type Env = { Variables: { requestId: string; turn: Turn } };

/** The classifier heads, each checked against the model it was trained on. */
export function checkedClassifiers(
  info: ModelInfo,
  heads: Record<string, Classifier>,
): Record<string, Classifier> {
  return Object.fromEntries(
    Object.entries(heads).map(([name, c]) => [
      name,
      checkClassifier(c, {
        modelId: info.modelId,
        pooling: c?.embedding?.pooling,
        normalize: info.normalize,
        layers: c?.embedding?.layers,
        layerMix: c?.embedding?.layerMix,
      }),
    ]),
  );
}
