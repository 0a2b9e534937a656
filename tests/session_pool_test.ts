/**
 * Inference off the event loop: a session pool (Deno workers) gives the inline session's
 * vectors, runs several batches at once, and lets deadlines and `/health` work while the
 * model computes. Runs on the trained embedge-mini-mlm (required under CI=true).
 */
import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { hasShared, shared } from "./support/paths.ts";
import { Embedder } from "../src/model/embedder.ts";
import { createApp } from "../edge/app.ts";
import { InferenceError, ModelLoadError } from "../src/errors.ts";
import { createSessionPool, type SessionPool } from "../src/model/engine/session_pool.ts";
import { loadRuntime } from "../src/model/engine/runtimes.ts";
import { startDenoServer } from "./support/local_server.ts";

const ignore = !hasShared("models/embedge-mini-mlm/onnx/model.onnx") ||
  !hasShared("corpus/big.txt");
const dir = shared("models/embedge-mini-mlm");
const lines = ignore ? [] : Deno.readTextFileSync(shared("corpus/big.txt")).split("\n")
  .map((l) => l.trim()).filter((l) => l.length > 20);

Deno.test({
  name:
    "a session pool gives the inline session's vectors, and runs two batches at once, splitting a call of one batch",
  ignore,
  async fn() {
    const texts = lines.slice(0, 40);
    const inline = await Embedder.load(dir, { backend: "wasm" });
    const pooled = await Embedder.load(dir, { backend: "wasm", workers: 2 });
    assertEquals([pooled.info.workers, pooled.session.capacity], [2, 2]);
    // small budget: several groups, which the pool runs two at a time
    let inFlight = 0, most = 0;
    const run = pooled.session.run.bind(pooled.session);
    pooled.session.run = async (...a) => {
      most = Math.max(most, ++inFlight);
      try {
        return await run(...a);
      } finally {
        inFlight--;
      }
    };
    for (
      const options of [{ pooling: "mean" as const }, { pooling: "cls" as const, layers: [-2] }]
    ) {
      const a = await inline.embed(texts, { ...options, batchTokens: 256 });
      const b = await pooled.embed(texts, { ...options, batchTokens: 256 });
      assertEquals(b.data, a.data);
    }
    assertEquals(most, 2);
    // one call that fits one group (16 texts of one length, the default budget) is split
    // so that both workers run half of it
    most = 0;
    const same = Array.from({ length: 16 }, (_, i) => `${lines[0]} ${i % 10}`);
    const a = await inline.embed(same);
    const b = await pooled.embed(same);
    assertEquals(b.data, a.data);
    assertEquals(most, 2);
    const [words] = await pooled.embedWords(["Unbelievable weather in Paris."]);
    assertEquals(words.words, ["Unbelievable", "weather", "in", "Paris", "."]);
    await inline.close();
    await pooled.close();
    await assertRejects(
      () => Embedder.load(`${dir}/nope`, { workers: 1 }),
      ModelLoadError,
    );
  },
});

Deno.test({
  name:
    "with inference in a worker, a request queued behind a long batch answers 503 while it runs, /health too, and only started inputs run",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const embedder = await Embedder.load(dir, { backend: "wasm", workers: 1 });
    // one worker, one thread: the kernels (with every core it used to be onnxruntime-web
    // multi-threaded, and the long batch never ran)
    assertEquals([embedder.info.engine, embedder.session.threads], ["embedge-kernels", 0]);
    let ran = 0, firstEnd = Infinity;
    const run = embedder.session.run.bind(embedder.session);
    embedder.session.run = async (ids, mask, types, batch, seq, states) => {
      const out = await run(ids, mask, types, batch, seq, states);
      ran += batch;
      firstEnd = Math.min(firstEnd, performance.now());
      return out;
    };
    // one part for the whole long job (12,288 cells, seconds on one thread), and a timeout
    // that leaves a loaded machine time to admit its 96 inputs before the job starts
    const app = createApp(embedder, {
      log: false,
      timeoutMs: 1000,
      batching: { partTokens: 16384 },
    });
    const post = (inputs: string[]) =>
      app.request("/embed", { method: "POST", body: JSON.stringify({ inputs, truncate: true }) });
    const timed = async (p: Response | Promise<Response>) => {
      const r = await p;
      await r.arrayBuffer();
      return { status: r.status, at: performance.now() };
    };
    // a long job: 96 inputs of up to 128 tokens, one model run
    const long = Array.from({ length: 96 }, (_, i) => lines.slice(i * 4, i * 4 + 16).join(" "));
    const a = timed(post(long));
    await new Promise((r) => setTimeout(r, 30));
    const b = timed(post(lines.slice(500, 503))); // queued behind the running part
    await new Promise((r) => setTimeout(r, 20));
    const health = await timed(app.request("/health"));
    const [ra, rb] = await Promise.all([a, b]);
    assertEquals([ra.status, rb.status, health.status], [503, 503, 200]);
    for (let t = 0; ran === 0 && t < 1200; t++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300)); // anything else would have started by now
    // causes first: the long job really ran (on the kernels, asserted above), and only it:
    // the queued request's inputs left with it
    assertEquals(ran, long.length);
    // … and all three answers came while it was still running (the 503s on time)
    for (const [name, r] of [["long", ra], ["queued", rb], ["/health", health]] as const) {
      assert(r.at < firstEnd, `the ${name} request answered after the run it waited on ended`);
    }
    await embedder.close();
  },
});

Deno.test({
  name: "the Deno server with EMBEDGE_WORKERS serves from its pool and exits on SIGTERM",
  ignore,
  async fn() {
    const { url, proc } = await startDenoServer(dir, { EMBEDGE_WORKERS: "1", EMBEDGE_LOG: "off" });
    try {
      const info = await (await fetch(`${url}/info`)).json();
      assertEquals(info.workers, 1);
      const res = await fetch(`${url}/embed`, {
        method: "POST",
        body: JSON.stringify({ inputs: "I love Paris." }),
      });
      assertEquals(res.status, 200);
      await res.arrayBuffer();
    } finally {
      proc.kill("SIGTERM");
    }
    // workers keep a process alive: the server must terminate them on shutdown
    const status = await Promise.race([
      proc.status,
      new Promise<null>((r) => setTimeout(() => r(null), 10_000)),
    ]);
    if (status === null) proc.kill("SIGKILL");
    assert(status?.success, `the server did not exit within 10 s of SIGTERM`);
  },
});

/** `n` rows of `seq` token ids (CLS, words, SEP) with a full mask: a run of known size. */
function batchOf(n: number, seq: number) {
  const ids = new BigInt64Array(n * seq), mask = new BigInt64Array(n * seq).fill(1n);
  for (let i = 0; i < n * seq; i++) {
    const column = i % seq;
    ids[i] = column === 0 ? 101n : column === seq - 1 ? 102n : BigInt(2000 + (i * 7919) % 20000);
  }
  return [ids, mask, new BigInt64Array(n * seq), n, seq] as const;
}

Deno.test({
  name:
    "pool workers: WASM ones run on one thread (the kernels) whatever the cores, native ones share the cores",
  ignore,
  async fn() {
    // one worker on a machine of several cores used to get every core: onnxruntime-web
    // multi-threaded instead of the kernels
    const wasm = await Embedder.load(dir, { backend: "wasm", workers: 1 });
    assertEquals([wasm.info.engine, wasm.session.threads], ["embedge-kernels", 0]);
    await wasm.close();
    // explicit threads are passed through as asked (and then onnxruntime-web runs)
    const asked = await Embedder.load(dir, { backend: "wasm", workers: 1, threads: 2 });
    assertEquals([asked.info.engine, asked.session.threads], ["onnxruntime-web", 2]);
    await asked.close();
    const native = await loadRuntime("native").then(() => true, () => false);
    if (native) {
      const pooled = await Embedder.load(dir, { backend: "native", workers: 2 });
      const share = Math.max(1, Math.floor(navigator.hardwareConcurrency / 2));
      assertEquals([pooled.info.engine, pooled.session.threads], ["onnxruntime-node", share]);
      await pooled.close();
    }
  },
});

Deno.test({
  name:
    "a pool worker that dies fails its own run with an InferenceError and is replaced: the pool keeps its capacity",
  ignore,
  async fn() {
    const embedder = await Embedder.load(dir, { backend: "wasm", workers: 2 });
    const pool = embedder.session as SessionPool;
    const texts = Array.from({ length: 32 }, (_, i) => lines.slice(i * 3, i * 3 + 9).join(" "));
    const expected = await embedder.embed(texts, { truncate: true });
    const [first, second] = pool.workers();
    let inFlight = 0, most = 0;
    const run = pool.run.bind(pool);
    pool.run = async (...a) => {
      most = Math.max(most, ++inFlight);
      try {
        return await run(...a);
      } finally {
        inFlight--;
      }
    };
    const running = embedder.embed(texts, { truncate: true });
    await new Promise((r) => setTimeout(r, 0)); // both lanes are in the workers now
    // what Deno does when a worker throws past its handlers: an error event on the Worker
    first.dispatchEvent(new ErrorEvent("error", { message: "simulated crash" }));
    await assertRejects(() => running, InferenceError, "simulated crash");
    assertEquals(pool.replaced, 1);
    const now = pool.workers();
    assertEquals([now.length, now.includes(first), now.includes(second)], [2, false, true]);
    // the failed call's other lane goes on with its groups: wait until the pool is quiet
    for (let t = 0; inFlight > 0 && t < 1200; t++) await new Promise((r) => setTimeout(r, 50));
    // the replacement loads the model and serves: two runs at once again, same vectors
    most = 0;
    const again = await embedder.embed(texts, { truncate: true });
    assertEquals(again.data, expected.data);
    assertEquals(most, 2);
    await embedder.close();
  },
});

Deno.test({
  name:
    "a pool run past its time limit rejects with an InferenceError; its worker is replaced and the pool serves on",
  ignore,
  async fn() {
    const bytes = await Deno.readFile(`${dir}/onnx/model.onnx`);
    const pool = await createSessionPool(
      bytes,
      { layers: 4, heads: 4, backend: "wasm" },
      1,
      { runTimeoutMs: 400 },
    );
    assertEquals(pool.engine, "embedge-kernels");
    const [old] = pool.workers();
    // 128 × 128 tokens on one thread: seconds (48 × 128 took 1.7 s), far past 400 ms
    const t0 = performance.now();
    const e = await assertRejects(() => pool.run(...batchOf(128, 128)), InferenceError);
    const ms = performance.now() - t0;
    assert(e.message.includes("longer than 400 ms"), e.message);
    assertEquals(e.code, "inference_failed");
    assert(ms >= 400, `rejected after ${ms} ms, before the limit`);
    assertEquals([pool.replaced, pool.workers().length, pool.workers()[0] !== old], [1, 1, true]);
    // the replacement loads and runs a small batch well within the limit
    const out = await pool.run(...batchOf(2, 8));
    assertEquals([out.hidden.length, out.hiddenSize], [2 * 8 * 256, 256]);
    await pool.release();
    await assertRejects(() => pool.run(...batchOf(1, 4)), InferenceError, "released");
    await assertRejects(
      () => createSessionPool(bytes, { layers: 4 }, 1, { runTimeoutMs: 0 }),
      ModelLoadError,
      "runTimeoutMs",
    );
  },
});
