/**
 * The Cloudflare Worker's fetch handler, apart from its entry files so that both builds
 * share it and Deno can run it (Deno cannot import `.wasm` files as `WebAssembly.Module`s,
 * which is how the entries get them):
 *
 * - `edge/worker.ts` (`edge/wrangler.jsonc`, the default): the tokenizer and the kernels
 *   only. A model the kernels refuse (an int8 graph, say) does not load: every route
 *   answers 503 with the kernels' reason, `/health` included.
 * - `edge/worker_ort.ts` (`edge/wrangler.ort.jsonc`, opt-in): also onnxruntime-web and its
 *   14 MB wasm, which runs what the kernels refuse.
 *
 * See `edge/worker.ts` for the bindings and variables.
 *
 * @example
 * ```ts ignore
 * import tokenizerWasm from "../wasm/build/tokenizer.wasm";
 * import kernelsWasm from "../wasm/build/bert_kernels.wasm";
 * import { createWorker } from "./worker_handler.ts";
 * export default createWorker({ tokenizerWasm, kernelsWasm });
 * ```
 * @module
 */
import { createApp } from "./app.ts";
import { ConfigError, serverConfig } from "./config.ts";
import { Embedder, type LoadStep } from "../src/model/embedder.ts";
import { ModelLoadError } from "../src/errors.ts";
import { errorResponse, HttpError } from "./errors.ts";
import { partedReader } from "./assets.ts";
import type { Classifier } from "../src/classifier/logistic.ts";
import { TextClassifier } from "../src/model/classify/text_classifier.ts";

/** The part of a Workers `Fetcher` binding that is used here. */
export interface AssetsBinding {
  fetch(request: Request | string): Promise<Response>;
}

/** The part of a Workers `R2Bucket` binding that is used here. */
export interface R2BucketBinding {
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
  /**
   * `on`: print how long each step of the model's load and the first three requests took
   * (`embedge timing: …`); `requests`: the same for every request (bench/cpu_per_request.ts).
   */
  EMBEDGE_LOG_TIMINGS?: string;
  EMBEDGE_TIMEOUT_MS?: string;
  /** and the other variables of edge/config.ts */
  [variable: string]: unknown;
}

/** The WebAssembly modules a Worker build imports (workerd cannot compile bytes). */
export interface WorkerModules {
  tokenizerWasm: WebAssembly.Module;
  kernelsWasm: WebAssembly.Module;
  /** onnxruntime-web's `ort-wasm-simd-threaded.wasm`: the opt-in build only. */
  ortWasm?: WebAssembly.Module;
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
 * Cells per model run on a Worker unless `EMBEDGE_BATCH_TOKENS` says otherwise. The
 * engine's WASM memory grows to the largest run and never shrinks; measured with the int8
 * all-MiniLM-L6-v2 structure on the kernels (bench/worker_memory.ts,
 * worker-memory-2026-12-06T14-42-29-534Z-vm): 24.6 MiB after load, 36.3 MiB after runs of
 * 512 cells (the isolate's whole peak 73.7 MiB), 362 MiB at 16,384 — past its 128 MB.
 */
const WORKER_BATCH_TOKENS = 512;

/**
 * Times the steps of a load for `EMBEDGE_LOG_TIMINGS=on`. workerd's clock stands still
 * while JavaScript runs (a Spectre mitigation) and moves on at I/O, so each mark first
 * waits for a zero-length timer: without it a CPU-bound step (tokenizer, packing) reads 0.
 * That wait costs one event-loop turn per step, and only when timings are on.
 */
function loadTimer(on: boolean) {
  const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
  let last = 0, reading = 0, reads = 0, bytes = 0;
  const log = (part: string, ms: number, extra = "") =>
    console.log(`embedge timing: ${part} ${ms} ms${extra}`);
  return {
    async start() {
      if (!on) return;
      await tick();
      last = Date.now();
      // wall-clock time, so that a caller outside can place the load in its own timeline
      console.log(`embedge timing: load began at ${last}`);
    },
    /** A reader that adds up the time spent in reads (they are I/O: the clock moves). */
    reads(read: (path: string) => Promise<Uint8Array | undefined>) {
      if (!on) return read;
      return async (path: string) => {
        const started = Date.now();
        const data = await read(path);
        reading += Date.now() - started;
        reads++;
        bytes += data?.byteLength ?? 0;
        return data;
      };
    },
    async step(step: LoadStep | "classifiers") {
      if (!on) return;
      await tick();
      const now = Date.now();
      if (step === "files") {
        log("asset reads", reading, ` (${reads} files, ${bytes} bytes)`);
        log("files", now - last, " (reads and the waits between them)");
      } else log(step, now - last);
      last = now;
    },
    log,
  };
}

/** Whether `EMBEDGE_LOG_TIMINGS` asks for the load's timings (`on` or `requests`). */
function timingsOn(env: WorkerEnv): boolean {
  return env.EMBEDGE_LOG_TIMINGS === "on" || env.EMBEDGE_LOG_TIMINGS === "requests";
}

async function start(env: WorkerEnv, modules: WorkerModules): Promise<App> {
  const timer = loadTimer(timingsOn(env));
  await timer.start();
  const started = Date.now();
  const source = env.MODEL_BUCKET
    ? r2Reader(env.MODEL_BUCKET, env.EMBEDGE_MODEL_PREFIX ?? "")
    : env.ASSETS
    ? assetReader(env.ASSETS)
    : undefined;
  if (!source) throw new Error("no MODEL_BUCKET (R2) or ASSETS binding holds the model");
  // files over the asset limit are stored as parts
  const read = partedReader(timer.reads(source));
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
    ...(config.defaultPromptName !== undefined
      ? { defaultPromptName: config.defaultPromptName }
      : {}),
    batchTokens: config.batchTokens ?? WORKER_BATCH_TOKENS,
    // no onnxruntime-node here; saying so skips the attempt to import it
    backend: "wasm",
    tokenizerWasm: modules.tokenizerWasm,
    // fp32 BERT graphs run on embedge's kernels; the rest on onnxruntime-web, in the
    // opt-in build only
    ...(modules.ortWasm ? { ortWasm: modules.ortWasm } : {}),
    kernelsWasm: modules.kernelsWasm,
    // no disk to keep a built tokenizer on (with nodejs_compat a Worker has `process` and a
    // virtual node:fs, which the default would try); ship embedge-tokenizer.bin instead
    tokenizerCache: false,
    onLoadStep: (step) => timer.step(step),
  });
  const classifiers: Record<string, Classifier> = {};
  for (const [name, path] of config.classifiers) {
    const bytes = await read(path);
    if (!bytes) throw new Error(`EMBEDGE_CLASSIFIERS: ${path} is not in the model directory`);
    classifiers[name] = JSON.parse(new TextDecoder().decode(bytes)); // checked by createApp
  }
  if (config.classifiers.length) await timer.step("classifiers");
  const textClassifier = config.predictModel
    ? await loadPredictModel(read, config.predictModel, modules, config.batchTokens)
    : undefined;
  const app = createApp(embedder, { ...config.app, classifiers, textClassifier });
  if (timingsOn(env)) {
    timer.log("load", Date.now() - started, ` (engine ${embedder.info.engine})`);
  }
  return app;
}

/**
 * The sequence-classification model of `/predict` and `/rerank` (`EMBEDGE_PREDICT_MODEL`): a
 * model directory under that path in the same assets or bucket as the embedding model (e.g.
 * `sst2/`, prepared there by bin/worker_assets.ts). Its head (a Gemm to `logits`) is not a
 * graph embedge's kernels run, so it runs on onnxruntime-web: the opt-in build only; in the
 * default build the load fails saying so, and the Worker answers 503 with that reason.
 */
async function loadPredictModel(
  read: (path: string) => Promise<Uint8Array | undefined>,
  directory: string,
  modules: WorkerModules,
  batchTokens: number | undefined,
): Promise<TextClassifier> {
  const prefix = directory.replace(/\/*$/, "/");
  try {
    return await TextClassifier.load((path) => read(prefix + path), {
      modelId: prefix.slice(0, -1).split("/").pop(),
      backend: "wasm",
      tokenizerWasm: modules.tokenizerWasm,
      kernelsWasm: modules.kernelsWasm,
      ...(modules.ortWasm ? { ortWasm: modules.ortWasm } : {}),
      batchTokens: batchTokens ?? WORKER_BATCH_TOKENS,
    });
  } catch (e) {
    // named, so that the 503 says which of the two models did not load (a refused graph
    // stays a lasting ModelLoadError: not retried per request)
    const message = `EMBEDGE_PREDICT_MODEL ${prefix}: ${(e as Error).message}`;
    if (e instanceof ModelLoadError) throw new ModelLoadError(message, e.param, { cause: e });
    throw new Error(message, { cause: e });
  }
}

/**
 * Whether a failed load fails the same way next time: the graph itself was refused (by the
 * kernels and, where it is left out, onnxruntime-web). Such a load is not retried per
 * request, which would re-read and re-parse the whole model only to refuse it again;
 * anything else (a read that failed, a missing file) is retried on the next request.
 */
function lasting(e: unknown): boolean {
  return e instanceof ModelLoadError && e.param === "onnx";
}

/**
 * The Worker's `fetch` handler for one build: the model loads on the first request
 * (workerd allows no I/O at module scope) and stays for the life of the isolate.
 */
export function createWorker(modules: WorkerModules): {
  fetch(request: Request, env: WorkerEnv, ctx: unknown): Promise<Response>;
} {
  let app: Promise<App> | undefined;
  let requests = 0;
  return {
    /** Serves a request, loading the model on the first one. */
    async fetch(request, env, ctx) {
      try {
        app ??= start(env, modules).catch((e) => {
          if (!lasting(e)) app = undefined;
          throw e;
        });
        const ready = await app;
        // `on` times the first three requests only: each timed request waits two timer turns
        if (
          !timingsOn(env) || (++requests > 3 && env.EMBEDGE_LOG_TIMINGS !== "requests")
        ) return await ready.fetch(request, env, ctx as never);
        // the requests' own time and their wall-clock end, so that a caller outside can
        // tell the Worker's time from the time its answer takes to come out
        const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
        await tick();
        const began = Date.now();
        const response = await ready.fetch(request, env, ctx as never);
        await tick();
        const path = new URL(request.url).pathname;
        console.log(
          `embedge timing: request ${requests} ${path} ${
            Date.now() - began
          } ms, answered at ${Date.now()}`,
        );
        return response;
      } catch (e) {
        console.error(`embedge: the model did not load: ${e}`);
        return errorResponse(new HttpError(503, `the model did not load: ${e}`, "server_error"));
      }
    },
  };
}
