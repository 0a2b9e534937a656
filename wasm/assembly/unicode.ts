// Lookups in the generated Unicode tables (tables.ts): a two-stage table of per-code-point
// flags, and sorted keys for the data of the few code points that have any.

import { BLOCK_MASK, BLOCK_SHIFT, STAGE1, STAGE2 } from "./tables";

// @ts-ignore: decorator
@inline export function flagsOf(cp: u32): u8 {
  const block = <u32> unchecked(STAGE1[cp >> BLOCK_SHIFT]);
  return unchecked(STAGE2[(block << BLOCK_SHIFT) | (cp & BLOCK_MASK)]);
}

export function findKey(keys: StaticArray<u32>, cp: u32): i32 {
  let lo = 0;
  let hi = keys.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const k = unchecked(keys[mid]);
    if (k == cp) return mid;
    if (k < cp) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
