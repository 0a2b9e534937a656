import { E_BAD_MODEL, E_OK } from "./errors";

// The compiled model: the precompiled format of a WordPiece vocabulary, in one place.
// The builder (builder.ts) writes it, the matcher (wordpiece.ts) reads it, and `attach`
// adopts a saved copy after checking all of it. VERSION changes whenever the layout does
// (src/model/tokenizer_files.ts then rebuilds an older file from its source; the JS
// wrapper around this block is src/tokenizer/precompiled.ts).
// The compiled model is one block, so it can be saved and loaded as bytes. Nodes are
// numbered in BFS order and the children of a node are consecutive ids sorted by code
// point, so a lookup scans a few adjacent records instead of probing a hash table, and
// fail[v] < v holds (a corrupt block cannot make the matcher loop). In BFS order the
// children of v+1 follow those of v, so a node's child count is first[v+1] - first[v] and
// need not be stored. A node is one 12-byte record of four 24-bit fields, and a failure
// pop of a single token (the common case) is stored inline. The block is kept small
// because a cold start is dominated by first touches of the fresh pages it is copied into.
//   header i32[8]: MAGIC, VERSION, nodeCount, vocabSize, poolLen, wordSlots, wordCharsLen, 0
//   node   u24[(nodeCount+1)*4]  code point of the edge into the node | inline << 23;
//                            first child id (record nodeCount is a sentinel holding
//                            nodeCount); failure link f(v), or NONE; pops: inline token
//                            id, or pool index
//                            (scanning the children reads their records, so the record
//                            the step moves to is already in cache)
//   ascii  i32[256]          children of the two roots for code points < 128
//   pool   u32[poolLen]      failure pops F(v) of the nodes without inline pops: a count,
//                            then that many token ids (entry 0 is the empty list)
//   length u16[vocabSize]    length of each token in characters (without the prefix),
//                            padded to 4 bytes
//   words  u32[wordSlots*2]  whole words: a hash table (open addressing, FNV-1a of the
//                            characters, linear probing, at most half full) from a
//                            word-initial token's characters to the token: token id + 1
//                            (0 = empty slot); the offset of its characters in
//                            wordChars (24 bits) | their count << 24 (at most 255).
//                            A word equal to such a token is that one token (greedy
//                            longest-match-first takes the whole word), so the matcher
//                            looks it up once instead of walking the trie a character at a
//                            time. Holds every word-initial token of at most 255
//                            characters, all in the BMP, entered in id order (the layout
//                            does not depend on the order of the source); other words walk
//                            the trie. (Version 6 held the first 8192 of them: big.txt ran
//                            20 % slower in the matcher, and the full table costs a build
//                            about 0.5 ms more.)
//   wordChars u16[wordCharsLen]  their characters, padded to 4 bytes
// Node 0 is the root of word-initial tokens, node 1 the root of continuation tokens.

export const MAGIC: i32 = 0x57504545; // "EEPW"
export const VERSION: i32 = 7;
export const HEADER: usize = 32;
export const ROOT: i32 = 0;
export const SROOT: i32 = 1;

export let model: usize = 0;
export let modelSize: usize = 0;
export let nodeCount: i32 = 0;
export let nodes: usize = 0;
export let asciiKids: usize = 0;
export let vocabSize: i32 = 0;
export let pool: usize = 0;
export let poolLen: i32 = 0;
export let lengths: usize = 0;
export let wordTable: usize = 0;
export let wordSlots: u32 = 0;
export let wordChars: usize = 0;
export let wordCharsLen: u32 = 0;
export const FNV_OFFSET: u32 = 0x811C9DC5;
export const FNV_PRIME: u32 = 0x01000193;
export const REC: usize = 12; // bytes of a node record
export const M24: u32 = 0xFFFFFF;
export const CP_MASK: u32 = 0x1FFFFF;
export const INLINE: u32 = 0x800000;
export const NONE: u32 = 0xFFFFFF; // no failure link
export const MAX_NODES: i32 = 0xFFFFFF; // ids and pool indices fit 24 bits, NONE excluded
export const MAX_POPS: u32 = 0xFFFF; // failure pops of one node

// The fields of node v's record (u32 loads at 3-byte offsets, masked to 24 bits).
// @ts-ignore: decorator
@inline export function edgeOf(v: usize): u32 {
  return load<u32>(nodes + v * REC) & CP_MASK;
}
// @ts-ignore: decorator
@inline export function firstOf(v: usize): u32 {
  return load<u32>(nodes + v * REC, 3) & M24;
}
// @ts-ignore: decorator
@inline export function failOf(v: usize): i32 {
  const f = load<u32>(nodes + v * REC, 6) & M24;
  return f == NONE ? -1 : <i32>f;
}
// @ts-ignore: decorator
@inline export function popOf(v: usize): u32 {
  return load<u32>(nodes + v * REC, 9) & M24;
}
// @ts-ignore: decorator
@inline export function isInline(v: usize): bool {
  return (load<u32>(nodes + v * REC) & INLINE) != 0;
}

// @ts-ignore: decorator
@inline export function child(node: i32, cp: u32): i32 {
  if (node <= SROOT && cp < 128) {
    return load<i32>(asciiKids + (((<usize>node) << 7) + <usize>cp) * 4);
  }
  let lo = firstOf(<usize>node);
  let hi = firstOf(<usize>node + 1);
  if (hi - lo <= 8) {
    for (let i = lo; i < hi; i++) {
      const c = edgeOf(<usize>i);
      if (c >= cp) return c == cp ? <i32>i : -1;
    }
    return -1;
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = edgeOf(<usize>mid);
    if (c == cp) return <i32>mid;
    if (c < cp) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

export function blockSize(
  n: i32,
  vocab: i32,
  poolN: i32,
  slots: u32,
  charsLen: u32,
): usize {
  return HEADER + (<usize>n + 1) * REC + 256 * 4 + (<usize>poolN) * 4 +
    (((<usize>vocab) * 2 + 3) & ~3) + (<usize>slots) * 8 + (((<usize>charsLen) * 2 + 3) & ~3);
}

export function attachBlock(block: usize): void {
  model = block;
  nodeCount = load<i32>(block, 8);
  vocabSize = load<i32>(block, 12);
  poolLen = load<i32>(block, 16);
  nodes = block + HEADER;
  asciiKids = nodes + (<usize>nodeCount + 1) * REC;
  pool = asciiKids + 256 * 4;
  lengths = pool + (<usize>poolLen) * 4;
  wordSlots = load<u32>(block, 20);
  wordCharsLen = load<u32>(block, 24);
  wordTable = lengths + ((((<usize>vocabSize) * 2) + 3) & ~3);
  wordChars = wordTable + (<usize>wordSlots) * 8;
  modelSize = blockSize(nodeCount, vocabSize, poolLen, wordSlots, wordCharsLen);
}

/** Allocates `size` bytes in wasm memory (for inputs and model bytes); returns the pointer. */
export function alloc(size: usize): usize {
  return heap.alloc(size);
}

/** Frees a pointer returned by `alloc`. */
export function free(ptr: usize): void {
  heap.free(ptr);
}

/** Pointer of the compiled model block (for saving), or 0. */
export function modelPtr(): usize {
  return model;
}

/** Byte size of the compiled model block. */
export function modelBytes(): usize {
  return modelSize;
}

/**
 * Adopts a model block previously saved with `modelPtr`/`modelBytes` and copied into
 * memory at `block` (from `alloc`). Validates it fully, so corrupt bytes give an error
 * code instead of a trap or a hang. Returns 0 or E_BAD_MODEL.
 */
export function attach(block: usize, size: usize): i32 {
  if (size < HEADER) return E_BAD_MODEL;
  if (load<i32>(block) != MAGIC || load<i32>(block, 4) != VERSION) return E_BAD_MODEL;
  const n = load<i32>(block, 8);
  const vocab = load<i32>(block, 12);
  const poolN = load<i32>(block, 16);
  const slots = load<u32>(block, 20);
  const charsLen = load<u32>(block, 24);
  if (n < 2 || n >= MAX_NODES || vocab < 1 || vocab > MAX_NODES) return E_BAD_MODEL;
  if (poolN < 1 || poolN >= MAX_NODES) return E_BAD_MODEL;
  // a table is empty or a power of two of at least 2 slots; sizes bounded before any sum
  if (slots > 0x1000000 || (slots & (slots - 1)) != 0 || slots == 1) return E_BAD_MODEL;
  if (charsLen > 0x10000000) return E_BAD_MODEL;
  if (blockSize(n, vocab, poolN, slots, charsLen) != size) return E_BAD_MODEL;
  // Checked on the block in place, through the same accessors the matcher uses.
  const prevModel = model;
  attachBlock(block);
  if (!validModel()) {
    if (prevModel != 0) attachBlock(prevModel);
    else model = 0;
    return E_BAD_MODEL;
  }
  if (prevModel != 0 && prevModel != block) heap.free(prevModel);
  return E_OK;
}

/**
 * Whether the attached block is a model the matcher can run without a trap or a hang:
 * child ranges inside the node table and sorted, failure links pointing back, pops naming
 * tokens of at least one character. One pass, branch-free where it can be; it runs on every
 * cold start.
 */
function validModel(): bool {
  const n = <u32>nodeCount;
  const vocab = <u32>vocabSize;
  const poolN = <u32>poolLen;
  let bad = firstOf(0) != 2 || firstOf(n) != n || failOf(0) != -1 || failOf(1) != -1 ||
    load<u32>(pool) != 0;
  for (let v: u32 = 0; v < n; v++) {
    const first = firstOf(v);
    const end = firstOf(v + 1);
    const pop = popOf(v);
    bad |= v >= 2 && <u32>(failOf(v) + 1) > v; // f(v) in [-1, v)
    if (end < first || end > n) return false; // the scan below must stay in the table
    bad |= end > first && first <= v;
    if (isInline(v)) {
      bad |= pop >= vocab || load<u16>(lengths + (<usize>pop) * 2) == 0;
    } else {
      if (pop >= poolN) return false;
      const k = load<u32>(pool + (<usize>pop) * 4);
      if (<u64>pop + 1 + <u64>k > <u64>poolN) return false;
      for (let j: u32 = 1; j <= k; j++) {
        const t = load<u32>(pool + (<usize>(pop + j)) * 4);
        bad |= t >= vocab || load<u16>(lengths + (<usize>t) * 2) == 0;
      }
    }
    // children sorted strictly by code point (the lookup depends on it)
    let prev: u32 = 0;
    for (let i = first; i < end; i++) {
      const c = edgeOf(i);
      bad |= (c <= prev && i > first) || c > 0x10FFFF;
      prev = c;
    }
  }
  for (let i = 0; i < 256; i++) {
    const c = load<i32>(asciiKids + (<usize>i) * 4);
    bad |= c != -1 && (c < 2 || <u32>c >= n);
  }
  // the whole-word table: entries name tokens of their length inside wordChars, and some
  // slot is empty (a lookup stops at one)
  let empty = wordSlots == 0;
  for (let i: u32 = 0; i < wordSlots; i++) {
    const t = load<u32>(wordTable + (<usize>i) * 8);
    if (t == 0) {
      empty = true;
      continue;
    }
    if (t > vocab) return false;
    const packed = load<u32>(wordTable + (<usize>i) * 8, 4);
    const len = packed >>> 24, at = packed & 0xFFFFFF;
    bad |= len == 0 || len != <u32>load<u16>(lengths + (<usize>(t - 1)) * 2) ||
      at + len > wordCharsLen;
  }
  bad |= !empty;
  return !bad;
}

/** Writes node `i`'s record (four 24-bit fields; the fourth's high byte spills over). */
export function setNode(i: i32, edge: u32, first: u32, fail: u32, pop: u32): void {
  const r = nodes + (<usize>i) * REC;
  store<u32>(r, edge);
  store<u32>(r, first, 3);
  store<u32>(r, fail, 6);
  store<u16>(r, <u16>pop, 9);
  store<u8>(r, <u8>(pop >>> 16), 11);
}

/**
 * Builds the model from a vocabulary.
 * `text`: all tokens concatenated (UTF-16); `entries`: (id, utf16Length) i32 pairs, `count`
 * of them; `prefix`: the continuation prefix (UTF-16, usually "##"). Ids must be in
 * [0, vocab). Later duplicates of a token win, as in HF. Returns 0 or an error code.
 */
