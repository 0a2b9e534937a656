/**
 * The weights packed into the kernels' memory (kernel_session.ts), once per session:
 * query, key and value side by side as one [H, 3H] product; float matrices in `linear`'s
 * panel layout (packed by the kernels' `packB` from an unpacked copy that is released);
 * int8 matrices in `linearInt8`'s (pairs of rows) or, for 7-bit weights on the relaxed
 * build, `linearInt8Relaxed`'s (quads of rows, with column sums). Biases get room to whole
 * panels of 16. What is placed is byte offsets (`Placed`).
 *
 * @example
 * ```ts
 * import { packInt8 } from "./packing.ts";
 * // q [2, 3]: one panel of 16 columns, its two rows side by side per column, padding 0
 * const dst = new Int8Array(32);
 * packInt8(dst, Int8Array.of(1, 2, 3, 4, 5, 6), 2, 3);
 * console.log([...dst.subarray(0, 8)]); // [ 1, 4, 2, 5, 3, 6, 0, 0 ]
 * ```
 * @module
 */
import { ModelLoadError } from "../../errors.ts";
import type { Arena } from "./arena.ts";
import type { Kernels } from "./kernels_module.ts";
import type { BertGraphWeights, Int8Matrix, Matrix, Norm } from "./weights.ts";

/**
 * A packed projection weight: float32 for `linear`, or int8 for `linearInt8` with its
 * per-column scales at `scales` (padded to whole panels).
 */
export interface PlacedMatrix {
  at: number;
  scales?: number;
  /**
   * 7-bit weights in linearInt8Relaxed's layout, or (`unsigned`) any int8 weights in it
   * without the + 64: the column sums (i32, padded).
   */
  colSums?: number;
  /** Multiplied by linearInt8Unsigned (the runtime's relaxed dot is exact uint8 × int8). */
  unsigned?: boolean;
}

export interface PlacedLayer {
  qkv: PlacedMatrix;
  qkvBias: number;
  output: PlacedMatrix;
  outputBias: number;
  attentionNorm: [number, number, number];
  intermediate: PlacedMatrix;
  intermediateBias: number;
  down: PlacedMatrix;
  downBias: number;
  outputNorm: [number, number, number];
}

/** The weights in the kernels' memory: byte offsets (norms: gamma, beta and ε). */
export interface Placed {
  words: number;
  /** The int8 word table's row scales; 0: the table is float. */
  wordScales: number;
  positions: number;
  /** 0: no token-type table. */
  types: number;
  embeddingNorm: [number, number, number];
  layers: PlacedLayer[];
  pooler?: { weight: PlacedMatrix; bias: number };
}

/**
 * Query, key and value side by side ([H, 3H]), for one product: all three float, or all
 * three int8 (their scales side by side too; one quantized input serves all three, as the
 * graph's three DynamicQuantizeLinear of the same tensor give the same numbers).
 */
function concatColumns(parts: Matrix[], H: number): Matrix {
  const float = parts.filter((p) => p instanceof Float32Array).length;
  if (float !== 0 && float !== parts.length) {
    throw new ModelLoadError("query, key and value are not all float or all int8", "onnx");
  }
  const rows = <T extends Float32Array | Int8Array>(out: T, of: (p: Matrix) => T): T => {
    for (let r = 0; r < H; r++) {
      parts.forEach((p, i) => out.set(of(p).subarray(r * H, (r + 1) * H), (r * 3 + i) * H));
    }
    return out;
  };
  if (float) return rows(new Float32Array(H * 3 * H), (p) => p as Float32Array);
  const scales = new Float32Array(3 * H);
  parts.forEach((p, i) => scales.set((p as Int8Matrix).scales, i * H));
  return { q: rows(new Int8Array(H * 3 * H), (p) => (p as Int8Matrix).q), scales };
}

/**
 * Packs q [K, N] (K even) into `dst` in linearInt8's layout (bert.ts has a worked example):
 * per panel of 16 columns, per pair of rows, each column's two values side by side.
 */
export function packInt8(dst: Int8Array, q: Int8Array, K: number, N: number): void {
  let o = 0;
  for (let p = 0; p < N; p += 16) {
    for (let r = 0; r < K; r += 2) {
      for (let j = 0; j < 16; j++, o += 2) {
        // padding columns are written too: earlier weights' scratch may have been here
        const inside = p + j < N;
        dst[o] = inside ? q[r * N + p + j] : 0;
        dst[o + 1] = inside ? q[(r + 1) * N + p + j] : 0;
      }
    }
  }
}

/**
 * Packs 7-bit q [K, N] (K % 4 == 0) into `dst` in linearInt8Relaxed's layout
 * (wasm/kernels/int8_relaxed.ts has a worked example): per panel of 16 columns, per group of
 * 4 rows, each column's 4 values + 64 side by side (padding columns: 64, weight 0). Returns
 * each column's Σ q. `shift` 0: any int8 q as it is, for linearInt8Unsigned.
 */
export function packInt8Quads(
  dst: Int8Array,
  q: Int8Array,
  K: number,
  N: number,
  shift = 64,
): Int32Array {
  const sums = new Int32Array(N);
  let o = 0;
  for (let p = 0; p < N; p += 16) {
    for (let r = 0; r < K; r += 4) {
      for (let j = 0; j < 16; j++) {
        for (let i = 0; i < 4; i++, o++) {
          const v = p + j < N ? q[(r + i) * N + p + j] : 0;
          dst[o] = v + shift;
          if (p + j < N) sums[p + j] += v;
        }
      }
    }
  }
  return sums;
}

/** Packs every weight into the kernels' memory (MemoryShort when they do not fit). */
export function placeWeights(k: Kernels, arena: Arena, w: BertGraphWeights): Placed {
  const H = w.hidden, I = w.intermediate;
  // checked once per instance: x64 with AVX-VNNI (wasm/kernels/int8_unsigned.ts)
  const unsigned = w.layers.some((L) => !(L.query instanceof Float32Array)) &&
    k.unsignedDotExact() === 1;
  /** A [K, N] matrix packed for `linear` (the unpacked copy is scratch, released). */
  const packed = (m: Matrix, K: number, N: number): PlacedMatrix => {
    if (!(m instanceof Float32Array)) {
      const bytes = k.packedInt8Bytes(K, N);
      const at = arena.alloc(bytes);
      const dst = new Int8Array(arena.memory.buffer, at, bytes);
      // uint8 × int8 in one instruction per 16 products, any weights
      if (unsigned) {
        const sums = packInt8Quads(dst, m.q, K, N, 0);
        const colSums = arena.put(sums, Math.ceil(N / 16) * 64);
        return { at, scales: bias(m.scales), colSums, unsigned };
      }
      // 7-bit weights (quantize --reduce-range) on the relaxed build: 16 products per step
      if (k.relaxedBuild() && m.q.every((v) => v >= -63 && v <= 63)) {
        const sums = packInt8Quads(dst, m.q, K, N);
        return { at, scales: bias(m.scales), colSums: arena.put(sums, Math.ceil(N / 16) * 64) };
      }
      packInt8(dst, m.q, K, N);
      return { at, scales: bias(m.scales) };
    }
    const at = arena.alloc(k.packedBytes(K, N));
    const scratch = arena.top;
    k.packB(arena.put(m), at, K, N);
    arena.top = scratch;
    return { at };
  };
  /**
   * A bias with room to whole panels of 16 (linear reads whole panels; the padding lanes,
   * left as they are, are never stored).
   */
  const bias = (b: Float32Array) => arena.put(b, Math.ceil(b.length / 16) * 64);
  const norm = (n: Norm): [number, number, number] => [
    arena.put(n.gamma),
    arena.put(n.beta),
    n.epsilon,
  ];
  const words = arena.put(w.words instanceof Float32Array ? w.words : w.words.q);
  const wordScales = w.words instanceof Float32Array ? 0 : arena.put(w.words.scales);
  const positions = arena.put(w.positions);
  const types = w.types ? arena.put(w.types) : 0;
  const embeddingNorm = norm(w.embeddingNorm);
  const layers: PlacedLayer[] = w.layers.map((L) => {
    const qkv = concatColumns([L.query, L.key, L.value], H);
    const qkvBias = new Float32Array(3 * H);
    qkvBias.set(L.queryBias);
    qkvBias.set(L.keyBias, H);
    qkvBias.set(L.valueBias, 2 * H);
    return {
      qkv: packed(qkv, H, 3 * H),
      qkvBias: bias(qkvBias),
      output: packed(L.output, H, H),
      outputBias: bias(L.outputBias),
      attentionNorm: norm(L.attentionNorm),
      intermediate: packed(L.intermediate, H, I),
      intermediateBias: bias(L.intermediateBias),
      down: packed(L.down, I, H),
      downBias: bias(L.downBias),
      outputNorm: norm(L.outputNorm),
    };
  });
  const pooler = w.pooler
    ? { weight: packed(w.pooler.weight, H, H), bias: bias(w.pooler.bias) }
    : undefined;
  return {
    words,
    wordScales,
    positions,
    types,
    embeddingNorm,
    layers,
    ...(pooler ? { pooler } : {}),
  };
}
