/**
 * The embedge HTTP API as one Hono app, shared by the Deno server and the Cloudflare
 * Worker. Routes stand next to OpenAI's embeddings API and Hugging Face
 * text-embeddings-inference (TEI):
 *
 * - `POST /v1/embeddings` (OpenAI; also `/embeddings`), `POST /embed` (TEI), `POST /embed_all`,
 *   `POST /embed/words`, `POST /tokenize`, `POST /decode`, `POST /similarity`;
 * - TEI's other model types: `POST /predict`, `POST /rerank` (given a `textClassifier`),
 *   `POST /embed_sparse` (given a `sparseEncoder`), 424 without; `POST /` and
 *   `/invocations`, the loaded model's route (`dispatchOf`);
 * - `GET /health` (also `/ping`, `/`), `GET /info`, `GET /metrics` (Prometheus), `GET /openapi.json`, `GET /docs`.
 *
 * Every error is JSON with a 4xx/5xx status, made in one place (errors.ts, through this
 * app's `onError`): OpenAI's `{ error: { message, type, param, code, request_id } }` on
 * `/v1/embeddings` (and paths no route matches), TEI's `{ error, error_type, param,
 * request_id }` with TEI's statuses on every other route.
 *
 * The parts: `middleware/` (context: request id, log line, metrics; auth: the API key;
 * deadline: timeout and client-gone), `body.ts` (reading and checking a body), `admission.ts`
 * (tokenizing once, length limits, answer budgets), `json_stream.ts` (big answers in
 * chunks), and the routes in `routes/` (`openai.ts`, `tei.ts`, `classify.ts`, `ops.ts`), each
 * a sub-app around the shared `Server` (server.ts); the fields and answers of every route
 * are in `contract/`.
 *
 * @example
 * ```ts
 * import { createApp } from "./app.ts";
 * import { Embedder } from "../src/model/embedder.ts";
 * const app = createApp(await Embedder.load("../shared/models/embedge-mini-mlm"), { log: false });
 * const res = await app.request("/embed", { method: "POST", body: JSON.stringify({ inputs: "I love Paris." }) });
 * console.log(res.status); // 200
 * ```
 * @module
 */
import { cors, Hono } from "../src/deps/hono.ts";
import type { Embedder } from "../src/model/embedder.ts";
import type { Classifier } from "../src/classifier/logistic.ts";
import { Batcher, type BatcherOptions } from "./batching/batcher.ts";
import { apiContract } from "./contract/table.ts";
import type { Dispatch, Route } from "./contract/route.ts";
import type { TextClassifier } from "../src/model/classify/text_classifier.ts";
import type { SparseEncoder } from "../src/model/sparse/sparse_encoder.ts";
import { predictRoutes } from "./routes/predict.ts";
import { rerankRoutes } from "./routes/rerank.ts";
import { sparseRoutes } from "./routes/sparse.ts";
import { type ErrorFamily, errorResponse, HttpError } from "./errors.ts";
import { Metrics } from "./metrics.ts";
import { requestContext } from "./middleware/context.ts";
import { apiKeyCheck } from "./middleware/auth.ts";
import { deadline } from "./middleware/deadline.ts";
import { classifyRoutes } from "./routes/classify.ts";
import { openaiRoutes } from "./routes/openai.ts";
import { opsRoutes } from "./routes/ops.ts";
import type { DocsAssets } from "./docs.ts";
import { teiRoutes } from "./routes/tei.ts";
import { checkedClassifiers, type Env, type Limits, type Server } from "./server.ts";

export { constantTimeEqual } from "./middleware/auth.ts";

/** Server limits and switches. */
export interface AppOptions {
  /** Largest request body in bytes (default 2 MiB). */
  maxBodyBytes?: number;
  /** Most inputs per request (default 256). */
  maxInputs?: number;
  /** Longest input in UTF-16 code units (default 100,000). */
  maxInputChars?: number;
  /**
   * Most numbers in one answer (default 4,194,304, about 40 MB of JSON): `/embed_all` and
   * `/embed/words` count tokens × vector width, `/embed` and `/v1/embeddings` inputs ×
   * dimensions, `/tokenize` 8 per token. Past it a 413 naming the inputs, decided before
   * the model runs (for `/tokenize`, before the answer is written).
   */
  maxOutputFloats?: number;
  /** Request timeout in ms (default 30,000): 503 past it. */
  timeoutMs?: number;
  /**
   * Time the whole request body may take to arrive, in ms (default 10,000): a body that
   * stalls (shorter than its Content-Length, a slow trickle) is a 408.
   */
  bodyTimeoutMs?: number;
  /** Require `Authorization: Bearer <key>` when set. */
  apiKey?: string;
  /** Allowed CORS origins (default `*`). */
  corsOrigins?: string | string[];
  /** Dynamic batching (see Batcher). */
  batching?: BatcherOptions;
  /** Write one JSON log line per request (default true). */
  log?: boolean;
  /** Classifier heads by name, served at POST /classify (checked against the model). */
  classifiers?: Record<string, Classifier>;
  /** Swagger UI's files for `/docs` (docs.ts; the Deno entry reads the installed package). */
  docsAssets?: DocsAssets;
  /**
   * A sequence-classification model for TEI's `/predict` and, with one label (a
   * cross-encoder), `/rerank`. Without it those routes answer TEI's 424.
   */
  textClassifier?: TextClassifier;
  /** A SPLADE model for TEI's `/embed_sparse` (without it, 424). */
  sparseEncoder?: SparseEncoder;
}

/**
 * The route `POST /` and `/invocations` stand for, as TEI picks it by its model's type:
 * the classifier's (`/rerank` for a one-label model, else `/predict`), else the SPLADE
 * model's, else `/embed`.
 */
export function dispatchOf(options: AppOptions): Dispatch {
  if (options.textClassifier) {
    return options.textClassifier.info.labels.length === 1 ? "/rerank" : "/predict";
  }
  return options.sparseEncoder ? "/embed_sparse" : "/embed";
}

/**
 * Builds the app around a loaded model: the middleware (CORS, then the request's context,
 * the API key, the deadline), the four groups of routes, and one way for errors to become
 * answers.
 */
export function createApp(embedder: Embedder, options: AppOptions = {}): Hono<Env> {
  const limits: Limits = {
    maxBodyBytes: options.maxBodyBytes ?? 2 * 1024 * 1024,
    maxInputs: options.maxInputs ?? 256,
    maxInputChars: options.maxInputChars ?? 100_000,
    maxOutputFloats: options.maxOutputFloats ?? 4 * 1024 * 1024,
    timeoutMs: options.timeoutMs ?? 30_000,
    bodyTimeoutMs: options.bodyTimeoutMs ?? 10_000,
    log: options.log ?? true,
  };
  const metrics = new Metrics();
  const batcher = new Batcher(embedder, options.batching, metrics);
  metrics.queueDepth = () => batcher.depth;
  const info = embedder.info;
  const classifiers = checkedClassifiers(info, options.classifiers ?? {});
  const dispatch = dispatchOf(options);
  const routes = apiContract(
    embedder,
    { maxInputs: limits.maxInputs, maxInputChars: limits.maxInputChars },
    Object.keys(classifiers),
    dispatch,
  );
  const { textClassifier, sparseEncoder } = options;
  const server: Server = {
    embedder,
    info,
    limits,
    batcher,
    metrics,
    routes,
    classifiers,
    textClassifier,
    sparseEncoder,
  };
  /** WASM inference on this thread: no timer can fire while it runs. */
  const modelBlocksEventLoop = info.backend === "wasm" && info.workers === 0;

  const app = new Hono<Env>();
  app.use("*", cors({ origin: options.corsOrigins ?? "*" }));
  // One path for errors: the middleware below and the routes throw, and Hono hands every
  // throw to `onError`, which answers with the request id (set first, by the context
  // middleware). The log line and the metrics are written by the context middleware after
  // the answer is made, so they see the error's status too.
  app.use("*", requestContext(metrics, limits.log));
  app.use("*", apiKeyCheck(options.apiKey));
  app.use("*", deadline(limits.timeoutMs, modelBlocksEventLoop));
  // each error in the shape of its route's API (contract/route.ts `family`; OpenAI's off-route)
  const familyOf = (path: string): ErrorFamily =>
    (routes as Record<string, Route>)[path]?.family ?? "openai";
  app.onError((e, c) => errorResponse(e, c.get("requestId"), familyOf(c.req.path)));
  app.notFound(notFound(app, familyOf));
  // the sub-apps have no onError of their own: their errors reach the one above
  app.route("/", opsRoutes(server, options.docsAssets));
  app.route("/", openaiRoutes(server));
  // TEI's POST / and /invocations: the loaded model's route, mounted at those paths too
  const at = (path: Dispatch) => path === dispatch ? ["/", "/invocations"] : [];
  app.route("/", teiRoutes(server, at("/embed")));
  app.route("/", classifyRoutes(server));
  app.route("/", predictRoutes(server, at("/predict")));
  app.route("/", rerankRoutes(server, at("/rerank")));
  app.route("/", sparseRoutes(server, at("/embed_sparse")));
  return app;
}

/**
 * The answer when no route matches: a known path with another method is a 405 with the
 * methods it has (RFC 9110 §15.5.6), anything else a 404.
 */
function notFound(app: Hono<Env>, familyOf: (path: string) => ErrorFamily) {
  let methods: Record<string, string[]> | undefined; // the routes, once they are all added
  return (c: Parameters<Parameters<typeof app.notFound>[0]>[0]) => {
    const id = c.get("requestId");
    if (!methods) {
      methods = {};
      for (const r of app.routes) {
        if (r.method !== "ALL" && !r.path.includes("*")) (methods[r.path] ??= []).push(r.method);
      }
    }
    const allowed = methods[c.req.path];
    if (allowed) {
      return errorResponse(
        new HttpError(
          405,
          `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(" or ")}`,
          "method_not_allowed",
          null,
          { allow: allowed.join(", ") },
        ),
        id,
        familyOf(c.req.path),
      );
    }
    return errorResponse(
      new HttpError(404, `no route ${c.req.method} ${c.req.path}`, "not_found"),
      id,
    );
  };
}
