/**
 * A time limit on request headers, in front of `Deno.serve`, which has none
 * (denoland/deno#3515): without one, a client that trickles its headers a byte at a time
 * (slowloris) holds a connection for as long as it trickles. The guard accepts the TCP
 * connections itself, reads each request's head (request line and headers) under a
 * deadline, and passes the request through to `Deno.serve` on a Unix socket, with the
 * bytes of its body and of the answer, unchanged.
 *
 * Per connection: the first byte of a request must come within `idleTimeoutMs` of the
 * connection's start or of the moment its last answer was fully written, and the whole
 * head within `headerTimeoutMs` of that byte; a slower head gets a 408 (JSON naming
 * `headers`), an idle connection a close. A head over `maxHeaderBytes` gets a 431, one that
 * is not valid HTTP/1.1 a 400. Refusals go out after the answers to the requests before
 * them, in order, as `Deno.serve` would send them. Lines may end in CRLF or a bare LF (as
 * hyper, behind `Deno.serve`, accepts).
 *
 * The guard follows the framing both ways, so that it always knows where a request ends
 * (the next head is watched again) and when its answer has gone out: a request body by its
 * Content-Length or its chunks (`Transfer-Encoding: chunked`; its stalls are the server's:
 * `EMBEDGE_BODY_TIMEOUT_MS`), an answer by its status, Content-Length or chunks. A client
 * that closes its side (half-close, or mid-body) has its side closed towards `Deno.serve`
 * too, which answers what it has and closes; the connection then ends. What the guard
 * holds per connection is bounded: a head (`maxHeaderBytes`) and one 64 KiB read each way,
 * since nothing more is read from a side until the last read has been written to the other
 * (a client that does not read its answers stops the reading of its upstream).
 *   client ── "POST /embed HTTP/1.1\r\n…\r\n\r\n" (within 10 s) ──▶ guard ──▶ unix socket ──▶ Deno.serve
 *
 * @example
 * ```ts
 * import { guardHeaders } from "./header_guard.ts";
 * const path = Deno.makeTempDirSync() + "/app.sock";
 * const server = Deno.serve({ path, onListen() {} }, () => new Response("hi"));
 * const guard = guardHeaders({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   upstream: path,
 *   headerTimeoutMs: 10_000,
 *   idleTimeoutMs: 60_000,
 *   maxHeaderBytes: 65_536,
 * });
 * const res = await fetch(`http://127.0.0.1:${guard.addr.port}/`);
 * console.log(await res.text()); // hi
 * await guard.close();
 * await server.shutdown();
 * ```
 * @module
 */

/** Where the guard listens, where it passes requests on, and its limits. */
export interface HeaderGuardOptions {
  hostname: string;
  port: number;
  /** The Unix socket `Deno.serve` listens on. */
  upstream: string;
  /** From a request head's first byte to its end. */
  headerTimeoutMs: number;
  /** From the connection's start, or its last answer fully written, to the next request's first byte. */
  idleTimeoutMs: number;
  /** Largest request head, in bytes. */
  maxHeaderBytes: number;
}

/** A running guard: its address, and a close that ends its connections. */
export interface HeaderGuard {
  addr: Deno.NetAddr;
  close(): Promise<void>;
}

/** One read each way: what the guard holds of a body or an answer at a time. */
const READ_BYTES = 64 * 1024;
/** Largest answer head from `Deno.serve` that the guard follows (past it: passed on blind). */
const MAX_ANSWER_HEAD_BYTES = 1024 * 1024;
const CR = 13, LF = 10;
const latin1 = new TextDecoder("latin1");
const encoder = new TextEncoder();
/** RFC 9110's token: a method or a header name. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Starts the guard (it listens at once; `close` stops it and ends its connections). */
export function guardHeaders(options: HeaderGuardOptions): HeaderGuard {
  const listener = Deno.listen({ hostname: options.hostname, port: options.port });
  const relays = new Map<Relay, Promise<void>>();
  const accepting = (async () => {
    for await (const client of listener) {
      const relay = new Relay(client, options);
      relays.set(relay, relay.run().finally(() => relays.delete(relay)));
    }
  })().catch(() => {/* the listener closed */});
  return {
    addr: listener.addr as Deno.NetAddr,
    async close() {
      listener.close();
      // both sides of each connection: a relay waiting on its upstream (or on a client that
      // does not read) would otherwise keep the process alive after SIGTERM
      for (const relay of relays.keys()) relay.close();
      await accepting;
      await Promise.all(relays.values());
    },
  };
}

/** Why a connection ends early. */
type Ending = "idle" | "slow head" | "head too large" | "bad head";

/** A request's head as the guard needs it: its method and how its body is framed. */
export interface RequestHead {
  method: string;
  /** The body's Content-Length (0 without one), or "chunked". */
  body: number | "chunked";
}

/** One client connection: its heads read under deadlines, its bytes passed on both ways. */
class Relay {
  #client: Deno.Conn;
  #o: HeaderGuardOptions;
  #upstream: Deno.Conn | null = null;
  #back: Promise<void> = Promise.resolve();
  /** Client bytes read and not yet passed on (the start of the next request, if any). */
  #pending: Uint8Array = new Uint8Array(0);
  #buf = new Uint8Array(READ_BYTES);
  /** The client read in flight: kept across waits, since a read cannot be taken back. */
  #reading: Promise<Uint8Array | null> | null = null;
  /** Methods of the requests passed on whose answers are not yet fully written (in order). */
  #unanswered: string[] = [];
  /** When the connection last became idle: its start, or its last answer fully written. */
  #idleSince = Date.now();
  /** Resolved (and replaced) whenever every answer has gone out, or the answers stop. */
  #settled = Promise.withResolvers<void>();
  /** The answers stopped (the upstream closed or failed): none of the rest will come. */
  #upstreamDone = false;

  constructor(client: Deno.Conn, options: HeaderGuardOptions) {
    this.#client = client;
    this.#o = options;
  }

  /** Ends the connection at once, both sides (the guard is closing). */
  close(): void {
    closeQuietly(this.#client);
    if (this.#upstream) closeQuietly(this.#upstream);
  }

  async run(): Promise<void> {
    try {
      for (;;) {
        const raw = await this.#readHead();
        // the client sent no more between requests (a half-close): its answers still go out
        // (hyper alone drops an answer not ready when its client half-closes)
        if (raw === null) return await this.#allAnswered();
        const head = typeof raw === "string" ? raw : parseRequestHead(raw);
        if (typeof head === "string") return await this.#refuse(head);
        const upstream = await this.#connect();
        // counted before it is written: its answer may come back before the write returns
        this.#unanswered.push(head.method);
        await writeAll(upstream, raw as Uint8Array);
        const passed = head.body === "chunked"
          ? await this.#passChunked(upstream)
          : await this.#passLength(upstream, head.body);
        if (!passed) return await this.#bodyEnded(); // mid-body, or chunks not valid
      }
    } catch {
      // a side closed or failed: the connection ends
    } finally {
      this.close();
      await this.#back;
    }
  }

  /**
   * The client's next bytes (null: it closed its side); one read at a time, always. Copied
   * out of the one read buffer (what was read may still be pending when the next read
   * comes): n bytes copied costs less than a new 64 KiB buffer zeroed for each read.
   */
  #read(): Promise<Uint8Array | null> {
    this.#reading ??= (async () => {
      const n = await this.#client.read(this.#buf);
      this.#reading = null;
      return n === null ? null : this.#buf.slice(0, n);
    })();
    return this.#reading;
  }

  /**
   * The client's body ended early (it left, or its chunks are not valid): its side is closed
   * towards `Deno.serve` too, which then fails the body, answers what it has and closes; the
   * connection ends once those answers are written. Without this, a connection whose
   * upstream kept waiting for the rest of a chunked body held three descriptors forever.
   */
  async #bodyEnded(): Promise<void> {
    try {
      await this.#upstream!.closeWrite();
    } catch {
      return; // the upstream is gone already
    }
    await this.#back;
  }

  /** Until every request passed on has its answer written, or the answers stopped. */
  async #allAnswered(): Promise<void> {
    while (this.#unanswered.length > 0 && !this.#upstreamDone) await this.#settled.promise;
  }

  /**
   * The next request head (through its blank line), moving the bytes after it to
   * `#pending`; null when the client closed before a whole head, or why it was refused.
   */
  async #readHead(): Promise<Uint8Array | Ending | null> {
    let data: Uint8Array = skipEmptyLines(this.#pending);
    let searched = 0;
    let deadline = data.length > 0 ? Date.now() + this.#o.headerTimeoutMs : 0;
    for (;;) {
      const end = indexOfHeadEnd(data, searched);
      if (end > this.#o.maxHeaderBytes) return "head too large";
      if (end >= 0) {
        this.#pending = data.subarray(end);
        return data.subarray(0, end);
      }
      if (data.length > this.#o.maxHeaderBytes) return "head too large";
      searched = Math.max(0, data.length - 2);
      const got = await this.#readWithin(deadline);
      if (got === "late") return deadline === 0 ? "idle" : "slow head";
      if (got === "settled") continue; // the idle clock starts now
      if (got === null) return null;
      data = skipEmptyLines(data.length === 0 ? got : concat(data, got));
      if (deadline === 0 && data.length > 0) deadline = Date.now() + this.#o.headerTimeoutMs;
    }
  }

  /**
   * The client's next bytes, or "late" past `deadline` (0: the idle limit, which runs only
   * while no answer is owed or being written), or "settled" when the last answer owed has
   * gone out (the caller waits again, now on the idle clock).
   */
  async #readWithin(deadline: number): Promise<Uint8Array | null | "late" | "settled"> {
    const owed = deadline === 0 && this.#unanswered.length > 0 && !this.#upstreamDone;
    const ms = deadline > 0
      ? deadline - Date.now()
      : owed
      ? Infinity
      : this.#idleSince + this.#o.idleTimeoutMs - Date.now();
    if (ms <= 0) return "late";
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waits: Promise<Uint8Array | null | "late" | "settled">[] = [this.#read()];
    if (ms !== Infinity) {
      waits.push(new Promise((resolve) => timer = setTimeout(() => resolve("late"), ms)));
    }
    if (owed) waits.push(this.#settled.promise.then(() => "settled" as const));
    try {
      return await Promise.race(waits);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Answers a refused head, after the answers owed before it (or closes, when idle). */
  async #refuse(why: Ending): Promise<void> {
    if (why === "idle") return;
    await this.#allAnswered();
    const [status, reason, message] = why === "slow head"
      ? [
        408,
        "Request Timeout",
        `the request headers did not arrive within ${this.#o.headerTimeoutMs} ms`,
      ]
      : why === "head too large"
      ? [
        431,
        "Request Header Fields Too Large",
        `the request headers are over ${this.#o.maxHeaderBytes} bytes`,
      ]
      : [400, "Bad Request", "the request headers are not valid HTTP/1.1"];
    const body = JSON.stringify({
      error: { message, type: "invalid_request_error", param: "headers", code: null },
    });
    await writeAll(
      this.#client,
      encoder.encode(
        `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\n` +
          `content-length: ${encoder.encode(body).length}\r\nconnection: close\r\n\r\n${body}`,
      ),
    );
  }

  /** The connection to Deno.serve, opened with the first request; answers flow back. */
  async #connect(): Promise<Deno.Conn> {
    if (this.#upstream) return this.#upstream;
    const upstream = await Deno.connect({ transport: "unix", path: this.#o.upstream });
    this.#upstream = upstream;
    this.#back = this.#passAnswers(upstream);
    return upstream;
  }

  /**
   * Passes the answers back, each read written before the next is read (a client that does
   * not read stops this loop, and so `Deno.serve`), counting the answers fully written.
   */
  async #passAnswers(upstream: Deno.Conn): Promise<void> {
    const answers = new AnswerFramer(() => this.#unanswered[0]);
    const buf = new Uint8Array(READ_BYTES);
    try {
      for (let n = await upstream.read(buf); n !== null; n = await upstream.read(buf)) {
        const finished = answers.feed(buf.subarray(0, n));
        await writeAll(this.#client, buf.subarray(0, n));
        if (finished > 0) this.#answered(finished);
        if (answers.blind) this.#answered(this.#unanswered.length);
      }
    } catch { /* either side closed or failed */ }
    // the server closed (Connection: close, HTTP/1.0, an error, or the client's side
    // closed): no more answers; the client's connection ends with it
    this.#upstreamDone = true;
    this.#settled.resolve();
    this.close();
  }

  /** `count` more answers are fully written; the idle clock starts when none is owed. */
  #answered(count: number): void {
    this.#unanswered.splice(0, count);
    if (this.#unanswered.length > 0) return;
    this.#idleSince = Date.now();
    this.#settled.resolve();
    this.#settled = Promise.withResolvers<void>();
  }

  /** Passes on `length` body bytes: the ones already read, then as they come; false if the client left. */
  async #passLength(upstream: Deno.Conn, length: number): Promise<boolean> {
    let left = length;
    while (left > 0) {
      const data = this.#pending.length > 0 ? this.#pending : await this.#read();
      if (data === null) return false;
      const take = Math.min(data.length, left);
      this.#pending = data.subarray(take); // the next request begins
      await writeAll(upstream, data.subarray(0, take));
      left -= take;
    }
    return true;
  }

  /**
   * Passes on a chunked body through its last chunk and trailers; false if the client left
   * or the chunks are not valid (then nothing more is passed on: `Deno.serve` sees the body
   * end early).
   */
  async #passChunked(upstream: Deno.Conn): Promise<boolean> {
    const chunks = new ChunkedFramer(this.#o.maxHeaderBytes);
    for (;;) {
      const data = this.#pending.length > 0 ? this.#pending : await this.#read();
      if (data === null) return false;
      const used = chunks.feed(data);
      if (used < 0) return false;
      this.#pending = data.subarray(used);
      await writeAll(upstream, data.subarray(0, used));
      if (chunks.done) return true;
    }
  }
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

/**
 * Follows a chunked body byte by byte (RFC 9112 §7.1: `size[;ext]CRLF data CRLF` … `0CRLF`
 * trailers `CRLF`), so that the guard knows where it ends without holding any of it.
 */
class ChunkedFramer {
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
class AnswerFramer {
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

/** The bytes after any empty lines before a request line (RFC 9112 §2.2: ignored, as hyper does). */
function skipEmptyLines(data: Uint8Array): Uint8Array {
  let i = 0;
  while (i < data.length && (data[i] === CR || data[i] === LF)) i++;
  return i === 0 ? data : data.subarray(i);
}

/**
 * Where the head ends (after its empty line) in `data`, searching from `from`; -1 if not
 * yet. A line ends in LF or CRLF, so the head ends at LF LF or LF CR LF.
 */
function indexOfHeadEnd(data: Uint8Array, from: number): number {
  for (let i = data.indexOf(LF, from); i >= 0; i = data.indexOf(LF, i + 1)) {
    if (data[i + 1] === LF) return i + 2;
    if (data[i + 1] === CR && data[i + 2] === LF) return i + 3;
    if (i + 2 >= data.length) return -1;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length;) at += await conn.write(data.subarray(at));
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}
