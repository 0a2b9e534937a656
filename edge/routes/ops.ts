/**
 * The routes that describe and watch the server: `GET /health` (liveness), `/info` (model,
 * dimensions, limits), `/metrics` (Prometheus), `/openapi.json` and `/docs`.
 *
 * @module
 */
import { Hono } from "../../src/deps/hono.ts";
import { POOLINGS } from "../../src/model/pooling.ts";
import { answer } from "../contract.ts";
import { openApiDocument } from "../openapi.ts";
import { type DocsAssets, docsRoutes } from "../docs.ts";
import type { Env, Server } from "../server.ts";

/**
 * The operations routes of `server`; `/docs` is Swagger UI where its files are given
 * (docs.ts), else a plain page.
 */
export function opsRoutes(server: Server, docsAssets?: DocsAssets): Hono<Env> {
  const { routes, info, metrics } = server;
  const app = new Hono<Env>();
  app.get("/health", (c) => c.json(answer(routes["/health"], { status: "ok" })));
  app.get("/info", (c) => c.json(answer(routes["/info"], infoOf(server))));
  app.get(
    "/metrics",
    (c) => c.text(metrics.render(), 200, { "content-type": "text/plain; version=0.0.4" }),
  );
  app.get("/openapi.json", (c) => c.json(openApiDocument(info, routes)));
  app.route("/", docsRoutes(docsAssets));
  return app;
}

/** The `/info` answer: the model, its choices, the classifier heads and every limit. */
function infoOf({ embedder, info, classifiers, limits, batcher }: Server) {
  return {
    model_id: info.modelId,
    model_type: "embedding" as const,
    dimensions: embedder.dimensions(),
    hidden_size: info.hiddenSize,
    max_input_length: info.maxLength,
    pooling: info.pooling,
    normalize: info.normalize,
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
