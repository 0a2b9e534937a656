/**
 * The error bodies of the two API families (errors.ts makes them, openapi.ts documents them
 * on every route of their family and under `components.schemas`).
 *
 * @module
 */
import { TEI_ERROR_TYPES } from "../errors.ts";
import { literal, nullable, object, schema, string } from "../schema.ts";

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
