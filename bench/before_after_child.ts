/**
 * One side's measurement for bench/before_after.ts, run in a child process inside that
 * side's git worktree: the parent copies this file into `<worktree>/bench/`, so `../mod.ts`
 * and `../edge/deno.ts` below are that revision's code, while the measuring code (this file)
 * is the same on both sides. It imports nothing but the public `mod.ts`, whose exports the
 * restructure keeps, so any revision with `Tokenizer` and `Embedder` in `mod.ts` can run it.
 *
 * Modes (the JSON argument carries paths and sizes; one JSON line of results on stdout):
 * - `tokenizer`: `encode` per line and `encodeBatch` of 64 lines over big.txt, MB/s;
 * - `inference`: `embed` of the given texts in slices of each batch size on the WASM backend
 *   with one thread (the kernels for BERT graphs), sentences/s;
 * - `http`: starts this revision's Deno server and drives `POST /embed` from `connections`
 *   clients, requests/s and latency.
 * Each mode warms up once and then times `passes` passes; it reports their median.
 *
 * @example
 * ```sh
 * deno run -A --v8-flags=--expose-gc bench/before_after_child.ts tokenizer \
 *   '{"modelDir":"../shared/models/all-MiniLM-L6-v2","corpus":"../shared/corpus/big.txt","lines":1000,"passes":1}'
 * ```
 * @module
 */
import { Embedder, Tokenizer } from "../mod.ts";

/** What every mode is given; each reads the fields it needs. */
interface ChildArgs {
  modelDir: string;
  corpus: string;
  /** tokenizer: how many big.txt lines (0: all). */
  lines: number;
  passes: number;
  /** inference: the texts (a JSON file) and the batch sizes. */
  textsFile: string;
  batches: number[];
  /** http: clients, seconds of warm-up load and of timed load, the server's backend. */
  connections: number;
  warmupSeconds: number;
  seconds: number;
  backend?: string;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};
// each timed pass starts from a collected heap (with --v8-flags=--expose-gc), so garbage of
// the previous pass is not collected during this one
const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});

/** Median milliseconds of `passes` timed runs of `f` after one untimed run. */
async function timed(passes: number, f: () => Promise<unknown> | unknown): Promise<number> {
  await f();
  const ms: number[] = [];
  for (let p = 0; p < passes; p++) {
    collect();
    const t0 = performance.now();
    await f();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

async function tokenizer(a: ChildArgs) {
  const json = await Deno.readTextFile(`${a.modelDir}/tokenizer.json`);
  const config = JSON.parse(await Deno.readTextFile(`${a.modelDir}/tokenizer_config.json`));
  const tok = await Tokenizer.fromTokenizerJson(json, config);
  const all = (await Deno.readTextFile(a.corpus)).split("\n");
  const lines = a.lines > 0 ? all.slice(0, a.lines) : all;
  const mb = lines.reduce((n, l) => n + new TextEncoder().encode(l).length, 0) / 1e6;
  let tokens = 0;
  const single = () => {
    let n = 0;
    for (const l of lines) n += tok.encode(l).ids.length;
    tokens = n;
  };
  const batch = () => {
    let n = 0;
    for (let i = 0; i < lines.length; i += 64) {
      for (const w of tok.encodeBatch(lines.slice(i, i + 64)).lengths) n += w;
    }
    return n;
  };
  const singleMs = await timed(a.passes, single);
  const batchMs = await timed(a.passes, batch);
  return {
    engine: "embedge WordPiece (WebAssembly)",
    lines: lines.length,
    megabytes: mb,
    tokens,
    metrics: { "encode MB/s": mb / (singleMs / 1000), "encodeBatch MB/s": mb / (batchMs / 1000) },
  };
}

async function inference(a: ChildArgs) {
  const texts: string[] = JSON.parse(await Deno.readTextFile(a.textsFile));
  const embedder = await Embedder.load(a.modelDir, { backend: "wasm", threads: 1 });
  const metrics: Record<string, number> = {};
  for (const bs of a.batches) {
    const ms = await timed(a.passes, async () => {
      for (let i = 0; i < texts.length; i += bs) await embedder.embed(texts.slice(i, i + bs));
    });
    metrics[`batch ${bs} sentences/s`] = texts.length / (ms / 1000);
  }
  const { backend, engine, threads } = embedder.info;
  return { engine, backend, threads, texts: texts.length, metrics };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function rssMiB(pid: number): number {
  try {
    const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+) kB/);
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** `connections` clients posting one sentence each to `/embed` for `seconds`. */
async function drive(
  url: string,
  sentences: string[],
  connections: number,
  seconds: number,
  record: (status: number, ms: number) => void,
): Promise<void> {
  const end = performance.now() + seconds * 1000;
  let next = 0;
  await Promise.all(Array.from({ length: connections }, async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const res = await fetch(`${url}/embed`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ inputs: sentences[next++ % sentences.length] }),
          signal: AbortSignal.timeout(60_000), // a stalled server counts errors, not forever
        });
        await res.arrayBuffer();
        record(res.status, performance.now() - t0);
      } catch {
        record(0, performance.now() - t0); // status 0: a network error or a timeout
      }
    }
  }));
}

async function http(a: ChildArgs) {
  const sentences = (await Deno.readTextFile(a.corpus)).split("\n").map((l) => l.trim())
    .filter((l) => l.length > 10 && l.length < 200).slice(0, 2000);
  const port = freePort();
  const server = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../edge/deno.ts", import.meta.url).pathname],
    cwd: new URL("..", import.meta.url).pathname,
    env: {
      EMBEDGE_MODEL: a.modelDir,
      PORT: String(port),
      HOST: "127.0.0.1",
      EMBEDGE_LOG: "off",
      EMBEDGE_MAX_QUEUE: "4096", // as bench/load.ts: the clients, not the queue bound, limit
      ...(a.backend ? { EMBEDGE_BACKEND: a.backend } : {}),
    },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error("the Deno server did not start in 120 s");
      try {
        const r = await fetch(`${url}/health`);
        await r.body?.cancel();
        if (r.ok) break;
      } catch { /* not up yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    const info = await (await fetch(`${url}/info`)).json();
    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(rssMiB(server.pid)), 500);
    await drive(url, sentences, a.connections, a.warmupSeconds, () => {});
    const latencies: number[] = [];
    const statuses: Record<number, number> = {};
    await drive(url, sentences, a.connections, a.seconds, (status, ms) => {
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status === 200) latencies.push(ms);
    });
    clearInterval(sampler);
    return {
      engine: info.engine,
      backend: info.backend,
      threads: info.threads,
      statuses,
      metrics: {
        "req/s": latencies.length / a.seconds,
        "p50 ms": quantile(latencies, 0.5),
        "p99 ms": quantile(latencies, 0.99),
        "peak RSS MiB": Math.max(...rss.filter(Number.isFinite)),
      },
    };
  } finally {
    server.kill("SIGTERM");
    await server.status;
  }
}

const modes = { tokenizer, inference, http };
const [mode, json] = Deno.args;
if (!(mode in modes)) throw new Error(`mode must be one of ${Object.keys(modes)}: ${mode}`);
const result = await modes[mode as keyof typeof modes](JSON.parse(json));
console.log(JSON.stringify(result));
// the embedder's worker threads and timers must not keep the child alive
Deno.exit(0);
