/**
 * What every side-by-side benchmark shares: the texts (big.txt lines drawn by a seeded
 * generator, so every run and every benchmark times the same sentences) and the timing
 * (each side warmed up once, then the sides run in turn, A, B, C, A, B, C …, so that drift in
 * the machine's speed falls on all of them alike).
 *
 * @example
 * ```ts
 * import { interleaved, sampleLines } from "./sides.ts";
 * const texts = sampleLines(["a", "b", "c"], 4, 7);
 * const ms = await interleaved({ a: async () => {}, b: async () => {} }, 3);
 * console.log(texts.length, ms.a.length, ms.b.length); // 4 3 3
 * ```
 * @module
 */

/** `n` of `lines`, drawn by a linear congruential generator from `seed` (repeats allowed). */
export function sampleLines(lines: readonly string[], n: number, seed = 1): string[] {
  const out: string[] = [];
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(lines[x % lines.length]);
  }
  return out;
}

/**
 * Times each of `sides` `reps` times, interleaved (A, B, A, B …) after one warm-up each;
 * `warmUp` false skips the warm-up, for sides that warm up themselves (a child process
 * that runs its own untimed pass first: a warm-up child would only cost time).
 */
export async function interleaved<K extends string>(
  sides: Record<K, () => Promise<unknown>>,
  reps: number,
  warmUp = true,
): Promise<Record<K, number[]>> {
  const keys = Object.keys(sides) as K[];
  if (warmUp) { for (const k of keys) await sides[k](); }
  const ms = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < reps; r++) {
    for (const k of keys) {
      const t0 = performance.now();
      await sides[k]();
      ms[k].push(performance.now() - t0);
    }
  }
  return ms;
}
