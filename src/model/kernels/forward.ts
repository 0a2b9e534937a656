/**
 * One run of the kernels (kernel_session.ts): `[batch, seq]` tokens embedded, through
 * every layer (a fused QKV product, attention, output product, LayerNorm, feed-forward with
 * gelu, LayerNorm), and the pooler, on the weights packed in their memory (packing.ts).
 * A run's tensors are placed after the weights; `runBytes` says how much that takes, so a
 * batch too big fails before anything is placed.
 *
 * int8 projections quantize their input per tensor first, as the graph's
 * DynamicQuantizeLinear does (`quantizeActivations`; the relaxed build's 7-bit weights take
 * `quantizeActivationsI8`), then multiply on `linearInt8` / `linearInt8Relaxed`.
 *
 * @example
 * ```ts
 * import { indices } from "./forward.ts";
 * // int64 ids → i32, each checked against the table's rows
 * const ids = { data: BigInt64Array.of(1n, 7n), dims: [1, 2] };
 * console.log(indices(ids, 2, 50, "input_ids")); // Int32Array(2) [ 1, 7 ]
 * ```
 * @module
 */
import { InputError } from "../../errors.ts";
import type { Arena } from "./arena.ts";
import type { Kernels } from "./kernels_module.ts";
import type { Placed, PlacedMatrix } from "./packing.ts";
import type { BertGraphWeights } from "./weights.ts";

/**
 * What a run needs of the graph once its weights are packed: sizes and names, no arrays.
 * A session keeps this, not the `BertGraphWeights` it was made from, whose arrays are views
 * of the model's bytes: keeping them would hold the whole ONNX file (and its external data)
 * beside the packed copy for as long as the session lives (~24 MB for MiniLM int8, ~87 MB
 * of external data for fp32).
 */
export interface RunShape {
  hidden: number;
  heads: number;
  intermediate: number;
  wordRows: number;
  positionRows: number;
  typeRows: number;
  /** Whether a pooler was packed. */
  pooler: boolean;
  inputs: readonly string[];
  hiddenOutput: string;
  poolerOutput?: string;
  states: readonly string[];
}

/** The sizes and names of `w`, without its arrays. */
export function runShape(w: BertGraphWeights): RunShape {
  return {
    hidden: w.hidden,
    heads: w.heads,
    intermediate: w.intermediate,
    wordRows: w.wordRows,
    positionRows: w.positionRows,
    typeRows: w.typeRows,
    pooler: w.pooler !== undefined,
    inputs: [...w.inputs],
    hiddenOutput: w.hiddenOutput,
    ...(w.poolerOutput ? { poolerOutput: w.poolerOutput } : {}),
    states: [...w.states],
  };
}

/** The tensors `run` takes (int64 `[batch, seq]`) and gives. */
export interface Tensor {
  data: unknown;
  dims: readonly number[];
}

/** Bytes one run of `batch` × `seq` tokens places after the weights (as `forward` does). */
export function runBytes(k: Kernels, w: RunShape, batch: number, seq: number): number {
  const r = (bytes: number) => Math.ceil(bytes / 64) * 64, T = batch * seq;
  const H = w.hidden, I = w.intermediate;
  // the quantized input of int8 projections: i16, the widest input (I)
  return 3 * r(T * 4) + 5 * r(T * H * 4) + r(T * 3 * H * 4) + r(T * I * 4) +
    r(k.attentionScratch(seq, H / w.heads) * 4) + (w.pooler ? 2 * r(batch * H * 4) : 0) +
    r(T * Math.max(H, I) * 2);
}

/** `[batch, seq]` int64 → i32, each value checked against `rows`. */
export function indices(t: Tensor | undefined, count: number, rows: number, name: string) {
  const out = new Int32Array(count);
  if (!t) return out;
  const data = t.data as BigInt64Array;
  for (let i = 0; i < count; i++) {
    const v = Number(data[i]);
    if (!(v >= 0 && v < rows)) {
      throw new InputError(`${name}[${i}] = ${v} is outside 0…${rows - 1}`, name);
    }
    out[i] = v;
  }
  return out;
}

export type Outputs = Record<string, { data: Float32Array; dims: number[]; type: string }>;

/**
 * out [M, N] = x [M, K] · m + bias, on `linear` or, for an int8 m, on the int8 product its
 * packing chose (`linearInt8Unsigned`, `linearInt8Relaxed`, `linearInt8`), the activations
 * quantized into `quantized` first.
 */
function projector(k: Kernels, quantized: number) {
  return (
    x: number,
    m: PlacedMatrix,
    bias: number,
    out: number,
    M: number,
    K: number,
    N: number,
  ): void => {
    if (m.scales === undefined) return k.linear(x, m.at, bias, out, M, K, N);
    if (m.unsigned) {
      const xScale = k.quantizeActivationsU8(x, quantized, M * K);
      const zero = k.activationZeroPoint();
      return k.linearInt8Unsigned(
        quantized,
        m.at,
        m.colSums!,
        m.scales,
        bias,
        xScale,
        zero,
        out,
        M,
        K,
        N,
      );
    }
    if (m.colSums !== undefined) {
      const xScale = k.quantizeActivationsI8(x, quantized, M * K);
      const zero = k.activationZeroPoint();
      return k.linearInt8Relaxed(
        quantized,
        m.at,
        m.colSums,
        m.scales,
        bias,
        xScale,
        zero,
        out,
        M,
        K,
        N,
      );
    }
    // per tensor, as the graph's DynamicQuantizeLinear: every row, padding included
    const xScale = k.quantizeActivations(x, quantized, M * K);
    k.linearInt8(quantized, m.at, m.scales, bias, xScale, out, M, K, N);
  };
}

/**
 * One forward pass of `[B, S]` tokens (`ids` and the other feeds) placed after the weights;
 * the caller sets `arena.top` back after it. The outputs asked for, copied out.
 */
export function forward(
  k: Kernels,
  arena: Arena,
  w: RunShape,
  placed: Placed,
  feeds: Record<string, unknown>,
  fetches: readonly string[],
): Outputs {
  const ids = feeds.input_ids as Tensor;
  const [B, S] = ids.dims;
  const T = B * S, H = w.hidden, I = w.intermediate, headSize = H / w.heads;
  const { memory } = arena;
  const { words, wordScales, positions, types, embeddingNorm, layers, pooler } = placed;
  const maskFeed = feeds.attention_mask as Tensor | undefined;
  const idsAt = arena.put(indices(ids, T, w.wordRows, "input_ids"));
  const typesAt = arena.put(
    indices(
      feeds.token_type_ids as Tensor | undefined,
      T,
      Math.max(w.typeRows, 1),
      "token_type_ids",
    ),
  );
  const mask = maskFeed
    ? indices(maskFeed, T, 2 ** 31, "attention_mask")
    : new Int32Array(T).fill(1);
  const maskAt = arena.put(mask);
  const wanted = new Set(fetches);
  const out: Outputs = {};
  const keep = (name: string, at: number) => {
    if (wanted.has(name)) {
      out[name] = {
        data: new Float32Array(memory.buffer, at, T * H).slice(),
        dims: [B, S, H],
        type: "float32",
      };
    }
  };
  const alloc = (bytes: number) => arena.alloc(bytes);
  let x = alloc(T * H * 4);
  let spare = alloc(T * H * 4);
  const sum = alloc(T * H * 4), attended = alloc(T * H * 4);
  const qkv = alloc(T * 3 * H * 4), context = alloc(T * H * 4);
  const raised = alloc(T * I * 4), scratch = alloc(k.attentionScratch(S, headSize) * 4);
  const quantized = alloc(T * Math.max(H, I) * 2);
  const scale = 1 / Math.sqrt(headSize);
  const project = projector(k, quantized);
  if (wordScales) k.embedInt8(idsAt, typesAt, words, wordScales, positions, types, sum, B, S, H);
  else k.embed(idsAt, typesAt, words, positions, types, sum, B, S, H);
  k.addLayerNorm(sum, 0, embeddingNorm[0], embeddingNorm[1], x, T, H, embeddingNorm[2]);
  layers.forEach((L, l) => {
    keep(w.states[l], x);
    project(x, L.qkv, L.qkvBias, qkv, T, H, 3 * H);
    k.attention(qkv, maskAt, context, scratch, B, S, w.heads, headSize, scale);
    project(context, L.output, L.outputBias, sum, T, H, H);
    const [g1, b1, e1] = L.attentionNorm;
    k.addLayerNorm(sum, x, g1, b1, attended, T, H, e1);
    project(attended, L.intermediate, L.intermediateBias, raised, T, H, I);
    k.gelu(raised, T * I);
    project(raised, L.down, L.downBias, sum, T, I, H);
    const [g2, b2, e2] = L.outputNorm;
    k.addLayerNorm(sum, attended, g2, b2, spare, T, H, e2);
    [x, spare] = [spare, x];
  });
  keep(w.hiddenOutput, x);
  if (pooler && w.poolerOutput && wanted.has(w.poolerOutput)) {
    // the first token of each row, then dense + tanh
    const first = alloc(B * H * 4), dense = alloc(B * H * 4);
    for (let b = 0; b < B; b++) {
      new Float32Array(memory.buffer, first + b * H * 4, H)
        .set(new Float32Array(memory.buffer, x + b * S * H * 4, H));
    }
    project(first, pooler.weight, pooler.bias, dense, B, H, H);
    const data = new Float32Array(memory.buffer, dense, B * H).map(Math.tanh);
    out[w.poolerOutput] = { data, dims: [B, H], type: "float32" };
  }
  for (const name of fetches) {
    if (!out[name]) throw new InputError(`the kernels have no output ${name}`, "fetches");
  }
  return out;
}
