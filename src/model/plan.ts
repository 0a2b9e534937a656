/**
 * The batch plan of an embed call: inputs sorted by length and grouped into model runs
 * under a token budget (rows × padded width) and a padding limit, each group padded
 * `longest`, to a fixed `max_length`, or to a length bucket; then, for a session pool,
 * the largest groups split until every worker has one.
 *
 * @example
 * ```ts
 * import { planGroups, rowWidth } from "./plan.ts";
 * const o = { padding: "longest", maxLength: 128, batchTokens: 16, maxPaddingWaste: 0.1 } as const;
 * console.log(planGroups(Int32Array.from([5, 3, 5, 9]), o, 1)); // [ [ 1 ], [ 0, 2 ], [ 3 ] ]
 * console.log(planGroups(Int32Array.from([5, 5]), o, 2)); // [ [ 0 ], [ 1 ] ]
 * console.log(rowWidth({ ...o, padding: "buckets" }, 9)); // 16
 * ```
 * @module
 */
import type { Resolved } from "./options.ts";

const BUCKETS = [8, 16, 32, 64, 128, 256, 512, 1024, 2048];

/** What the plan follows. */
export type PlanOptions = Pick<
  Resolved,
  "padding" | "maxLength" | "batchTokens" | "maxPaddingWaste"
>;

/** The padded width of a group whose longest row has `longest` tokens. */
export function rowWidth(o: Pick<Resolved, "padding" | "maxLength">, longest: number): number {
  return o.padding === "max_length"
    ? o.maxLength
    : o.padding === "buckets"
    ? Math.min(BUCKETS.find((b) => b >= longest) ?? longest, Math.max(o.maxLength, longest))
    : longest;
}

/**
 * The groups of inputs (by index, each sorted by length, shortest first) one model run
 * each takes, for `lanes` runs at once.
 */
export function planGroups(lengths: Int32Array, o: PlanOptions, lanes: number): number[][] {
  const order = Array.from(lengths.keys()).sort((a, b) => lengths[a] - lengths[b] || a - b);
  // Groups first: grow each while it fits the budget and padding stays within
  // maxPaddingWaste of the real tokens (lengths are sorted, so groups hold near-equal
  // lengths).
  const groups: number[][] = [];
  for (let start = 0; start < order.length;) {
    let end = start + 1;
    let real = lengths[order[start]];
    while (end < order.length) {
      const n = lengths[order[end]];
      const cells = (end - start + 1) * rowWidth(o, n);
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
  while (groups.length < lanes) {
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
  return groups;
}
