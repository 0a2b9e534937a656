/**
 * Inference off the event loop: a session pool (Deno workers) gives the inline session's
 * vectors, runs several batches at once, and lets deadlines and `/health` work while the
 * model computes. Runs on the trained embedge-mini-mlm (required under CI=true).
 */
import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { hasShared, shared } from "./support/paths.ts";
import { Embedder } from "../src/model/embedder.ts";
import { createApp } from "../edge/app.ts";
import { ModelLoadError } from "../src/errors.ts";
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
    "with inference in a worker, a request queued behind a long batch answers 503 on time, /health answers at once, and only started inputs run",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const embedder = await Embedder.load(dir, { backend: "wasm", workers: 1 });
    let ran = 0, longest = 0;
    const run = embedder.session.run.bind(embedder.session);
    embedder.session.run = async (ids, mask, types, batch, seq, states) => {
      const t0 = performance.now();
      const out = await run(ids, mask, types, batch, seq, states);
      ran += batch;
      longest = Math.max(longest, performance.now() - t0);
      return out;
    };
    const app = createApp(embedder, { log: false, timeoutMs: 100 });
    const post = (inputs: string[]) =>
      app.request("/embed", { method: "POST", body: JSON.stringify({ inputs, truncate: true }) });
    const timed = async (p: Response | Promise<Response>) => {
      const t0 = performance.now();
      const r = await p;
      await r.arrayBuffer();
      return { status: r.status, ms: performance.now() - t0 };
    };
    // a long job: 96 inputs of 128 tokens, one model run
    const long = Array.from({ length: 96 }, (_, i) => lines.slice(i * 4, i * 4 + 12).join(" "));
    const a = timed(post(long));
    await new Promise((r) => setTimeout(r, 30));
    const b = timed(post(lines.slice(500, 503))); // queued behind the running job
    await new Promise((r) => setTimeout(r, 20));
    const health = await timed(app.request("/health"));
    const [ra, rb] = await Promise.all([a, b]);
    // the long job's own request also times out on time; its inputs still run to the end
    assertEquals([ra.status, rb.status, health.status], [503, 503, 200]);
    assert(ra.ms < 150, `the long request answered after ${ra.ms} ms`);
    assert(rb.ms < 150, `the queued request answered after ${rb.ms} ms`);
    assert(health.ms < 50, `/health answered after ${health.ms} ms`);
    for (let t = 0; ran < long.length && t < 600; t++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200)); // anything else would have started by now
    assert(longest >= 500, `the long run took ${longest} ms, not long enough to show anything`);
    // exactly the started job's inputs ran; the queued request's left with it
    assertEquals(ran, long.length);
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
