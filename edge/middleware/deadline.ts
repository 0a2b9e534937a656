/**
 * The request's deadline and its way out of the batching queue: a `Turn`
 * (batching/jobs.ts) whose signal aborts when the request times out (503) or its client
 * goes away (499), set on the context for the routes. The timeout is thrown, so app.ts's
 * `onError` answers it.
 *
 * @module
 */
import type { MiddlewareHandler } from "../../src/deps/hono.ts";
import type { Turn } from "../batching/jobs.ts";
import { HttpError } from "../errors.ts";
import type { Env } from "../server.ts";

/**
 * The deadline middleware. `modelBlocksEventLoop`: the model runs on this thread (WASM, no
 * workers), so no timer fires while it runs.
 */
export function deadline(timeoutMs: number, modelBlocksEventLoop: boolean): MiddlewareHandler<Env> {
  return async (c, next) => {
    // the request gives up (its inputs leave the batching queue) on timeout or when its
    // client goes away (on Deno, request.signal aborts only then: deno.json opts out of the
    // legacy signal, which also aborted after every answer and warned on stderr about it)
    const giveUp = new AbortController();
    const clientGone = () =>
      giveUp.abort(new HttpError(499, "the client closed the request", "client_closed"));
    c.req.raw.signal.addEventListener("abort", clientGone, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = () => new HttpError(503, `request took longer than ${timeoutMs} ms`, "timeout");
    const turn: Turn = {
      signal: giveUp.signal,
      keepAlive: (work) => {
        try {
          c.executionCtx.waitUntil(work); // Workers: finish the job after answering
        } catch { /* Deno: no execution context, nothing to keep alive */ }
      },
      deadline: Date.now() + timeoutMs,
      expired,
    };
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // On time, even while the model runs (native and pooled runs leave the event
        // loop free; the run goes on and its result is dropped). Only where the model runs
        // on the event loop itself (WASM, no workers) can this timer fire no earlier than
        // the run's end: a request whose batch has started then gets its answer.
        if (turn.started && modelBlocksEventLoop) return;
        const e = expired();
        giveUp.abort(e);
        reject(e);
      }, timeoutMs);
    });
    c.set("turn", turn);
    try {
      await Promise.race([next(), timeout]);
    } finally {
      clearTimeout(timer);
      c.req.raw.signal.removeEventListener("abort", clientGone);
    }
  };
}
