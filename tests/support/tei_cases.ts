/**
 * The requests of the TEI conformance suite (tei_conformance.ts) and what TEI answers to
 * each, by the models a server holds: every request shape TEI's OpenAPI document gives each
 * route (`validCases`), and the errors TEI's router answers with its own `ErrorResponse`
 * and status (`errorCases`). A valid request to a route whose model is not loaded is TEI's
 * 424 `Backend` ("Model is not a classifier model", "model is not a re-ranker model", "Model
 * is not an embedding model with SPLADE pooling").
 *
 * Known differences from TEI, each a case that checks embedge's own answer:
 * - `/embed_sparse` takes texts only: TEI's token-id inputs are a 422 naming `inputs` there
 *   (with a SPLADE model), and that route checks for its model before the body (so that
 *   such a body still gets the 424 of a server without one).
 * - `POST /` of a classifier answers a single text as a batch of one (the Inference API's
 *   shape, which Hugging Face's clients read): only the schema is checked there, which
 *   admits both.
 *
 * @example
 * ```ts
 * import { validCases } from "./tei_cases.ts";
 * const cases = validCases({});
 * console.log(cases.find((c) => c.path === "/predict")?.status); // 424
 * ```
 * @module
 */
import type { Served } from "./tei_conformance.ts";

/** Reports a failure. */
type Fail = (what: string) => void;

/** One request and what TEI answers to it. */
export interface Case {
  path: string;
  /** The route whose schemas apply, where the path is not it (`POST /`). */
  route?: string;
  body: Record<string, unknown>;
  /** TEI's status. */
  status: number;
  /** TEI's `error_type`, for an error. */
  errorType?: string;
  /** A request TEI's document does not admit (an error case): not checked against it. */
  invalid?: boolean;
  /** Checks of the answer beyond its schema (one vector per input, …). */
  answer?: (body: unknown, fail: Fail, label: string) => void;
}

const TEXT = "I love Paris.";
/** TEI's `Input` shapes with their input count: a text, token ids, and batches of both. */
const INPUTS: [unknown, number][] = [
  [TEXT, 1],
  [[1045, 2293, 3000], 1],
  [[TEXT, "rain"], 2],
  [[[1045, 2293], "Paris"], 2],
];

/** An answer holding one item per input. */
const items = (n: number) => (body: unknown, fail: Fail, label: string) => {
  if (!Array.isArray(body) || body.length !== n) {
    fail(`${label}: ${Array.isArray(body) ? body.length : typeof body} items, expected ${n}`);
  }
};

/** The route `POST /` and `/invocations` answer with, as TEI picks it by its model. */
export function dispatchedRoute(served: Served): string {
  if (served.labels) return served.labels.length === 1 ? "/rerank" : "/predict";
  return served.sparse ? "/embed_sparse" : "/embed";
}

/** What a valid request gets: 200 when the route's model is loaded, else TEI's 424. */
function availability(served: Served) {
  const ok = { status: 200 };
  const missing = { status: 424, errorType: "Backend" };
  return {
    predict: served.labels ? ok : missing,
    rerank: served.labels?.length === 1 ? ok : missing,
    sparse: served.sparse ? ok : missing,
  };
}

/** Adds a case: a 200 unless `extra` says otherwise. */
type Add = (path: string, body: Record<string, unknown>, extra?: Partial<Case>) => void;

/** Every request shape TEI documents, route by route, and TEI's status for it. */
export function validCases(served: Served): Case[] {
  const cases: Case[] = [];
  const add: Add = (path, body, extra = {}) => cases.push({ path, body, status: 200, ...extra });
  embeddingCases(add);
  otherModelCases(add, served);
  textCases(add);
  return cases;
}

/** The embedding model's routes: /embed, /embed_all and the OpenAI route (at both paths). */
function embeddingCases(add: Add): void {
  for (const [inputs, n] of INPUTS) {
    add("/embed", { inputs }, { answer: items(n) });
    add("/embed_all", { inputs }, { answer: items(n) });
    add("/v1/embeddings", { input: inputs });
    add("/embeddings", { input: inputs });
  }
  add("/embed", { inputs: TEXT, normalize: false });
  add("/embed", { inputs: TEXT, truncate: true, truncation_direction: "Left" });
  add("/embed", {
    inputs: [TEXT],
    truncate: null,
    truncation_direction: "Right",
    prompt_name: null,
  });
  add("/embed_all", {
    inputs: TEXT,
    truncate: true,
    truncation_direction: "Left",
    prompt_name: null,
  });
  add("/v1/embeddings", { input: TEXT, encoding_format: "base64" });
  add("/v1/embeddings", { input: TEXT, encoding_format: "float", model: "m", user: "u" });
  add("/v1/embeddings", { input: TEXT, model: null, user: null });
}

/** The routes of TEI's other model types: /embed_sparse, /predict, /rerank (else 424). */
function otherModelCases(add: Add, served: Served): void {
  const model = availability(served);
  // /embed_sparse: texts; token ids are embedge's known difference (module comment)
  for (const [inputs, n] of INPUTS) {
    const ids = typeof inputs !== "string" && !(Array.isArray(inputs) && inputs.every(isText));
    const known = served.sparse && ids ? { status: 422, errorType: "Validation" } : model.sparse;
    add("/embed_sparse", { inputs }, { ...known, answer: items(n) });
  }
  add("/embed_sparse", {
    inputs: [TEXT],
    truncate: true,
    truncation_direction: "Right",
    prompt_name: null,
  }, model.sparse);

  // /predict: TEI's PredictInput (a text, a pair, a batch of singles and pairs)
  const labels = served.labels?.length ?? 0;
  const ranked = items(labels);
  add("/predict", { inputs: TEXT }, { ...model.predict, answer: ranked });
  add("/predict", { inputs: [TEXT, "Paris is in France."] }, { ...model.predict, answer: ranked });
  add("/predict", { inputs: [[TEXT], [TEXT, "rain"]] }, {
    ...model.predict,
    answer: (body, fail, label) => {
      items(2)(body, fail, label);
      for (const each of body as unknown[]) ranked(each, fail, label);
    },
  });
  add("/predict", { inputs: TEXT, raw_scores: true }, model.predict);
  add("/predict", { inputs: TEXT, truncate: true, truncation_direction: "Right" }, model.predict);
  add(
    "/predict",
    { inputs: [TEXT, "x"], truncate: null, truncation_direction: "Left" },
    model.predict,
  );

  // /rerank: a one-label classifier ranks the texts against the query, best first
  const texts = [TEXT, "rain in London"];
  const ranks = (withText: boolean) => (body: unknown, fail: Fail, label: string) => {
    items(2)(body, fail, label);
    const list = body as { index: number; score: number; text?: string }[];
    if (list.map((r) => r.index).sort().join() !== "0,1") fail(`${label}: indices`);
    if (list[0].score < list[1].score) fail(`${label}: not best first`);
    if (list.some((r) => (r.text === texts[r.index]) !== withText)) fail(`${label}: text`);
  };
  add("/rerank", { query: "Paris", texts }, { ...model.rerank, answer: ranks(false) });
  add("/rerank", { query: "Paris", texts, raw_scores: true, return_text: true }, {
    ...model.rerank,
    answer: ranks(true),
  });
  add("/rerank", { query: "Paris", texts, truncate: true, truncation_direction: "Right" }, {
    ...model.rerank,
  });
  add("/rerank", { query: "Paris", texts, truncate: null, truncation_direction: "Left" }, {
    ...model.rerank,
  });
}

/** The routes every model has: /similarity, /tokenize, /decode. */
function textCases(add: Add): void {
  const similarity = { source_sentence: TEXT, sentences: ["Paris", "rain"] };
  add("/similarity", { inputs: similarity }, { answer: items(2) });
  add("/similarity", {
    inputs: similarity,
    parameters: { truncate: true, truncation_direction: "Left", prompt_name: null },
  }, { answer: items(2) });
  add("/similarity", { inputs: similarity, parameters: null }, { answer: items(2) });

  add("/tokenize", { inputs: TEXT }, { answer: items(1) });
  add("/tokenize", { inputs: [TEXT, "rain"] }, { answer: items(2) });
  add("/tokenize", { inputs: TEXT, add_special_tokens: false }, {
    answer: (body, fail, label) => {
      const tokens = (body as { special: boolean }[][])[0];
      if (tokens.some((t) => t.special)) fail(`${label}: special tokens added`);
    },
  });
  add("/tokenize", { inputs: TEXT, prompt_name: null }, { answer: items(1) });

  add("/decode", { ids: [101, 1045, 102] }, { answer: items(1) });
  add("/decode", { ids: [[1045], [2293, 3000]] }, { answer: items(2) });
  add("/decode", { ids: [101, 1045, 102], skip_special_tokens: false }, {
    answer: (body, fail, label) => {
      if (!(body as string[])[0]?.includes("[CLS]")) fail(`${label}: special tokens skipped`);
    },
  });
}

const isText = (x: unknown) => typeof x === "string";

/** The limits of the server, from its `/info`. */
export interface ServerLimits {
  maxInputLength: number;
  maxClientBatchSize: number;
}

/**
 * The errors TEI's router answers with its own `ErrorResponse`: too long an input without
 * truncate and too big a batch (413 `Validation`), an empty batch (400 `Empty`), and a body
 * its JSON extractor refuses (422; TEI's body is then the extractor's text, embedge's a
 * TEI `ErrorResponse`).
 */
export function errorCases(served: Served, limits: ServerLimits): Case[] {
  const model = availability(served);
  const long = "paris rain ".repeat(limits.maxInputLength);
  const many = Array.from({ length: limits.maxClientBatchSize + 1 }, () => "a");
  const tooLong = { status: 413, errorType: "Validation" };
  const tooMany = { status: 413, errorType: "Validation" };
  // (`[]` is both token ids and a batch under TEI's `Input`: its oneOf admits neither)
  const empty = { status: 400, errorType: "Empty", invalid: true };
  const malformed = { status: 422, errorType: "Validation", invalid: true };
  // a route without its model answers 424 before it reads the body (/embed_sparse only:
  // /predict and /rerank read the body first, as TEI does)
  type Outcome = Pick<Case, "status" | "errorType" | "invalid">;
  const orMissing = (available: Outcome, error: Outcome): Outcome =>
    available.status === 200 ? error : available;
  return [
    { path: "/embed", body: { inputs: long }, ...tooLong },
    { path: "/embed_all", body: { inputs: [long] }, ...tooLong },
    {
      path: "/similarity",
      body: { inputs: { source_sentence: TEXT, sentences: [long] } },
      ...tooLong,
    },
    { path: "/predict", body: { inputs: long }, ...orMissing(model.predict, tooLong) },
    {
      path: "/rerank",
      body: { query: "Paris", texts: [long] },
      ...orMissing(model.rerank, tooLong),
    },
    { path: "/embed_sparse", body: { inputs: long }, ...orMissing(model.sparse, tooLong) },
    { path: "/embed", body: { inputs: many }, ...tooMany },
    { path: "/embed_all", body: { inputs: many }, ...tooMany },
    { path: "/decode", body: { ids: many.map(() => [1045]) }, ...tooMany },
    // TEI embeds the source sentence and the sentences as one batch
    {
      path: "/similarity",
      body: { inputs: { source_sentence: TEXT, sentences: many.slice(1) } },
      ...tooMany,
    },
    { path: "/predict", body: { inputs: many.map((t) => [t]) }, ...tooMany },
    { path: "/embed_sparse", body: { inputs: many }, ...orMissing(model.sparse, tooMany) },
    { path: "/embed", body: { inputs: [] }, ...empty },
    { path: "/embed_all", body: { inputs: [] }, ...empty },
    { path: "/predict", body: { inputs: [] }, ...empty },
    { path: "/rerank", body: { query: "Paris", texts: [] }, ...empty },
    {
      path: "/embed_sparse",
      body: { inputs: [] },
      ...orMissing(model.sparse, empty),
      invalid: true,
    },
    { path: "/embed", body: {}, ...malformed },
    { path: "/embed", body: { inputs: 5 }, ...malformed },
    { path: "/predict", body: {}, ...malformed },
    { path: "/rerank", body: { query: "Paris" }, ...malformed },
    { path: "/decode", body: { ids: "1045" }, ...malformed },
  ];
}
