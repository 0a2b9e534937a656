/**
 * What the graph reader (bert_graph.ts) hands the kernels (kernel_session.ts): a BERT
 * encoder's weights as arrays, with the sizes and tensor names the session needs to run them.
 * The types only; every part of the reader fills its share.
 *
 * @example
 * ```ts
 * import type { Int8Matrix, Matrix } from "./weights.ts";
 * // an int8 [2, 3] projection: one scale per output column; a value reads back as q × scale
 * const weight: Int8Matrix = { q: Int8Array.of(1, -2, 3, 4, 5, -6), scales: Float32Array.of(0.5, 1, 2) };
 * const m: Matrix = weight;
 * console.log(m instanceof Float32Array, weight.q[5] * weight.scales[2]); // false -12
 * ```
 * @module
 */

/** A LayerNorm's parameters. */
export interface Norm {
  gamma: Float32Array;
  beta: Float32Array;
  epsilon: number;
}

/**
 * An int8 matrix as quantize.ts writes it: `q` [rows, cols] row-major, one float scale per
 * column (a projection's output column) or per row (the word-embedding table); a value
 * reads back as q × its scale.
 */
export interface Int8Matrix {
  q: Int8Array;
  scales: Float32Array;
}

/** A projection's weight: float32 [in, out], or int8 with one scale per output column. */
export type Matrix = Float32Array | Int8Matrix;

/**
 * One encoder layer: matrices as [in, out], row-major. Arrays may be views of the model's
 * bytes (read them, do not keep them past the model).
 */
export interface LayerWeights {
  query: Matrix;
  queryBias: Float32Array;
  key: Matrix;
  keyBias: Float32Array;
  value: Matrix;
  valueBias: Float32Array;
  output: Matrix;
  outputBias: Float32Array;
  attentionNorm: Norm;
  intermediate: Matrix;
  intermediateBias: Float32Array;
  down: Matrix;
  downBias: Float32Array;
  outputNorm: Norm;
}

/** What the kernels need to run a BERT graph, and the graph's tensor names they stand for. */
export interface BertGraphWeights {
  hidden: number;
  heads: number;
  intermediate: number;
  /**
   * [rows, hidden] each; `types` absent when the graph adds no token-type table. `words` is
   * int8 (one scale per row) in quantize.ts's int8 graphs.
   */
  words: Float32Array | Int8Matrix;
  wordRows: number;
  positions: Float32Array;
  positionRows: number;
  types?: Float32Array;
  typeRows: number;
  embeddingNorm: Norm;
  layers: LayerWeights[];
  pooler?: { weight: Matrix; bias: Float32Array };
  /** The graph's inputs (`input_ids`, and `attention_mask` / `token_type_ids` when present). */
  inputs: string[];
  /** Output names: the hidden output, the pooler output, the layer boundaries (0 … N−1). */
  hiddenOutput: string;
  poolerOutput?: string;
  states: string[];
}

/** Where a graph's numbers come from, and what its config says. */
export interface GraphReadOptions {
  /** `num_attention_heads` (the graph's reshapes hold it too, but not in one form). */
  heads: number;
  /**
   * `layer_norm_eps`, for LayerNorms written out as `ReduceMean`… whose ε the graph computes
   * (it is read from the graph when it is a constant; default 1e-12).
   */
  epsilon?: number;
  /** External data files by the name the graph uses. */
  readExternal?: (location: string) => Uint8Array;
  /** The graph's layer boundaries, when the caller has found them (onnx/layers.ts). */
  states?: string[];
}
