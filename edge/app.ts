/**
 * The embedge HTTP API as one Hono app, shared by the Deno server and the Cloudflare
 * Worker. Routes stand next to OpenAI's embeddings API and Hugging Face
 * text-embeddings-inference (TEI):
 *
 * - `POST /v1/embeddings` (OpenAI), `POST /embed` (TEI), `POST /embed_all`,
 *   `POST /embed/words`, `POST /tokenize`, `POST /decode`, `POST /similarity`;
 * - `GET /health`, `GET /info`, `GET /metrics` (Prometheus), `GET /openapi.json`, `GET /docs`.
 *
 * Every error is JSON `{ error: { message, type, param } }` with a 4xx/5xx status.
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
import { type Context, cors, Hono } from "../src/deps/hono.ts";
import type { Embedder, EmbedInput, EmbedOptions, EncodedText } from "../src/model/embedder.ts";
import { type Pooling, POOLINGS } from "../src/model/pooling.ts";
import type { LayerMix } from "../src/model/layers.ts";
import { cosine } from "../src/model/similarity.ts";
import { Batcher, type BatcherOptions, type Turn } from "./batcher.ts";
import { errorResponse, HttpError } from "./errors.ts";
import { Metrics } from "./metrics.ts";
import { docsPage, openApiDocument } from "./openapi.ts";
import { apiContract } from "./contract.ts";
import { type Fields, parseFields, type Schema } from "./schema.ts";
import { checkClassifier, type Classifier, predictProba } from "../src/classifier/logistic.ts";

/** Server limits and switches. */
export interface AppOptions {
  /** Largest request body in bytes (default 2 MiB). */
  maxBodyBytes?: number;
  /** Most inputs per request (default 256). */
  maxInputs?: number;
  /** Longest input in UTF-16 code units (default 100,000). */
  maxInputChars?: number;
  /**
   * Most numbers in one response of `/embed_all` or `/embed/words` (tokens × vector width;
   * default 4,194,304, about 40 MB of JSON): past it a 413, decided at admission from the
   * token counts, before the model runs.
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
}

type Json = Record<string, unknown>;

/** Per-request values the middleware sets for the routes. */
type Env = { Variables: { requestId: string; turn: Turn } };

/** Builds the app around a loaded model. */
export function createApp(embedder: Embedder, options: AppOptions = {}): Hono<Env> {
  const o = {
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
  /** WASM inference on this thread: no timer can fire while it runs. */
  const modelBlocksEventLoop = info.backend === "wasm" && info.workers === 0;
  const classifiers = Object.fromEntries(
    Object.entries(options.classifiers ?? {}).map(([name, c]) => [
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
  const app = new Hono<Env>();

  app.use("*", cors({ origin: options.corsOrigins ?? "*" }));
  app.use("*", async (c, next) => {
    const id = c.req.header("x-request-id")?.slice(0, 128) || crypto.randomUUID();
    const t0 = performance.now();
    c.set("requestId", id);
    try {
      if (options.apiKey && !c.req.path.match(/^\/(health|docs|openapi\.json)$/)) {
        // the scheme is case-insensitive (RFC 9110 §11.1); the token is compared in full
        const auth = c.req.header("authorization") ?? "";
        const space = auth.indexOf(" ");
        const scheme = space < 0 ? auth : auth.slice(0, space);
        const token = space < 0 ? "" : auth.slice(space + 1).trim();
        if (
          scheme.toLowerCase() !== "bearer" || !constantTimeEqual(token, options.apiKey)
        ) {
          throw new HttpError(
            401,
            "missing or wrong API key (Authorization: Bearer …)",
            "authentication_error",
          );
        }
      }
      // the request gives up (its inputs leave the batching queue) on timeout or when its
      // client goes away
      const giveUp = new AbortController();
      const clientGone = () =>
        giveUp.abort(new HttpError(499, "the client closed the request", "client_closed"));
      c.req.raw.signal.addEventListener("abort", clientGone, { once: true });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = () =>
        new HttpError(503, `request took longer than ${o.timeoutMs} ms`, "timeout");
      const turn: Turn = {
        signal: giveUp.signal,
        keepAlive: (work) => {
          try {
            c.executionCtx.waitUntil(work); // Workers: finish the job after answering
          } catch { /* Deno: no execution context, nothing to keep alive */ }
        },
        deadline: Date.now() + o.timeoutMs,
        expired,
      };
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          // On time, even while the model runs (native and pooled runs leave the event
          // loop free; the run goes on and its result is dropped). Only where the model runs
          // on the event loop itself (WASM, no workers) can this timer fire no earlier than
          // the run's end: a request whose batch has started then gets its answer.
          if (turn.started && modelBlocksEventLoop) return;
          const e = expired();
          giveUp.abort(e);
          reject(e);
        }, o.timeoutMs);
      });
      c.set("turn", turn);
      try {
        await Promise.race([next(), timeout]);
      } finally {
        clearTimeout(timer);
        c.req.raw.signal.removeEventListener("abort", clientGone);
      }
    } catch (e) {
      c.res = errorResponse(e, id);
    }
    c.res.headers.set("x-request-id", id);
    const seconds = (performance.now() - t0) / 1000;
    metrics.request(routeOf(c.req.path), c.res.status, seconds);
    if (o.log) {
      console.log(JSON.stringify({
        level: "info",
        requestId: id,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(seconds * 1e4) / 10,
      }));
    }
  });
  app.onError((e) => errorResponse(e));
  // a known path with another method is 405 with the methods it has (RFC 9110 §15.5.6)
  let methods: Record<string, string[]> | undefined; // the routes, once they are all added
  app.notFound((c) => {
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
      );
    }
    return errorResponse(new HttpError(404, `no route ${c.req.method} ${c.req.path}`, "not_found"));
  });

  /** Reads and checks the JSON body. */
  async function body(c: Context): Promise<Json> {
    const declared = Number(c.req.header("content-length") ?? 0);
    if (declared > o.maxBodyBytes) {
      throw new HttpError(
        413,
        `body is larger than ${o.maxBodyBytes} bytes`,
        "invalid_request_error",
        "body",
      );
    }
    const reader = c.req.raw.body?.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    const deadline = Date.now() + o.bodyTimeoutMs;
    /** The next chunk: 408 when the body stalls past its deadline, 499 when the client left. */
    const next = () =>
      new Promise<ReadableStreamReadResult<Uint8Array>>((resolve, reject) => {
        const timer = setTimeout(() => {
          reader!.cancel().catch(() => {});
          reject(
            new HttpError(
              408,
              `the request body did not arrive within ${o.bodyTimeoutMs} ms`,
              "request_timeout",
              "body",
            ),
          );
        }, Math.max(0, deadline - Date.now()));
        reader!.read().then((r) => {
          clearTimeout(timer);
          resolve(r);
        }, () => {
          clearTimeout(timer);
          reject(new HttpError(499, "the client closed the request", "client_closed"));
        });
      });
    if (reader) {
      for (;;) {
        const { done, value } = await next();
        if (done) break;
        size += value.length;
        if (size > o.maxBodyBytes) {
          await reader.cancel();
          throw new HttpError(
            413,
            `body is larger than ${o.maxBodyBytes} bytes`,
            "invalid_request_error",
            "body",
          );
        }
        chunks.push(value);
      }
    }
    const buf = new Uint8Array(size);
    let at = 0;
    for (const ch of chunks) {
      buf.set(ch, at);
      at += ch.length;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(buf));
    } catch {
      throw new HttpError(400, "body is not valid JSON (UTF-8)", "invalid_request_error", "body");
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new HttpError(400, "body must be a JSON object", "invalid_request_error", "body");
    }
    return parsed as Json;
  }

  const routes = apiContract(
    embedder,
    { maxInputs: o.maxInputs, maxInputChars: o.maxInputChars },
    Object.keys(classifiers),
  );
  /** The request's fields, each checked by the route's contract (400 naming the first bad one). */
  const request = async <F extends Fields>(c: Context, route: { fields: F }) =>
    parseFields(await body(c), route.fields);
  /** An answer, typed by the route's response schema. */
  const answer = <R>(_route: { response: Schema<R> }, value: NoInfer<R>): R => value;
  /** `layers` and `layer_mix` as embed options (the last layer when `layers` is absent). */
  const layerChoice = (b: { layers: number[] | undefined; layer_mix: LayerMix }) =>
    b.layers ? { layers: b.layers, layerMix: b.layer_mix } : {};

  /**
   * Admission: each text of this request is tokenized here, once, by itself (the model
   * runs on these encodings; nothing downstream tokenizes again), and an input over the
   * limit with `truncate` off is a 413 naming this request's field. Token-id inputs are
   * measured with their `[CLS]` and `[SEP]`.
   */
  function admit(
    list: (string | number[])[],
    truncate: boolean,
    field: string,
    maxLength = info.maxLength,
  ): EmbedInput[] {
    return list.map((x, i) => {
      let n: number, admitted: EmbedInput;
      if (typeof x === "string") {
        // untruncated when truncate is off, so that the error can say how long it is
        const encoded = embedder.encode(x, {
          truncate,
          maxLength: truncate ? maxLength : Number.MAX_SAFE_INTEGER,
        }, `${field}[${i}]`);
        n = encoded.encoding.ids.length;
        admitted = encoded;
      } else {
        n = x.length + 2;
        admitted = x;
      }
      if (!truncate && n > maxLength) {
        throw new HttpError(
          413,
          `${field}[${i}] has ${n} tokens; the limit is ${maxLength} (set truncate to true to cut it)`,
          "invalid_request_error",
          `${field}[${i}]`,
        );
      }
      return admitted;
    });
  }

  app.get("/health", (c) => c.json(answer(routes["/health"], { status: "ok" })));
  app.get("/info", (c) =>
    c.json(answer(routes["/info"], {
      model_id: info.modelId,
      model_type: "embedding",
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
      outputs: [...info.outputs],
      classifiers: Object.entries(classifiers).map(([name, c]) => ({
        name,
        labels: c.labels,
        pooling: c.embedding.pooling,
      })),
      limits: {
        max_body_bytes: o.maxBodyBytes,
        max_inputs: o.maxInputs,
        max_input_chars: o.maxInputChars,
        max_output_floats: o.maxOutputFloats,
        timeout_ms: o.timeoutMs,
        max_queue: batcher.options.maxQueue,
        batch_wait_ms: batcher.options.maxWaitMs,
        max_batch_inputs: batcher.options.maxBatchInputs,
        batch_tokens: info.batchTokens,
        dynamic_batching: batcher.options.enabled,
      },
    })));
  app.get(
    "/metrics",
    (c) => c.text(metrics.render(), 200, { "content-type": "text/plain; version=0.0.4" }),
  );
  app.get("/openapi.json", (c) => c.json(openApiDocument(info, routes)));
  app.get("/docs", (c) => c.html(docsPage()));

  app.post("/v1/embeddings", async (c) => {
    const route = routes["/v1/embeddings"];
    const b = await request(c, route);
    const layers = layerChoice(b);
    const admitted = admit(b.input, b.truncate, "input");
    const full = embedder.dimensions(b.pooling, layers);
    const dims = dimensions(b.dimensions, full);
    const out = await batcher.embed(
      admitted,
      { normalize: true, truncate: b.truncate, pooling: b.pooling, ...layers },
      c.get("turn"),
    );
    const tokens = out.tokenCounts.reduce((a, v) => a + v, 0);
    return c.json(answer(route, {
      object: "list",
      data: b.input.map((_, i) => {
        const v = cut(out.data.subarray(i * full, (i + 1) * full), dims, true);
        return {
          object: "embedding" as const,
          index: i,
          embedding: b.encoding_format === "base64" ? base64(v) : Array.from(v),
        };
      }),
      model: b.model ?? info.modelId,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    }));
  });

  /** The token and word routes refuse the fields of sentence vectors by name. */
  const tokenRequest = async <F extends Fields>(c: Context, route: { fields: F }) => {
    const raw = await body(c);
    for (const f of ["normalize", "pooling", "dimensions"]) {
      if (raw[f] !== undefined) {
        throw new HttpError(
          400,
          `${f} applies to sentence vectors (/embed), not here`,
          "invalid_request_error",
          f,
        );
      }
    }
    return parseFields(raw, route.fields);
  };

  /** A `dimensions` field within the vector's width (full when absent). */
  function dimensions(v: number | undefined, full: number): number {
    if (v === undefined) return full;
    if (v > full) {
      throw new HttpError(
        400,
        `dimensions must be an integer in 1..${full}`,
        "invalid_request_error",
        "dimensions",
      );
    }
    return v;
  }

  /** The first `dims` values of a vector, re-normalized when the vector was normalized. */
  function cut(v: Float32Array, dims: number, normalized: boolean): Float32Array {
    const out = v.slice(0, dims);
    return dims < v.length && normalized ? renormalize(out) : out;
  }

  app.post("/embed", async (c) => {
    const route = routes["/embed"];
    const b = await request(c, route);
    const list = admit(b.inputs, b.truncate, "inputs");
    const opts: EmbedOptions = {
      normalize: b.normalize,
      pooling: b.pooling,
      truncate: b.truncate,
      ...layerChoice(b),
    };
    const full = embedder.dimensions(b.pooling, opts);
    const dims = dimensions(b.dimensions, full);
    const out = await batcher.embed(list, opts, c.get("turn"));
    const d = out.dims[1];
    return c.json(answer(
      route,
      list.map((_, i) => Array.from(cut(out.data.subarray(i * d, (i + 1) * d), dims, b.normalize))),
    ));
  });

  /**
   * The response-size budget of the token routes: every admitted input's tokens times the
   * vector width (word vectors are at most as many as tokens), checked before the model runs.
   */
  function checkOutputSize(list: EmbedInput[], opts: EmbedOptions): void {
    const width = embedder.dimensions("cls", opts); // one token's vector
    const tokens = list.reduce(
      (n, x) => n + (typeof x === "object" && "encoding" in x ? x.encoding.ids.length : 0),
      0,
    );
    if (tokens * width > o.maxOutputFloats) {
      throw new HttpError(
        413,
        `the answer would hold ${tokens} token vectors of ${width} numbers (${
          tokens * width
        }); this server returns at most ${o.maxOutputFloats} per request: send fewer or shorter inputs`,
        "invalid_request_error",
        "inputs",
      );
    }
  }

  app.post("/embed_all", async (c) => {
    const route = routes["/embed_all"];
    const b = await tokenRequest(c, route);
    const list = admit(b.inputs, b.truncate, "inputs");
    const opts: EmbedOptions = { truncate: b.truncate, ...layerChoice(b) };
    checkOutputSize(list, opts);
    const toks = await batcher.exclusive(
      () => embedder.embedTokens(list as EncodedText[], opts),
      c.get("turn"),
      list.length,
    );
    return c.json(answer(
      route,
      toks.map((t) => {
        const h = t.hiddenSize;
        return t.tokens.map((_, k) => Array.from(t.vectors.subarray(k * h, (k + 1) * h)));
      }),
    ));
  });

  app.post("/embed/words", async (c) => {
    const route = routes["/embed/words"];
    const b = await tokenRequest(c, route);
    const list = admit(b.inputs, b.truncate, "inputs");
    const opts: EmbedOptions = { truncate: b.truncate, ...layerChoice(b) };
    checkOutputSize(list, opts);
    const words = await batcher.exclusive(
      () => embedder.embedWords(list as EncodedText[], { ...opts, aggregate: b.aggregate }),
      c.get("turn"),
      list.length,
    );
    return c.json(answer(
      route,
      words.map((w) => ({
        words: w.words.map((word, k) => ({
          word,
          start: w.offsets[2 * k],
          stop: w.offsets[2 * k + 1],
          vector: Array.from(w.vectors.subarray(k * w.hiddenSize, (k + 1) * w.hiddenSize)),
        })),
      })),
    ));
  });

  app.post("/tokenize", async (c) => {
    const route = routes["/tokenize"];
    const b = await request(c, route);
    const padTo = b.max_length;
    const padding = b.padding ?? (padTo ? "max_length" : false);
    if (padding && !padTo) {
      throw new HttpError(400, "padding needs max_length", "invalid_request_error", "max_length");
    }
    const special = b.add_special_tokens;
    return c.json(answer(
      route,
      b.inputs.map((text) => {
        const e = embedder.tokenizer.encode(
          text,
          padTo
            ? { addSpecialTokens: special, maxLength: padTo, truncation: true, padding }
            : { addSpecialTokens: special },
        );
        const tokens = e.tokens, mask = e.attentionMask, sp = e.specialTokensMask;
        const off = e.offsets;
        return Array.from(e.ids, (id, k) => ({
          id,
          text: tokens[k],
          special: sp[k] === 1,
          start: sp[k] ? null : off[2 * k],
          stop: sp[k] ? null : off[2 * k + 1],
          attention_mask: mask[k],
        }));
      }),
    ));
  });

  app.post("/decode", async (c) => {
    const route = routes["/decode"];
    const b = await request(c, route);
    const options = { skipSpecialTokens: b.skip_special_tokens };
    const decode = (ids: number[]) => embedder.tokenizer.decode(ids, options);
    // one id list, or several
    const many = b.ids.length > 0 && Array.isArray(b.ids[0]);
    return c.json(answer(
      route,
      many ? (b.ids as number[][]).map(decode) : decode(b.ids as number[]),
    ));
  });

  app.post("/similarity", async (c) => {
    const route = routes["/similarity"];
    const b = await request(c, route);
    const all = [b.inputs.source, ...b.inputs.sentences];
    const out = await batcher.embed(admit(all, true, "inputs.sentences"), {
      normalize: true,
      truncate: true,
      pooling: b.pooling,
    }, c.get("turn"));
    const d = out.dims[1];
    const source = out.data.subarray(0, d);
    return c.json(answer(
      route,
      b.inputs.sentences.map((_, i) => cosine(source, out.data.subarray((i + 1) * d, (i + 2) * d))),
    ));
  });

  app.post("/classify", async (c) => {
    const route = routes["/classify"];
    if (!Object.keys(classifiers).length) {
      throw new HttpError(404, "no classifier is loaded", "not_found", "classifier");
    }
    const b = await request(c, route);
    // own keys only (the field's check): a name such as "constructor" never reaches here
    const clf = classifiers[b.classifier];
    const admitted = admit(b.inputs, true, "inputs", clf.embedding.maxLength);
    const out = await batcher.embed(admitted, {
      pooling: clf.embedding.pooling as Pooling,
      normalize: clf.embedding.normalize,
      truncate: true,
      maxLength: clf.embedding.maxLength,
      layers: clf.embedding.layers,
      layerMix: clf.embedding.layerMix,
    }, c.get("turn"));
    const probs = predictProba(clf, out.data);
    const k = clf.labels.length;
    return c.json(answer(
      route,
      b.inputs.map((_, i) =>
        clf.labels.map((label, j) => ({ label, score: probs[i * k + j] })).sort((x, y) =>
          y.score - x.score
        )
      ),
    ));
  });

  return app;
}

function routeOf(path: string): string {
  const known = [
    "/v1/embeddings",
    "/embed",
    "/embed_all",
    "/embed/words",
    "/tokenize",
    "/decode",
    "/similarity",
    "/classify",
    "/health",
    "/info",
    "/metrics",
    "/openapi.json",
    "/docs",
  ];
  return known.includes(path) ? path : "other";
}

function renormalize<T extends Float32Array>(v: T): T {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s);
  if (n > 0) { for (let i = 0; i < v.length; i++) v[i] /= n; }
  return v;
}

function base64(v: Float32Array): string {
  const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s);
}

/** Compares without an early exit, so the time does not reveal the key. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a), y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
