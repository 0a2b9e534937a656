/**
 * What one entry of the API contract is: how a route is called, the fields its body
 * accepts, the schema of its answer and whose error shape it answers with; the builders of
 * a POST and a GET entry that every family's table (openai.ts, tei.ts, classify.ts, ops.ts,
 * models.ts) is made of; and `answer`, which types a handler's answer by its route's entry.
 *
 * @module
 */
import type { ErrorFamily } from "../errors.ts";
import type { Fields, Schema } from "../schema.ts";

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
/** A POST route's entry. */
export const post = <F extends Fields, R>(
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

/** A GET route's entry (no body fields). */
export const get = <R>(summary: string, response: Schema<R>, contentType?: string) => ({
  method: "get" as const,
  summary,
  fields: {},
  response,
  family: "tei" as ErrorFamily,
  ...(contentType ? { contentType } : {}),
});

/** An answer, typed by the route's response schema (so a route cannot answer off-contract). */
export const answer = <R>(_route: { response: Schema<R> }, value: NoInfer<R>): R => value;
