/**
 * JSON answers written in chunks: a big answer (an `/embed_all` of 4 M numbers is about
 * 40 MB of JSON) built by one `JSON.stringify` holds the event loop for seconds, and every
 * other request (a `/health`, a 400) waits behind it. `jsonResponse` writes the same text
 * in chunks of about 64 KiB as the client reads them (a slow client holds back the writing,
 * so the whole text is never in memory at once) and yields to the event loop between
 * chunks. The cost: one timer turn per chunk (well under a millisecond when nothing else
 * waits) and no Content-Length on a streamed answer. An answer that fits in one chunk is
 * sent whole, with its length.
 *
 * @example
 * ```ts
 * import { jsonParts, jsonResponse } from "./json_stream.ts";
 * const value = { data: [[1, 2], [3.5, -0]], name: "x", skipped: undefined };
 * console.log([...jsonParts(value)].join("") === JSON.stringify(value)); // true
 * const res = jsonResponse(value);
 * console.log(res.headers.get("content-type"), await res.text()); // application/json {"data":[[1,2],[3.5,0]],"name":"x"}
 * ```
 * @module
 */

/** Characters per chunk (about 64 KiB of mostly ASCII JSON). */
const CHUNK_CHARS = 64 * 1024;

/**
 * The JSON text of `value` in pieces, equal when joined to `JSON.stringify(value)` for the
 * JSON values the routes answer (plain objects, arrays, strings, numbers, booleans, null;
 * `undefined` object members are left out and `undefined` array items become null, as
 * `JSON.stringify` does). Arrays and objects that hold only primitives (a vector, a token)
 * are one piece each; only containers of containers are walked, so the pieces stay few.
 */
export function* jsonParts(value: unknown): Generator<string, void, undefined> {
  if (typeof value !== "object" || value === null || isFlat(value)) {
    yield JSON.stringify(value) ?? "null";
    return;
  }
  if (Array.isArray(value)) {
    yield "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) yield ",";
      yield* jsonParts(value[i]);
    }
    yield "]";
    return;
  }
  yield "{";
  let first = true;
  for (const [key, member] of Object.entries(value)) {
    if (member === undefined || typeof member === "function") continue;
    yield `${first ? "" : ","}${JSON.stringify(key)}:`;
    first = false;
    yield* jsonParts(member);
  }
  yield "}";
}

/** An array or object none of whose items is an array or object. */
function isFlat(value: object): boolean {
  const items = Array.isArray(value) ? value : Object.values(value);
  for (const item of items) if (typeof item === "object" && item !== null) return false;
  return true;
}

/** Lets timers and I/O (other requests) run before the next chunk is written. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** A JSON answer of `value`: whole when it is small, else streamed in chunks (see above). */
export function jsonResponse(value: unknown, status = 200): Response {
  const parts = jsonParts(value);
  const headers = { "content-type": "application/json" };
  /** The next chunk's text, and whether it is the last. */
  const chunk = (): [string, boolean] => {
    let text = "";
    for (;;) {
      const next = parts.next();
      if (next.done) return [text, true];
      text += next.value;
      if (text.length >= CHUNK_CHARS) return [text, false];
    }
  };
  const [first, done] = chunk();
  if (done) return new Response(first, { status, headers });
  const encoder = new TextEncoder();
  let pending: string | undefined = first;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (pending !== undefined) {
        controller.enqueue(encoder.encode(pending));
        pending = undefined;
        return;
      }
      await yieldToEventLoop();
      const [text, last] = chunk();
      if (text) controller.enqueue(encoder.encode(text));
      if (last) controller.close();
    },
    cancel() {
      parts.return(); // the client left: nothing more is built
    },
  }, { highWaterMark: 0 }); // built as read: a slow client holds the writing back
  return new Response(body, { status, headers });
}
