/**
 * Similarity helpers over vectors and small in-memory matrices.
 *
 * @example
 * ```ts
 * import { cosine, topK } from "./similarity.ts";
 * console.log(cosine(Float32Array.of(1, 0), Float32Array.of(1, 1)).toFixed(3)); // 0.707
 * const m = Float32Array.of(1, 0, 0, 1, 1, 1); // 3 rows of 2
 * console.log(topK(Float32Array.of(1, 0), m, 2, 2).map((h) => h.index)); // [0, 2]
 * ```
 * @module
 */
import { InputError } from "../errors.ts";

/** Dot product. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new InputError(`vector sizes differ: ${a.length} vs ${b.length}`);
  }
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Cosine similarity (0 when a vector is zero). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const d = dot(a, b);
  const na = Math.sqrt(dot(a, a)), nb = Math.sqrt(dot(b, b));
  return na === 0 || nb === 0 ? 0 : d / (na * nb);
}

/** One search hit. */
export interface Hit {
  index: number;
  score: number;
}

/** The `k` rows of `matrix` (rows of `dim`) most similar to `query`, best first. */
export function topK(
  query: ArrayLike<number>,
  matrix: Float32Array,
  dim: number,
  k: number,
  metric: "cosine" | "dot" = "cosine",
): Hit[] {
  if (query.length !== dim) throw new InputError(`query has ${query.length} dims, matrix ${dim}`);
  const rows = Math.floor(matrix.length / dim);
  const hits: Hit[] = [];
  for (let r = 0; r < rows; r++) {
    const row = matrix.subarray(r * dim, (r + 1) * dim);
    hits.push({ index: r, score: metric === "cosine" ? cosine(query, row) : dot(query, row) });
  }
  return hits.sort((a, b) => b.score - a.score || a.index - b.index).slice(0, Math.max(0, k));
}
