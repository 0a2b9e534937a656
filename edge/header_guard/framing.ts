/**
 * Following HTTP/1.1 framing without holding the bytes: a chunked body to its end
 * (ChunkedFramer), and `Deno.serve`'s answers one after another (AnswerFramer), so that
 * the guard knows where a request ends and when its answer has gone out.
 *
 * @module
 */
import { concat, CR, latin1, LF } from "./bytes.ts";
import { indexOfHeadEnd } from "./request_head.ts";

/** Largest answer head from `Deno.serve` that the guard follows (past it: passed on blind). */
const MAX_ANSWER_HEAD_BYTES = 1024 * 1024;

/**
 * Follows a chunked body byte by byte (RFC 9112 §7.1: `size[;ext]CRLF data CRLF` … `0CRLF`
 * trailers `CRLF`), so that the guard knows where it ends without holding any of it.
 */
export class ChunkedFramer {
  done = false;
  #state: "size" | "ext" | "size lf" | "data" | "data cr" | "data lf" | "trailer" | "end lf" =
    "size";
  #size = 0;
  #digits = 0;
  /** Bytes of the current size line, or of all the trailers. */
  #lineBytes = 0;
  /** In the trailers: the last byte ended a line. */
  #atLineStart = true;
  #maxTrailerBytes: number;

  constructor(maxTrailerBytes: number) {
    this.#maxTrailerBytes = maxTrailerBytes;
  }

  /** How many of `data`'s bytes belong to the body (it ends inside when `done`); -1 if not valid. */
  feed(data: Uint8Array): number {
    let i = 0;
    while (i < data.length && !this.done) {
      if (this.#state === "data") {
        const take = Math.min(this.#size, data.length - i);
        i += take;
        this.#size -= take;
        if (this.#size === 0) this.#state = "data cr";
        continue;
      }
      if (!this.#step(data[i++])) return -1;
    }
    return i;
  }

  /** One byte outside a chunk's data; false if it cannot be there. */
  #step(byte: number): boolean {
    switch (this.#state) {
      case "size": {
        const digit = hexDigit(byte);
        // 13 hex digits: sizes stay exact integers in a double
        if (digit >= 0 && this.#digits < 13) {
          this.#size = this.#size * 16 + digit;
          this.#digits++;
          return true;
        }
        if (this.#digits === 0) return false;
        if (byte === CR) this.#state = "size lf";
        else if (byte === 0x3b || byte === 0x20 || byte === 0x09) this.#state = "ext"; // ; SP HTAB
        else return false;
        return true;
      }
      case "ext":
        if (byte === CR) this.#state = "size lf";
        return ++this.#lineBytes <= 4096; // an extension past 4 KiB: refused, not held
      case "size lf":
        if (byte !== LF) return false;
        this.#state = this.#size === 0 ? "trailer" : "data";
        this.#digits = this.#lineBytes = 0;
        return true;
      case "data cr":
        this.#state = "data lf";
        return byte === CR;
      case "data lf":
        this.#state = "size";
        return byte === LF;
      case "trailer":
        // trailer lines, then an empty one: only "CR LF" at a line's start ends the body
        if (++this.#lineBytes > this.#maxTrailerBytes) return false;
        if (byte === CR && this.#atLineStart) this.#state = "end lf";
        this.#atLineStart = byte === LF;
        return true;
      case "end lf":
        this.done = byte === LF;
        return this.done;
    }
    return false; // "data": feed passes a chunk's data on whole
  }
}

/**
 * Follows `Deno.serve`'s answers (RFC 9112 §6.3) to count the ones fully passed on: an
 * interim 1xx has no body and is not the answer; a HEAD's answer, a 204 and a 304 have no
 * body; else chunks, a Content-Length, or (neither) the rest of the connection. If a head
 * cannot be followed (too large, or a 101), the rest is passed on `blind`.
 */
export class AnswerFramer {
  blind = false;
  #method: () => string | undefined;
  #head: Uint8Array = new Uint8Array(0);
  #body: ChunkedFramer | number | "until close" | null = null;

  constructor(method: () => string | undefined) {
    this.#method = method;
  }

  /** How many answers end within `data`. */
  feed(data: Uint8Array): number {
    let finished = 0;
    let at = 0;
    while (at < data.length && !this.blind) {
      if (this.#body === null) {
        // the head is searched where it lies; only one split across reads is copied
        const before = this.#head.length;
        const view = before === 0 ? data.subarray(at) : concat(this.#head, data.subarray(at));
        const end = indexOfHeadEnd(view, Math.max(0, before - 3));
        if (end < 0) {
          this.#head = before === 0 ? view.slice() : view; // the read buffer is reused
          if (this.#head.length > MAX_ANSWER_HEAD_BYTES) this.blind = true;
          return finished;
        }
        at += end - before;
        const body = this.#framing(latin1.decode(view.subarray(0, end)));
        this.#head = new Uint8Array(0);
        if (body === "interim") continue;
        if (body === 0) finished++;
        else this.#body = body;
        continue;
      }
      if (this.#body === "until close") return finished;
      if (typeof this.#body === "number") {
        const take = Math.min(this.#body, data.length - at);
        at += take;
        this.#body -= take;
        if (this.#body === 0) {
          this.#body = null;
          finished++;
        }
        continue;
      }
      const used = this.#body.feed(data.subarray(at));
      if (used < 0) {
        this.blind = true;
        return finished;
      }
      at += used;
      if (this.#body.done) {
        this.#body = null;
        finished++;
      }
    }
    return finished;
  }

  #framing(head: string): ChunkedFramer | number | "until close" | "interim" {
    const status = Number(head.slice(9, 12));
    if (status === 101) {
      this.blind = true; // a switch of protocols: the rest is not HTTP/1.1
      return "until close";
    }
    if (status >= 100 && status < 200) return "interim";
    if (this.#method() === "HEAD" || status === 204 || status === 304) return 0;
    const chunked = /^transfer-encoding:[^\n]*chunked/im.test(head);
    if (chunked) return new ChunkedFramer(MAX_ANSWER_HEAD_BYTES);
    const length = /^content-length:\s*(\d+)/im.exec(head);
    return length ? Number(length[1]) : "until close";
  }
}

function hexDigit(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}
