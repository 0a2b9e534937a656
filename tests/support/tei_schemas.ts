/**
 * text-embeddings-inference's (TEI's) own API schemas, written here from its OpenAPI document
 * (huggingface/text-embeddings-inference `docs/openapi.json`, TEI 1.7.1) in the subset
 * json_schema.ts checks: `$ref`s written out, OpenAPI 3.0's `nullable` as a `null` type,
 * `allOf: [TruncationDirection]` as its enum. Where TEI's router has moved on since that
 * document, the router wins and the line says so (`ErrorType` gained `Empty`, a 400). These
 * are TEI's schemas, not embedge's: conformance tests check embedge's answers against them
 * (embedge's own document is checked by api_contract_test.ts), and their requests too, so
 * that every request the tests send is one TEI documents.
 *
 * @example
 * ```ts
 * import { TEI } from "./tei_schemas.ts";
 * import { violations } from "./json_schema.ts";
 * console.log(violations({ error: "x", error_type: "Backend" }, TEI.ErrorResponse)); // []
 * console.log(violations({ inputs: [[1045, 2293], "Paris"] }, TEI.EmbedRequest)); // []
 * ```
 * @module
 */
type Schema = Record<string, unknown>;

const nullable = (schema: Schema): Schema => ({
  ...schema,
  type: [schema.type as string, "null"],
});
const tokenIds = { type: "array", items: { type: "integer", minimum: 0 } };
/** TEI's `InputType`: a text or token ids. */
const InputType = { oneOf: [{ type: "string" }, tokenIds] };
/** TEI's `Input`: one `InputType` or a batch of them. */
const Input = { oneOf: [InputType, { type: "array", items: InputType }] };
const TruncationDirection = { type: "string", enum: ["Left", "Right"] };
const promptName = nullable({ type: "string" });
const truncate = nullable({ type: "boolean" });
/** The fields EmbedRequest, EmbedAllRequest and EmbedSparseRequest share. */
const inputsRequest = (extra: Record<string, Schema> = {}): Schema => ({
  type: "object",
  required: ["inputs"],
  properties: {
    inputs: Input,
    prompt_name: promptName,
    truncate,
    truncation_direction: TruncationDirection,
    ...extra,
  },
});
const vector = { type: "array", items: { type: "number" } };
const ClassifierModel = {
  type: "object",
  required: ["id2label", "label2id"],
  properties: {
    id2label: { type: "object", additionalProperties: { type: "string" } },
    label2id: { type: "object", additionalProperties: { type: "integer", minimum: 0 } },
  },
};
const Prediction = {
  type: "object",
  required: ["score", "label"],
  properties: { label: { type: "string" }, score: { type: "number" } },
};
const text = { type: "string" };
const pair = { type: "array", items: text, minItems: 2, maxItems: 2 };
const single = { type: "array", items: text, minItems: 1, maxItems: 1 };
const count = { type: "integer", minimum: 0 };

/** TEI's component schemas (the ones its routes' requests and answers use). */
export const TEI: Record<string, Schema> = {
  // TEI 1.7.1 lists five; its router since answers an empty input with `Empty` (a 400)
  ErrorResponse: {
    type: "object",
    required: ["error", "error_type"],
    properties: {
      error: { type: "string" },
      error_type: {
        type: "string",
        enum: ["Unhealthy", "Backend", "Overloaded", "Validation", "Tokenizer", "Empty"],
      },
    },
  },
  Info: {
    type: "object",
    required: [
      "model_id",
      "model_dtype",
      "model_type",
      "max_concurrent_requests",
      "max_input_length",
      "max_batch_tokens",
      "max_client_batch_size",
      "auto_truncate",
      "tokenization_workers",
      "version",
    ],
    properties: {
      auto_truncate: { type: "boolean" },
      docker_label: nullable(text),
      max_batch_requests: nullable(count),
      max_batch_tokens: count,
      max_client_batch_size: count,
      max_concurrent_requests: count,
      max_input_length: count,
      model_dtype: text,
      model_id: text,
      model_sha: nullable(text),
      model_type: {
        oneOf: [
          { type: "object", required: ["classifier"], properties: { classifier: ClassifierModel } },
          {
            type: "object",
            required: ["embedding"],
            properties: {
              embedding: {
                type: "object",
                required: ["pooling"],
                properties: { pooling: text },
              },
            },
          },
          { type: "object", required: ["reranker"], properties: { reranker: ClassifierModel } },
        ],
      },
      sha: nullable(text),
      tokenization_workers: count,
      version: text,
    },
  },
  EmbedRequest: inputsRequest({ normalize: { type: "boolean" } }),
  EmbedResponse: { type: "array", items: vector },
  EmbedAllRequest: inputsRequest(),
  EmbedAllResponse: { type: "array", items: { type: "array", items: vector } },
  EmbedSparseRequest: inputsRequest(),
  EmbedSparseResponse: {
    type: "array",
    items: {
      type: "array",
      items: {
        type: "object",
        required: ["index", "value"],
        properties: { index: count, value: { type: "number" } },
      },
    },
  },
  PredictRequest: {
    type: "object",
    required: ["inputs"],
    properties: {
      // PredictInput: a text, a pair, or a batch of singles and pairs
      inputs: {
        oneOf: [text, pair, { type: "array", items: { oneOf: [single, pair] } }],
      },
      raw_scores: { type: "boolean" },
      truncate,
      truncation_direction: TruncationDirection,
    },
  },
  PredictResponse: {
    oneOf: [
      { type: "array", items: Prediction },
      { type: "array", items: { type: "array", items: Prediction } },
    ],
  },
  RerankRequest: {
    type: "object",
    required: ["query", "texts"],
    properties: {
      query: text,
      raw_scores: { type: "boolean" },
      return_text: { type: "boolean" },
      texts: { type: "array", items: text },
      truncate,
      truncation_direction: TruncationDirection,
    },
  },
  RerankResponse: {
    type: "array",
    items: {
      type: "object",
      required: ["index", "score"],
      properties: { index: count, score: { type: "number" }, text: nullable(text) },
    },
  },
  SimilarityRequest: {
    type: "object",
    required: ["inputs"],
    properties: {
      inputs: {
        type: "object",
        required: ["source_sentence", "sentences"],
        properties: { sentences: { type: "array", items: text }, source_sentence: text },
      },
      parameters: {
        type: ["object", "null"],
        required: ["truncation_direction"],
        properties: {
          prompt_name: promptName,
          truncate,
          truncation_direction: TruncationDirection,
        },
      },
    },
  },
  SimilarityResponse: { type: "array", items: { type: "number" } },
  TokenizeRequest: {
    type: "object",
    required: ["inputs"],
    properties: {
      add_special_tokens: { type: "boolean" },
      inputs: { oneOf: [text, { type: "array", items: text }] },
      prompt_name: promptName,
    },
  },
  TokenizeResponse: {
    type: "array",
    items: {
      type: "array",
      items: {
        type: "object",
        required: ["id", "text", "special"],
        properties: {
          id: count,
          special: { type: "boolean" },
          start: nullable(count),
          stop: nullable(count),
          text,
        },
      },
    },
  },
  DecodeRequest: {
    type: "object",
    required: ["ids"],
    properties: {
      ids: { oneOf: [tokenIds, { type: "array", items: tokenIds }] },
      skip_special_tokens: { type: "boolean" },
    },
  },
  DecodeResponse: { type: "array", items: text },
  OpenAICompatRequest: {
    type: "object",
    required: ["input"],
    properties: {
      encoding_format: { type: "string", enum: ["float", "base64"] },
      input: Input,
      model: nullable(text),
      user: nullable(text),
    },
  },
  OpenAICompatResponse: {
    type: "object",
    required: ["object", "data", "model", "usage"],
    properties: {
      data: {
        type: "array",
        items: {
          type: "object",
          required: ["object", "embedding", "index"],
          properties: {
            embedding: { oneOf: [vector, text] },
            index: count,
            object: text,
          },
        },
      },
      model: text,
      object: text,
      usage: {
        type: "object",
        required: ["prompt_tokens", "total_tokens"],
        properties: { prompt_tokens: count, total_tokens: count },
      },
    },
  },
};

/** TEI's status for each error type (its router's `From<&ErrorType> for StatusCode`). */
export const TEI_STATUS: Record<string, number> = {
  Unhealthy: 503,
  Backend: 424,
  Overloaded: 429,
  Tokenizer: 422,
  Validation: 413,
  Empty: 400,
};

/** A TEI route's request and answer schemas (`TEI`'s keys), by path. */
export const TEI_ROUTES: Record<string, { request: string; response: string }> = {
  "/embed": { request: "EmbedRequest", response: "EmbedResponse" },
  "/embed_all": { request: "EmbedAllRequest", response: "EmbedAllResponse" },
  "/embed_sparse": { request: "EmbedSparseRequest", response: "EmbedSparseResponse" },
  "/predict": { request: "PredictRequest", response: "PredictResponse" },
  "/rerank": { request: "RerankRequest", response: "RerankResponse" },
  "/similarity": { request: "SimilarityRequest", response: "SimilarityResponse" },
  "/tokenize": { request: "TokenizeRequest", response: "TokenizeResponse" },
  "/decode": { request: "DecodeRequest", response: "DecodeResponse" },
  "/v1/embeddings": { request: "OpenAICompatRequest", response: "OpenAICompatResponse" },
  // TEI serves the OpenAI route at /embeddings too (outside its document)
  "/embeddings": { request: "OpenAICompatRequest", response: "OpenAICompatResponse" },
};
