/**
 * A request head as the header guard reads it: where it ends, the empty lines before it,
 * and its method and body framing (parseRequestHead), refused where hyper would refuse it.
 *
 * @module
 */
import { CR, latin1, LF } from "./bytes.ts";

/** RFC 9110's token: a method or a header name. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A request's head as the guard needs it: its method and how its body is framed. */
export interface RequestHead {
  method: string;
  /** The body's Content-Length (0 without one), or "chunked". */
  body: number | "chunked";
}

/**
 * A request head's method and body framing, or "bad head" where hyper (behind
 * `Deno.serve`) would answer 400: a request line that is not `METHOD target HTTP/x.y`, a
 * header line that is not `name: value`, a bad or a second, different Content-Length, a
 * Transfer-Encoding whose last coding is not chunked, or one beside a Content-Length.
 */
export function parseRequestHead(head: Uint8Array): RequestHead | "bad head" {
  const lines = latin1.decode(head).split(/\r?\n/);
  const request = /^(\S+) \S+ HTTP\/\d\.\d$/.exec(lines[0]);
  if (!request || !TOKEN.test(request[1])) return "bad head";
  let length: number | null = null, encoding: string | null = null;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line === "") continue;
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).toLowerCase();
    if (colon <= 0 || !TOKEN.test(name)) return "bad head";
    const value = line.slice(colon + 1).trim();
    if (name === "transfer-encoding") encoding = value.toLowerCase();
    if (name === "content-length") {
      if (!/^\d{1,15}$/.test(value)) return "bad head";
      if (length !== null && length !== Number(value)) return "bad head";
      length = Number(value);
    }
  }
  if (encoding === null) return { method: request[1], body: length ?? 0 };
  if (length !== null || encoding.split(",").at(-1)!.trim() !== "chunked") return "bad head";
  return { method: request[1], body: "chunked" };
}

/** The bytes after any empty lines before a request line (RFC 9112 §2.2: ignored, as hyper does). */
export function skipEmptyLines(data: Uint8Array): Uint8Array {
  let i = 0;
  while (i < data.length && (data[i] === CR || data[i] === LF)) i++;
  return i === 0 ? data : data.subarray(i);
}

/**
 * Where the head ends (after its empty line) in `data`, searching from `from`; -1 if not
 * yet. A line ends in LF or CRLF, so the head ends at LF LF or LF CR LF.
 */
export function indexOfHeadEnd(data: Uint8Array, from: number): number {
  for (let i = data.indexOf(LF, from); i >= 0; i = data.indexOf(LF, i + 1)) {
    if (data[i + 1] === LF) return i + 2;
    if (data[i + 1] === CR && data[i + 2] === LF) return i + 3;
    if (i + 2 >= data.length) return -1;
  }
  return -1;
}
