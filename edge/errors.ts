/**
 * HTTP errors, made in one place, in the shape of the API family a route belongs to:
 *
 * - `openai` (`/v1/embeddings`, `/embeddings`, and any path no route matches): OpenAI's
 *   `{ error: { message, type, param, code, request_id } }`.
 * - `tei` (every other route: Hugging Face text-embeddings-inference's and embedge's own
 *   `/embed/words`, `/classify`): TEI's `ErrorResponse`, `{ error, error_type }`, with
 *   TEI's statuses (its `From<&ErrorType> for StatusCode`: Validation 413, Tokenizer 422,
 *   Backend 424, Overloaded 429, Unhealthy 503, Empty 400). embedge adds `param` (the
 *   field at fault, or null) and `request_id` to TEI's body: its schema allows more
 *   properties, and a client needs to know which field to fix.
 *
 * Both carry the request id, also in the `x-request-id` header. Library errors map by their
 * code. The table `TEI` below is the one place an embedge error becomes a TEI one.
 *
 * @example
 * ```ts
 * import { HttpError, errorResponse } from "./errors.ts";
 * const bad = new HttpError(400, "inputs is required", "invalid_request_error", "inputs");
 * console.log(errorResponse(bad).status); // 400
 * const tei = errorResponse(bad, "req-1", "tei");
 * console.log(tei.status, await tei.json());
 * // 422 { error: "inputs is required", error_type: "Validation", param: "inputs", request_id: "req-1" }
 * ```
 * @module
 */
import { EmbedgeError } from "../src/errors.ts";

/** Which API's error shape a route answers with. */
export type ErrorFamily = "openai" | "tei";

/** TEI's `ErrorType` (1.9's, with `Empty`). */
export type TeiErrorType =
  | "Validation"
  | "Tokenizer"
  | "Backend"
  | "Overloaded"
  | "Unhealthy"
  | "Empty";

/** TEI's error types, as its document lists them. */
export const TEI_ERROR_TYPES: readonly TeiErrorType[] = [
  "Validation",
  "Tokenizer",
  "Backend",
  "Overloaded",
  "Unhealthy",
  "Empty",
];

/** An error with an HTTP status. */
export class HttpError extends Error {
  /**
   * @param type OpenAI-style error type
   * @param teiType the TEI error type when the table cannot tell it from status and type
   *   (an empty input: TEI's `Empty`, a 400, where other bad fields are a 422)
   */
  constructor(
    readonly status: number,
    message: string,
    readonly type = "invalid_request_error",
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
    readonly teiType?: TeiErrorType,
  ) {
    super(message);
  }
}

const STATUS: Record<string, number> = {
  invalid_input: 400,
  input_too_long: 413,
  tokenizer_load: 500,
  model_load: 500,
  inference_failed: 503, // a worker died or a run passed its time limit: retrying can help
};

/**
 * embedge's error (by its OpenAI type, else its status) → TEI's status and type. A type or
 * status not here keeps its status, typed Validation (401, 404, 405, 408, 499: TEI's types
 * name no such failure, the status tells it) or Backend (5xx).
 */
const TEI: Record<string, [number, TeiErrorType]> = {
  // a malformed field or input: TEI (axum's JSON extractor, its validation) answers 422
  "400": [422, "Validation"],
  // too many inputs, too long an input or body, too big an answer: TEI's Validation is 413
  "413": [413, "Validation"],
  "424": [424, "Backend"], // the loaded model is not of the kind the route needs
  overloaded: [429, "Overloaded"], // the queue is full
  inference_failed: [424, "Backend"], // the model failed
  // the request did not finish in time: still a 503, retryable, as on OpenAI's routes
  // (TEI has no time limit; a queue too long to serve in time is the usual cause)
  timeout: [503, "Overloaded"],
};
const TEI_TYPED: Record<TeiErrorType, number> = {
  Validation: 413,
  Tokenizer: 422,
  Backend: 424,
  Overloaded: 429,
  Unhealthy: 503,
  Empty: 400,
};

/** What any thrown value says: status, OpenAI type, field, message, headers. */
interface Described {
  status: number;
  type: string;
  param: string | null;
  message: string;
  headers: Record<string, string>;
  teiType?: TeiErrorType;
  code?: string;
}

function describe(e: unknown, requestId?: string): Described {
  if (e instanceof HttpError) {
    const { status, type, param, headers, teiType } = e;
    return { status, type, param, headers, teiType, message: e.message };
  }
  if (e instanceof EmbedgeError) {
    const status = STATUS[e.code] ?? 400;
    return {
      status,
      type: status < 500 ? "invalid_request_error" : "server_error",
      param: e.param ?? null,
      message: e.message,
      headers: {},
      code: e.code,
    };
  }
  // the stack stays in the log (never in the answer): where an unexpected error came from
  const stack = e instanceof Error ? e.stack : undefined;
  console.error(JSON.stringify({ level: "error", requestId, error: String(e), stack }));
  return { status: 500, type: "server_error", param: null, message: "internal error", headers: {} };
}

/** TEI's status and type of an embedge error. */
function teiStatus(d: Described): [number, TeiErrorType] {
  if (d.teiType) return [TEI_TYPED[d.teiType], d.teiType];
  return TEI[d.code ?? ""] ?? TEI[d.type] ?? TEI[String(d.status)] ??
    [d.status, d.status >= 500 ? "Backend" : "Validation"];
}

/**
 * The JSON response for any thrown value in `family`'s shape (unknown errors become 500
 * without details: those are logged, with `requestId`, so that the log line of a 500 and
 * its answer, which carries the same `request_id`, can be matched).
 */
export function errorResponse(
  e: unknown,
  requestId?: string,
  family: ErrorFamily = "openai",
): Response {
  const d = describe(e, requestId);
  const id = requestId ? { request_id: requestId } : {};
  let status = d.status, body: unknown;
  if (family === "tei") {
    let errorType: TeiErrorType;
    [status, errorType] = teiStatus(d);
    body = { error: d.message, error_type: errorType, param: d.param, ...id };
  } else {
    body = { error: { message: d.message, type: d.type, param: d.param, code: null, ...id } };
  }
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...d.headers },
  });
}
