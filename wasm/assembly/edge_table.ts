// The trie builder's edges (builder.ts): (parent node, code point) → child node, the roots'
// ASCII children in a direct table and every other edge in a hash table.

import { SROOT } from "./format";

// The builder's edge table: (parent node, code point) → child node, open addressing with
// linear probing. A slot holds only the child's id (0 = empty: children are ids >= 2); the
// key is read back from the child's edge arrays. 4 bytes a slot instead of 12 keep the
// table to a third of the fresh memory, and fresh wasm pages cost their first touch (about
// 0.75 ms per MB here), which is most of a build's time.
let htTable: usize = 0;
let htMask: u32 = 0;
let htCount: i32 = 0;
let htParent: usize = 0; // i32 per node: the parent
let htChar: usize = 0; // u32 per node: the code point of the edge into it

export function htInit(slots: u32, parents: usize, chars: usize): void {
  htTable = heap.alloc((<usize>slots) * 4);
  memory.fill(htTable, 0, (<usize>slots) * 4);
  htMask = slots - 1;
  htCount = 0;
  htParent = parents;
  htChar = chars;
}

function htPut(target: i32): void {
  const node = load<i32>(htParent + (<usize>target) * 4);
  const cp = load<u32>(htChar + (<usize>target) * 4);
  let h = hashOf(node, cp) & htMask;
  while (load<i32>(htTable + (<usize>h) * 4) != 0) h = (h + 1) & htMask;
  store<i32>(htTable + (<usize>h) * 4, target);
}

/** Adds child `target` (its parent and char already in the edge arrays); grows at half full. */
function htInsert(target: i32): void {
  if ((<u32>(htCount + 1)) * 2 > htMask + 1) {
    const old = htTable, oldSlots = htMask + 1;
    htInit(oldSlots * 2, htParent, htChar);
    for (let i: u32 = 0; i < oldSlots; i++) {
      const t = load<i32>(old + (<usize>i) * 4);
      if (t != 0) {
        htPut(t);
        htCount++;
      }
    }
    heap.free(old);
  }
  htPut(target);
  htCount++;
}

// @ts-ignore: decorator
@inline function hashOf(node: i32, cp: u32): u32 {
  const key = ((<u64>node) << 21) | <u64>cp;
  return <u32>((key * 0x9E3779B97F4A7C15) >> 40);
}

// The roots' ASCII children, directly (most tokens start with one, and most failure links
// lead to the ##-root): the hash table holds every other edge. -1 = none.
export const rootKids: usize = memory.data(2 * 128 * 4);

/** The child of `node` by `cp`, or -1. */
// @ts-ignore: decorator
@inline export function findChild(node: i32, cp: u32): i32 {
  if (node <= SROOT && cp < 128) return load<i32>(rootKids + ((<usize>node << 7) + <usize>cp) * 4);
  return htFind(node, cp);
}

/** Adds child `target` of `node` by `cp` (its edge arrays already written). */
export function addChild(node: i32, cp: u32, target: i32): void {
  if (node <= SROOT && cp < 128) {
    store<i32>(rootKids + ((<usize>node << 7) + <usize>cp) * 4, target);
  } else {
    htInsert(target);
  }
}

function htFind(node: i32, cp: u32): i32 {
  let h = hashOf(node, cp) & htMask;
  while (true) {
    const t = load<i32>(htTable + (<usize>h) * 4);
    if (t == 0) return -1;
    if (
      load<i32>(htParent + (<usize>t) * 4) == node && load<u32>(htChar + (<usize>t) * 4) == cp
    ) return t;
    h = (h + 1) & htMask;
  }
}

/** Frees the hash table (the build is done with its edges). */
export function htFree(): void {
  heap.free(htTable);
}
