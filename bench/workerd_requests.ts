/**
 * The Worker's own time per request under `wrangler dev` (workerd), for
 * bench/cpu_per_request.ts: starts the default build on a model's prepared assets with
 * `EMBEDGE_LOG_TIMINGS=requests`, sends the given `/embed` bodies one at a time for a
 * warm-up pass and `passes` more, and reads each request's time from the Worker's
 * `embedge timing: request N /embed X ms` lines (edge/worker_handler.ts). Also the time each
 * request took as seen here, through wrangler's local proxy.
 *
 * @example
 * ```ts ignore
 * import { workerdRequestTimes } from "./workerd_requests.ts";
 * const t = await workerdRequestTimes(".cache/worker-assets", {}, ['{"inputs":"Hi."}'], 5);
 * console.log(t.inWorkerMs.length); // 5
 * ```
 * @module
 */
import { startWranglerDev } from "../tests/support/wrangler_dev.ts";

/** Per-request times of the Worker under wrangler dev. */
export interface WorkerdRequestTimes {
  engine: string;
  passes: number;
  /** Each request's time by the Worker's own clock, ms (whole). */
  inWorkerMs: number[];
  /** The same requests as seen by the client, ms. */
  clientMs: number[];
}

/** Serves `bodies` `passes` times (after a warm-up pass) from the Worker; their times. */
export async function workerdRequestTimes(
  assetsDir: string,
  vars: Record<string, string>,
  bodies: string[],
  passes: number,
): Promise<WorkerdRequestTimes> {
  const worker = await startWranglerDev({
    assetsDir,
    vars: { EMBEDGE_LOG: "off", EMBEDGE_LOG_TIMINGS: "requests", ...vars },
    build: "default",
    logLevel: "log", // the Worker's console.log lines
    timeoutSeconds: 300,
  });
  try {
    const clientMs: number[] = [];
    for (let p = 0; p <= passes; p++) {
      for (const body of bodies) {
        const t0 = performance.now();
        const res = await fetch(`${worker.url}/embed`, {
          method: "POST",
          body,
          signal: AbortSignal.timeout(60_000),
        });
        const text = await res.text();
        if (!res.ok) throw new Error(`/embed answered ${res.status}: ${text.slice(0, 200)}`);
        if (p > 0) clientMs.push(performance.now() - t0);
      }
    }
    const engine = (await (await fetch(`${worker.url}/info`)).json()).engine;
    // the log may lag the answers by a moment
    await new Promise((r) => setTimeout(r, 1000));
    const lines = [...worker.log().matchAll(/embedge timing: request \d+ \/embed (\d+) ms/g)];
    const inWorkerMs = lines.map((m) => Number(m[1])).slice(-passes * bodies.length);
    if (inWorkerMs.length < passes * bodies.length) {
      throw new Error(`${inWorkerMs.length} timing lines for ${passes * bodies.length} requests`);
    }
    return { engine, passes, inWorkerMs, clientMs };
  } finally {
    await worker.stop();
  }
}
