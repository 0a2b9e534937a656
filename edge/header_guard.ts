/**
 * A time limit on request headers, in front of `Deno.serve`, which has none
 * (denoland/deno#3515): without one, a client that trickles its headers a byte at a time
 * (slowloris) holds a connection for as long as it trickles. The guard accepts the TCP
 * connections itself, reads each request's head (request line and headers) under a
 * deadline, and passes the request through to `Deno.serve` on a Unix socket, with the
 * bytes of its body and of the answer, unchanged.
 *
 * Per connection: the first byte of a request must come within `idleTimeoutMs`, and the
 * whole head within `headerTimeoutMs` of that byte; a slower first head gets a 408 (JSON
 * naming `headers`), a slower later one (an answer may still be on its way) a close. A
 * head over `maxHeaderBytes` gets a 431. A body is passed on by its Content-Length (its
 * stalls are the server's: `EMBEDGE_BODY_TIMEOUT_MS`); a body sent with Transfer-Encoding
 * makes its request the connection's last (`Connection: close` is set on it), so no later
 * head on that connection goes unwatched.
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
  /** From the connection's start, or its last request, to the next request's first byte. */
  idleTimeoutMs: number;
  /** Largest request head, in bytes. */
  maxHeaderBytes: number;
}

/** A running guard: its address, and a close that ends its connections. */
export interface HeaderGuard {
  addr: Deno.NetAddr;
  close(): Promise<void>;
}

const HEAD_END = [13, 10, 13, 10]; // \r\n\r\n
const latin1 = new TextDecoder("latin1");
const encoder = new TextEncoder();

/** Starts the guard (it listens at once; `close` stops it and ends its connections). */
export function guardHeaders(options: HeaderGuardOptions): HeaderGuard {
  const listener = Deno.listen({ hostname: options.hostname, port: options.port });
  const open = new Set<Deno.Conn>();
  const relays = new Set<Promise<void>>();
  const accepting = (async () => {
    for await (const client of listener) {
      open.add(client);
      const relay = new Relay(client, options).run().finally(() => {
        open.delete(client);
        relays.delete(relay);
      });
      relays.add(relay);
    }
  })().catch(() => {/* the listener closed */});
  return {
    addr: listener.addr as Deno.NetAddr,
    async close() {
      listener.close();
      for (const c of open) closeQuietly(c);
      await accepting;
      await Promise.all(relays);
    },
  };
}

/** Why a connection ends early. */
type Ending = "idle" | "slow head" | "head too large" | "bad head";

/** One client connection: its heads read under deadlines, its bytes passed on. */
class Relay {
  #client: Deno.Conn;
  #o: HeaderGuardOptions;
  #upstream: Deno.Conn | null = null;
  #back: Promise<void> = Promise.resolve();
  /** Client bytes read and not yet passed on (the start of the next request, if any). */
  #pending: Uint8Array = new Uint8Array(0);
  #buf = new Uint8Array(64 * 1024);
  #requests = 0;

  constructor(client: Deno.Conn, options: HeaderGuardOptions) {
    this.#client = client;
    this.#o = options;
  }

  async run(): Promise<void> {
    try {
      for (;;) {
        const head = await this.#readHead();
        if (head === null) return; // the client closed between requests
        if (typeof head === "string") return await this.#refuse(head);
        const framing = bodyFraming(head);
        if (framing === null) return await this.#refuse("bad head");
        const upstream = await this.#connect();
        if (framing === "until close") {
          // a body without a length: this request is the connection's last
          await upstream.write(withConnectionClose(head));
          await this.#pipeRest(upstream);
          return await this.#back;
        }
        await upstream.write(head);
        await this.#passBody(upstream, framing);
        this.#requests++;
      }
    } catch {
      // a side closed or failed: the connection ends
    } finally {
      closeQuietly(this.#client);
      if (this.#upstream) closeQuietly(this.#upstream);
      await this.#back;
    }
  }

  /**
   * The next request head (through its blank line), moving the bytes after it to
   * `#pending`; null when the client closed before a byte of it, or why it was refused.
   */
  async #readHead(): Promise<Uint8Array | Ending | null> {
    let data: Uint8Array = this.#pending;
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
      searched = Math.max(0, data.length - 3);
      const wait = deadline === 0 ? this.#o.idleTimeoutMs : deadline - Date.now();
      const n = await readWithin(this.#client, this.#buf, wait);
      if (n === "late") return deadline === 0 ? "idle" : "slow head";
      if (n === null) return null;
      if (deadline === 0) deadline = Date.now() + this.#o.headerTimeoutMs;
      data = concat(data, this.#buf.subarray(0, n));
    }
  }

  /** Answers a refused head (or closes, for an idle connection or a later request). */
  async #refuse(why: Ending): Promise<void> {
    if (why === "idle" || (why === "slow head" && this.#requests > 0)) return;
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
    await this.#client.write(encoder.encode(
      `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\n` +
        `content-length: ${encoder.encode(body).length}\r\nconnection: close\r\n\r\n${body}`,
    ));
  }

  /** The connection to Deno.serve, opened with the first request; answers flow back. */
  async #connect(): Promise<Deno.Conn> {
    if (this.#upstream) return this.#upstream;
    const upstream = await Deno.connect({ transport: "unix", path: this.#o.upstream });
    this.#upstream = upstream;
    this.#back = (async () => {
      const buf = new Uint8Array(64 * 1024);
      try {
        for (let n = await upstream.read(buf); n !== null; n = await upstream.read(buf)) {
          await writeAll(this.#client, buf.subarray(0, n));
        }
      } catch { /* either side closed */ }
      // the server closed (Connection: close, or after an error): so does the client's
      closeQuietly(this.#client);
    })();
    return upstream;
  }

  /** Passes on `length` body bytes: the ones already read, then as they come. */
  async #passBody(upstream: Deno.Conn, length: number): Promise<void> {
    let left = length;
    const have = Math.min(left, this.#pending.length);
    if (have > 0) await writeAll(upstream, this.#pending.subarray(0, have));
    this.#pending = this.#pending.subarray(have);
    left -= have;
    while (left > 0) {
      const n = await this.#client.read(this.#buf);
      if (n === null) throw new Error("the client left mid-body");
      const take = Math.min(n, left);
      await writeAll(upstream, this.#buf.subarray(0, take));
      if (take < n) this.#pending = this.#buf.slice(take, n); // the next request begins
      left -= take;
    }
  }

  /** Passes on everything the client sends until it closes. */
  async #pipeRest(upstream: Deno.Conn): Promise<void> {
    if (this.#pending.length) await writeAll(upstream, this.#pending);
    this.#pending = new Uint8Array(0);
    for (
      let n = await this.#client.read(this.#buf);
      n !== null;
      n = await this.#client.read(this.#buf)
    ) {
      await writeAll(upstream, this.#buf.subarray(0, n));
    }
  }
}

/**
 * How the request's body is framed: its Content-Length (0 without one), "until close" for
 * a Transfer-Encoding, or null for a head that is not valid (a bad or a second, different
 * Content-Length; a header line without a colon).
 */
export function bodyFraming(head: Uint8Array): number | "until close" | null {
  const lines = latin1.decode(head).split("\r\n");
  let length: number | null = null, encoded = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) return null;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "transfer-encoding") encoded = true;
    if (name === "content-length") {
      if (!/^\d{1,15}$/.test(value)) return null;
      if (length !== null && length !== Number(value)) return null;
      length = Number(value);
    }
  }
  return encoded ? "until close" : length ?? 0;
}

/** The head with its Connection header (if any) replaced by `Connection: close`. */
function withConnectionClose(head: Uint8Array): Uint8Array {
  const lines = latin1.decode(head).split("\r\n").filter((l) =>
    l === "" || !/^connection\s*:/i.test(l)
  );
  // (the head ends with two empty strings: the blank line)
  lines.splice(lines.length - 2, 0, "Connection: close");
  const text = lines.join("\r\n");
  const out = new Uint8Array(text.length); // latin1: one byte a character
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** Where the head ends (after its blank line) in `data`, searching from `from`; -1 if not yet. */
function indexOfHeadEnd(data: Uint8Array, from: number): number {
  for (let i = data.indexOf(13, from); i >= 0 && i + 3 < data.length; i = data.indexOf(13, i + 1)) {
    if (data[i + 1] === HEAD_END[1] && data[i + 2] === HEAD_END[2] && data[i + 3] === HEAD_END[3]) {
      return i + 4;
    }
  }
  return -1;
}

/** A read that gives up after `ms` ("late"; the caller then closes the connection, which
 * ends the read still pending). */
async function readWithin(
  conn: Deno.Conn,
  buf: Uint8Array,
  ms: number,
): Promise<number | null | "late"> {
  if (ms <= 0) return "late";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), ms);
  });
  try {
    return await Promise.race([conn.read(buf), late]);
  } finally {
    clearTimeout(timer);
  }
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
