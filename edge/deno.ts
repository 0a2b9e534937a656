/**
 * The Deno entry point: loads the model and serves the app with `Deno.serve`.
 * Configuration: the environment variables of edge/config.ts (all checked: a bad value is
 * one line and exit 2), plus `EMBEDGE_MODEL` (model directory or Hub id; without ONNX
 * weights the generated demo BERT is used, with a note), `EMBEDGE_BACKEND` and
 * `EMBEDGE_THREADS`.
 *
 * @example
 * ```sh
 * PORT=8080 deno run -A edge/deno.ts
 * curl -s localhost:8080/embed -d '{"inputs":"I love Paris."}'
 * ```
 * @module
 */
import { createApp } from "./app.ts";
import { ConfigError, serverConfig } from "./config.ts";
import { defaultModel, loadOrDemo } from "../src/model/demo_model.ts";
import { EmbedgeError } from "../src/errors.ts";
import type { Backend } from "../src/model/runtimes.ts";

const env = (k: string) => Deno.env.get(k);
/** One line on stderr, exit 2: a configuration the server cannot start with. */
function fail(message: string): never {
  console.error(`error: ${message}`);
  Deno.exit(2);
}
const config = (() => {
  try {
    return serverConfig(Deno.env.toObject());
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message);
    throw e;
  }
})();
const model = defaultModel();
const threads = env("EMBEDGE_THREADS");
const embedder = await loadOrDemo(model, (s) => console.error(s), {
  ...(env("EMBEDGE_BACKEND") ? { backend: env("EMBEDGE_BACKEND") as Backend } : {}),
  ...(config.dtype ? { dtype: config.dtype } : {}),
  ...(config.batchTokens ? { batchTokens: config.batchTokens } : {}),
  // a pool sized to the cores unless EMBEDGE_WORKERS says otherwise (0: inline): off the
  // event loop, /health p99 under load fell from 342 ms to 15 ms (bench/results/load-*)
  workers: config.workers ?? navigator.hardwareConcurrency ?? 1,
  ...(threads !== undefined ? { threads: threads.trim() === "" ? NaN : Number(threads) } : {}),
}).catch((e) => {
  // a bad EMBEDGE_BACKEND / EMBEDGE_THREADS or model: one line, exit 2
  if (!(e instanceof EmbedgeError)) throw e;
  console.error(`error (${e.code}${e.param ? `, ${e.param}` : ""}): ${e.message}`);
  Deno.exit(2);
});
const app = createApp(embedder, {
  ...config.app,
  // EMBEDGE_CLASSIFIERS="sentiment=path/to/sst2.json,other=…"; a missing or broken file is one
  // line and exit 2
  classifiers: Object.fromEntries(
    await Promise.all(config.classifiers.map(async ([name, path]) => {
      try {
        return [name, JSON.parse(await Deno.readTextFile(path))];
      } catch (e) {
        fail(`EMBEDGE_CLASSIFIERS: ${name}=${path}: ${(e as Error).message.split("\n")[0]}`);
      }
    })),
  ),
});
const server = Deno.serve({
  hostname: config.host,
  port: config.port,
  onListen: ({ hostname, port }) =>
    console.error(
      `embedge: ${embedder.info.modelId} (${embedder.info.backend}) on http://${hostname}:${port} (docs at /docs)`,
    ),
}, app.fetch);
Deno.addSignalListener("SIGTERM", () => server.shutdown());
await server.finished;
await embedder.close(); // session workers keep a process alive until they are terminated
