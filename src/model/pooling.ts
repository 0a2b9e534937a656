/**
 * Pooling: token vectors `[batch, seq, hidden]` → one vector per row, mask-aware.
 * `cls` takes the first token, `mean` averages real tokens, `max` takes the per-dimension
 * maximum over real tokens, `mean_max` concatenates mean and max, `pooler` is the BERT
 * pooler output (computed by the model). `normalize` scales rows to unit L2 norm.
 *
 * @example
 * ```ts
 * import { pool } from "./pooling.ts";
 * // one row, 3 tokens (the last is padding), hidden 2
 * const h = Float32Array.of(1, 2, 3, 4, 100, 100);
 * const m = BigInt64Array.of(1n, 1n, 0n);
 * console.log(Array.from(pool(h, m, 1, 3, 2, "mean"))); // [2, 3]
 * ```
 * @module
 */
import { InputError } from "../errors.ts";

/** Pooling modes computed from token vectors. */
export type TokenPooling = "cls" | "mean" | "max" | "mean_max";
/** All pooling modes. */
export type Pooling = TokenPooling | "pooler";

/** The pooling modes, for validation and help texts. */
export const POOLINGS: readonly Pooling[] = ["cls", "mean", "max", "mean_max", "pooler"];

/** Output width of a pooling for hidden size `h`. */
export function pooledSize(pooling: Pooling, h: number): number {
  return pooling === "mean_max" ? 2 * h : h;
}

/**
 * Pools `rows` rows of `seq` tokens × `h` dims. `mask` is the attention mask (1 = real
 * token), read as BigInt64 or number arrays. Writes into `out` at row `outRow` if given.
 */
export function pool(
  hidden: Float32Array,
  mask: BigInt64Array | ArrayLike<number>,
  rows: number,
  seq: number,
  h: number,
  pooling: TokenPooling,
  out?: Float32Array,
  outRow = 0,
): Float32Array {
  const width = pooledSize(pooling, h);
  const res = out ?? new Float32Array(rows * width);
  const isBig = mask instanceof BigInt64Array;
  for (let r = 0; r < rows; r++) {
    const o = (outRow + r) * width;
    const base = r * seq * h;
    if (pooling === "cls") {
      for (let k = 0; k < h; k++) res[o + k] = hidden[base + k];
      continue;
    }
    const sum = new Float64Array(h);
    const max = new Float64Array(h).fill(-Infinity);
    let n = 0;
    for (let s = 0; s < seq; s++) {
      const m = isBig
        ? Number((mask as BigInt64Array)[r * seq + s])
        : (mask as ArrayLike<number>)[r * seq + s];
      if (!m) continue;
      n++;
      const t = base + s * h;
      for (let k = 0; k < h; k++) {
        const v = hidden[t + k];
        sum[k] += v;
        if (v > max[k]) max[k] = v;
      }
    }
    if (n === 0) throw new InputError("cannot pool a row without real tokens", "attention_mask");
    if (pooling === "mean" || pooling === "mean_max") {
      for (let k = 0; k < h; k++) res[o + k] = sum[k] / n;
    }
    if (pooling === "max") {
      for (let k = 0; k < h; k++) res[o + k] = max[k];
    }
    if (pooling === "mean_max") {
      for (let k = 0; k < h; k++) res[o + h + k] = max[k];
    }
  }
  return res;
}

/** Scales each of `rows` rows of `width` to unit L2 norm, in place (zero rows stay zero). */
export function normalizeRows(data: Float32Array, rows: number, width: number): Float32Array {
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let k = 0; k < width; k++) ss += data[r * width + k] ** 2;
    const norm = Math.sqrt(ss);
    if (norm > 0) { for (let k = 0; k < width; k++) data[r * width + k] /= norm; }
  }
  return data;
}
