/**
 * The Worker's `EMBEDGE_LOG_TIMINGS` (edge/worker_handler.ts), with its fetch handler run in
 * Deno (tests/support/worker_twin.ts): `on` logs the load's steps and the first three
 * requests' times; `requests` logs every request's (bench/cpu_per_request.ts reads them
 * from the Worker under `wrangler dev`); unset, nothing.
 */
import { assertEquals } from "./support/assert.ts";
import { hasShared } from "./support/paths.ts";
import { makeTestModel } from "./support/test_model.ts";
import { runWorkerTwin } from "./support/run_worker_twin.ts";

/** The twin's output for five `/embed` requests with `EMBEDGE_LOG_TIMINGS` set to `value`. */
async function twinLog(modelDir: string, value?: string): Promise<string> {
  const vars = { EMBEDGE_LOG: "off", ...(value ? { EMBEDGE_LOG_TIMINGS: value } : {}) };
  const requests = Array.from({ length: 5 }, (_, i) => `POST /embed {"inputs":"text ${i}"}`);
  const { answers, stdout: log } = await runWorkerTwin(modelDir, vars, requests);
  for (const a of answers) assertEquals(a.status, 200, JSON.stringify(a));
  return log;
}

const timed = (log: string) =>
  [...log.matchAll(/embedge timing: request (\d+) \/embed \d+ ms, answered at \d+/g)].map((m) =>
    Number(m[1])
  );

Deno.test({
  name:
    "EMBEDGE_LOG_TIMINGS: `on` times the first three requests, `requests` every one, unset none",
  ignore: !hasShared("models/all-MiniLM-L6-v2/tokenizer.json"),
  async fn() {
    const model = await makeTestModel({ seed: 41, layers: 1 });
    const on = await twinLog(model.dir, "on");
    assertEquals(timed(on), [1, 2, 3], on);
    assertEquals(on.match(/embedge timing: load \d+ ms/g)?.length, 1, on);
    const all = await twinLog(model.dir, "requests");
    assertEquals(timed(all), [1, 2, 3, 4, 5], all);
    assertEquals(all.match(/embedge timing: load \d+ ms/g)?.length, 1, all);
    const off = await twinLog(model.dir);
    assertEquals(off.includes("embedge timing"), false, off);
  },
});
