/**
 * One request and one answer per route, as the OpenAPI document shows them (`/docs` fills
 * "Try it out" with the request). Answers are shortened (a vector of 3 numbers stands for
 * one of the model's width). `tests/api_contract_test.ts` sends every request to the app
 * and checks it answers 200, and checks every answer against the route's schema, so an
 * example cannot drift from what the server does.
 *
 * @example
 * ```ts
 * import { ROUTE_EXAMPLES } from "./examples.ts";
 * console.log(ROUTE_EXAMPLES["/embed"].request); // { inputs: [ "I love Paris.", "I adore Paris." ] }
 * ```
 * @module
 */

/** A route's example request body (POST routes) and answer. */
export interface RouteExample {
  request?: Record<string, unknown>;
  response: unknown;
}

const vector = [0.0123, -0.0456, 0.0789];

/** Examples by route path. */
export const ROUTE_EXAMPLES: Record<string, RouteExample> = {
  "/v1/embeddings": {
    request: { input: ["I love Paris.", "I adore Paris."], model: "embedge" },
    response: {
      object: "list",
      data: [
        { object: "embedding", index: 0, embedding: vector },
        { object: "embedding", index: 1, embedding: vector },
      ],
      model: "embedge-mini-simcse",
      usage: { prompt_tokens: 14, total_tokens: 14 },
    },
  },
  "/embeddings": {
    request: { input: ["I love Paris.", "I adore Paris."], model: "embedge" },
    response: {
      object: "list",
      data: [
        { object: "embedding", index: 0, embedding: vector },
        { object: "embedding", index: 1, embedding: vector },
      ],
      model: "embedge-mini-simcse",
      usage: { prompt_tokens: 14, total_tokens: 14 },
    },
  },
  "/embed": {
    request: { inputs: ["I love Paris.", "I adore Paris."] },
    response: [vector, vector],
  },
  "/embed_all": {
    request: { inputs: "I love Paris.", truncate: true, truncation_direction: "Left" },
    response: [[vector, vector, vector, vector, vector, vector]],
  },
  "/embed/words": {
    request: { inputs: "Unaffable Paris", aggregate: "mean" },
    response: [{
      words: [
        { word: "Unaffable", start: 0, stop: 9, vector },
        { word: "Paris", start: 10, stop: 15, vector },
      ],
    }],
  },
  "/tokenize": {
    request: { inputs: "I love Paris.", padding: "max_length", max_length: 8 },
    response: [[
      { id: 101, text: "[CLS]", special: true, start: null, stop: null, attention_mask: 1 },
      { id: 1045, text: "i", special: false, start: 0, stop: 1, attention_mask: 1 },
    ]],
  },
  "/decode": {
    request: { ids: [101, 1045, 2293, 3000, 1012, 102] },
    response: ["i love paris."],
  },
  "/similarity": {
    request: {
      inputs: {
        source_sentence: "I love Paris.",
        sentences: ["I adore Paris.", "I hate traffic."],
      },
      parameters: { truncate: true, truncation_direction: "Right" },
    },
    response: [0.785, 0.735],
  },
  "/classify": {
    request: { inputs: ["I love Paris.", "I hate traffic."] },
    response: [
      [{ label: "positive", score: 0.81 }, { label: "negative", score: 0.19 }],
      [{ label: "negative", score: 0.77 }, { label: "positive", score: 0.23 }],
    ],
  },
  "/predict": {
    request: { inputs: "I love Paris." },
    response: [{ label: "positive", score: 0.977 }, { label: "negative", score: 0.023 }],
  },
  "/rerank": {
    request: {
      query: "What is the capital of France?",
      texts: ["Paris is the capital of France.", "Traffic is slow."],
      return_text: true,
    },
    response: [
      { index: 0, score: 0.981, text: "Paris is the capital of France." },
      { index: 1, score: 0.012, text: "Traffic is slow." },
    ],
  },
  "/embed_sparse": {
    request: { inputs: "I love Paris." },
    response: [[{ index: 1045, value: 0.52 }, { index: 2293, value: 1.17 }]],
  },
  "/health": { response: { status: "ok" } },
  "/ping": { response: { status: "ok" } },
  "/": { response: { status: "ok" } },
};
