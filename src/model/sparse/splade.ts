/**
 * SPLADE's pooling: from a masked LM's logits `[batch, tokens, vocab]` to one sparse vector
 * per input over the vocabulary, `max over real tokens of log(1 + relu(logit))`, in TEI's
 * sparse form `[{ index, value }]`: the non-zero entries only, by ascending index. Padding
 * (mask 0) is left out of the max: a padded token's logits are whatever the model made of
 * it, and would otherwise add terms that depend on the batch's width.
 *
 * @example
 * ```ts
 * import { spladePool } from "./splade.ts";
 * // one input, two tokens (the second padding), a vocabulary of three
 * const logits = Float32Array.of(-1, 2, 0.5, 9, 9, 9);
 * const [vector] = spladePool(logits, BigInt64Array.of(1n, 0n), 1, 2, 3);
 * console.log(vector.map((e) => e.index)); // [ 1, 2 ]: log(1 + 2), log(1 + 0.5)
 * ```
 * @module
 */

/** One non-zero entry of a sparse vector (TEI's `SparseValue`): a token id and its weight. */
export interface SparseEntry {
  index: number;
  value: number;
}

/**
 * Per input (row of `mask`, `[batch, seq]`) the SPLADE vector of `logits`
 * (`[batch, seq, vocab]` row-major). The max is taken over the logits and log1p applied
 * once per entry after it (log1p is increasing, so that is the same max), in float64.
 */
export function spladePool(
  logits: Float32Array,
  mask: BigInt64Array,
  batch: number,
  seq: number,
  vocab: number,
): SparseEntry[][] {
  if (logits.length !== batch * seq * vocab || mask.length !== batch * seq) {
    throw new RangeError(
      `logits (${logits.length}) and mask (${mask.length}) do not match [${batch}, ${seq}, ${vocab}]`,
    );
  }
  const vectors: SparseEntry[][] = [];
  const best = new Float32Array(vocab);
  for (let b = 0; b < batch; b++) {
    best.fill(0); // relu: nothing below zero counts
    for (let s = 0; s < seq; s++) {
      if (mask[b * seq + s] === 0n) continue;
      const row = logits.subarray((b * seq + s) * vocab, (b * seq + s + 1) * vocab);
      for (let v = 0; v < vocab; v++) if (row[v] > best[v]) best[v] = row[v];
    }
    const entries: SparseEntry[] = [];
    for (let v = 0; v < vocab; v++) {
      if (best[v] > 0) entries.push({ index: v, value: Math.log1p(best[v]) });
    }
    vectors.push(entries);
  }
  return vectors;
}
