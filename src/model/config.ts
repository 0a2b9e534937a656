/**
 * Model configuration from a Hub-layout directory: `config.json` (BERT sizes),
 * sentence-transformers `1_Pooling/config.json` (default pooling) and `modules.json`
 * (whether a `Normalize` module follows, i.e. default L2 normalization).
 *
 * @example
 * ```ts
 * import { poolingFromSentenceTransformers } from "./config.ts";
 * console.log(poolingFromSentenceTransformers({ pooling_mode_mean_tokens: true })); // mean
 * ```
 * @module
 */
import type { Pooling } from "./pooling.ts";

/** The parts of `config.json` embedge uses. */
export interface ModelConfig {
  modelType?: string;
  hiddenSize?: number;
  layers?: number;
  heads?: number;
  maxPositionEmbeddings?: number;
  layerNormEps?: number;
}

// deno-lint-ignore no-explicit-any
type Json = any;

/** Reads `config.json`. */
export function modelConfig(json: Json): ModelConfig {
  return {
    modelType: json?.model_type,
    hiddenSize: json?.hidden_size,
    layers: json?.num_hidden_layers,
    heads: json?.num_attention_heads,
    maxPositionEmbeddings: json?.max_position_embeddings,
    layerNormEps: json?.layer_norm_eps,
  };
}

/** The pooling a sentence-transformers `1_Pooling/config.json` asks for. */
export function poolingFromSentenceTransformers(json: Json): Pooling | undefined {
  if (!json) return undefined;
  const mean = !!json.pooling_mode_mean_tokens, max = !!json.pooling_mode_max_tokens;
  if (mean && max) return "mean_max";
  if (mean) return "mean";
  if (max) return "max";
  if (json.pooling_mode_cls_token) return "cls";
  return undefined;
}

/** Whether `modules.json` lists a Normalize module (sentence-transformers L2 normalization). */
export function normalizesByDefault(modules: Json): boolean {
  return Array.isArray(modules) &&
    modules.some((m) => typeof m?.type === "string" && m.type.endsWith("Normalize"));
}
