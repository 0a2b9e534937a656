/**
 * The embedding engine: text → WordPiece tokens → BERT (onnxruntime, native or WASM) → token, word
 * and sentence vectors. Inputs are sorted by length and split into batches by a token
 * budget (rows × padded width), padded `longest`, to a fixed `max_length` or to length
 * buckets; results come back in input order.
 *
 * @example
 * ```ts
 * import { Embedder } from "./embedder.ts";
 * const embedder = await Embedder.load("../shared/models/embedge-mini-mlm");
 * const { data, dims } = await embedder.embed(["I love Paris.", "I adore Paris."]);
 * console.log(dims, data.length); // [2, 256] 512
 * ```
 * @module
 */
import { InputError, InputTooLongError, ModelLoadError } from "../errors.ts";
import type { Encoding, Tokenizer, TokenRows } from "../tokenizer/tokenizer.ts";
import type { WasmSource } from "../tokenizer/wasm.ts";
import { modelConfig, normalizesByDefault, poolingFromSentenceTransformers } from "./config.ts";
import { normalizeRows, pool, pooledSize, type Pooling, POOLINGS } from "./pooling.ts";
import { createSession, type Engine, type ModelSession, type SessionOutput } from "./session.ts";
import { createSessionPool } from "./session_pool.ts";
import { modelJson, type ModelSource, readModelFiles } from "./files.ts";
import { externalDataLocations } from "./onnx_external.ts";
import { directoryTokenizerCache, loadModelTokenizer, TOKENIZER_FILES } from "./tokenizer_files.ts";
import { LAYER_MIXES, type LayerMix, mixLayers, resolveLayers } from "./layers.ts";
import type { Backend } from "./runtimes.ts";
import { defaultCacheDir, isHubId, MODEL_FILES, resolveModel } from "./hub.ts";
import { checkFiniteOutput, checkModelFiles, probeHiddenSize } from "./load_checks.ts";
import { hasFileSystem, permitted } from "../host.ts";

/** A thread count: an integer in 0..256 (0: the backend's default). */
function checkThreads(threads: unknown): number {
  if (!(Number.isInteger(threads) && (threads as number) >= 0 && (threads as number) <= 256)) {
    throw new InputError("threads must be an integer in 0..256 (0: the default)", "threads");
  }
  return threads as number;
}

/** How rows of a batch are padded. */
export type PaddingStrategy = "longest" | "max_length" | "buckets";

/** Options of every embed call. */
export interface EmbedOptions {
  /** Sentence pooling (default: the model's sentence-transformers pooling, else mean). */
  pooling?: Pooling;
  /** L2-normalize sentence vectors (default: the model's Normalize module, else false). */
  normalize?: boolean;
  /** Truncate long inputs to `maxLength` (default true); false → InputTooLongError. */
  truncate?: boolean;
  /** Token limit per input, special tokens included (default: the model's). */
  maxLength?: number;
  /** Padding of each batch (default `longest`). */
  padding?: PaddingStrategy;
  /** Most cells (rows × padded length) per `session.run` (default 16384). */
  batchTokens?: number;
  /**
   * Most padding cells per real token in a batch (default 0.1; `Infinity` to fill the
   * budget). One-thread WASM gains nothing from rows it pads, so groups stay near-equal.
   * Fixed `max_length` padding pads every row to the same width whatever this says.
   */
  maxPaddingWaste?: number;
  /**
   * Encoder layers whose hidden states make the token vectors (default `[-1]`, the last):
   * 0 is the embeddings' output, N the last layer, negative indices count from the end
   * (`[-2]`, `[-4, -3, -2, -1]`). See layers.ts.
   */
  layers?: number[];
  /** How several `layers` are combined per token: `mean` (default) or `concat`. */
  layerMix?: LayerMix;
  /** Called after each batch with inputs done and total. */
  onProgress?: (done: number, total: number) => void;
}

/** Sentence embeddings: `data` is `[dims[0], dims[1]]` row-major, in input order. */
export interface Embeddings {
  data: Float32Array;
  dims: [number, number];
  pooling: Pooling;
  normalized: boolean;
  /** Tokens fed to the model per input (special tokens included, padding excluded). */
  tokenCounts: Int32Array;
}

/** Token embeddings of one input (padding removed; special tokens kept and flagged). */
export interface TokenEmbeddings {
  tokens: string[];
  ids: Int32Array;
  offsets: Uint32Array;
  specialTokensMask: Uint8Array;
  /** `[tokens, hidden]` */
  vectors: Float32Array;
  hiddenSize: number;
}

/** Word embeddings of one input: subword vectors aggregated per word. */
export interface WordEmbeddings {
  words: string[];
  /** `[start, end)` UTF-16 offsets of each word. */
  offsets: Uint32Array;
  /** `[words, hidden]` */
  vectors: Float32Array;
  hiddenSize: number;
}

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

/** The inputs of one call, ready to batch (see `Embedder.#rows`). */
interface Rows {
  /** Tokens per input, special tokens included. */
  lengths: Int32Array;
  /** Writes the inputs `group` as the rows of zeroed `[group.length, width]` tensors. */
  writeTensors(
    group: number[],
    width: number,
    ids: BigInt64Array,
    mask: BigInt64Array,
    types: BigInt64Array,
  ): void;
  /** Input `i` as an Encoding. */
  encoding(i: number): Encoding;
}

/** Model variants by precision. */
export type Dtype = "fp32" | "int8" | "fp16";

/** The ONNX files each `dtype` may be published as, in order of preference. */
export const DTYPE_FILES: Readonly<Record<Dtype, readonly string[]>> = {
  fp32: ["onnx/model.onnx"],
  int8: ["onnx/model_int8.onnx", "onnx/model_quantized.onnx"],
  fp16: ["onnx/model_fp16.onnx"],
};

/** Facts about a loaded model. */
export interface ModelInfo {
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

const BUCKETS = [8, 16, 32, 64, 128, 256, 512, 1024, 2048];

/** Options with every default filled in; `states` are the absolute layer indices to read,
 * `null` for the graph's own hidden output (the last layer). */
type Resolved =
  & Required<Omit<EmbedOptions, "onProgress">>
  & Pick<EmbedOptions, "onProgress">
  & { states: number[] | null };

/**
 * A text already tokenized by `Embedder.encode`: embed calls take it in place of the text
 * and do not tokenize it again. A server validates and tokenizes each request once, by
 * itself (its errors name that request's fields), then queues these.
 *
 * @example
 * ```ts
 * import { Embedder, EncodedText } from "./embedder.ts";
 * const embedder = await Embedder.load("../shared/models/embedge-mini-mlm");
 * const encoded = embedder.encode("I love Paris.");
 * console.log(encoded instanceof EncodedText, encoded.text); // true I love Paris.
 * await embedder.close();
 * ```
 */
export class EncodedText {
  constructor(readonly text: string, readonly encoding: Encoding) {}
}

/** One input of an embed call: a text, a text already encoded, or token ids. */
export type EmbedInput = string | EncodedText | readonly number[];

/** The text of an input given as a text or an encoded text. */
function textOf(t: string | EncodedText): string {
  return t instanceof EncodedText ? t.text : t;
}

/**
 * The most cells (rows × padded length) one model run may take. A run's activations grow
 * with it (BERT-base: ~36 KB of float32 per cell and layer at its widest), so past 2^20 cells
 * a run would need tens of GB and WebAssembly's 4 GiB at the most: refused up front.
 */
export const MAX_BATCH_TOKENS = 1 << 20;

/** Refuses a `batchTokens` that is not an integer from 1 to MAX_BATCH_TOKENS. */
function checkBatchTokens(value: number): void {
  if (!(Number.isInteger(value) && value >= 1 && value <= MAX_BATCH_TOKENS)) {
    throw new InputError(
      `batchTokens must be an integer from 1 to ${MAX_BATCH_TOKENS}, not ${value}`,
      "batchTokens",
    );
  }
}

/** A loaded model: tokenizer + session + defaults. */
export class Embedder {
  readonly tokenizer: Tokenizer;
  readonly session: ModelSession;
  /** Facts about the model, frozen (built once at load, after the checks). */
  readonly info: Readonly<ModelInfo>;

  /** Why `layers` other than the last cannot be chosen, when they cannot. */
  readonly #layerRefusal: string | undefined;

  private constructor(
    tokenizer: Tokenizer,
    session: ModelSession,
    info: ModelInfo,
    layerRefusal: string | undefined,
  ) {
    this.tokenizer = tokenizer;
    this.session = session;
    this.info = info;
    this.#layerRefusal = layerRefusal;
  }

  /**
   * Loads a model from a Hub-layout directory (path, `file:`/`https:` URL) or in-memory
   * files: `config.json`, `tokenizer.json` or `vocab.txt`, `onnx/model.onnx`, optional
   * `1_Pooling/config.json`, `modules.json` and `embedge-tokenizer.bin` (the precompiled
   * tokenizer, see tokenizer_files.ts).
   */
  static async load(source: ModelSource, options: LoadOptions = {}): Promise<Embedder> {
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
    return new Embedder(tokenizer, session, info, checked.layerRefusal);
  }

  /** Width of sentence vectors for a pooling (and a `layers` choice with `concat`). */
  dimensions(
    pooling: Pooling = this.info.pooling,
    layers: { layers?: number[]; layerMix?: LayerMix } = {},
  ): number {
    const n = layers.layerMix === "concat" ? layers.layers?.length ?? 1 : 1;
    return pooledSize(pooling, this.info.hiddenSize * n);
  }

  #defaults(): Resolved {
    return {
      pooling: this.info.pooling,
      normalize: this.info.normalize,
      truncate: true,
      maxLength: this.info.maxLength,
      padding: "longest",
      batchTokens: this.info.batchTokens,
      maxPaddingWaste: 0.1,
      layers: [-1],
      layerMix: "mean",
      states: null,
    };
  }

  /**
   * Absolute state indices of a `layers` option, or null when that is just the last layer;
   * throws `InputError` naming `layers` (or `layers[i]`) when the model cannot give them.
   *
   * @example
   * ```ts
   * import { Embedder } from "./embedder.ts";
   * const embedder = await Embedder.load("../shared/models/embedge-mini-mlm");
   * console.log(embedder.layerStates([-2, -1]), embedder.layerStates([-1])); // [3, 4] null
   * ```
   */
  layerStates(layers: unknown): number[] | null {
    const n = this.info.layers;
    const states = resolveLayers(layers, n);
    if (states.length === 1 && states[0] === n) return null;
    if (!this.info.layerStates) {
      throw new InputError(
        `${this.info.modelId}: ${
          this.#layerRefusal ??
            "the graph's encoder layers were not found, so only the last layer (-1) can be used"
        }`,
        "layers",
      );
    }
    return states;
  }

  #options(texts: unknown, o: EmbedOptions, allowIds = false) {
    if (!Array.isArray(texts)) throw new InputError("inputs must be an array of strings", "inputs");
    if (texts.length === 0) throw new InputError("inputs must not be empty", "inputs");
    const vocab = this.tokenizer.vocabSize;
    texts.forEach((t, i) => {
      if (t instanceof EncodedText) {
        const ids = t.encoding.ids;
        if (ids.length === 0 || !ids.every((x) => x >= 0 && x < vocab)) {
          throw new InputError(`inputs[${i}] is not an encoding of this model`, `inputs[${i}]`);
        }
        return;
      }
      if (allowIds && Array.isArray(t)) {
        if (t.length === 0) throw new InputError(`inputs[${i}] is empty`, `inputs[${i}]`);
        if (!t.every((x) => Number.isInteger(x) && x >= 0 && x < vocab)) {
          throw new InputError(
            `inputs[${i}] must hold token ids in 0..${vocab - 1}`,
            `inputs[${i}]`,
          );
        }
        return;
      }
      if (typeof t !== "string") {
        throw new InputError(
          `inputs[${i}] must be a string, got ${t === null ? "null" : typeof t}`,
          `inputs[${i}]`,
        );
      }
      if (t.length === 0) throw new InputError(`inputs[${i}] is empty`, `inputs[${i}]`);
    });
    const d = this.#defaults();
    const opts = {
      ...d,
      ...Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)),
    };
    if (!POOLINGS.includes(opts.pooling)) {
      throw new InputError(`pooling must be one of ${POOLINGS.join(", ")}`, "pooling");
    }
    if (opts.pooling === "pooler" && !this.info.hasPooler) {
      throw new InputError(`${this.info.modelId} exports no pooler output`, "pooling");
    }
    if (
      !(Number.isInteger(opts.maxLength) && opts.maxLength >= 2 &&
        opts.maxLength <= this.info.maxLength)
    ) {
      throw new InputError(
        `maxLength must be an integer in 2..${this.info.maxLength}`,
        "maxLength",
      );
    }
    if (!["longest", "max_length", "buckets"].includes(opts.padding)) {
      throw new InputError("padding must be longest, max_length or buckets", "padding");
    }
    checkBatchTokens(opts.batchTokens);
    if (!(typeof opts.maxPaddingWaste === "number" && opts.maxPaddingWaste >= 0)) {
      throw new InputError("maxPaddingWaste must be a number ≥ 0", "maxPaddingWaste");
    }
    if (!LAYER_MIXES.includes(opts.layerMix)) {
      throw new InputError(`layerMix must be one of ${LAYER_MIXES.join(", ")}`, "layerMix");
    }
    opts.states = this.layerStates(opts.layers);
    if (opts.pooling === "pooler" && opts.states) {
      throw new InputError(
        "pooling pooler reads the last layer only; choose another pooling with layers",
        "pooling",
      );
    }
    return opts as Resolved;
  }

  /**
   * Tokenizes (or wraps token ids in `[CLS] … [SEP]`), batches and runs; calls `take` per
   * batch with the rows' input indices.
   */
  async #forward(
    texts: readonly EmbedInput[],
    o: Resolved,
    take: (
      rows: number[],
      out: SessionOutput,
      mask: BigInt64Array,
      width: number,
      inputs: Rows,
    ) => void,
    /** Hidden states to fetch (by index) besides the graph's outputs. */
    fetch: readonly number[] | undefined = o.states ?? undefined,
  ): Promise<Rows> {
    const rows = this.#rows(texts, o);
    const lengths = rows.lengths;
    const order = Array.from(lengths.keys()).sort((a, b) => lengths[a] - lengths[b] || a - b);
    const widthFor = (longest: number) =>
      o.padding === "max_length"
        ? o.maxLength
        : o.padding === "buckets"
        ? Math.min(BUCKETS.find((b) => b >= longest) ?? longest, Math.max(o.maxLength, longest))
        : longest;
    // Groups first: grow each while it fits the budget and padding stays within
    // maxPaddingWaste of the real tokens (lengths are sorted, so groups hold near-equal
    // lengths).
    const groups: number[][] = [];
    for (let start = 0; start < order.length;) {
      let end = start + 1;
      let real = lengths[order[start]];
      while (end < order.length) {
        const n = lengths[order[end]];
        const cells = (end - start + 1) * widthFor(n);
        if (cells > o.batchTokens || cells > (real + n) * (1 + o.maxPaddingWaste)) break;
        real += n;
        end++;
      }
      groups.push(order.slice(start, end));
      start = end;
    }
    // A pool runs `capacity` groups at once, each worker on its share of the cores: a call
    // with fewer groups has its largest split in halves (lengths stay sorted) until every
    // worker has one, or a batch of 64 requests would run on one worker while the other
    // waits for the next batch.
    const lanesWanted = this.session.capacity ?? 1;
    while (groups.length < lanesWanted) {
      let largest = -1;
      for (let k = 0; k < groups.length; k++) {
        if (groups[k].length > 1 && (largest < 0 || groups[k].length > groups[largest].length)) {
          largest = k;
        }
      }
      if (largest < 0) break; // one row each
      const g = groups[largest], half = Math.ceil(g.length / 2);
      groups.splice(largest, 1, g.slice(0, half), g.slice(half));
    }
    let done = 0;
    const runGroup = async (group: number[]) => {
      const width = widthFor(lengths[group[group.length - 1]]);
      const cells = group.length * width;
      const ids = new BigInt64Array(cells),
        mask = new BigInt64Array(cells),
        types = new BigInt64Array(cells);
      rows.writeTensors(group, width, ids, mask, types);
      const out = await this.session.run(ids, mask, types, group.length, width, fetch);
      // NaN or ±Inf (weights that overflow on some token) would be answered as null vectors.
      // Reading the output once costs 0.2–0.3% of the run (2,000 big.txt lines on
      // embedge-mini-mlm: 42–47 ms of checks for 15.5–22 s of session.run, 24M floats)
      const cellsPerRow = width * out.hiddenSize;
      checkFiniteOutput(
        out.hidden,
        this.info.modelId,
        (at) => `inputs[${group[Math.floor(at / cellsPerRow)]}]`,
      );
      take(group, out, mask, width, rows);
      done += group.length;
      o.onProgress?.(done, texts.length);
    };
    // a session pool takes several runs at once; an inline session one after another
    const lanes = Math.min(this.session.capacity ?? 1, groups.length);
    let nextGroup = 0;
    await Promise.all(Array.from({ length: lanes }, async () => {
      while (nextGroup < groups.length) await runGroup(groups[nextGroup++]);
    }));
    return rows;
  }

  /**
   * The inputs of a call as pooled rows: texts tokenized together (`Tokenizer.encodeRows`:
   * no object per text), admitted encodings and token-id inputs as they are.
   */
  #rows(texts: readonly EmbedInput[], o: Resolved): Rows {
    const strings: number[] = [];
    texts.forEach((t, i) => {
      if (typeof t === "string") {
        if (t.length === 0) {
          throw new InputError(`inputs[${i}] must be a non-empty string`, `inputs[${i}]`);
        }
        strings.push(i);
      }
    });
    // texts: run once, then checked for length when truncation is off
    let pooled: TokenRows | undefined;
    if (strings.length) {
      try {
        pooled = this.tokenizer.encodeRows(
          strings.map((i) => texts[i] as string),
          o.truncate ? { maxLength: o.maxLength, truncation: true } : undefined,
        );
      } catch (e) {
        // the tokenizer names inputs[k] of the strings it saw: name the caller's index
        const known = e instanceof InputError || e instanceof InputTooLongError ? e : null;
        const k = known && /^inputs\[(\d+)\]/.exec(known.param ?? "");
        if (known && k) {
          const p = `inputs[${strings[Number(k[1])]}]`;
          const message = known.message.replace(`inputs[${k[1]}]`, p);
          const param = known.param!.replace(`inputs[${k[1]}]`, p);
          throw known instanceof InputTooLongError
            ? new InputTooLongError(message, param)
            : new InputError(message, param);
        }
        throw e;
      }
    }
    const slot = new Int32Array(texts.length).fill(-1); // index among the strings
    strings.forEach((i, k) => slot[i] = k);
    const others: Encoding[] = [];
    const otherAt = new Int32Array(texts.length).fill(-1);
    const lengths = new Int32Array(texts.length);
    texts.forEach((t, i) => {
      let n: number;
      if (slot[i] >= 0) n = pooled!.lengths[slot[i]];
      else {
        const e = t instanceof EncodedText ? t.encoding : this.#wrapIds(t as number[], o);
        otherAt[i] = others.push(e) - 1;
        n = e.ids.length;
      }
      if ((!o.truncate || t instanceof EncodedText) && n > o.maxLength) {
        throw new InputTooLongError(
          `inputs[${i}] has ${n} tokens; the limit is ${o.maxLength} (truncate is off)`,
          `inputs[${i}]`,
        );
      }
      lengths[i] = n;
    });
    const pad = this.tokenizer.tokenToId(this.tokenizer.config.padToken) ?? 0;
    return {
      lengths,
      writeTensors(group, width, ids, mask, types) {
        // the texts of the group in one call; the others row by row
        if (group.every((i) => slot[i] >= 0)) {
          pooled!.writeTensors(group.map((i) => slot[i]), width, ids, mask, types);
          return;
        }
        const i32 = new Int32Array(ids.buffer), m32 = new Int32Array(mask.buffer);
        const t32 = new Int32Array(types.buffer);
        group.forEach((r, k) => {
          const base = k * width;
          if (slot[r] >= 0) {
            const row = (t: BigInt64Array) => t.subarray(base, base + width);
            pooled!.writeTensors([slot[r]], width, row(ids), row(mask), row(types));
            return;
          }
          const e = others[otherAt[r]], n = e.ids.length;
          const eIds = e.ids, eTypes = e.typeIds;
          for (let j = 0; j < n; j++) {
            i32[2 * (base + j)] = eIds[j];
            m32[2 * (base + j)] = 1;
            t32[2 * (base + j)] = eTypes[j];
          }
          if (pad !== 0) { for (let j = n; j < width; j++) i32[2 * (base + j)] = pad; }
        });
      },
      encoding: (i) => slot[i] >= 0 ? pooled!.encoding(slot[i]) : others[otherAt[i]],
    };
  }

  /**
   * The token vectors one set of options reads from a run that fetched `fetched` states:
   * the graph's hidden output (and pooler), or the chosen layers mixed (width × layers for
   * concat).
   */
  #view(out: SessionOutput, o: Resolved, fetched: readonly number[] | undefined): SessionOutput {
    if (!o.states) return out;
    const states = o.states.map((k) => out.states![fetched!.indexOf(k)]);
    return {
      hidden: mixLayers(states, out.hiddenSize, o.layerMix),
      hiddenSize: o.layerMix === "concat" ? out.hiddenSize * states.length : out.hiddenSize,
    };
  }

  /** Token ids as a row: `[CLS] ids [SEP]`, cut to `maxLength` when truncating. */
  #wrapIds(ids: readonly number[], o: Resolved): Encoding {
    const tpl = this.tokenizer;
    const body = o.truncate ? ids.slice(0, Math.max(0, o.maxLength - 2)) : ids;
    const all = Int32Array.from([
      tpl.tokenToId(tpl.config.clsToken)!,
      ...body,
      tpl.tokenToId(tpl.config.sepToken)!,
    ]);
    const n = all.length;
    const special = new Uint8Array(n);
    special[0] = special[n - 1] = 1;
    return {
      ids: all,
      typeIds: new Int32Array(n),
      attentionMask: new Int32Array(n).fill(1),
      specialTokensMask: special,
      wordIds: new Int32Array(n).fill(-1),
      sequenceIds: new Int8Array(n),
      offsets: new Uint32Array(2 * n),
      get tokens() {
        return tpl.convertIdsToTokens(all);
      },
    };
  }

  /**
   * Sentence vectors for each option set in `variants` from one model run per batch
   * (tokenization, padding and batching follow `variants[0]`).
   */
  async #run(texts: readonly EmbedInput[], variants: Resolved[]) {
    const fetch = [...new Set(variants.flatMap((o) => o.states ?? []))];
    let hiddenSize = 0;
    const data: (Float32Array | null)[] = variants.map(() => null);
    const widths = variants.map(() => 0);
    const encs = await this.#forward(texts, variants[0], (rows, out, mask, seq) => {
      hiddenSize = out.hiddenSize;
      variants.forEach((o, v) => {
        const view = this.#view(out, o, fetch);
        const w = widths[v] = pooledSize(o.pooling, view.hiddenSize);
        const into = data[v] ??= new Float32Array(texts.length * w);
        const pooled = o.pooling === "pooler"
          ? view.pooler!
          : pool(view.hidden, mask, rows.length, seq, view.hiddenSize, o.pooling);
        rows.forEach((r, k) => into.set(pooled.subarray(k * w, (k + 1) * w), r * w));
      });
    }, fetch.length ? fetch : undefined);
    return {
      results: variants.map((o, v) => {
        const d = data[v] ?? new Float32Array(0);
        if (o.normalize) normalizeRows(d, texts.length, widths[v]);
        return { data: d, width: widths[v] };
      }),
      hiddenSize,
      tokenCounts: Int32Array.from(encs.lengths),
    };
  }

  /**
   * Tokenizes a text the way embed calls do, once: cut at `maxLength` (default the
   * model's) when `truncate` (default true), else an `InputTooLongError` naming `param`.
   * Pass the result to `embed`, `embedMany`, `embedTokens` or `embedWords` instead of the
   * text.
   *
   * @example
   * ```ts
   * import { Embedder } from "./embedder.ts";
   * const embedder = await Embedder.load("../shared/models/embedge-mini-mlm");
   * const encoded = embedder.encode("I love Paris.");
   * console.log(encoded.encoding.ids.length); // 6
   * const { dims } = await embedder.embed([encoded, "I adore Paris."]);
   * console.log(dims); // [2, 256]
   * await embedder.close();
   * ```
   */
  encode(
    text: string,
    options: { truncate?: boolean; maxLength?: number } = {},
    param = "inputs",
  ): EncodedText {
    if (typeof text !== "string" || text.length === 0) {
      throw new InputError(`${param} must be a non-empty string`, param);
    }
    const maxLength = options.maxLength ?? this.info.maxLength;
    const truncate = options.truncate ?? true;
    const encoding = this.tokenizer.encode(
      text,
      truncate ? { maxLength, truncation: true } : undefined,
    );
    if (!truncate && encoding.ids.length > maxLength) {
      throw new InputTooLongError(
        `${param} has ${encoding.ids.length} tokens; the limit is ${maxLength} (truncate is off)`,
        param,
      );
    }
    return new EncodedText(text, encoding);
  }

  /** Sentence embeddings of texts, or of token-id arrays (wrapped in `[CLS] … [SEP]`). */
  async embed(
    texts: readonly EmbedInput[],
    options: EmbedOptions = {},
  ): Promise<Embeddings> {
    const [result] = await this.embedMany(texts, [options]);
    return result;
  }

  /**
   * Sentence embeddings of the same texts in several ways (poolings, layers,
   * normalization) from one model run: each option set gives one `Embeddings`. The
   * options that shape the run itself (`truncate`, `maxLength`, `padding`, `batchTokens`,
   * `maxPaddingWaste`, `onProgress`) are taken from the first.
   *
   * @example
   * ```ts
   * import { Embedder } from "./embedder.ts";
   * const embedder = await Embedder.load("../shared/models/embedge-mini-mlm");
   * const [cls, mean] = await embedder.embedMany(["I love Paris."], [{ pooling: "cls" }, { pooling: "mean", layers: [-2] }]);
   * console.log(cls.dims, mean.dims); // [1, 256] [1, 256]
   * ```
   */
  async embedMany(
    texts: readonly EmbedInput[],
    variants: EmbedOptions[],
  ): Promise<Embeddings[]> {
    if (!Array.isArray(variants) || variants.length === 0) {
      throw new InputError("variants must be a non-empty array of options", "variants");
    }
    const resolved = variants.map((v) => this.#options(texts, { ...variants[0], ...v }, true));
    const r = await this.#run(texts as (string | readonly number[])[], resolved);
    return resolved.map((o, v) => ({
      data: r.results[v].data,
      dims: [texts.length, r.results[v].width] as [number, number],
      pooling: o.pooling,
      normalized: o.normalize,
      tokenCounts: r.tokenCounts,
    }));
  }

  /** Contextual token vectors (`last_hidden_state` per real token). */
  async embedTokens(
    texts: readonly (string | EncodedText)[],
    options: EmbedOptions = {},
  ): Promise<TokenEmbeddings[]> {
    return (await this.#tokens(texts, options)).map((t) => t.embeddings);
  }

  /** Token vectors with the encodings they came from (each text tokenized once). */
  async #tokens(
    texts: readonly (string | EncodedText)[],
    options: EmbedOptions,
  ): Promise<{ embeddings: TokenEmbeddings; encoding: Encoding }[]> {
    const o = this.#options(texts, options);
    const vectors: Float32Array[] = new Array(texts.length);
    let hiddenSize = 0;
    const encs = await this.#forward(texts, o, (rows, raw, _mask, seq, all) => {
      const out = this.#view(raw, o, o.states ?? undefined);
      const h = hiddenSize = out.hiddenSize;
      rows.forEach((r, k) => {
        const n = all.lengths[r];
        vectors[r] = out.hidden.slice(k * seq * h, (k * seq + n) * h);
      });
    });
    return Array.from(texts, (_, i) => encs.encoding(i)).map((e, i) => ({
      embeddings: {
        tokens: e.tokens,
        ids: e.ids,
        offsets: e.offsets,
        specialTokensMask: e.specialTokensMask,
        vectors: vectors[i],
        hiddenSize,
      },
      encoding: e,
    }));
  }

  /** Word vectors: the subword vectors of each word (by word ids), `first` or `mean`. */
  async embedWords(
    texts: readonly (string | EncodedText)[],
    options: EmbedOptions & { aggregate?: "first" | "mean" } = {},
  ): Promise<WordEmbeddings[]> {
    const aggregate = options.aggregate ?? "mean";
    if (aggregate !== "first" && aggregate !== "mean") {
      throw new InputError("aggregate must be first or mean", "aggregate");
    }
    // word ids come from the same encodings the model ran on: no second tokenization
    const toks = await this.#tokens(texts, options);
    return toks.map(({ embeddings: t, encoding: enc }, i) => {
      const wordIds = enc.wordIds, seq = enc.sequenceIds;
      const h = t.hiddenSize;
      const spans: { start: number; end: number; sum: Float64Array; n: number }[] = [];
      let last = -1;
      for (let k = 0; k < t.ids.length; k++) {
        if (seq[k] !== 0 || wordIds[k] < 0) continue;
        if (wordIds[k] !== last) {
          spans.push({
            start: t.offsets[2 * k],
            end: t.offsets[2 * k + 1],
            sum: new Float64Array(h),
            n: 0,
          });
          last = wordIds[k];
        }
        const s = spans[spans.length - 1];
        s.end = t.offsets[2 * k + 1];
        if (aggregate === "mean" || s.n === 0) {
          for (let j = 0; j < h; j++) s.sum[j] += t.vectors[k * h + j];
          s.n++;
        }
      }
      const vectors = new Float32Array(spans.length * h);
      spans.forEach((s, w) => {
        for (let j = 0; j < h; j++) vectors[w * h + j] = s.sum[j] / s.n;
      });
      return {
        words: spans.map((s) => textOf(texts[i]).slice(s.start, s.end)),
        offsets: Uint32Array.from(spans.flatMap((s) => [s.start, s.end])),
        vectors,
        hiddenSize: h,
      };
    });
  }

  /** Frees the session. */
  async close(): Promise<void> {
    await this.session.release();
  }
}
