/**
 * The Deno entry point: loads the model and serves the app with `Deno.serve`.
 * Configuration: flags (`--model DIR|ID` or TEI's `--model-id`, `--port N`, `--host ADDR`
 * or `--hostname`, `--demo-model`, `--help`), which win over the environment variables of
 * edge/config.ts (all checked: a bad value is one line and exit 2), plus `EMBEDGE_BACKEND`
 * and `EMBEDGE_THREADS`. The model: `--model` / `EMBEDGE_MODEL`, else the one the
 * classifier heads name (`EMBEDGE_CLASSIFIERS`), else the default of
 * src/model/default_model.ts; the random demo model only with `--demo-model`.
 *
 * @example
 * ```sh
 * deno run -A edge/deno.ts --port 8080
 * deno run -A edge/deno.ts --host 0.0.0.0 --port 8080   # reachable from other machines
 * curl -s localhost:8080/embed -d '{"inputs":"I love Paris."}'
 * ```
 * @module
 */
import { createApp } from "./app.ts";
import { installedDocsAssets } from "./docs.ts";
import { guardHeaders, type HeaderGuard } from "./header_guard/guard.ts";
import { ConfigError, serverConfig, serverFlags } from "./config.ts";
import { chooseDemoModel, chooseModel, loadChoice } from "../src/model/default_model.ts";
import { fitClassifier, readClassifier } from "../src/classifier/load.ts";
import type { Classifier } from "../src/classifier/logistic.ts";
import type { Embedder } from "../src/model/embedder.ts";
import { EmbedgeError } from "../src/errors.ts";
import { TextClassifier } from "../src/model/classify/text_classifier.ts";
import type { Backend } from "../src/model/engine/runtimes.ts";

const HELP = `usage: deno run -A edge/deno.ts [options]   (or: npx deno task serve [options])
  --model DIR|ID     model directory or Hub id (also --model-id; env EMBEDGE_MODEL); default:
                     the model the classifier heads name, else all-MiniLM-L6-v2 with weights,
                     else ../shared/models/embedge-mini-simcse
  --demo-model       serve embedge's generated BERT with random weights (meaningless vectors)
  --predict-model DIR  a sequence-classification model for /predict and /rerank (env
                     EMBEDGE_PREDICT_MODEL); POST / then answers as /predict (or /rerank)
  --default-prompt-name NAME  the prompt for requests that name none (env
                     EMBEDGE_DEFAULT_PROMPT_NAME; none: no prompt, as TEI by default);
                     default: the model's default_prompt_name, as sentence-transformers
  --port N           port (env PORT; default 8080; 0 picks a free one)
  --host ADDR        address to listen on (also --hostname; env HOST; default 127.0.0.1, this
                     machine only; 0.0.0.0 listens on every interface)
  -h, --help         this text
Every other setting is an environment variable: see edge/config.ts or the README.`;

const env = (k: string) => Deno.env.get(k);
/** How long a connection may wait for its next request (as nginx's keepalive_timeout). */
const IDLE_TIMEOUT_MS = 75_000;
/** Largest request head (request line and headers). */
const MAX_HEADER_BYTES = 64 * 1024;
/** One line on stderr, exit 2: a configuration the server cannot start with. */
function fail(message: string): never {
  console.error(`error: ${message.split("\n")[0].slice(0, 500)}`);
  Deno.exit(2);
}
const { config, demo } = (() => {
  try {
    const flags = serverFlags(Deno.args);
    if (flags.help) {
      console.log(HELP);
      Deno.exit(0);
    }
    try {
      return { config: serverConfig({ ...Deno.env.toObject(), ...flags.vars }), demo: flags.demo };
    } catch (e) {
      // a bad value given by flag is named by its flag
      if (!(e instanceof ConfigError) || !flags.flagOf[e.variable]) throw e;
      throw new ConfigError(flags.flagOf[e.variable], e.message.slice(e.variable.length + 2));
    }
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message);
    throw e;
  }
})();

/**
 * The model and the classifier heads, each checked whole: any problem is one line, exit 2,
 * naming the classifier. Heads remember their model: without --model/EMBEDGE_MODEL the
 * server loads the one they name (they must agree).
 */
async function loadModelAndHeads(): Promise<[Embedder, Record<string, Classifier>]> {
  const heads: [string, Classifier][] = [];
  for (const [name, path] of config.classifiers) {
    heads.push([name, await named(name, path, () => readClassifier(path))]);
  }
  const theirs = [...new Set(heads.flatMap(([, c]) => (c.model ? [c.model] : [])))];
  if (!config.model && theirs.length > 1) {
    fail(
      `EMBEDGE_CLASSIFIERS: the heads were trained on different models (${
        theirs.join(", ")
      }): set --model`,
    );
  }
  const choice = demo
    ? await chooseDemoModel(config.model)
    : await chooseModel(config.model ?? theirs[0]);
  if (choice.note) console.error(choice.note);
  const threads = env("EMBEDGE_THREADS");
  const embedder = await loadChoice(choice, {
    ...(env("EMBEDGE_BACKEND") ? { backend: env("EMBEDGE_BACKEND") as Backend } : {}),
    ...(config.dtype ? { dtype: config.dtype } : {}),
    ...(config.defaultPromptName !== undefined
      ? { defaultPromptName: config.defaultPromptName }
      : {}),
    ...(config.batchTokens ? { batchTokens: config.batchTokens } : {}),
    // a pool sized to the cores unless EMBEDGE_WORKERS says otherwise (0: inline): off the
    // event loop, /health p99 under load fell from 342 ms to 15 ms (bench/results/load-*)
    workers: config.workers ?? navigator.hardwareConcurrency ?? 1,
    ...(threads !== undefined ? { threads: threads.trim() === "" ? NaN : Number(threads) } : {}),
  });
  const fitted: Record<string, Classifier> = {};
  for (const [name, clf] of heads) {
    const path = config.classifiers.find(([n]) => n === name)![1];
    fitted[name] = await named(name, path, () => fitClassifier(clf, embedder));
  }
  return [embedder, fitted];
}

/** Runs a step of one classifier head; its failure names the head and its file. */
async function named<T>(name: string, path: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    if (!(e instanceof EmbedgeError)) throw e;
    fail(`EMBEDGE_CLASSIFIERS: ${name}=${path}: ${e.message.replace(`${path}: `, "")}`);
  }
}

const [embedder, classifiers] = await loadModelAndHeads().catch((e) => {
  // a bad EMBEDGE_BACKEND / EMBEDGE_THREADS or model: one line, exit 2
  if (!(e instanceof EmbedgeError)) throw e;
  // the load option the server set from its variable: named as the user wrote it
  const setting = "EMBEDGE_DEFAULT_PROMPT_NAME (--default-prompt-name)";
  const param = e.param === "defaultPromptName" ? setting : e.param;
  const message = e.message.replace("defaultPromptName", setting);
  console.error(`error (${e.code}${param ? `, ${param}` : ""}): ${message.slice(0, 500)}`);
  Deno.exit(2);
});
// TEI's /predict and /rerank: a sequence-classification model, when one is named
const textClassifier = config.predictModel
  ? await TextClassifier.load(config.predictModel).catch((e) => {
    if (!(e instanceof EmbedgeError)) throw e;
    fail(`EMBEDGE_PREDICT_MODEL: ${e.message}`);
  })
  : undefined;
const app = createApp(embedder, {
  ...config.app,
  classifiers,
  textClassifier,
  // /docs as Swagger UI, from the installed swagger-ui-dist (a plain page without it)
  docsAssets: await installedDocsAssets(),
});
const listening = ({ hostname, port }: { hostname: string; port: number }) =>
  console.error(
    `embedge: ${embedder.info.modelId} (${embedder.info.backend}) listening on http://${hostname}:${port} (docs at /docs)${
      /^(127\.|localhost$|::1$)/.test(hostname)
        ? "; this machine only: --host 0.0.0.0 to accept other machines"
        : ""
    }`,
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
await textClassifier?.close();
