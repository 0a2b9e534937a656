/**
 * One client connection of the header guard (guard.ts): each request head read under its
 * deadlines (idle, then the whole head), refused with a 408, 431 or 400 after the answers
 * owed before it, or passed on to `Deno.serve` with its body; the answers passed back,
 * counted as they are fully written (the idle clock starts when none is owed).
 *
 * @module
 */
import type { HeaderGuardOptions } from "./guard.ts";
import { closeQuietly, concat, writeAll } from "./bytes.ts";
import { AnswerFramer, ChunkedFramer } from "./framing.ts";
import { indexOfHeadEnd, parseRequestHead, skipEmptyLines } from "./request_head.ts";

/** One read each way: what the guard holds of a body or an answer at a time. */
const READ_BYTES = 64 * 1024;
const encoder = new TextEncoder();

/** Why a connection ends early. */
type Ending = "idle" | "slow head" | "head too large" | "bad head";

/** One client connection: its heads read under deadlines, its bytes passed on both ways. */
export class Relay {
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
