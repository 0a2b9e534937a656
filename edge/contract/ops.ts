/**
 * The contract of the operations routes (routes/ops.ts): liveness (`/health`, and TEI's
 * `/ping` and `GET /`), `/info` (TEI's Info fields, then embedge's), `/metrics`,
 * `/openapi.json` and `/docs`.
 *
 * @module
 */
import { POOLINGS } from "../../src/model/pooling.ts";
import {
  array,
  boolean,
  integer,
  literal,
  nullable,
  number,
  object,
  schema,
  string,
} from "../schema.ts";
import { get } from "./route.ts";
import { modelTypeSchema } from "./model_type.ts";

/** `/info`'s answer. */
function infoSchema() {
  return object({
    // TEI's Info (its required fields), then embedge's own
    model_id: string(),
    model_dtype: literal(["float32", "float16", "int8"]),
    model_type: modelTypeSchema, // the model POST / answers with (model_type.ts)
    max_concurrent_requests: integer(),
    max_batch_tokens: integer(),
    max_batch_requests: integer(),
    max_client_batch_size: integer(),
    auto_truncate: boolean(),
    tokenization_workers: integer(),
    version: string(),
    dimensions: integer(),
    hidden_size: integer(),
    max_input_length: integer(),
    pooling: literal(POOLINGS),
    normalize: boolean(),
    // the model's prompts (config_sentence_transformers.json) and the one applied when
    // a request names none: TEI's Info does not list them
    prompts: schema<Record<string, string>>({
      type: "object",
      additionalProperties: { type: "string" },
    }),
    default_prompt_name: nullable(string()),
    poolings: array(literal(POOLINGS)),
    layers: integer(),
    layer_selection: boolean(),
    backend: literal(["native", "wasm"]),
    engine: literal(["onnxruntime-node", "onnxruntime-web", "embedge-kernels"]),
    threads: integer(),
    workers: integer(),
    onnx_file: string(),
    inputs: array(string()),
    notes: array(string()),
    outputs: array(string()),
    classifiers: array(object({
      name: string(),
      labels: array(string()),
      pooling: string(),
    })),
    limits: object({
      max_body_bytes: integer(),
      max_inputs: integer(),
      max_input_chars: integer(),
      max_output_floats: integer(),
      timeout_ms: integer(),
      max_queue: integer(),
      batch_wait_ms: number(),
      max_batch_inputs: integer(),
      batch_tokens: integer(),
      dynamic_batching: boolean(),
    }),
  });
}

/** The operations routes' entries. */
export function opsContract() {
  const health = object({ status: literal(["ok"]) });
  return {
    "/health": get("Liveness", health),
    // TEI's other health routes (outside its document: load balancers and SageMaker probe them)
    "/ping": get("Liveness (as /health)", health),
    "/": get("Liveness (as /health)", health),
    "/info": get("Model, dimensions, limits", infoSchema()),
    "/metrics": get("Prometheus metrics", string(), "text/plain"),
    "/openapi.json": get("This document", schema<unknown>({ type: "object" })),
    "/docs": get("API docs page", string(), "text/html"),
  };
}
