/**
 * Feature rows for the classifier head, dense or sparse behind one interface, so the same
 * trainer serves sentence vectors (dense, a few hundred dimensions) and the bag-of-words
 * baseline (hashed n-grams, sparse, 2¹⁸ dimensions).
 *
 * @example
 * ```ts
 * import { denseFeatures, sparseFeatures } from "./features.ts";
 * const dense = denseFeatures(Float32Array.of(1, 2, 3, 4), 2); // 2 rows × 2
 * const sparse = sparseFeatures([[[0, 1]], [[1, 1], [3, 2]]], 4); // rows {0:1}, {1:1, 3:2}
 * const w = Float64Array.of(1, 10, 100, 1000);
 * console.log(dense.dot(1, w.subarray(0, 2)), sparse.dot(1, w)); // 43 2010
 * ```
 * @module
 */
import { InputError } from "../errors.ts";

/** Rows of features. */
export interface Features {
  rows: number;
  dim: number;
  /** Σ_d x[row][d] · w[d] */
  dot(row: number, w: Float64Array): number;
  /** acc[d] += scale · x[row][d] for every d */
  accumulate(row: number, scale: number, acc: Float64Array): void;
  /** Per-dimension mean and standard deviation over `rows` (dense features only). */
  moments?(rows: ArrayLike<number>): { mean: Float64Array; std: Float64Array };
}

/** Row-major dense rows of `dim` values. */
export function denseFeatures(X: Float32Array, dim: number): Features {
  if (!(dim >= 1) || X.length % dim !== 0) {
    throw new InputError(`features are ${X.length} values, not rows of ${dim}`, "features");
  }
  return {
    rows: X.length / dim,
    dim,
    dot(row, w) {
      let s = 0;
      const at = row * dim;
      for (let d = 0; d < dim; d++) s += X[at + d] * w[d];
      return s;
    },
    accumulate(row, scale, acc) {
      const at = row * dim;
      for (let d = 0; d < dim; d++) acc[d] += scale * X[at + d];
    },
    moments(rows) {
      const mean = new Float64Array(dim), std = new Float64Array(dim);
      const n = rows.length;
      for (let i = 0; i < n; i++) {
        for (let d = 0; d < dim; d++) mean[d] += X[rows[i] * dim + d] / n;
      }
      for (let i = 0; i < n; i++) {
        for (let d = 0; d < dim; d++) std[d] += (X[rows[i] * dim + d] - mean[d]) ** 2 / n;
      }
      for (let d = 0; d < dim; d++) std[d] = Math.sqrt(std[d]) || 1;
      return { mean, std };
    },
  };
}

/** Sparse rows: per row a list of `[index, value]` (compressed-row storage inside). */
export function sparseFeatures(rows: [number, number][][], dim: number): Features {
  const start = new Int32Array(rows.length + 1);
  rows.forEach((r, i) => start[i + 1] = start[i] + r.length);
  const index = new Int32Array(start[rows.length]), value = new Float32Array(index.length);
  rows.forEach((r, i) =>
    r.forEach(([d, v], k) => {
      if (!(Number.isInteger(d) && d >= 0 && d < dim)) {
        throw new InputError(`row ${i}: feature index ${d} outside 0..${dim - 1}`, "features");
      }
      index[start[i] + k] = d;
      value[start[i] + k] = v;
    })
  );
  return {
    rows: rows.length,
    dim,
    dot(row, w) {
      let s = 0;
      for (let k = start[row]; k < start[row + 1]; k++) s += value[k] * w[index[k]];
      return s;
    },
    accumulate(row, scale, acc) {
      for (let k = start[row]; k < start[row + 1]; k++) acc[index[k]] += scale * value[k];
    },
  };
}
