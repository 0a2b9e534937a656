/**
 * The API contract: every route's request fields (each a check and its schema, schema.ts)
 * and the schema of its answer. The fields are all a route knows: any other is a 400
 * naming it (parseFields), on every route. app.ts parses requests with these fields and types its
 * answers by these schemas; openapi.ts prints them. One table, so the document says
 * exactly what the routes accept and return (a test checks real answers against it).
 *
 * @example
 * ```ts
 * import { apiContract } from "./contract.ts";
 * import { Embedder } from "../src/model/embedder.ts";
 * const embedder = await Embedder.load("../shared/models/embedge-mini-mlm");
 * const routes = apiContract(embedder, { maxInputs: 4, maxInputChars: 100 }, []);
 * const embed = routes["/embed"];
 * console.log(embed.method, Object.keys(embed.fields).slice(0, 3)); // post [ "inputs", "truncate", "truncation_direction" ]
 * try {
 *   embed.fields.inputs.parse(["a", "b", "c", "d", "e"], "inputs");
 * } catch (e) {
 *   console.log((e as Error).message); // inputs has 5 items; the limit is 4
 * }
 * await embedder.close();
 * ```
 * @module
 */
import type { Embedder } from "../src/model/embedder.ts";
import type { TruncationDirection } from "./truncation.ts";
import type { ClassifyInput } from "../src/model/classify/text_classifier.ts";
import { type Pooling, POOLINGS } from "../src/model/pooling.ts";
import { LAYER_MIXES } from "../src/model/layers.ts";
import { type ErrorFamily, HttpError, TEI_ERROR_TYPES } from "./errors.ts";
import { modelTypeSchema } from "./routes/model_type.ts";
import {
  array,
  boolean,
  choice,
  either,
  empty,
  type Field,
  field,
  type Fields,
  flag,
  integer,
  integerIn,
  invalid,
  literal,
  nullable,
  number,
  object,
  type Parsed,
  required,
  type Schema,
  schema,
  string,
} from "./schema.ts";

/** The request limits the fields enforce. */
export interface ContractLimits {
  /** Most inputs per request. */
  maxInputs: number;
  /** Longest input in UTF-16 code units (and most token ids per input). */
  maxInputChars: number;
}

/** One route: how it is called and what it answers. */
export interface Route<F extends Fields = Fields, R = unknown> {
  method: "get" | "post";
  summary: string;
  /** The JSON body's fields (POST routes). */
  fields: F;
  response: Schema<R>;
  /** Of a 200 (default application/json). */
  contentType?: string;
  /** Whose error shape and statuses the route answers with (errors.ts). */
  family: ErrorFamily;
  /** The URL path, where the table's key is not it (`POST /`, whose key `/` GET has). */
  path?: string;
  /** The route whose example (examples.ts) this one shows (a dispatching route's). */
  exampleOf?: string;
}

/** The routes `POST /` and `/invocations` stand for, by the model loaded (app.ts picks). */
export type Dispatch = "/embed" | "/predict" | "/rerank" | "/embed_sparse";

// TEI's shape is the default: every route but OpenAI's is a TEI route or one of its kind
const post = <F extends Fields, R>(
  summary: string,
  fields: F,
  response: Schema<R>,
  family: ErrorFamily = "tei",
) => ({
  method: "post" as const,
  summary,
  fields,
  response,
  family,
});
const get = <R>(summary: string, response: Schema<R>, contentType?: string) => ({
  method: "get" as const,
  summary,
  fields: {},
  response,
  family: "tei" as ErrorFamily,
  ...(contentType ? { contentType } : {}),
});

/**
 * The error body of OpenAI's routes with a 4xx or 5xx status (`request_id` is the
 * request's `x-request-id`, also in the log line; absent only where no request was read).
 */
export const errorSchema = object({
  error: object({
    message: string(),
    type: string(),
    param: nullable(string()),
    code: schema<null>({ type: "null" }),
    request_id: string(),
  }, ["request_id"]),
});

/**
 * The error body of TEI's routes: TEI's `ErrorResponse` (`error`, `error_type`), with
 * embedge's `param` (the field at fault, or null) and `request_id` (as above) added.
 */
export const teiErrorSchema = object({
  error: string(),
  error_type: literal(TEI_ERROR_TYPES),
  param: nullable(string()),
  request_id: string(),
}, ["param", "request_id"]);

const vector = array(number());
const tokenVectors = array(vector);

/** The routes of an app around `embedder`, with `classifiers` by name. */
export function apiContract(
  embedder: Embedder,
  limits: ContractLimits,
  classifiers: string[],
  dispatch: Dispatch = "/embed",
) {
  const info = embedder.info;
  const vocab = embedder.tokenizer.vocabSize;
  const poolings = POOLINGS.filter((p) => p !== "pooler" || info.hasPooler);

  /** One input given as token ids: not too long, every id an integer in the vocabulary. */
  const checkIds = (ids: unknown[], p: string): number[] => {
    if (ids.length > limits.maxInputChars) {
      throw new HttpError(413, `${p} is too long`, "invalid_request_error", p);
    }
    if (!ids.every((t) => Number.isInteger(t) && (t as number) >= 0 && (t as number) < vocab)) {
      throw invalid(`${p} must hold token ids in 0..${vocab - 1}`, p);
    }
    return ids as number[];
  };

  /** A string or a non-empty array of strings (or, `allowIds`, of token-id arrays). */
  const inputs = <T extends string | number[]>(allowIds: boolean) => {
    const text = { type: "string", minLength: 1, maxLength: limits.maxInputChars };
    const ids = {
      type: "array",
      items: { type: "integer", minimum: 0, maximum: vocab - 1 },
      minItems: 1,
      maxItems: limits.maxInputChars,
    };
    const list = (item: unknown) => ({
      type: "array",
      items: item,
      minItems: 1,
      maxItems: limits.maxInputs,
    });
    return required(field<T[] | undefined>(
      // TEI's Input: a text, token ids, or a batch of either (mixed)
      { oneOf: allowIds ? [text, ids, list({ oneOf: [text, ids] })] : [text, list(text)] },
      (v, name) => {
        if (v === undefined || v === null) return undefined;
        const items = typeof v === "string" ? [v] : v;
        if (!Array.isArray(items)) {
          throw invalid(`${name} must be a string or an array of strings`, name);
        }
        if (items.length === 0) throw empty(`${name} must not be empty`, name);
        if (items.length > limits.maxInputs) {
          // a 400 as OpenAI answers it; TEI's batch-size error is a 413 Validation
          throw new HttpError(
            400,
            `${name} has ${items.length} items; the limit is ${limits.maxInputs}`,
            "invalid_request_error",
            name,
            {},
            "Validation",
          );
        }
        // OpenAI accepts one token array as well as an array of them: checked as one input
        if (allowIds && items.every((x) => typeof x === "number")) {
          return [checkIds(items, name)] as T[];
        }
        items.forEach((x, i) => {
          const p = `${name}[${i}]`;
          if (typeof x === "string") {
            if (x.length === 0) throw empty(`${p} is empty`, p);
            if (x.length > limits.maxInputChars) {
              throw new HttpError(
                413,
                `${p} has ${x.length} characters; the limit is ${limits.maxInputChars}`,
                "invalid_request_error",
                p,
              );
            }
          } else if (allowIds && Array.isArray(x)) {
            if (x.length === 0) throw empty(`${p} is empty`, p);
            checkIds(x, p);
          } else {
            throw invalid(`${p} must be a string${allowIds ? " or an array of token ids" : ""}`, p);
          }
        });
        return items as T[];
      },
    ));
  };

  const pooling = field<Pooling>(
    { type: "string", enum: poolings, default: info.pooling },
    (v, name) => {
      if (v === undefined || v === null) return info.pooling;
      if (typeof v !== "string" || !POOLINGS.includes(v as Pooling)) {
        throw invalid(`${name} must be one of ${POOLINGS.join(", ")}`, name);
      }
      if (v === "pooler" && !info.hasPooler) {
        throw invalid(`${info.modelId} exports no pooler output`, name);
      }
      return v as Pooling;
    },
  );
  /** An optional string field (its value unchecked beyond its type). */
  const text = (description: string) =>
    field<string | undefined>({ type: "string", description }, (v, name) => {
      if (v === undefined || v === null) return undefined;
      if (typeof v !== "string") throw invalid(`${name} must be a string`, name);
      return v;
    });
  // the text inputs of every route but /v1/embeddings (which also takes token ids)
  const texts = inputs<string>(false);
  const layers = field<number[] | undefined>({
    type: "array",
    items: { type: "integer", minimum: -info.layers - 1, maximum: info.layers },
    minItems: 1,
    default: [-1],
    description:
      "hidden states to read: 0 the embeddings, N the last of N layers, -1 the last, -2 the one before",
  }, (v) => {
    if (v === undefined || v === null) return undefined;
    embedder.layerStates(v); // InputError → 400 naming layers or layers[i]
    return v as number[];
  });
  // layer_mix says how the states of `layers` combine: without `layers` it would have
  // nothing to do, so app.ts refuses it there (no default here, so that it can tell)
  const layerMix = choice(LAYER_MIXES);
  const layerFields = {
    layers,
    layer_mix: {
      ...layerMix,
      json: { ...layerMix.json, description: "with layers (default mean)" },
    },
  };
  const truncate = flag(false);
  // TEI's TruncationDirection: which end a cut (truncate: true) removes tokens from
  const truncationDirection = field<TruncationDirection>(
    { type: "string", enum: ["Left", "Right", "left", "right"], default: "Right" },
    (v, name) => {
      if (v === undefined || v === null) return "Right";
      if (v === "Right" || v === "right") return "Right";
      if (v === "Left" || v === "left") return "Left";
      throw invalid(`${name} must be Left or Right`, name);
    },
  );
  /** TEI's prompt_name: no prompts are configured here, so any name is refused. */
  const promptName = field<undefined>({
    type: "null",
    description: "no prompts are configured on this server: any name is refused",
  }, (v, name) => {
    if (v !== undefined && v !== null) {
      throw invalid(`${name}: this server has no prompts configured`, name);
    }
    return undefined;
  });
  // TEI's request fields of the token and word routes; /embed adds the sentence ones
  const tokenFields = {
    inputs: texts,
    truncate, // TEI: refuse long inputs by default
    truncation_direction: truncationDirection,
    prompt_name: promptName,
    ...layerFields,
  };
  // TEI's Input on its embedding routes: texts or token ids (as /v1/embeddings takes them)
  const textsOrIds = inputs<string | number[]>(true);
  const sentenceFields = {
    ...tokenFields,
    inputs: textsOrIds,
    normalize: flag(true),
    pooling,
    dimensions: integerIn(1),
  };

  // TEI's SimilarityParameters, each refused by its full name (parameters.truncate)
  const similarityFields = {
    prompt_name: promptName,
    truncate,
    truncation_direction: truncationDirection,
  };
  const similarityParameters = field<Parsed<typeof similarityFields>>({
    type: "object",
    properties: Object.fromEntries(
      Object.entries(similarityFields).map(([k, f]) => [k, f.json]),
    ),
    additionalProperties: false,
  }, (v, name) => {
    const given = v ?? {};
    if (typeof given !== "object" || Array.isArray(given)) {
      throw invalid(`${name} must be an object`, name);
    }
    for (const k of Object.keys(given)) {
      if (!Object.hasOwn(similarityFields, k)) {
        throw invalid(
          `${name}.${k} is not a parameter; they are ${Object.keys(similarityFields).join(", ")}`,
          `${name}.${k}`,
        );
      }
    }
    const out = given as Record<string, unknown>;
    return {
      prompt_name: promptName.parse(out.prompt_name, `${name}.prompt_name`),
      truncate: truncate.parse(out.truncate, `${name}.truncate`),
      truncation_direction: truncationDirection.parse(
        out.truncation_direction,
        `${name}.truncation_direction`,
      ),
    };
  });

  const health = object({ status: literal(["ok"]) });
  const labelScores = array(object({ label: string(), score: number() }));
  const token = object({
    id: integer(),
    text: string(),
    special: boolean(),
    start: nullable(integer()),
    stop: nullable(integer()),
    attention_mask: integer(),
  });
  const idList = array(integer({ minimum: 0, maximum: vocab - 1 }), { maxItems: 100_000 });

  const openaiEmbeddings = post(
    "OpenAI-compatible embeddings (pooling, truncate, layers and layer_mix are embedge extensions)",
    {
      input: inputs<string | number[]>(true),
      // OpenAI's own fields are all known here, so that its clients work: `model` is
      // echoed back (one model is served), `user` is accepted and ignored (it is an
      // end-user id for OpenAI's abuse monitoring), encoding_format and dimensions work
      model: text("echoed back in the answer: this server serves one model"),
      user: text("accepted and ignored (OpenAI's end-user id)"),
      encoding_format: choice(["float", "base64"], "float"),
      dimensions: integerIn(1),
      pooling,
      // OpenAI refuses an input over the model's context length; truncate: true cuts it
      truncate,
      ...layerFields,
    },
    object({
      object: literal(["list"]),
      data: array(object({
        object: literal(["embedding"]),
        index: integer(),
        embedding: either(vector, string({ description: "base64 of little-endian float32" })),
      })),
      model: string(),
      usage: object({ prompt_tokens: integer(), total_tokens: integer() }),
    }),
    "openai",
  );

  const table = {
    "/v1/embeddings": openaiEmbeddings,
    // TEI serves OpenAI's route without /v1 too, outside its document; clients use it
    "/embeddings": {
      ...openaiEmbeddings,
      summary: "The same as /v1/embeddings (as TEI serves it)",
    },
    "/embed": post("TEI-compatible sentence embeddings", sentenceFields, array(vector)),
    "/embed_all": post(
      "Token embeddings (last_hidden_state per token)",
      { ...tokenFields, inputs: textsOrIds },
      array(tokenVectors),
    ),
    "/embed/words": post(
      "Word embeddings (subwords aggregated per word)",
      { ...tokenFields, aggregate: choice(["mean", "first"], "mean") },
      array(object({
        words: array(object({ word: string(), start: integer(), stop: integer(), vector })),
      })),
    ),
    "/tokenize": post(
      "Tokens, ids, offsets, attention mask (optionally padded to max_length)",
      {
        inputs: texts,
        add_special_tokens: flag(true),
        prompt_name: promptName,
        max_length: integerIn(2, info.maxLength),
        padding: field<"max_length" | false | undefined>(
          { enum: ["max_length", false] },
          (v, name) => {
            if (v === undefined || v === null) return undefined;
            if (v !== false && v !== "max_length") {
              throw invalid(`${name} must be max_length or false`, name);
            }
            return v;
          },
        ),
      },
      array(array(token)),
    ),
    "/decode": post(
      "Token ids to text",
      {
        ids: required(field<number[] | number[][] | undefined>(
          { oneOf: [idList.json, array(idList, { minItems: 1, maxItems: limits.maxInputs }).json] },
          (v, name) => {
            if (v === undefined || v === null) return undefined;
            const valid = (x: unknown) =>
              Array.isArray(x) && x.length <= 100_000 &&
              x.every((t) => Number.isInteger(t) && t >= 0 && t < vocab);
            if (valid(v)) return v as number[];
            if (
              Array.isArray(v) && v.length > 0 && v.length <= limits.maxInputs && v.every(valid)
            ) {
              return v as number[][];
            }
            if (Array.isArray(v) && v.length > limits.maxInputs && v.every(valid)) {
              // too many id lists: TEI's batch-size error (413 Validation), as on /embed
              throw new HttpError(
                400,
                `${name} has ${v.length} id lists; the limit is ${limits.maxInputs}`,
                "invalid_request_error",
                name,
                {},
                "Validation",
              );
            }
            throw invalid(
              `${name} must be an array of token ids (or an array of such arrays)`,
              name,
            );
          },
        )),
        skip_special_tokens: flag(true),
      },
      array(string()), // TEI's DecodeResponse: one text per id list, a flat list too
    ),
    "/similarity": post(
      "Cosine similarity of a source sentence to candidates",
      {
        inputs: required(field<{ source: string; sentences: string[] } | undefined>({
          type: "object",
          properties: {
            source_sentence: { type: "string", minLength: 1 },
            sentences: texts.json,
          },
          required: ["source_sentence", "sentences"],
        }, (v, name) => {
          if (v === undefined || v === null) return undefined;
          if (typeof v !== "object" || Array.isArray(v)) {
            throw invalid(`${name} must be an object`, name);
          }
          const { source_sentence: source, sentences } = v as Record<string, unknown>;
          if (typeof source !== "string" || source.length === 0) {
            throw invalid(
              `${name}.source_sentence must be a non-empty string`,
              `${name}.source_sentence`,
            );
          }
          const list = texts.parse(sentences, `${name}.sentences`);
          if (list.length + 1 > limits.maxInputs) {
            // TEI embeds the source and the sentences as one batch: its batch-size error
            // (413 Validation), as on /embed
            throw new HttpError(
              400,
              `at most ${limits.maxInputs - 1} sentences`,
              "invalid_request_error",
              `${name}.sentences`,
              {},
              "Validation",
            );
          }
          return { source, sentences: list };
        })),
        parameters: similarityParameters,
        pooling,
      },
      array(number()),
    ),
    "/classify": post(
      "Classifier head on sentence embeddings (TEI /predict-like); labels by descending score",
      {
        inputs: texts,
        classifier: classifiers.length
          ? choice(classifiers, classifiers[0])
          : field<string>({ type: "string", description: "no classifier is loaded" }, () => ""),
      },
      array(labelScores),
    ),
    "/health": get("Liveness", health),
    // TEI's other health routes (outside its document: load balancers and SageMaker probe them)
    "/ping": get("Liveness (as /health)", health),
    "/": get("Liveness (as /health)", health),
    "/info": get(
      "Model, dimensions, limits",
      object({
        // TEI's Info (its required fields), then embedge's own
        model_id: string(),
        model_dtype: literal(["float32", "float16", "int8"]),
        model_type: modelTypeSchema, // the model POST / answers with (routes/model_type.ts)
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
      }),
    ),
    "/metrics": get("Prometheus metrics", string(), "text/plain"),
    "/openapi.json": get("This document", schema<unknown>({ type: "object" })),
    "/docs": get("API docs page", string(), "text/html"),
    ...modelRoutes(limits, texts, truncate, truncationDirection, promptName),
  };
  // TEI's routes outside its document: the loaded model's route (its fields and answers)
  // at the root and at SageMaker's /invocations, as TEI dispatches them by its model
  const dispatched = {
    ...table[dispatch],
    summary: `The loaded model's route, ${dispatch} (as TEI serves it)`,
    exampleOf: dispatch,
  };
  return {
    ...table,
    "/invocations": dispatched,
    "POST /": { ...dispatched, path: "/" },
  };
}

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

/** The routes of the other model types: /predict, /rerank (a classifier), /embed_sparse. */
function modelRoutes(
  limits: ContractLimits,
  texts: Field<string[]>,
  truncate: Field<boolean>,
  truncationDirection: Field<TruncationDirection>,
  promptName: Field<undefined>,
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

/** The routes' table type. */
export type Contract = ReturnType<typeof apiContract>;

/** An answer, typed by the route's response schema (so a route cannot answer off-contract). */
export const answer = <R>(_route: { response: Schema<R> }, value: NoInfer<R>): R => value;
