/**
 * Loading a model: its files (a Hub-layout directory, URL, Hub id or in-memory files),
 * the tokenizer, the external data a graph names, the checks that the files agree with
 * each other (load_checks.ts), the session (inline or a pool of workers), and the facts
 * about it (`ModelInfo`), frozen.
 *
 * @example
 * ```ts
 * import { loadModel } from "./load.ts";
 * const { info, session } = await loadModel("../shared/models/embedge-mini-mlm", { dtype: "fp32" });
 * console.log(info.modelId, info.hiddenSize, info.onnxFile); // embedge-mini-mlm 256 onnx/model.onnx
 * await session.release();
 * ```
 * @module
 */
import { InputError, ModelLoadError } from "../errors.ts";
import { hasFileSystem, permitted } from "../host.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import type { WasmSource } from "../tokenizer/wasm.ts";
import { modelConfig, normalizesByDefault, poolingFromSentenceTransformers } from "./config.ts";
import { modelJson, type ModelSource, readModelFiles } from "./files.ts";
import { defaultCacheDir, isHubId, MODEL_FILES, resolveModel } from "./hub.ts";
import { checkModelFiles, probeHiddenSize } from "./load_checks.ts";
import { externalDataLocations } from "./onnx/external.ts";
import { checkBatchTokens, checkThreads } from "./options.ts";
import type { Pooling } from "./pooling.ts";
import { type ModelPrompts, promptsOf, withDefaultPrompt } from "./prompts.ts";
import type { Backend } from "./engine/runtimes.ts";
import { createSession, type Engine, type ModelSession } from "./engine/session.ts";
import { createSessionPool } from "./engine/session_pool.ts";
import { directoryTokenizerCache, loadModelTokenizer, TOKENIZER_FILES } from "./tokenizer_files.ts";

/** A step of `Embedder.load`, as reported to `LoadOptions.onLoadStep`. */
export type LoadStep = "files" | "tokenizer" | "session" | "first run";

/** What `Embedder.load` accepts besides the model source. */
export interface LoadOptions {
  /** ONNX file inside the model directory (default `onnx/model.onnx`, or by `dtype`). */
  onnxFile?: string;
  /**
   * Which published variant to load, by the Hub's file names: `fp32` (`onnx/model.onnx`),
   * `int8` (`onnx/model_int8.onnx`, else `onnx/model_quantized.onnx`), `fp16`
   * (`onnx/model_fp16.onnx`). Not together with `onnxFile`.
   */
  dtype?: Dtype;
  /** Tokenizer wasm (a compiled module in Workers). */
  tokenizerWasm?: WasmSource;
  /** onnxruntime-web's wasm, precompiled (Workers, which cannot compile bytes); implies
   * the `wasm` backend. */
  ortWasm?: WebAssembly.Module;
  /** embedge's BERT kernels (`wasm/build/bert_kernels.wasm`), precompiled: Workers, which
   * cannot compile bytes, import it and pass it here to run fp32 BERT graphs on them. */
  kernelsWasm?: WebAssembly.Module;
  /** `auto` (default: onnxruntime-node where it loads, else onnxruntime-web), `native`
   * or `wasm`. */
  backend?: Backend;
  /** Threads for inference (native: intra-op threads, default all cores; wasm: default 1). */
  threads?: number;
  /**
   * On the WASM backend with one thread, run a BERT graph embedge recognises on its own
   * WASM kernels (default true: 1.46–1.60× onnxruntime-web here, vectors within 4e-6 of it);
   * false always uses onnxruntime-web. `info.engine` says which one runs.
   */
  kernels?: boolean;
  /**
   * Called while the files of a model named by Hub id download (bytes received so far and
   * the file's size when the server says it); the CLIs draw a progress bar with it.
   */
  onDownload?: (file: string, received: number, total: number | undefined) => void;
  /**
   * Called (and awaited) as each step of the load ends: `files` (every file read),
   * `tokenizer` (built or deserialised), `session` (external data read, the graph parsed
   * and, on the kernels, the weights packed), `first run` (the probe run that finds the
   * hidden size). The Worker logs the time each took with `EMBEDGE_LOG_TIMINGS=on`.
   */
  onLoadStep?: (step: LoadStep) => void | Promise<void>;
  /**
   * The prompt a call that names none applies: a name of the model's prompts, or `null` for
   * none (TEI's default, and its `--default-prompt-name`). Absent: the model's own
   * `default_prompt_name` (config_sentence_transformers.json), as sentence-transformers.
   */
  defaultPromptName?: string | null;
  /**
   * Run the model in this many Deno workers (session_pool.ts) instead of on the calling
   * thread: inference leaves the event loop and up to `workers` batches run at once.
   * 0 (default) runs inline. Each worker holds its own copy of the model.
   */
  workers?: number;
  /**
   * Most cells (rows × padded length) per `session.run` when a call does not say
   * (default 16384). It bounds the memory a model run needs: on a Cloudflare Worker
   * (128 MB per isolate) the Worker entry uses 512.
   */
  batchTokens?: number;
  /**
   * Keep the tokenizer built from tokenizer.json / vocab.txt for the next load of the same
   * files (by their SHA-256), in this directory; `false` turns it off. Default, where there
   * is a file system: `tokenizers/` in the model cache (`EMBEDGE_CACHE`, else
   * `$HF_HOME/embedge`, else `~/.cache/embedge`). Not used for models that ship
   * `embedge-tokenizer.bin`, nor on Workers.
   */
  tokenizerCache?: string | false;
  /** A name for the model in results, errors and classifier artifacts (default: the
   * directory's last path segment, as on the Hub, e.g. `all-MiniLM-L6-v2`). */
  modelId?: string;
}

/** Model variants by precision. */
export type Dtype = "fp32" | "int8" | "fp16";

/** The ONNX files each `dtype` may be published as, in order of preference. */
export const DTYPE_FILES: Readonly<Record<Dtype, readonly string[]>> = {
  fp32: ["onnx/model.onnx"],
  int8: ["onnx/model_int8.onnx", "onnx/model_quantized.onnx"],
  fp16: ["onnx/model_fp16.onnx"],
};

/**
 * Facts about a loaded model. Its prompts (`prompts`, `defaultPromptName`, `includePrompt`)
 * are `config_sentence_transformers.json`'s (prompts.ts).
 */
export interface ModelInfo extends ModelPrompts {
  modelId: string;
  hiddenSize: number;
  maxLength: number;
  pooling: Pooling;
  normalize: boolean;
  hasPooler: boolean;
  hasTokenTypes: boolean;
  inputs: readonly string[];
  outputs: readonly string[];
  /** The ONNX file loaded (inside the model directory). */
  onnxFile: string;
  /** Encoder layers (N); `layers` options index 0 … N. */
  layers: number;
  /** Whether hidden states of layers other than the last can be chosen (`layers`). */
  layerStates: boolean;
  /** The backend running the model (`auto` resolved). */
  backend: "native" | "wasm";
  /**
   * What runs it: onnxruntime-node (native), or on the WASM backend embedge's kernels for
   * BERT graphs they recognise (one thread) and onnxruntime-web otherwise.
   */
  engine: Engine;
  /**
   * Why `engine` is not the first choice, when it is not: why the WASM backend did not use
   * the kernels, and on Node why `auto` runs without onnxruntime-node (then also printed
   * once with console.warn). Absent on onnxruntime-node and when the kernels run by choice.
   */
  engineNote?: string;
  /** Inference threads asked for (0: the build's default). */
  threads: number;
  /** Most cells per `session.run` when a call does not say (`batchTokens`). */
  batchTokens: number;
  /** Session workers (0: inline). */
  workers: number;
  /**
   * Where the model's files disagree and what was done about it (e.g. a config allowing
   * more positions than the graph's table has: the smaller limit is used); empty when
   * they agree.
   */
  notes: readonly string[];
}

/** A loaded model's parts, for `Embedder`. */
export interface LoadedModel {
  tokenizer: Tokenizer;
  session: ModelSession;
  info: ModelInfo;
  /** Why `layers` other than the last cannot be chosen, when they cannot. */
  layerRefusal: string | undefined;
}

/**
 * Loads a model from a Hub-layout directory (path, `file:`/`https:` URL), a Hub id or
 * in-memory files (see `Embedder.load`).
 */
export async function loadModel(
  source: ModelSource,
  options: LoadOptions = {},
): Promise<LoadedModel> {
  const workers = checkLoadOptions(options);
  const candidates = options.onnxFile !== undefined
    ? [options.onnxFile]
    : DTYPE_FILES[options.dtype ?? "fp32"];
  // a Hub id (owner/name[@revision]) that is not a local path: from the download cache
  if (typeof source === "string" && hasFileSystem() && isHubId(source)) {
    const local = await resolveModel(source, {
      ...(options.onDownload ? { onProgress: options.onDownload } : {}),
      files: [
        ...MODEL_FILES.filter((f) => !f.startsWith("onnx/")),
        ...candidates.map((f, i) => (i === candidates.length - 1 ? f : `${f}?`)),
      ],
    });
    if (local !== source) {
      options = { modelId: source.split("@")[0], ...options };
      source = local;
    }
  }
  const files = await readModelFiles(source, [
    "config.json",
    ...TOKENIZER_FILES,
    "1_Pooling/config.json",
    "modules.json",
    "config_sentence_transformers.json",
    ...candidates,
  ]);
  await options.onLoadStep?.("files");
  const onnxFile = candidates.find((f) => files.get(f)) ?? candidates[0];
  const modelId = options.modelId ??
    (files.name.replace(/\/+$/, "").split("/").pop() || files.name);
  const json = (f: string) => modelJson(files, f);
  const onnx = files.get(onnxFile);
  if (!onnx) {
    throw new ModelLoadError(
      `${files.name}: no ${
        candidates.join(" or ")
      } (expected the Hub layout: config.json, tokenizer.json or vocab.txt, ${onnxFile})`,
      "model",
    );
  }
  const cacheDir = options.tokenizerCache ?? defaultTokenizerCache();
  const tokenizer = await loadModelTokenizer(
    files,
    options.tokenizerWasm,
    cacheDir === false ? undefined : directoryTokenizerCache(cacheDir),
  );
  await options.onLoadStep?.("tokenizer");
  const externalData = await readExternalData(source, files.name, onnxFile, onnx);
  const config = modelConfig(json("config.json"));
  const ownPrompts = promptsOf(
    json("config_sentence_transformers.json"),
    json("1_Pooling/config.json"),
    files.name,
  );
  const prompts = options.defaultPromptName === undefined
    ? ownPrompts
    : withDefaultPrompt(ownPrompts, options.defaultPromptName, "defaultPromptName", files.name);
  // the files must agree with each other before a session is made (load_checks.ts)
  const checked = checkModelFiles({ files, onnxFile, onnx, externalData, tokenizer, config });
  const sessionOptions = {
    ...(externalData.length ? { externalData } : {}),
    ...(options.ortWasm ? { wasm: options.ortWasm } : {}),
    ...(options.kernelsWasm ? { kernelsWasm: options.kernelsWasm } : {}),
    ...(Number.isInteger(config.layers) ? { layers: config.layers } : {}),
    ...(Number.isInteger(config.heads) ? { heads: config.heads } : {}),
    ...(typeof config.layerNormEps === "number" ? { layerNormEps: config.layerNormEps } : {}),
    ...(options.kernels === false ? { kernels: false } : {}),
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.threads !== undefined ? { threads: checkThreads(options.threads) } : {}),
  };
  const session = workers > 0
    ? await createSessionPool(onnx, sessionOptions, workers)
    : await createSession(onnx, sessionOptions);
  let hiddenSize: number;
  try {
    await options.onLoadStep?.("session");
    hiddenSize = await probeHiddenSize(session, tokenizer, files.name, config.hiddenSize);
    await options.onLoadStep?.("first run");
  } catch (cause) {
    await session.release();
    throw cause;
  }
  // built once, after every check, and frozen: what /info reports is what runs
  const info: ModelInfo = Object.freeze({
    modelId,
    hiddenSize,
    maxLength: checked.maxLength,
    pooling: poolingFromSentenceTransformers(json("1_Pooling/config.json")) ?? "mean",
    normalize: normalizesByDefault(json("modules.json")),
    ...prompts,
    hasPooler: !!session.poolerOutput,
    hasTokenTypes: session.hasTokenTypes,
    inputs: session.inputNames,
    outputs: session.outputNames,
    onnxFile,
    layers: session.stateOutputs.length
      ? session.stateOutputs.length - 1
      : Number.isInteger(config.layers)
      ? config.layers!
      : 0,
    layerStates: session.stateOutputs.length > 0,
    backend: session.backend,
    engine: session.engine,
    ...(session.engineNote ? { engineNote: session.engineNote } : {}),
    threads: session.threads,
    batchTokens: options.batchTokens ?? 16384,
    workers,
    notes: Object.freeze(checked.notes),
  });
  return { tokenizer, session, info, layerRefusal: checked.layerRefusal };
}

/**
 * The tokenizer cache's directory, where the program may read and write it without asking
 * (no Deno permission prompt for an optional speed-up); else none.
 */
function defaultTokenizerCache(): string | false {
  if (!hasFileSystem()) return false;
  for (const variable of ["EMBEDGE_CACHE", "HF_HOME", "HOME"]) {
    if (!permitted({ name: "env", variable })) return false;
  }
  const dir = `${defaultCacheDir()}/tokenizers`;
  return permitted({ name: "read", path: dir }) && permitted({ name: "write", path: dir })
    ? dir
    : false;
}

/** Checks the options `Embedder.load` validates itself; returns the worker count. */
function checkLoadOptions(options: LoadOptions): number {
  if (options.dtype !== undefined && !Object.hasOwn(DTYPE_FILES, options.dtype)) {
    throw new InputError(`dtype must be one of ${Object.keys(DTYPE_FILES).join(", ")}`, "dtype");
  }
  if (options.dtype !== undefined && options.onnxFile !== undefined) {
    throw new InputError("give dtype or onnxFile, not both", "dtype");
  }
  const workers = options.workers ?? 0;
  if (!(Number.isInteger(workers) && workers >= 0 && workers <= 64)) {
    throw new InputError("workers must be an integer in 0..64", "workers");
  }
  if (options.batchTokens !== undefined) checkBatchTokens(options.batchTokens);
  return workers;
}

/** The external data files a graph names (large exports keep weights next to the graph). */
async function readExternalData(
  source: ModelSource,
  name: string,
  onnxFile: string,
  onnx: Uint8Array,
): Promise<{ path: string; data: Uint8Array }[]> {
  const onnxDir = onnxFile.includes("/") ? onnxFile.slice(0, onnxFile.lastIndexOf("/") + 1) : "";
  const externalData = [];
  for (const location of externalDataLocations(onnx)) {
    const path = onnxDir + location;
    const data = await readModelFiles(source, [path]).then((f) => f.get(path), () => undefined);
    if (!data) {
      throw new ModelLoadError(
        `${name}: ${onnxFile} needs its external data ${onnxDir}${location}`,
        "onnx",
      );
    }
    externalData.push({ path: location, data });
  }
  return externalData;
}
