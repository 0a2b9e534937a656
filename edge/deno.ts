/**
 * The Deno entry point: loads the model and serves the app with `Deno.serve`.
 * Environment: `EMBEDGE_MODEL` (model directory; without ONNX weights the generated demo
 * BERT is used, with a note), `PORT` (default 8080), `HOST` (default 127.0.0.1),
 * `EMBEDGE_API_KEY`, `EMBEDGE_BATCHING` (`off` to disable dynamic batching),
 * `EMBEDGE_MAX_QUEUE`, `EMBEDGE_BATCH_WAIT_MS`, `EMBEDGE_TIMEOUT_MS`, `EMBEDGE_LOG` (`off`),
 * `EMBEDGE_BACKEND` (`auto` default, `native`, `wasm`), `EMBEDGE_THREADS`, `EMBEDGE_CLASSIFIERS`
 * (`name=path.json,…`, heads trained with bin/classify.ts, served at POST /classify).
 *
 * @example
 * ```sh
 * PORT=8080 deno run -A edge/deno.ts
 * curl -s localhost:8080/embed -d '{"inputs":"I love Paris."}'
 * ```
 * @module
 */
import { createApp } from "./app.ts";
import { defaultModel, loadOrDemo } from "../src/model/demo_model.ts";
import { EmbedgeError } from "../src/errors.ts";
import type { Backend } from "../src/model/runtimes.ts";

const env = (k: string) => Deno.env.get(k);
const model = defaultModel();
const threads = env("EMBEDGE_THREADS");
const embedder = await loadOrDemo(model, (s) => console.error(s), {
  ...(env("EMBEDGE_BACKEND") ? { backend: env("EMBEDGE_BACKEND") as Backend } : {}),
  ...(threads !== undefined ? { threads: threads.trim() === "" ? NaN : Number(threads) } : {}),
}).catch((e) => {
  // a bad EMBEDGE_BACKEND / EMBEDGE_THREADS or model: one line, exit 2
  if (!(e instanceof EmbedgeError)) throw e;
  console.error(`error (${e.code}${e.param ? `, ${e.param}` : ""}): ${e.message}`);
  Deno.exit(2);
});
// EMBEDGE_CLASSIFIERS="sentiment=path/to/sst2.json,other=…"
const classifiers = Object.fromEntries(
  await Promise.all(
    (env("EMBEDGE_CLASSIFIERS") ?? "").split(",").filter(Boolean).map(async (spec) => {
      const [name, path] = spec.split("=");
      return [name, JSON.parse(await Deno.readTextFile(path))];
    }),
  ),
);
const app = createApp(embedder, {
  classifiers,
  apiKey: env("EMBEDGE_API_KEY"),
  log: env("EMBEDGE_LOG") !== "off",
  timeoutMs: env("EMBEDGE_TIMEOUT_MS") ? Number(env("EMBEDGE_TIMEOUT_MS")) : undefined,
  batching: {
    enabled: env("EMBEDGE_BATCHING") !== "off",
    maxQueue: env("EMBEDGE_MAX_QUEUE") ? Number(env("EMBEDGE_MAX_QUEUE")) : undefined,
    maxWaitMs: env("EMBEDGE_BATCH_WAIT_MS") ? Number(env("EMBEDGE_BATCH_WAIT_MS")) : undefined,
  },
});
const server = Deno.serve({
  hostname: env("HOST") ?? "127.0.0.1",
  port: Number(env("PORT") ?? 8080),
  onListen: ({ hostname, port }) =>
    console.error(
      `embedge: ${embedder.info.modelId} (${embedder.info.backend}) on http://${hostname}:${port} (docs at /docs)`,
    ),
}, app.fetch);
Deno.addSignalListener("SIGTERM", () => server.shutdown());
await server.finished;
