/**
 * Whether a model's files agree with each other, checked once at load (Embedder.load):
 * a model whose config, tokenizer and graph disagree would otherwise start and then fail
 * on some requests, blame the client, or answer wrong vectors with status 200.
 *
 * - the longest input: the smallest of config.json's `max_position_embeddings`, the
 *   tokenizer's `model_max_length` and the rows of the graph's position-embedding table,
 *   with a note when they differ (a config saying 500 over a 128-row table made inputs
 *   past 128 tokens fail inside onnxruntime);
 * - the vocabulary: the tokenizer must know words, not only its special tokens (an empty
 *   WordPiece vocabulary turns every word into `[UNK]`), and its ids must be rows of the
 *   word-embedding table;
 * - the weights: no NaN or ±Inf in a floating-point initializer (such a model answers NaN
 *   vectors, which JSON writes as `null`);
 * - the layers: config.json's `num_hidden_layers` against the layer boundaries the graph
 *   shows (onnx/layers.ts); when they differ, choosing layers is refused with that reason.
 *
 * @example
 * ```ts
 * import { maxLengthOf } from "./load_checks.ts";
 * const { maxLength, note } = maxLengthOf({ config: 500, tokenizer: 512, graph: 128 });
 * console.log(maxLength); // 128
 * console.log(note); // maxLength 128, the smallest of: config.json max_position_embeddings 500, the tokenizer's model_max_length 512, the graph's position-embedding table 128 rows
 * ```
 * @module
 */
import { EmbedgeError, ModelLoadError } from "../errors.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import type { ModelConfig } from "./config.ts";
import type { ModelFiles } from "./files.ts";
import {
  type Graph,
  type GraphNode,
  type GraphTensor,
  readGraph,
  tensorBytes,
} from "./onnx/graph.ts";
import { encoderLayerStates, wordEmbeddingRows } from "./onnx/layers.ts";
import { checkFiniteWeights, firstNonFinite } from "./onnx/finite_weights.ts";
import type { ModelSession } from "./engine/session.ts";
import { PRECOMPILED_TOKENIZER } from "./tokenizer_files.ts";

// TensorProto.DataType of int64 tensors
const INT64 = 7;

/** Ops that pass their first input's values on unchanged (or only reshaped). */
const PASS_THROUGH = new Set([
  "Unsqueeze",
  "Squeeze",
  "Reshape",
  "Flatten",
  "Expand",
  "Cast",
  "Identity",
  "Slice",
]);

/** The values a `Gather`'s indices come from, followed back through reshapes and casts. */
function indexSource(producers: Map<string, GraphNode>, name: string) {
  for (let steps = 0; steps < 16; steps++) {
    const node = producers.get(name);
    if (!node || !PASS_THROUGH.has(node.op)) return { name, node };
    name = node.inputs[0];
  }
  return { name, node: producers.get(name) };
}

/** Whether an integer initializer (or Constant) holds 0, 1, 2, … with at least 2 values. */
function countsFromZero(
  t: GraphTensor | undefined,
  readExternal: (location: string) => Uint8Array,
): boolean {
  if (!t || t.dataType !== INT64) return false;
  let values: number[] | undefined = t.int64s;
  let raw: Uint8Array | undefined;
  try {
    raw = values ? undefined : tensorBytes(t, readExternal);
  } catch {
    return false; // external data that is not there: not known to count
  }
  if (raw && raw.length >= 16) {
    const view = new DataView(raw.buffer, raw.byteOffset, Math.min(raw.length, 64));
    values = Array.from(
      { length: view.byteLength >> 3 },
      (_, i) => Number(view.getBigInt64(8 * i, true)),
    );
  }
  return !!values && values.length >= 2 && values.every((v, i) => v === i);
}

/**
 * Rows of the position-embedding table: the 2-D initializer a `Gather` reads with position
 * ids as indices (a `Range`, an arange constant, or a tensor named `position_ids`, a
 * graph input or Hugging Face's buffer `embeddings.position_ids`, whose values may sit in
 * external data: possibly sliced, unsqueezed or cast on the way). Undefined when the graph
 * has no such lookup (a fused embedding layer): the config and tokenizer then decide alone.
 */
export function positionTableRows(
  graph: Graph,
  readExternal: (location: string) => Uint8Array = () => new Uint8Array(0),
): number | undefined {
  const producers = new Map<string, GraphNode>();
  for (const node of graph.nodes) for (const output of node.outputs) producers.set(output, node);
  const tables = new Map(graph.initializers.map((t) => [t.name, t]));
  const constants = new Map<string, GraphTensor>(tables);
  for (const node of graph.nodes) {
    if (node.op === "Constant" && node.value) constants.set(node.outputs[0], node.value);
  }
  let rows: number | undefined;
  for (const node of graph.nodes) {
    const table = node.op === "Gather" ? tables.get(node.inputs[0]) : undefined;
    if (!table || table.dims.length !== 2 || (node.attributes.get("axis") ?? 0) !== 0) continue;
    const source = indexSource(producers, node.inputs[1]);
    const positions = source.node?.op === "Range" ||
      (!source.node && /(^|\.)position_ids$/.test(source.name)) ||
      countsFromZero(constants.get(source.name), readExternal);
    if (positions) rows = Math.min(rows ?? Infinity, table.dims[0]);
  }
  return rows;
}

/** The token limits each file declares (undefined: it declares none). */
export interface LengthSources {
  config?: number;
  tokenizer?: number;
  graph?: number;
}

/** Without any declared limit, BERT's. */
const DEFAULT_MAX_LENGTH = 512;

/**
 * The longest input the model takes: the smallest declared limit, and a note naming every
 * limit when they differ (so `/info` shows why the model takes fewer tokens than its
 * config says).
 */
export function maxLengthOf(sources: LengthSources): { maxLength: number; note?: string } {
  const named: [string, number | undefined][] = [
    ["config.json max_position_embeddings", sources.config],
    ["the tokenizer's model_max_length", sources.tokenizer],
    ["the graph's position-embedding table", sources.graph],
  ];
  const declared = named.filter((entry): entry is [string, number] =>
    Number.isInteger(entry[1]) && entry[1]! > 0
  );
  if (declared.length === 0) return { maxLength: DEFAULT_MAX_LENGTH };
  const maxLength = Math.min(...declared.map(([, value]) => value));
  if (declared.every(([, value]) => value === maxLength)) return { maxLength };
  const list = declared.map(([what, value]) =>
    `${what} ${value}${what.includes("table") ? " rows" : ""}`
  );
  return { maxLength, note: `maxLength ${maxLength}, the smallest of: ${list.join(", ")}` };
}

/**
 * Refuses a tokenizer that knows no words: every id besides its added (special) tokens is
 * empty, so each word would be `[UNK]` and every text the same vector. `file` names the
 * tokenizer file in the error.
 */
export function checkVocabulary(tokenizer: Tokenizer, modelName: string, file: string): void {
  const c = tokenizer.config;
  const added = new Set(c.addedTokens.map((a) => a.id));
  for (const special of [c.clsToken, c.sepToken, c.padToken, c.unkToken, c.maskToken]) {
    const id = tokenizer.tokenToId(special);
    if (id !== undefined) added.add(id);
  }
  const vocab = c.vocab;
  // the first ordinary token sits near the start of any real vocabulary: this stops early
  for (let id = 0; id < vocab.length; id++) if (vocab[id] && !added.has(id)) return;
  throw new ModelLoadError(
    `${modelName}: ${file} has an empty vocabulary (only the ${added.size} special and added tokens): ` +
      "every word would be [UNK]",
    file,
  );
}

/**
 * Refuses a tokenizer whose ids reach past the graph's word-embedding table (those ids
 * would read rows that do not exist, or other tokens' rows).
 */
export function checkWordRows(
  tokenizer: Tokenizer,
  rows: number | undefined,
  modelName: string,
): void {
  if (rows === undefined || tokenizer.vocabSize <= rows) return;
  throw new ModelLoadError(
    `${modelName}: the tokenizer has ${tokenizer.vocabSize} tokens but the graph's word-embedding table has ${rows} rows`,
    "tokenizer",
  );
}

/**
 * Why layers cannot be chosen when config.json and the graph disagree on the layer count
 * (undefined when they agree, or when either does not say).
 */
export function layerMismatch(configLayers: number | undefined, graphLayers: number) {
  if (configLayers === undefined || !Number.isInteger(configLayers) || graphLayers === 0) {
    return undefined;
  }
  if (configLayers === graphLayers) return undefined;
  return `config.json says num_hidden_layers ${configLayers} but the graph shows ${graphLayers} encoder layers, so only the last layer (-1) can be used`;
}

/**
 * Runs one short input through the session, end to end, and returns the hidden size it
 * outputs, which must be config.json's (`configHiddenSize`, when it says); an output with
 * NaN or ±Inf is refused too. Failures are ModelLoadErrors naming `where`.
 */
export async function probeHiddenSize(
  session: ModelSession,
  tokenizer: Tokenizer,
  where: string,
  configHiddenSize: number | undefined,
): Promise<number> {
  const encoding = tokenizer.encode("probe");
  const n = encoding.ids.length;
  const ids = BigInt64Array.from(encoding.ids, (id) => BigInt(id));
  const mask = new BigInt64Array(n).fill(1n);
  let output;
  try {
    output = await session.run(ids, mask, new BigInt64Array(n), 1, n, undefined);
  } catch (cause) {
    if (cause instanceof EmbedgeError) throw cause;
    throw new ModelLoadError(`${where}: the model fails on a probe input: ${cause}`, "onnx", {
      cause,
    });
  }
  checkFiniteOutput(output.hidden, where, () => "a probe input");
  if (configHiddenSize !== undefined && configHiddenSize !== output.hiddenSize) {
    throw new ModelLoadError(
      `${where}: config.json says hidden_size ${configHiddenSize}, the graph outputs ${output.hiddenSize}`,
      "config",
    );
  }
  return output.hiddenSize;
}

/** What `checkModelFiles` needs of a model being loaded. */
export interface ModelParts {
  files: ModelFiles;
  onnxFile: string;
  onnx: Uint8Array;
  externalData: readonly { path: string; data: Uint8Array }[];
  tokenizer: Tokenizer;
  config: ModelConfig;
}

/** What the checks found: the longest input, notes for `info.notes`, the layer refusal. */
export interface CheckedModel {
  maxLength: number;
  notes: string[];
  /** Why only the last layer can be chosen (config and graph disagree), when so. */
  layerRefusal?: string;
}

/**
 * Every check that needs no session (see the module's list); throws ModelLoadError naming
 * the file at fault. A graph this cannot parse is left to onnxruntime, which says why.
 */
export function checkModelFiles(parts: ModelParts): CheckedModel {
  const { files, onnxFile, onnx, externalData, tokenizer, config } = parts;
  const tokenizerFile = ["tokenizer.json", "vocab.txt"].find((f) => files.get(f)) ??
    PRECOMPILED_TOKENIZER;
  checkVocabulary(tokenizer, files.name, tokenizerFile);
  let graph: Graph | undefined;
  try {
    graph = readGraph(onnx);
  } catch (cause) {
    // bytes that are no protobuf are refused here; a well-framed message without a graph
    // is left to onnxruntime, whose complaint (made when the session is created) says more
    if (cause instanceof ModelLoadError && /not a valid protobuf/.test(cause.message)) throw cause;
    graph = undefined;
  }
  const external = new Map(externalData.map((e) => [e.path, e.data]));
  const readExternal = (location: string) => external.get(location) ?? new Uint8Array(0);
  if (graph) {
    checkWordRows(tokenizer, wordEmbeddingRows(onnx), files.name);
    checkFiniteWeights(graph, readExternal, `${files.name}: ${onnxFile}`);
  }
  const notes: string[] = [];
  const { maxLength, note } = maxLengthOf({
    config: config.maxPositionEmbeddings,
    tokenizer: tokenizer.config.modelMaxLength,
    graph: graph && positionTableRows(graph, readExternal),
  });
  if (note) notes.push(note);
  const layerRefusal = layerMismatch(config.layers, graph ? encoderLayerStates(onnx).length : 0);
  if (layerRefusal) notes.push(layerRefusal);
  return { maxLength, notes, ...(layerRefusal ? { layerRefusal } : {}) };
}

/**
 * Refuses an output holding NaN or ±Inf (JSON would write `null` for it): a
 * ModelLoadError, since the model (its weights, or their overflow on some input), not the
 * request, is at fault. `input` names the input the value at an index belongs to.
 */
export function checkFiniteOutput(
  hidden: Float32Array,
  where: string,
  input: (index: number) => string,
): void {
  const index = firstNonFinite(hidden);
  if (index < 0) return;
  throw new ModelLoadError(
    `${where}: the model's output for ${input(index)} holds a NaN or infinite value ` +
      "(its weights overflow on it)",
    "onnx",
  );
}
