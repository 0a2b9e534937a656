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
import { installedDocsAssets } from "./docs.ts";
import { guardHeaders, type HeaderGuard } from "./header_guard.ts";
import { ConfigError, serverConfig } from "./config.ts";
import { defaultModel, loadOrDemo } from "../src/model/demo_model.ts";
import { EmbedgeError } from "../src/errors.ts";
import type { Backend } from "../src/model/runtimes.ts";

const env = (k: string) => Deno.env.get(k);
/** How long a connection may wait for its next request (as nginx's keepalive_timeout). */
const IDLE_TIMEOUT_MS = 75_000;
/** Largest request head (request line and headers). */
const MAX_HEADER_BYTES = 64 * 1024;
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
  // /docs as Swagger UI, from the installed swagger-ui-dist (a plain page without it)
  docsAssets: await installedDocsAssets(),
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
const listening = ({ hostname, port }: { hostname: string; port: number }) =>
  console.error(
    `embedge: ${embedder.info.modelId} (${embedder.info.backend}) on http://${hostname}:${port} (docs at /docs)`,
  );
let server: Deno.HttpServer;
let guard: HeaderGuard | null = null;
let socketDir = "";
if (config.headerTimeoutMs > 0) {
  // Deno.serve has no time limit on request headers: the guard takes the connections and
  // passes them on to Deno.serve on a Unix socket of a private directory
  socketDir = Deno.makeTempDirSync({ prefix: "embedge-" });
  const path = `${socketDir}/http.sock`;
  server = Deno.serve({ path, onListen() {} }, app.fetch);
  try {
    guard = guardHeaders({
      hostname: config.host,
      port: config.port,
      upstream: path,
      headerTimeoutMs: config.headerTimeoutMs,
      idleTimeoutMs: IDLE_TIMEOUT_MS,
      maxHeaderBytes: MAX_HEADER_BYTES,
    });
  } catch (e) {
    fail(`cannot listen on ${config.host}:${config.port}: ${(e as Error).message}`);
  }
  listening(guard.addr);
} else {
  server = Deno.serve({ hostname: config.host, port: config.port, onListen: listening }, app.fetch);
}
Deno.addSignalListener("SIGTERM", async () => {
  await guard?.close();
  await server.shutdown();
});
await server.finished;
if (socketDir) Deno.removeSync(socketDir, { recursive: true });
await embedder.close(); // session workers keep a process alive until they are terminated
