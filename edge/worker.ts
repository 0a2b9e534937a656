/**
 * The Cloudflare Workers entry point: the same Hono app as `edge/deno.ts`, with the model
 * read from an R2 bucket (`MODEL_BUCKET`) or from the static-assets binding `ASSETS` (a
 * Hub-layout model directory; under `wrangler dev` a local directory or the local R2
 * simulation) and both WebAssembly modules imported as modules, because workerd refuses
 * to compile wasm from bytes.
 *
 * Bindings and variables (see `edge/wrangler.jsonc`): `MODEL_BUCKET` (an R2 bucket holding
 * the model directory under the key prefix `EMBEDGE_MODEL_PREFIX`, e.g. `minilm/`; objects
 * have no 25 MiB limit) or else `ASSETS` (the model directory, as prepared by
 * `bin/worker_assets.ts`: files over the 25 MiB asset limit in parts, the tokenizer
 * precompiled), `EMBEDGE_MODEL_ID` (the name in responses and classifier checks), `EMBEDGE_API_KEY`
 * (a secret), `EMBEDGE_BATCHING` (`off` to stop batching the concurrent requests of an
 * isolate), `EMBEDGE_BATCH_TOKENS` (cells per model run, default 512 here: memory),
 * `EMBEDGE_DTYPE` (`int8` loads `onnx/model_int8.onnx`: a MiniLM-sized model
 * within a 128 MB isolate), `EMBEDGE_TIMEOUT_MS`, `EMBEDGE_CLASSIFIERS` (`name=path.json,…`, paths inside
 * the model directory).
 *
 * The model loads on the first request (workerd allows no I/O at module scope) and stays
 * for the life of the isolate; a failed load is retried on the next request.
 *
 * @example
 * ```sh
 * npx wrangler dev -c edge/wrangler.jsonc --ip 127.0.0.1 --port 8787
 * curl -s 127.0.0.1:8787/embed -d '{"inputs":"I love Paris."}'
 * ```
 * @module
 */
// Wrangler's default module rules turn these imports into `WebAssembly.Module`s.
import ortWasm from "../node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm";
import tokenizerWasm from "../wasm/build/tokenizer.wasm";
import kernelsWasm from "../wasm/build/bert_kernels.wasm";
import { createApp } from "./app.ts";
import { ConfigError, serverConfig } from "./config.ts";
import { Embedder } from "../src/model/embedder.ts";
import { errorResponse, HttpError } from "./errors.ts";
import { partedReader } from "./assets.ts";
import type { Classifier } from "../src/classifier/logistic.ts";

/** The part of a Workers `Fetcher` binding that is used here. */
interface AssetsBinding {
  fetch(request: Request | string): Promise<Response>;
}

/** The part of a Workers `R2Bucket` binding that is used here. */
interface R2BucketBinding {
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
}

/** The Worker's environment. */
export interface WorkerEnv {
  ASSETS?: AssetsBinding;
  MODEL_BUCKET?: R2BucketBinding;
  EMBEDGE_MODEL_PREFIX?: string;
  EMBEDGE_MODEL_ID?: string;
  EMBEDGE_API_KEY?: string;
  EMBEDGE_BATCHING?: string;
  EMBEDGE_CLASSIFIERS?: string;
  EMBEDGE_LOG?: string;
  EMBEDGE_TIMEOUT_MS?: string;
  /** and the other variables of edge/config.ts */
  [variable: string]: unknown;
}

/** Reads one file of the assets directory (`undefined` when it is not there). */
function assetReader(assets: AssetsBinding) {
  return async function staticAssets(path: string): Promise<Uint8Array | undefined> {
    const res = await assets.fetch(new Request(`https://assets.local/${path}`));
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    return new Uint8Array(await res.arrayBuffer());
  };
}

/** Reads one file of the model directory under `prefix` in an R2 bucket. */
function r2Reader(bucket: R2BucketBinding, prefix: string) {
  return async function r2Object(path: string): Promise<Uint8Array | undefined> {
    const object = await bucket.get(prefix + path);
    return object ? new Uint8Array(await object.arrayBuffer()) : undefined;
  };
}

type App = ReturnType<typeof createApp>;

/**
 * Cells per model run on a Worker unless `EMBEDGE_BATCH_TOKENS` says otherwise. ORT's
 * WASM memory grows to the largest run and never shrinks; measured with the int8
 * all-MiniLM-L6-v2 (bench/worker_memory.ts): 80 MiB after load, unchanged up to 512
 * cells, 96 MiB at 1,024, 255 MiB at 4,096 — past the isolate's 128 MB.
 */
const WORKER_BATCH_TOKENS = 512;

async function start(env: WorkerEnv): Promise<App> {
  const source = env.MODEL_BUCKET
    ? r2Reader(env.MODEL_BUCKET, env.EMBEDGE_MODEL_PREFIX ?? "")
    : env.ASSETS
    ? assetReader(env.ASSETS)
    : undefined;
  if (!source) throw new Error("no MODEL_BUCKET (R2) or ASSETS binding holds the model");
  const read = partedReader(source); // files over the asset limit are stored as parts
  const config = serverConfig(env as unknown as Record<string, unknown>);
  if (config.workers) {
    throw new ConfigError(
      "EMBEDGE_WORKERS",
      "a Worker isolate has no threads: the model runs inline",
    );
  }
  const embedder = await Embedder.load(read, {
    modelId: env.EMBEDGE_MODEL_ID ?? "model",
    ...(config.dtype ? { dtype: config.dtype } : {}),
    batchTokens: config.batchTokens ?? WORKER_BATCH_TOKENS,
    tokenizerWasm: tokenizerWasm as WebAssembly.Module,
    ortWasm: ortWasm as WebAssembly.Module,
    // fp32 BERT graphs run on embedge's kernels (int8 ones on onnxruntime-web)
    kernelsWasm: kernelsWasm as WebAssembly.Module,
    // no disk to keep a built tokenizer on (with nodejs_compat a Worker has `process` and a
    // virtual node:fs, which the default would try); ship embedge-tokenizer.bin instead
    tokenizerCache: false,
  });
  const classifiers: Record<string, Classifier> = {};
  for (const [name, path] of config.classifiers) {
    const bytes = await read(path);
    if (!bytes) throw new Error(`EMBEDGE_CLASSIFIERS: ${path} is not in the model directory`);
    classifiers[name] = JSON.parse(new TextDecoder().decode(bytes)); // checked by createApp
  }
  return createApp(embedder, { ...config.app, classifiers });
}

let app: Promise<App> | undefined;

export default {
  /** Serves a request, loading the model on the first one. */
  async fetch(request: Request, env: WorkerEnv, ctx: unknown): Promise<Response> {
    try {
      app ??= start(env).catch((e) => {
        app = undefined;
        throw e;
      });
      return await (await app).fetch(request, env, ctx as never);
    } catch (e) {
      console.error(`embedge: the model did not load: ${e}`);
      return errorResponse(new HttpError(503, `the model did not load: ${e}`, "server_error"));
    }
  },
};
