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
 * The parts: this file (the listener), relay.ts (one connection: its heads under the
 * deadlines, its bytes both ways), request_head.ts (a request head's framing),
 * framing.ts (following chunked bodies and the answers), bytes.ts (byte helpers).
 *
 * @example
 * ```ts
 * import { guardHeaders } from "./guard.ts";
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
import { Relay } from "./relay.ts";

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
