/**
 * Requests that time out while their inputs wait for the model must not stall the queue:
 * a burst of concurrent `POST /embed` against a server whose request timeout is shorter
 * than the work; the timed-out requests answer JSON 503 and leave the queue, and the
 * server's own metrics must show the queue empty again (a queue whose flush timer or
 * promise chain belonged to a request that has answered stays full: on workerd such a
 * request's timers and continuations are canceled).
 *
 * @example
 * ```ts
 * import { timeoutBurst } from "./timeout_burst.ts";
 * // const { timeouts } = await timeoutBurst((path, init) => fetch(url + path, init), 24);
 * ```
 * @module
 */
import { assert, assertEquals } from "./assert.ts";

/**
 * What `wrangler dev` answers itself (not the Worker) when workerd restarts the isolate
 * under a request: the Worker's state (its metrics too) is gone, so the burst proves
 * nothing either way and `timeoutBurst` throws `RuntimeRestarted` for the caller to retry.
 */
const RUNTIME_RESTARTED = "Your worker restarted mid-request";

/** The local Workers runtime restarted the isolate during a burst (see above). */
export class RuntimeRestarted extends Error {}

/** Something that answers HTTP requests by path: `app.request` or `fetch` on a base URL. */
export type Requester = (path: string, init?: RequestInit) => Promise<Response> | Response;

/**
 * Sends `n` concurrent single-input embed requests, checks that the timed-out ones are
 * JSON 503 timeout errors (TEI's shape, /embed being a TEI route: `error_type` Overloaded,
 * the message saying the time limit), then waits (up to `waitSeconds`) until `/metrics` reports
 * nothing queued and exactly one more input embedded per request that answered 200 (none for
 * those that timed out). Returns how many requests timed out.
 */
export async function timeoutBurst(
  request: Requester,
  n: number,
  waitSeconds = 30,
): Promise<{ timeouts: number }> {
  const embedded = async () => {
    const metrics = await (await request("/metrics")).text();
    return {
      metrics,
      inputs: Number(metrics.match(/^embedge_batch_inputs_sum (\d+)/m)?.[1] ?? 0),
      depth: Number(metrics.match(/^embedge_queue_depth (\d+)/m)?.[1]),
    };
  };
  const before = (await embedded()).inputs;
  const words = "the of and to in love hate Paris traffic weather city river night".split(" ");
  const statuses = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const text = Array.from({ length: 200 }, (_, j) => words[(i + j) % words.length]).join(" ");
      const res = await request("/embed", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ inputs: text }),
      });
      // text first: a server fault (e.g. workerd's "Your worker restarted mid-request") is
      // reported with its body instead of as a JSON parse error
      const answer = await res.text();
      if (res.status === 503 && answer.includes(RUNTIME_RESTARTED)) {
        throw new RuntimeRestarted(`request ${i}: ${answer.slice(0, 200)}`);
      }
      let body: { error?: string; error_type?: string } = {};
      try {
        body = JSON.parse(answer);
      } catch {
        throw new Error(`request ${i}: status ${res.status}, not JSON: ${answer.slice(0, 500)}`);
      }
      if (res.status !== 200) {
        assertEquals(
          [res.status, body.error_type, /took longer than/.test(body.error ?? "")],
          [503, "Overloaded", true],
          answer.slice(0, 500),
        );
      }
      return res.status;
    }),
  );
  const timeouts = statuses.filter((s) => s === 503).length;
  const deadline = Date.now() + waitSeconds * 1000;
  let now = await embedded();
  while (Date.now() < deadline && now.depth !== 0) {
    await new Promise((r) => setTimeout(r, 100));
    now = await embedded();
  }
  assert(now.depth === 0, `the queue did not drain after the timeouts:\n${now.metrics}`);
  // exact: every request that answered 200 ran its one input, every one that timed out
  // left the queue before its batch started (the timeout is far shorter than the wait)
  assertEquals(
    now.inputs,
    before + (n - timeouts),
    `inputs embedded: ${n - timeouts} answered, ${timeouts} timed out\n${now.metrics}`,
  );
  return { timeouts };
}
