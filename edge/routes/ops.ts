/**
 * The routes that describe and watch the server: `GET /health` (liveness), `/info` (model,
 * dimensions, limits), `/metrics` (Prometheus), `/openapi.json` and `/docs`.
 *
 * @module
 */
import { Hono } from "../../src/deps/hono.ts";
import { POOLINGS } from "../../src/model/pooling.ts";
import { answer } from "../contract/route.ts";
import { openApiDocument } from "../openapi.ts";
import { type DocsAssets, docsRoutes } from "../docs.ts";
import { EMBEDGE_VERSION, type Env, type Server } from "../server.ts";
import { teiModelType } from "../contract/model_type.ts";

/**
 * The operations routes of `server`; `/docs` is Swagger UI where its files are given
 * (docs.ts), else a plain page.
 */
export function opsRoutes(server: Server, docsAssets?: DocsAssets): Hono<Env> {
  const { routes, info, metrics } = server;
  const app = new Hono<Env>();
  // /ping and GET / are TEI's other health routes (probes use them)
  for (const path of ["/health", "/ping", "/"] as const) {
    app.get(path, (c) => c.json(answer(routes[path], { status: "ok" })));
  }
  app.get("/info", (c) => c.json(answer(routes["/info"], infoOf(server))));
  app.get(
    "/metrics",
    (c) => c.text(metrics.render(), 200, { "content-type": "text/plain; version=0.0.4" }),
  );
  app.get("/openapi.json", (c) => c.json(openApiDocument(info, routes)));
  app.route("/", docsRoutes(docsAssets));
  return app;
}

/**
 * The ONNX file's number type, as its name tells it (the Hub's conventions:
 * `model_fp16.onnx`, `model_quantized.onnx`, `model_int8.onnx`, …); float32 otherwise.
 */
export function modelDtype(onnxFile: string): "float32" | "float16" | "int8" {
  if (/fp16|float16/i.test(onnxFile)) return "float16";
  if (/quantized|int8|uint8|q8/i.test(onnxFile)) return "int8";
  return "float32";
}

/**
 * The `/info` answer: TEI's `Info` (its required fields and `max_batch_requests`), then
 * the model, its choices, the classifier heads and every limit. `model_type` is the type of
 * the model `POST /` answers with (contract/model_type.ts); every other field describes the
 * embedding model.
 */
function infoOf(server: Server) {
  const { embedder, info, classifiers, limits, batcher, textClassifier, sparseEncoder } = server;
  return {
    model_id: info.modelId,
    model_dtype: modelDtype(info.onnxFile),
    model_type: teiModelType({
      pooling: info.pooling,
      ...(textClassifier ? { labels: textClassifier.info.labels } : {}),
      sparse: sparseEncoder !== undefined,
    }),
    // the queue bound is what limits concurrent work here (in inputs, not requests)
    max_concurrent_requests: batcher.options.maxQueue,
    max_batch_tokens: info.batchTokens,
    max_batch_requests: batcher.options.maxBatchInputs,
    max_client_batch_size: limits.maxInputs,
    auto_truncate: false, // long inputs are refused unless a request sets truncate
    tokenization_workers: 1, // each request is tokenized on the thread that reads it
    version: EMBEDGE_VERSION,
    dimensions: embedder.dimensions(),
    hidden_size: info.hiddenSize,
    max_input_length: info.maxLength,
    pooling: info.pooling,
    normalize: info.normalize,
    prompts: { ...info.prompts },
    default_prompt_name: info.defaultPromptName ?? null,
    poolings: POOLINGS.filter((p) => p !== "pooler" || info.hasPooler),
    layers: info.layers,
    layer_selection: info.layerStates,
    backend: info.backend,
    engine: info.engine,
    threads: info.threads,
    workers: info.workers,
    onnx_file: info.onnxFile,
    inputs: [...info.inputs],
    notes: [...info.notes],
    outputs: [...info.outputs],
    classifiers: Object.entries(classifiers).map(([name, c]) => ({
      name,
      labels: c.labels,
      pooling: c.embedding.pooling,
    })),
    limits: {
      max_body_bytes: limits.maxBodyBytes,
      max_inputs: limits.maxInputs,
      max_input_chars: limits.maxInputChars,
      max_output_floats: limits.maxOutputFloats,
      timeout_ms: limits.timeoutMs,
      max_queue: batcher.options.maxQueue,
      batch_wait_ms: batcher.options.maxWaitMs,
      max_batch_inputs: batcher.options.maxBatchInputs,
      batch_tokens: info.batchTokens,
      dynamic_batching: batcher.options.enabled,
    },
  };
}
