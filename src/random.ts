/**
 * Mulberry32: a small seeded PRNG for generated weights and test data.
 *
 * @example
 * ```ts
 * import { rng } from "./random.ts";
 * const r = rng(42);
 * console.log(r() >= 0 && r() < 1); // true
 * ```
 * @module
 */

/** A function returning uniform numbers in [0, 1), determined by `seed`. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
