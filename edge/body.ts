/**
 * The request body: read within its size limit (413) and its time limit (408, a body that
 * stalls or trickles), a client that leaves while sending it is a 499; then parsed as a
 * JSON object (400 naming `body`) and checked field by field against the route's contract
 * (400 naming the field, any field the route does not have included).
 *
 * @module
 */
import type { Context } from "../src/deps/hono.ts";
import { HttpError } from "./errors.ts";
import { type Fields, type Parsed, parseFields } from "./schema.ts";

/** A JSON object body. */
export type Json = Record<string, unknown>;

/** The limits of a body. */
export interface BodyLimits {
  /** Largest body in bytes. */
  maxBodyBytes: number;
  /** Time the whole body may take to arrive, in ms. */
  bodyTimeoutMs: number;
}

/** The body's fields, each checked by the route's contract (400 naming the first bad one). */
export async function readFields<F extends Fields>(
  c: Context,
  limits: BodyLimits,
  route: { fields: F },
): Promise<Parsed<F>> {
  return parseFields(await readJson(c, limits), route.fields);
}

/** Reads and parses the body as a JSON object. */
export async function readJson(c: Context, limits: BodyLimits): Promise<Json> {
  const buffer = await readBytes(c.req.raw, limits);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(buffer));
  } catch {
    throw new HttpError(400, "body is not valid JSON (UTF-8)", "invalid_request_error", "body");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new HttpError(400, "body must be a JSON object", "invalid_request_error", "body");
  }
  return parsed as Json;
}

const tooLarge = (max: number) =>
  new HttpError(413, `body is larger than ${max} bytes`, "invalid_request_error", "body");

/** The body's bytes, refused past the limits (a declared length over the size at once). */
async function readBytes(request: Request, limits: BodyLimits): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > limits.maxBodyBytes) throw tooLarge(limits.maxBodyBytes);
  const reader = request.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (reader) {
    const deadline = Date.now() + limits.bodyTimeoutMs;
    for (;;) {
      const { done, value } = await nextChunk(reader, deadline, limits.bodyTimeoutMs);
      if (done) break;
      size += value.length;
      if (size > limits.maxBodyBytes) {
        await reader.cancel();
        throw tooLarge(limits.maxBodyBytes);
      }
      chunks.push(value);
    }
  }
  const buffer = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    buffer.set(chunk, at);
    at += chunk.length;
  }
  return buffer;
}

/** The next chunk: 408 when the body stalls past its deadline, 499 when the client left. */
function nextChunk(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  deadline: number,
  timeoutMs: number,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reader.cancel().catch(() => {});
      reject(
        new HttpError(
          408,
          `the request body did not arrive within ${timeoutMs} ms`,
          "request_timeout",
          "body",
        ),
      );
    }, Math.max(0, deadline - Date.now()));
    reader.read().then((r) => {
      clearTimeout(timer);
      resolve(r);
    }, () => {
      clearTimeout(timer);
      reject(new HttpError(499, "the client closed the request", "client_closed"));
    });
  });
}
