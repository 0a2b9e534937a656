/**
 * Fair turns in the batcher (edge/batching/): a bulk request is cut into parts and jobs
 * take turns part by part, so a small request overtakes it; a job whose requests all gave
 * up stops after its running part. Asserts on what ran and in which order (hooked
 * `session.run`), not on wall-clock margins. Runs on the trained embedge-mini-mlm in a
 * pool of two workers (required under CI=true).
 */
import { assert, assertEquals } from "./support/assert.ts";
import { hasShared, shared } from "./support/paths.ts";
import { Embedder, type EncodedText } from "../src/model/embedder.ts";
import { Batcher } from "../edge/batching/batcher.ts";
import { createApp } from "../edge/app.ts";

const ignore = !hasShared("models/embedge-mini-mlm/onnx/model.onnx") ||
  !hasShared("corpus/big.txt");
const dir = shared("models/embedge-mini-mlm");
const lines = ignore ? [] : Deno.readTextFileSync(shared("corpus/big.txt")).split("\n")
  .map((l) => l.trim()).filter((l) => l.length > 20);

/** One model run as the hook saw it. */
interface Run {
  batch: number;
  seq: number;
  /** Bulk rows (128 tokens) or the small request's. */
  bulk: boolean;
  started: number;
  ended?: number;
}

/** Loads a pool of two and records every run, in the order runs start. */
async function recorded(bulkDelayMs = 0) {
  const embedder = await Embedder.load(dir, { workers: 2 });
  const runs: Run[] = [];
  let started = 0;
  const run = embedder.session.run.bind(embedder.session);
  embedder.session.run = async (ids, mask, types, batch, seq, states) => {
    const r: Run = { batch, seq, bulk: seq === 128, started: started++ };
    runs.push(r);
    const out = await run(ids, mask, types, batch, seq, states);
    // a slower model for the bulk rows, when asked: the test's timing must not depend on
    // how fast this machine runs the model
    if (r.bulk && bulkDelayMs) await new Promise((done) => setTimeout(done, bulkDelayMs));
    r.ended = started;
    return out;
  };
  return { embedder, runs };
}

/** `n` texts of 128 tokens (truncated), encoded as the server admits them. */
function bulkOf(embedder: Embedder, n: number): EncodedText[] {
  return Array.from(
    { length: n },
    (_, i) => embedder.encode(lines.slice(i * 4, i * 4 + 30).join(" "), { truncate: true }),
  );
}

const until = async (cond: () => boolean, what: string) => {
  for (let t = 0; !cond(); t++) {
    if (t > 2400) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

Deno.test({
  name:
    "a one-sentence request overtakes a bulk request of 256 × 128 tokens: its run starts before the bulk's last one",
  ignore,
  async fn() {
    const { embedder, runs } = await recorded();
    const batcher = new Batcher(embedder);
    const bulk = bulkOf(embedder, 256);
    assert(bulk.every((e) => e.encoding.ids.length === 128));
    const big = batcher.embed(bulk, { pooling: "mean" });
    await until(() => runs.some((r) => r.bulk), "the bulk's first run");
    const small = await batcher.embed([embedder.encode("I love Paris.")], { pooling: "mean" });
    const all = await big;
    assertEquals([small.dims, all.dims], [[1, 256], [256, 256]]);
    const mine = runs.find((r) => !r.bulk)!;
    const bulkRuns = runs.filter((r) => r.bulk);
    const after = bulkRuns.filter((r) => r.started > mine.started);
    // FIFO: the small run waits for every bulk run (none starts after it)
    assert(
      after.length >= 2,
      `only ${after.length} of ${bulkRuns.length} bulk runs started after the small one`,
    );
    assertEquals(bulkRuns.reduce((a, r) => a + r.batch, 0), 256); // each row ran once
    // the bulk's vectors are the ones it gets alone
    const alone = await embedder.embed(bulk, { pooling: "mean" });
    assertEquals(all.data, alone.data);
    assertEquals(Array.from(all.tokenCounts), Array.from(alone.tokenCounts));
    await embedder.close();
  },
});

Deno.test({
  name:
    "a bulk request that gives up stops after its running part: its other rows never run and the next request is served",
  ignore,
  async fn() {
    const { embedder, runs } = await recorded();
    const batcher = new Batcher(embedder);
    const leave = new AbortController();
    const reason = new Error("the client gave up");
    // the request leaves as soon as its first run has answered, while its first part runs
    const run = embedder.session.run;
    embedder.session.run = async (...a) => {
      const out = await run(...a);
      leave.abort(reason);
      return out;
    };
    const big = batcher.embed(bulkOf(embedder, 256), { pooling: "mean" }, {
      signal: leave.signal,
    });
    let error: unknown;
    await big.catch((e) => error = e);
    assertEquals(error, reason);
    const small = await batcher.embed([embedder.encode("I love Paris.")], { pooling: "mean" });
    assertEquals(small.dims, [1, 256]);
    await until(() => runs.every((r) => r.ended !== undefined), "the runs' ends");
    const ran = runs.filter((r) => r.bulk).reduce((a, r) => a + r.batch, 0);
    // the part that was running finished (its two halves: 32 rows of 4,096 cells); 256
    // rows would mean the whole bulk ran for nobody
    assert(ran > 0 && ran <= 32, `${ran} of the 256 bulk rows ran, the request left after 16`);
    assertEquals(batcher.depth, 0);
    await embedder.close();
  },
});

Deno.test({
  name:
    "after bulk requests time out (503), the next request gets its answer instead of a 503 behind their runs",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // each bulk part takes ≥ 150 ms more: 512 rows in parts of 8 are ≥ 4.8 s on 2 workers,
    // past the 2 s timeout however fast the machine is (a quiet one ran them in under 2 s)
    const { embedder, runs } = await recorded(150);
    // parts of 1,024 cells: the next request waits for a fraction of a second at most
    const app = createApp(embedder, {
      log: false,
      timeoutMs: 2000,
      batching: { partTokens: 1024 },
    });
    const post = (inputs: string[]) =>
      app.request("/embed", { method: "POST", body: JSON.stringify({ inputs, truncate: true }) });
    const long = (k: number) =>
      Array.from({ length: 256 }, (_, i) => lines.slice(k + i * 4, k + i * 4 + 30).join(" "));
    // two bulk requests: 512 × 128 tokens, seconds of work, past the 2 s timeout
    const [a, b] = await Promise.all([post(long(0)), post(long(7))]);
    assertEquals([a.status, b.status], [503, 503]);
    await Promise.all([a.arrayBuffer(), b.arrayBuffer()]);
    const c = await post(["I love Paris."]);
    assertEquals(c.status, 200, await c.clone().text());
    await c.arrayBuffer();
    await until(() => runs.every((r) => r.ended !== undefined), "the runs' ends");
    const ran = runs.filter((r) => r.bulk).reduce((a, r) => a + r.batch, 0);
    assert(ran < 512, `all ${ran} bulk rows ran for requests that had left`);
    await embedder.close();
  },
});

Deno.test({
  name:
    "a bad input in one part fails its own request naming its own index; the other request in the job is answered",
  ignore,
  async fn() {
    const embedder = await Embedder.load(dir);
    // parts of 32 cells: a few short inputs each, so the bad one's index in its part is not
    // its index in the request
    const batcher = new Batcher(embedder, { maxWaitMs: 50, partTokens: 32 });
    const good = ["I love Paris.", "The weather is fine today in the south.", "Yes."];
    const bad = [...good.map((t) => embedder.encode(t)), [999_999_999], "Bonjour."];
    const other = ["I adore Rome, its streets and its old stones."];
    const [a, b] = await Promise.allSettled([
      batcher.embed(bad, { pooling: "mean" }),
      batcher.embed(other, { pooling: "mean" }),
    ]);
    assertEquals(a.status, "rejected");
    const e = (a as PromiseRejectedResult).reason;
    assertEquals([e.name, e.param], ["InputError", "inputs[3]"]);
    assertEquals(b.status, "fulfilled");
    const alone = await embedder.embed(other, { pooling: "mean" });
    assertEquals((b as PromiseFulfilledResult<{ data: Float32Array }>).value.data, alone.data);
    assertEquals(batcher.depth, 0);
    await embedder.close();
  },
});
