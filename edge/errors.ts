/**
 * HTTP errors: every error is JSON `{ error: { message, type, param, code, request_id } }`
 * with the right status, as the OpenAI API shapes them. Library errors map by their code.
 *
 * @example
 * ```ts
 * import { HttpError, errorResponse } from "./errors.ts";
 * const res = errorResponse(new HttpError(400, "input is required", "invalid_request_error", "input"));
 * console.log(res.status); // 400
 * ```
 * @module
 */
import { EmbedgeError } from "../src/errors.ts";

/** An error with an HTTP status. */
export class HttpError extends Error {
  /** @param type OpenAI-style error type */
  constructor(
    readonly status: number,
    message: string,
    readonly type = "invalid_request_error",
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
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
 * The JSON response for any thrown value (unknown errors become 500 without details: those
 * are logged, with `requestId`, so that the log line of a 500 and its answer, which carries
 * the same `request_id`, can be matched).
 */
export function errorResponse(e: unknown, requestId?: string): Response {
  let status = 500, type = "server_error", param: string | null = null;
  let message = "internal error";
  let headers: Record<string, string> = {};
  if (e instanceof HttpError) {
    ({ status, type, param, headers } = e);
    message = e.message;
  } else if (e instanceof EmbedgeError) {
    status = STATUS[e.code] ?? 400;
    type = status < 500 ? "invalid_request_error" : "server_error";
    param = e.param ?? null;
    message = e.message;
  } else {
    // the stack stays in the log (never in the answer): where an unexpected error came from
    const stack = e instanceof Error ? e.stack : undefined;
    console.error(JSON.stringify({ level: "error", requestId, error: String(e), stack }));
  }
  const error = {
    message,
    type,
    param,
    code: null,
    ...(requestId ? { request_id: requestId } : {}),
  };
  return new Response(JSON.stringify({ error }), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}
