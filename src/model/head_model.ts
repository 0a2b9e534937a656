/**
 * Loading a model with a task head (a graph whose output is `logits`): the files of a
 * Hub-layout directory, its tokenizer, config and external data, the checks of the files
 * against each other, and a logits session. `TextClassifier` (`[batch, labels]`) and
 * `SparseEncoder` (a masked LM's `[batch, tokens, vocab]`) both load through here and add
 * what their head needs (labels, the vocabulary's width) from a probe run.
 *
 * @example
 * ```ts
 * import { loadHeadModel } from "./head_model.ts";
 * const model = await loadHeadModel("../shared/models/embedge-mini-sst2", {}, {
 *   batchTokens: 16384,
 *   rank: 2,
 * });
 * console.log(model.modelId, model.maxLength, model.session.outputNames); // embedge-mini-sst2 128 [ "logits" ]
 * await model.session.release();
 * ```
 * @module
 */
import { InputError, ModelLoadError } from "../errors.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import type { WasmSource } from "../tokenizer/wasm.ts";
import { type ModelConfig, modelConfig } from "./config.ts";
import { readExternalData } from "./external_data.ts";
import { type ModelFiles, modelJson, type ModelSource, readModelFiles } from "./files.ts";
import { wordEmbeddingRows } from "./onnx/layers.ts";
import type { Backend } from "./engine/runtimes.ts";
import { createLogitsSession, type LogitsSession } from "./engine/logits_session.ts";
import { directoryTokenizerCache, loadModelTokenizer, TOKENIZER_FILES } from "./tokenizer_files.ts";

/** Load options every head model takes. */
export interface HeadLoadOptions {
  /** ONNX file inside the model directory (default `onnx/model.onnx`). */
  onnxFile?: string;
  /** `auto` (default: onnxruntime-node where it loads), `native` or `wasm`. */
  backend?: Backend;
  /** Inference threads (0 or absent: native's default, WASM 1). */
  threads?: number;
  /** Tokenizer wasm (a compiled module in Workers). */
  tokenizerWasm?: WasmSource;
  /** onnxruntime-web's wasm, precompiled (Workers); implies the `wasm` backend. */
  ortWasm?: WebAssembly.Module;
  /** A directory keeping the built tokenizer between runs (tokenizer_files.ts); default none. */
  tokenizerCache?: string;
  /** Most cells (rows × padded width) per model run (the head's default when absent). */
  batchTokens?: number;
  /** A name for the model (default: the directory's last path segment). */
  modelId?: string;
}

/** What the head decides: its defaults and what its session may use. */
export interface HeadKind {
  /** Cells per model run when the caller does not say. */
  batchTokens: number;
  /** The logits' rank: 2 (`[batch, labels]`) or 3 (`[batch, tokens, vocab]`). */
  rank: 2 | 3;
  /** Whether the WASM backend may try embedge's kernels (default true). */
  kernels?: boolean;
  /** embedge's kernels' wasm, precompiled (Workers). */
  kernelsWasm?: WebAssembly.Module;
}

/** A loaded head model, before its head's own probe. */
export interface HeadModel {
  files: ModelFiles;
  /** config.json as read (undefined when absent). */
  json: Record<string, unknown> | undefined;
  config: ModelConfig;
  tokenizer: Tokenizer;
  session: LogitsSession;
  onnxFile: string;
  modelId: string;
  /** Tokens per input the model takes: the tokenizer's and the config's limits. */
  maxLength: number;
  batchTokens: number;
}

/** Refuses a value that is not an integer in [low, high], naming the option. */
function integerIn(value: number, low: number, high: number, name: string): void {
  if (!(Number.isInteger(value) && value >= low && value <= high)) {
    throw new InputError(`${name} must be an integer in ${low}..${high}`, name);
  }
}

/** Loads the files, tokenizer and logits session of a head model (see the module doc). */
export async function loadHeadModel(
  source: ModelSource,
  options: HeadLoadOptions,
  head: HeadKind,
): Promise<HeadModel> {
  const batchTokens = options.batchTokens ?? head.batchTokens;
  integerIn(batchTokens, 1, 1 << 20, "batchTokens");
  const threads = options.threads ?? 0;
  integerIn(threads, 0, 256, "threads");
  const onnxFile = options.onnxFile ?? "onnx/model.onnx";
  // config_sentence_transformers.json: the prompts of a SPLADE model (sparse_encoder.ts)
  const files = await readModelFiles(source, [
    "config.json",
    ...TOKENIZER_FILES,
    "config_sentence_transformers.json",
    onnxFile,
  ]);
  const onnx = files.get(onnxFile);
  if (!onnx) {
    throw new ModelLoadError(
      `${files.name}: no ${onnxFile} (expected the Hub layout: config.json, tokenizer.json or vocab.txt, ${onnxFile})`,
      "model",
    );
  }
  const json = modelJson(files, "config.json") as Record<string, unknown> | undefined;
  const config = modelConfig(json);
  const tokenizer = await loadModelTokenizer(
    files,
    options.tokenizerWasm,
    options.tokenizerCache ? directoryTokenizerCache(options.tokenizerCache) : undefined,
  );
  // a token id past the table would read another row (or fail deep in the engine)
  const rows = wordEmbeddingRows(onnx);
  if (rows !== undefined && tokenizer.vocabSize > rows) {
    throw new ModelLoadError(
      `${files.name}: the tokenizer has ${tokenizer.vocabSize} tokens but the graph's word-embedding table has ${rows} rows`,
      "tokenizer",
    );
  }
  const external = await readExternalData(source, files, onnxFile);
  const session = await createLogitsSession(onnx, {
    ...(external.length ? { externalData: external } : {}),
    ...(options.ortWasm ? { wasm: options.ortWasm } : {}),
    ...(head.kernelsWasm ? { kernelsWasm: head.kernelsWasm } : {}),
    ...(Number.isInteger(config.heads) ? { heads: config.heads } : {}),
    ...(typeof config.layerNormEps === "number" ? { layerNormEps: config.layerNormEps } : {}),
    ...(head.kernels === false ? { kernels: false } : {}),
    ...(options.backend ? { backend: options.backend } : {}),
    threads,
    rank: head.rank,
  });
  return {
    files,
    json,
    config,
    tokenizer,
    session,
    onnxFile,
    modelId: options.modelId ?? (files.name.replace(/\/+$/, "").split("/").pop() || files.name),
    maxLength: Math.min(
      tokenizer.config.modelMaxLength || 512,
      config.maxPositionEmbeddings ?? 512,
    ),
    batchTokens,
  };
}
