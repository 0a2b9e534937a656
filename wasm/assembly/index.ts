// embedge WordPiece tokenizer (AssemblyScript → WebAssembly).
//
// One pass over UTF-16 input fuses the whole BERT pipeline:
//   BertNormalizer (clean_text, handle_chinese_chars, strip_accents = NFD − Mn, lowercase)
//   → BertPreTokenizer (split on whitespace, isolate punctuation)
//   → WordPiece by LinMaxMatch (Song et al., "Fast WordPiece Tokenization", EMNLP 2021):
//     a trie of the vocabulary with failure links f(v) and failure pops F(v), so every
//     normalized character costs amortised O(1) and the result equals greedy
//     longest-match-first (HF WordPiece), including `[UNK]` for unmatchable words and
//     words longer than `max_input_chars_per_word`.
// Output per token: id, word index, start and end offsets in UTF-16 code units of the input.

import {
  BLOCK_MASK,
  BLOCK_SHIFT,
  CCC_KEYS,
  CCC_RANKS,
  DECOMP_DATA,
  DECOMP_KEYS,
  DECOMP_STARTS,
  F_CJK,
  F_DECOMP,
  F_DROP,
  F_LOWER,
  F_MN,
  F_NONSTARTER,
  F_PUNCT,
  F_WS,
  LOWER_DATA,
  LOWER_KEYS,
  LOWER_STARTS,
  STAGE1,
  STAGE2,
} from "./tables";

// ---------------------------------------------------------------- errors (keep in sync with src)
const E_OK: i32 = 0;
const E_BAD_MODEL: i32 = -1;
const E_NO_MODEL: i32 = -2;
// a vocabulary past the model's field widths: 16M trie nodes or pool entries, a node with
// more than 65535 failure pops, a token longer than 65535 characters
const E_TOO_LARGE: i32 = -3;

// ---------------------------------------------------------------- Unicode helpers

// @ts-ignore: decorator
@inline function flagsOf(cp: u32): u8 {
  const block = <u32> unchecked(STAGE1[cp >> BLOCK_SHIFT]);
  return unchecked(STAGE2[(block << BLOCK_SHIFT) | (cp & BLOCK_MASK)]);
}

function findKey(keys: StaticArray<u32>, cp: u32): i32 {
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

// ---------------------------------------------------------------- options

let optCleanText = true;
let optChinese = true;
let optStrip = true;
let optLower = true;
let optMaxChars: i32 = 100;
let optUnk: i32 = 100;

/** Sets the normalizer and model options (booleans as 0/1). */
export function configure(
  cleanText: i32,
  chinese: i32,
  stripAccents: i32,
  lowercase: i32,
  maxChars: i32,
  unkId: i32,
): void {
  optCleanText = cleanText != 0;
  optChinese = chinese != 0;
  optStrip = stripAccents != 0;
  optLower = lowercase != 0;
  optMaxChars = maxChars;
  optUnk = unkId;
  ensureWordCap(maxChars + 1);
  // ASCII classes under these options, mirroring the general path exactly.
  for (let cp: u32 = 0; cp < 128; cp++) {
    const f = flagsOf(cp);
    let c: u32 = cp;
    if (optCleanText && (f & F_DROP)) c = A_DROP;
    else if (f & F_WS) c = A_SPACE;
    else if (f & F_PUNCT) c = A_PUNCT | cp;
    else if (optLower && (f & F_LOWER)) c = cp + 32;
    store<u32>(asciiClass + (<usize>cp) * 4, c);
  }
}

// ASCII fast path: per char, the normalized char (a word char), or a class bit.
const A_DROP: u32 = 0x100;
const A_SPACE: u32 = 0x200;
const A_PUNCT: u32 = 0x400;
const asciiClass: usize = memory.data(128 * 4);

// ---------------------------------------------------------------- the model (trie)
//
// The compiled model is one block, so it can be saved and loaded as bytes. Nodes are
// numbered in BFS order and the children of a node are consecutive ids sorted by code
// point, so a lookup scans a few adjacent records instead of probing a hash table, and
// fail[v] < v holds (a corrupt block cannot make the matcher loop). In BFS order the
// children of v+1 follow those of v, so a node's child count is first[v+1] - first[v] and
// need not be stored. A node is one 12-byte record of four 24-bit fields, and a failure
// pop of a single token (the common case) is stored inline. The block is kept small
// because a cold start is dominated by first touches of the fresh pages it is copied into.
//   header i32[8]: MAGIC, VERSION, nodeCount, vocabSize, poolLen, 0, 0, 0
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
// Node 0 is the root of word-initial tokens, node 1 the root of continuation tokens.

const MAGIC: i32 = 0x57504545; // "EEPW"
const VERSION: i32 = 5;
const HEADER: usize = 32;
const ROOT: i32 = 0;
const SROOT: i32 = 1;

let model: usize = 0;
let modelSize: usize = 0;
let nodeCount: i32 = 0;
let nodes: usize = 0;
let asciiKids: usize = 0;
let vocabSize: i32 = 0;
let pool: usize = 0;
let poolLen: i32 = 0;
let lengths: usize = 0;
const REC: usize = 12; // bytes of a node record
const M24: u32 = 0xFFFFFF;
const CP_MASK: u32 = 0x1FFFFF;
const INLINE: u32 = 0x800000;
const NONE: u32 = 0xFFFFFF; // no failure link
const MAX_NODES: i32 = 0xFFFFFF; // ids and pool indices fit 24 bits, NONE excluded
const MAX_POPS: u32 = 0xFFFF; // failure pops of one node

// The fields of node v's record (u32 loads at 3-byte offsets, masked to 24 bits).
// @ts-ignore: decorator
@inline function edgeOf(v: usize): u32 {
  return load<u32>(nodes + v * REC) & CP_MASK;
}
// @ts-ignore: decorator
@inline function firstOf(v: usize): u32 {
  return load<u32>(nodes + v * REC, 3) & M24;
}
// @ts-ignore: decorator
@inline function failOf(v: usize): i32 {
  const f = load<u32>(nodes + v * REC, 6) & M24;
  return f == NONE ? -1 : <i32>f;
}
// @ts-ignore: decorator
@inline function popOf(v: usize): u32 {
  return load<u32>(nodes + v * REC, 9) & M24;
}
// @ts-ignore: decorator
@inline function isInline(v: usize): bool {
  return (load<u32>(nodes + v * REC) & INLINE) != 0;
}

// @ts-ignore: decorator
@inline function child(node: i32, cp: u32): i32 {
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

function htInit(slots: u32, parents: usize, chars: usize): void {
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

function pow2AtLeast(n: u32): u32 {
  let c: u32 = 16;
  while (c < n) c <<= 1;
  return c;
}

function blockSize(n: i32, vocab: i32, poolN: i32): usize {
  return HEADER + (<usize>n + 1) * REC + 256 * 4 + (<usize>poolN) * 4 +
    (((<usize>vocab) * 2 + 3) & ~3);
}

function attachBlock(block: usize): void {
  model = block;
  nodeCount = load<i32>(block, 8);
  vocabSize = load<i32>(block, 12);
  poolLen = load<i32>(block, 16);
  nodes = block + HEADER;
  asciiKids = nodes + (<usize>nodeCount + 1) * REC;
  pool = asciiKids + 256 * 4;
  lengths = pool + (<usize>poolLen) * 4;
  modelSize = blockSize(nodeCount, vocabSize, poolLen);
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
  if (n < 2 || n >= MAX_NODES || vocab < 1 || vocab > MAX_NODES) return E_BAD_MODEL;
  if (poolN < 1 || poolN >= MAX_NODES || blockSize(n, vocab, poolN) != size) return E_BAD_MODEL;
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
  return !bad;
}

/** Sorts `n` node ids at `ids` by the code point of their incoming edge (shellsort). */
function sortByChar(ids: usize, n: i32, chars: usize): void {
  let gap = 1;
  while (gap < n / 3) gap = gap * 3 + 1;
  while (gap >= 1) {
    for (let i = gap; i < n; i++) {
      const x = load<i32>(ids + (<usize>i) * 4);
      const cx = load<u32>(chars + (<usize>x) * 4);
      let j = i;
      while (j >= gap) {
        const y = load<i32>(ids + (<usize>(j - gap)) * 4);
        if (load<u32>(chars + (<usize>y) * 4) <= cx) break;
        store<i32>(ids + (<usize>j) * 4, y);
        j -= gap;
      }
      store<i32>(ids + (<usize>j) * 4, x);
    }
    gap = (gap - 1) / 3;
  }
}

/** Writes node `i`'s record (four 24-bit fields; the fourth's high byte spills over). */
function setNode(i: i32, edge: u32, first: u32, fail: u32, pop: u32): void {
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
// Ids whose token a later entry of the vocabulary took over (see build).
let shadowed: usize = 0;
let shadowedN: i32 = 0;
let shadowedCap: i32 = 0;

function shadow(id: i32): void {
  if (shadowedN == shadowedCap) {
    shadowedCap = shadowedCap == 0 ? 16 : shadowedCap * 2;
    const bytes = (<usize>shadowedCap) * 4;
    shadowed = shadowed == 0 ? heap.alloc(bytes) : heap.realloc(shadowed, bytes);
  }
  store<i32>(shadowed + (<usize>shadowedN) * 4, id);
  shadowedN++;
}

/** How many ids the last `build` found shadowed by a later duplicate of their token. */
export function shadowedCount(): i32 {
  return shadowedN;
}

/** Pointer to those ids (i32). */
export function shadowedPtr(): usize {
  return shadowed;
}

export function build(
  text: usize,
  entries: usize,
  count: i32,
  vocab: i32,
  prefix: usize,
  prefixLen: i32,
): i32 {
  shadowedN = 0;
  // Upper bound on nn: every code unit a node, plus the two roots.
  let total: i32 = 0;
  for (let i = 0; i < count; i++) total += load<i32>(entries + (<usize>i) * 8, 4);
  const cap = total + 2;
  const tTok = heap.alloc((<usize>cap) * 4);
  const eParent = heap.alloc((<usize>cap) * 4); // edge into node v: parent and char
  const eChar = heap.alloc((<usize>cap) * 4);
  const tLen = heap.alloc((<usize>vocab) * 4);
  memory.fill(tLen, 0, (<usize>vocab) * 4);
  htInit(pow2AtLeast(<u32>count * 2), eParent, eChar);
  store<i32>(tTok, -1);
  store<i32>(tTok, -1, 4);
  store<i32>(eParent, -1);
  store<i32>(eParent, -1, 4);
  store<u32>(eChar, 0);
  store<u32>(eChar, 0, 4);
  let nn: i32 = 2;

  let off: usize = text;
  for (let i = 0; i < count; i++) {
    const id = load<i32>(entries + (<usize>i) * 8);
    const len = load<i32>(entries + (<usize>i) * 8, 4);
    const start = off;
    const end = off + (<usize>len) * 2;
    off = end;
    let p = start;
    let node = ROOT;
    if (len > prefixLen && memory.compare(start, prefix, (<usize>prefixLen) * 2) == 0) {
      p += (<usize>prefixLen) * 2;
      node = SROOT;
    }
    let chars: u32 = 0;
    while (p < end) {
      let cp = <u32>load<u16>(p);
      p += 2;
      if (cp >= 0xD800 && cp < 0xDC00 && p < end) {
        const lo = <u32>load<u16>(p);
        if (lo >= 0xDC00 && lo < 0xE000) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          p += 2;
        }
      }
      chars++;
      let next = htFind(node, cp);
      if (next < 0) {
        next = nn++;
        store<i32>(tTok + (<usize>next) * 4, -1);
        store<i32>(eParent + (<usize>next) * 4, node);
        store<u32>(eChar + (<usize>next) * 4, cp);
        htInsert(next);
      }
      node = next;
    }
    if (node > SROOT && id >= 0 && id < vocab) {
      const earlier = load<i32>(tTok + (<usize>node) * 4);
      if (earlier >= 0 && earlier != id) {
        // the same token again: the later id wins (as a JSON parse of the vocabulary
        // object keeps the last value); the earlier id becomes a token-less id
        store<u32>(tLen + (<usize>earlier) * 4, 0);
        shadow(earlier);
      }
      store<i32>(tTok + (<usize>node) * 4, id);
      store<u32>(tLen + (<usize>id) * 4, chars);
    }
  }

  // Children lists (CSR), each sorted by code point, then BFS order from both roots.
  const cnt = heap.alloc((<usize>nn + 1) * 4);
  memory.fill(cnt, 0, (<usize>nn + 1) * 4);
  for (let v = 2; v < nn; v++) {
    const c = cnt + (<usize>load<i32>(eParent + (<usize>v) * 4)) * 4;
    store<i32>(c, load<i32>(c) + 1);
  }
  const csr = heap.alloc((<usize>nn + 1) * 4); // start of each node's group
  let acc: i32 = 0;
  for (let v = 0; v < nn; v++) {
    store<i32>(csr + (<usize>v) * 4, acc);
    acc += load<i32>(cnt + (<usize>v) * 4);
  }
  store<i32>(csr + (<usize>nn) * 4, acc);
  // rank (old id → BFS position) is written by the BFS below; until then it serves as
  // each group's fill cursor (one array fewer to touch: fresh pages are most of a build)
  const rank = heap.alloc((<usize>nn) * 4);
  memory.copy(rank, csr, (<usize>nn) * 4);
  const grouped = heap.alloc((<usize>nn) * 4);
  for (let v = 2; v < nn; v++) {
    const f = rank + (<usize>load<i32>(eParent + (<usize>v) * 4)) * 4;
    const at = load<i32>(f);
    store<i32>(f, at + 1);
    store<i32>(grouped + (<usize>at) * 4, v);
  }
  for (let v = 0; v < nn; v++) {
    const a = load<i32>(csr + (<usize>v) * 4);
    sortByChar(grouped + (<usize>a) * 4, load<i32>(cnt + (<usize>v) * 4), eChar);
  }
  const order = heap.alloc((<usize>nn) * 4); // position → old id
  store<i32>(order, ROOT);
  store<i32>(order, SROOT, 4);
  let tail: i32 = 2;
  for (let head = 0; head < tail; head++) {
    const u = load<i32>(order + (<usize>head) * 4);
    store<i32>(rank + (<usize>u) * 4, head);
    const a = load<i32>(csr + (<usize>u) * 4);
    const n = load<i32>(cnt + (<usize>u) * 4);
    memory.copy(order + (<usize>tail) * 4, grouped + (<usize>a) * 4, (<usize>n) * 4);
    tail += n;
  }
  // done with the groups: the next arrays can take their (already touched) memory
  heap.free(grouped);
  heap.free(csr);

  // Failure links and pops, in BFS order (old ids; pops into a growing pool).
  const tFail = heap.alloc((<usize>nn) * 4);
  const tPs = heap.alloc((<usize>nn) * 4);
  const tPl = heap.alloc((<usize>nn) * 4);
  let pCap: i32 = nn + 16;
  let tPool = heap.alloc((<usize>pCap) * 4);
  let pN: i32 = 0;
  store<i32>(tFail, -1);
  store<i32>(tFail, -1, 4);
  store<u32>(tPs, 0);
  store<u32>(tPs, 0, 4);
  store<u32>(tPl, 0);
  store<u32>(tPl, 0, 4);
  for (let i = 2; i < nn; i++) {
    const v = load<i32>(order + (<usize>i) * 4);
    const vp = (<usize>v) * 4;
    const t = load<i32>(tTok + vp);
    if (t >= 0) {
      if (pN + 1 > pCap) {
        pCap *= 2;
        tPool = heap.realloc(tPool, (<usize>pCap) * 4);
      }
      store<i32>(tPool + (<usize>pN) * 4, t);
      store<u32>(tPs + vp, pN);
      store<u32>(tPl + vp, 1);
      store<i32>(tFail + vp, SROOT);
      pN++;
      continue;
    }
    const u = load<i32>(eParent + vp);
    const c = load<u32>(eChar + vp);
    const start = pN;
    let z = load<i32>(tFail + (<usize>u) * 4);
    let from = u;
    let target = -1;
    while (true) {
      // F(v) += F(from)
      const fs = load<u32>(tPs + (<usize>from) * 4);
      const fl = <i32>load<u32>(tPl + (<usize>from) * 4);
      if (pN + fl > pCap) {
        while (pN + fl > pCap) pCap *= 2;
        tPool = heap.realloc(tPool, (<usize>pCap) * 4);
      }
      memory.copy(tPool + (<usize>pN) * 4, tPool + (<usize>fs) * 4, (<usize>fl) * 4);
      pN += fl;
      if (z < 0) break;
      target = htFind(z, c);
      if (target >= 0) break;
      from = z;
      z = load<i32>(tFail + (<usize>z) * 4);
    }
    if (target < 0) pN = start; // dead end: no pops needed
    store<i32>(tFail + vp, target);
    store<u32>(tPs + vp, start);
    store<u32>(tPl + vp, pN - start);
  }

  // Final compact block, renumbered in BFS order. A node's pops are inline when they are
  // one token; only the others take pool lists (entry 0 is the shared empty list).
  let status = nn >= MAX_NODES ? E_TOO_LARGE : E_OK;
  let poolN: i32 = 1;
  for (let v = 2; v < nn; v++) {
    const pl = load<u32>(tPl + (<usize>v) * 4);
    if (pl > MAX_POPS) status = E_TOO_LARGE;
    if (pl > 1) poolN += 1 + <i32>pl;
  }
  if (poolN >= MAX_NODES) status = E_TOO_LARGE;
  for (let t = 0; t < vocab; t++) {
    if (load<u32>(tLen + (<usize>t) * 4) > 0xFFFF) status = E_TOO_LARGE;
  }
  if (status == E_OK) {
    const block = heap.alloc(blockSize(nn, vocab, poolN));
    store<i32>(block, MAGIC);
    store<i32>(block, VERSION, 4);
    store<i32>(block, nn, 8);
    store<i32>(block, vocab, 12);
    store<i32>(block, poolN, 16);
    store<i32>(block, 0, 20);
    store<i32>(block, 0, 24);
    store<i32>(block, 0, 28);
    if (model != 0) heap.free(model);
    attachBlock(block);
    store<u32>(pool, 0);
    let firstChild: u32 = 2;
    let pAt: u32 = 1;
    for (let i = 0; i < nn; i++) {
      const v = load<i32>(order + (<usize>i) * 4);
      const vp = (<usize>v) * 4;
      const f = load<i32>(tFail + vp);
      const ps = load<u32>(tPs + vp);
      const pl = load<u32>(tPl + vp);
      let edge = load<u32>(eChar + vp);
      let pop: u32 = 0;
      if (pl == 1) {
        edge |= INLINE;
        pop = load<u32>(tPool + (<usize>ps) * 4);
      } else if (pl > 1) {
        pop = pAt;
        store<u32>(pool + (<usize>pAt) * 4, pl);
        memory.copy(pool + (<usize>(pAt + 1)) * 4, tPool + (<usize>ps) * 4, (<usize>pl) * 4);
        pAt += 1 + pl;
      }
      setNode(i, edge, firstChild, f < 0 ? NONE : load<u32>(rank + (<usize>f) * 4), pop);
      firstChild += load<u32>(cnt + vp);
    }
    setNode(nn, 0, <u32>nn, NONE, 0);
    for (let r = 0; r < 2; r++) {
      for (let cp: u32 = 0; cp < 128; cp++) {
        const c = htFind(r, cp);
        store<i32>(
          asciiKids + ((<usize>r << 7) + <usize>cp) * 4,
          c < 0 ? -1 : load<i32>(rank + (<usize>c) * 4),
        );
      }
    }
    for (let t = 0; t < vocab; t++) {
      store<u16>(lengths + (<usize>t) * 2, <u16>load<u32>(tLen + (<usize>t) * 4));
    }
  }

  heap.free(tTok);
  heap.free(eParent);
  heap.free(eChar);
  heap.free(tLen);
  heap.free(htTable);
  heap.free(cnt);
  heap.free(order);
  heap.free(rank);
  heap.free(tFail);
  heap.free(tPs);
  heap.free(tPl);
  heap.free(tPool);
  return status;
}

// ---------------------------------------------------------------- vocabulary scanner

// Reads a JSON object of token → id (tokenizer.json's model.vocab) straight into the form
// `build` takes, so a first load does not parse 30k keys into a JS object and back out.
// The input is UTF-8 (TextEncoder.encodeInto is the cheapest way into wasm memory), the
// tokens come out as UTF-16 back to back, ids must be plain non-negative integers.
// Anything else (exponents, fractions, a raw control character, a bad escape) returns
// E_SCAN: the caller then takes the JSON.parse path, which either accepts it or says
// exactly what is wrong.
//   {"[PAD]": 0, "caf\u00e9": 7, "é": 9}  →  out "[PAD]caféé", entries (0, 5) (7, 4) (9, 1)
const E_SCAN: i32 = -4;
let scanEndAt: i32 = 0;
let scanMaxId: i32 = -1;
let scanIn: usize = 0;

/** Where the last `scanVocab` stopped, in UTF-16 units: just after the closing brace. */
export function scanEnd(): i32 {
  return scanEndAt;
}

/** The largest id the last `scanVocab` read. */
export function scanMaxIdSeen(): i32 {
  return scanMaxId;
}

// @ts-ignore: decorator
@inline function byteAt(k: i32): u32 {
  return <u32>load<u8>(scanIn + <usize>k);
}

// @ts-ignore: decorator
@inline function isJsonSpace(c: u32): bool {
  return c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09;
}

function hexDigit(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>(c - 0x30);
  if (c >= 0x61 && c <= 0x66) return <i32>(c - 0x61 + 10);
  if (c >= 0x41 && c <= 0x46) return <i32>(c - 0x41 + 10);
  return -1;
}

/**
 * Scans the object at the start of `bytes` (`len` bytes of UTF-8): token text to `out`
 * (UTF-16; room for 2 × len bytes), (id, length) pairs to `entries` (room for
 * `maxEntries`). Returns the entry count, or E_SCAN.
 */
export function scanVocab(
  bytes: usize,
  len: i32,
  out: usize,
  entries: usize,
  maxEntries: i32,
): i32 {
  scanIn = bytes;
  scanMaxId = -1;
  let i: i32 = 0;
  // UTF-16 units of the input minus its bytes so far: ASCII is one of each; a 2-byte
  // character is one unit, a 3-byte one unit, a 4-byte two (for scanEnd)
  let delta: i32 = 0;
  let o = out;
  let count: i32 = 0;
  if (len < 1 || byteAt(0) != 0x7B) return E_SCAN; // {
  i = 1;
  while (i < len && isJsonSpace(byteAt(i))) i++;
  if (i < len && byteAt(i) == 0x7D) { // }
    scanEndAt = i + 1;
    return 0;
  }
  while (true) {
    while (i < len && isJsonSpace(byteAt(i))) i++;
    if (i >= len || byteAt(i) != 0x22) return E_SCAN; // "
    i++;
    const start = o;
    while (true) {
      if (i >= len) return E_SCAN;
      let c = byteAt(i++);
      if (c == 0x22) break;
      if (c < 0x20) return E_SCAN;
      if (c == 0x5C) { // backslash: an escape, one UTF-16 unit out
        if (i >= len) return E_SCAN;
        const e = byteAt(i++);
        if (e == 0x75) { // u
          if (i + 4 > len) return E_SCAN;
          c = 0;
          for (let k = 0; k < 4; k++) {
            const d = hexDigit(byteAt(i++));
            if (d < 0) return E_SCAN;
            c = (c << 4) | <u32>d;
          }
        } else if (e == 0x22 || e == 0x5C || e == 0x2F) c = e;
        else if (e == 0x62) c = 0x08;
        else if (e == 0x66) c = 0x0C;
        else if (e == 0x6E) c = 0x0A;
        else if (e == 0x72) c = 0x0D;
        else if (e == 0x74) c = 0x09;
        else return E_SCAN;
      } else if (c >= 0x80) { // UTF-8 from encodeInto: well formed
        if (c >= 0xF0) {
          if (i + 3 > len) return E_SCAN;
          c = ((c & 0x07) << 18) | ((byteAt(i) & 0x3F) << 12) | ((byteAt(i + 1) & 0x3F) << 6) |
            (byteAt(i + 2) & 0x3F);
          i += 3;
          delta -= 2;
        } else if (c >= 0xE0) {
          if (i + 2 > len) return E_SCAN;
          c = ((c & 0x0F) << 12) | ((byteAt(i) & 0x3F) << 6) | (byteAt(i + 1) & 0x3F);
          i += 2;
          delta -= 2;
        } else {
          if (i + 1 > len) return E_SCAN;
          c = ((c & 0x1F) << 6) | (byteAt(i) & 0x3F);
          i += 1;
          delta -= 1;
        }
        if (c >= 0x10000) {
          c -= 0x10000;
          store<u16>(o, <u16>(0xD800 + (c >> 10)));
          o += 2;
          c = 0xDC00 + (c & 0x3FF);
        }
      }
      store<u16>(o, <u16>c);
      o += 2;
    }
    while (i < len && isJsonSpace(byteAt(i))) i++;
    if (i >= len || byteAt(i) != 0x3A) return E_SCAN; // :
    i++;
    while (i < len && isJsonSpace(byteAt(i))) i++;
    let id: i64 = 0;
    const digitsAt = i;
    while (i < len && byteAt(i) >= 0x30 && byteAt(i) <= 0x39) {
      id = id * 10 + <i64>(byteAt(i) - 0x30);
      if (id > 0x7FFFFFFF) return E_SCAN;
      i++;
    }
    if (i == digitsAt || (i - digitsAt > 1 && byteAt(digitsAt) == 0x30)) return E_SCAN;
    if (count >= maxEntries) return E_SCAN;
    store<i32>(entries + (<usize>count) * 8, <i32>id);
    store<i32>(entries + (<usize>count) * 8, <i32>((o - start) >> 1), 4);
    count++;
    if (<i32>id > scanMaxId) scanMaxId = <i32>id;
    while (i < len && isJsonSpace(byteAt(i))) i++;
    if (i >= len) return E_SCAN;
    const c = byteAt(i++);
    if (c == 0x7D) break; // }
    if (c != 0x2C) return E_SCAN; // ,
  }
  scanEndAt = i + delta;
  return count;
}

// ---------------------------------------------------------------- output buffers

let outCap: i32 = 0;
let outIds: usize = 0;
let outWords: usize = 0;
let outStarts: usize = 0;
let outEnds: usize = 0;
let outCount: i32 = 0;

/** Pointer to the i32 token ids of the last `encode`. */
export function idsPtr(): usize {
  return outIds;
}
/** Pointer to the i32 word indices of the last `encode`. */
export function wordsPtr(): usize {
  return outWords;
}
/** Pointer to the u32 start offsets (UTF-16 units) of the last `encode`. */
export function startsPtr(): usize {
  return outStarts;
}
/** Pointer to the u32 end offsets (UTF-16 units) of the last `encode`. */
export function endsPtr(): usize {
  return outEnds;
}

let outGen: i32 = 0;

/** Changes whenever the output buffers move (so JS can keep views until then). */
export function outGeneration(): i32 {
  return outGen;
}

/** Token capacity of the output buffers. */
export function outCapacity(): i32 {
  return outCap;
}

function growOut(): void {
  outGen++;
  const cap = outCap == 0 ? 1024 : outCap * 2;
  const bytes = (<usize> cap) * 4;
  outIds = outIds == 0 ? heap.alloc(bytes) : heap.realloc(outIds, bytes);
  outWords = outWords == 0 ? heap.alloc(bytes) : heap.realloc(outWords, bytes);
  outStarts = outStarts == 0 ? heap.alloc(bytes) : heap.realloc(outStarts, bytes);
  outEnds = outEnds == 0 ? heap.alloc(bytes) : heap.realloc(outEnds, bytes);
  outCap = cap;
}

/** Releases the output buffers when they grew past `keepTokens` (bounds memory). */
export function shrink(keepTokens: i32): void {
  if (outCap <= keepTokens) return;
  heap.free(outIds);
  heap.free(outWords);
  heap.free(outStarts);
  heap.free(outEnds);
  outIds =
    outWords =
    outStarts =
    outEnds =
      0;
  outCap = 0;
  growOut();
}

// @ts-ignore: decorator
@inline function emit(id: i32, word: i32, start: u32, end: u32): void {
  if (outCount == outCap) growOut();
  const p = (<usize> outCount) * 4;
  store<i32>(outIds + p, id);
  store<i32>(outWords + p, word);
  store<u32>(outStarts + p, start);
  store<u32>(outEnds + p, end);
  outCount++;
}

// ---------------------------------------------------------------- word state (WordPiece)

let wCap: i32 = 0;
let wS: usize = 0; // original start of each normalized char of the current word
let wE: usize = 0; // original end
let inWord = false;
let failed = false;
let wordIdx: i32 = -1;
let wordLen: i32 = 0;
let wordStart: u32 = 0;
let wordEnd: u32 = 0;
let tokBase: i32 = 0;
let pos: i32 = 0; // first char of the current word not yet covered by an emitted token
let node: i32 = ROOT;

function ensureWordCap(n: i32): void {
  if (n <= wCap) return;
  wS = wS == 0 ? heap.alloc((<usize> n) * 4) : heap.realloc(wS, (<usize> n) * 4);
  wE = wE == 0 ? heap.alloc((<usize> n) * 4) : heap.realloc(wE, (<usize> n) * 4);
  wCap = n;
}

/** Emits F(v): the tokens that MaxMatch commits when it cannot extend past node v. */
function popTokens(v: i32): void {
  const pop = popOf(<usize>v);
  if (isInline(<usize>v)) {
    emitPop(pop);
    return;
  }
  const e = pool + (<usize>pop) * 4;
  const n = load<u32>(e);
  for (let i: u32 = 1; i <= n && !failed; i++) emitPop(load<u32>(e + (<usize>i) * 4));
}

// @ts-ignore: decorator
@inline function emitPop(t: u32): void {
  const l = <i32>load<u16>(lengths + (<usize>t) * 2);
  const last = pos + l - 1;
  if (last >= wordLen) { // only a corrupt model gets here
    failed = true;
    return;
  }
  emit(<i32>t, wordIdx, load<u32>(wS + (<usize>pos) * 4), load<u32>(wE + (<usize>last) * 4));
  pos += l;
}

// @ts-ignore: decorator
@inline function wordChar(cp: u32, start: u32, end: u32): void {
  if (!inWord) {
    inWord = true;
    failed = false;
    wordIdx++;
    wordLen = 0;
    wordStart = start;
    node = ROOT;
    pos = 0;
    tokBase = outCount;
  }
  wordEnd = end;
  if (failed) return;
  if (wordLen >= optMaxChars) {
    failed = true;
    return;
  }
  const p = (<usize> wordLen) * 4;
  store<u32>(wS + p, start);
  store<u32>(wE + p, end);
  wordLen++;
  while (true) {
    const next = child(node, cp);
    if (next >= 0) {
      node = next;
      return;
    }
    const f = node <= SROOT ? -1 : failOf(<usize>node);
    if (f < 0) {
      failed = true;
      return;
    }
    popTokens(node);
    if (failed) return;
    node = f;
  }
}

function endWord(): void {
  if (!inWord) return;
  inWord = false;
  while (!failed && node != SROOT) {
    const f = node == ROOT ? -1 : failOf(<usize>node);
    if (f < 0) {
      failed = true;
      break;
    }
    popTokens(node);
    node = f;
  }
  if (failed) {
    outCount = tokBase;
    emit(optUnk, wordIdx, wordStart, wordEnd);
  }
}

// ---------------------------------------------------------------- normalizer stages

/** Pre-tokenizer on a normalized char: whitespace splits, punctuation is its own word. */
// @ts-ignore: decorator
@inline function preTokenize(cp: u32, start: u32, end: u32): void {
  const f = flagsOf(cp);
  if (f & (F_WS | F_PUNCT)) {
    endWord();
    if (f & F_PUNCT) {
      wordChar(cp, start, end);
      endWord();
    }
    return;
  }
  wordChar(cp, start, end);
}

function lowerStage(cp: u32, start: u32, end: u32): void {
  if (optLower && (flagsOf(cp) & F_LOWER)) {
    const k = findKey(LOWER_KEYS, cp);
    const a = unchecked(LOWER_STARTS[k]);
    const b = unchecked(LOWER_STARTS[k + 1]);
    for (let i = a; i < b; i++) preTokenize(unchecked(LOWER_DATA[i]), start, end);
    return;
  }
  preTokenize(cp, start, end);
}

// NFD with canonical reordering, reproducing HF's alignments. HF decomposes a block (a
// starter and the non-starters after it), stable-sorts it by combining class, and then gives
// each output char an original span *by position*: the k-th char that begins a
// decomposition takes the span of the k-th source char, and a char that continues a
// decomposition takes the span of the char before it. So after a reordering the spans are
// HF's, not the chars' true sources. Mn marks are dropped after that (strip_accents).
let blkCap: i32 = 0;
let blkLen: i32 = 0;
let blkCp: usize = 0; // u32 code point
let blkRank: usize = 0; // u32 combining-class rank (0 = starter)
let blkCont: usize = 0; // u32 1 = continues a decomposition
let blkSorted = true;
let spanCount: i32 = 0; // spans queued in the block
let spanRead: i32 = 0; // next span to give out while flushing
let spanS: usize = 0; // spans of the source chars whose decompositions begin in the block
let spanE: usize = 0;
let lastS: u32 = 0;
let lastE: u32 = 0;

function blkGrow(): void {
  const cap = blkCap == 0 ? 64 : blkCap * 2;
  const b = (<usize> cap) * 4;
  blkCp = blkCp == 0 ? heap.alloc(b) : heap.realloc(blkCp, b);
  blkRank = blkRank == 0 ? heap.alloc(b) : heap.realloc(blkRank, b);
  blkCont = blkCont == 0 ? heap.alloc(b) : heap.realloc(blkCont, b);
  spanS = spanS == 0 ? heap.alloc(b) : heap.realloc(spanS, b);
  spanE = spanE == 0 ? heap.alloc(b) : heap.realloc(spanE, b);
  blkCap = cap;
}

function emitEntry(i: i32): void {
  const p = (<usize> i) * 4;
  if (load<u32>(blkCont + p) == 0) {
    const k = (<usize> spanRead) * 4;
    lastS = load<u32>(spanS + k);
    lastE = load<u32>(spanE + k);
    spanRead++;
  }
  const cp = load<u32>(blkCp + p);
  if (!(flagsOf(cp) & F_MN)) lowerStage(cp, lastS, lastE);
}

/** Emits the pending block in canonical order. */
function flushBlock(): void {
  const n = blkLen;
  if (n == 0) return;
  blkLen = 0;
  spanRead = 0;
  if (blkSorted) {
    for (let i = 0; i < n; i++) emitEntry(i);
  } else {
    // stable order by rank: emit rank by rank (ranks are few)
    let maxR: u32 = 0;
    for (let i = 0; i < n; i++) {
      const r = load<u32>(blkRank + (<usize> i) * 4);
      if (r > maxR) maxR = r;
    }
    for (let r: u32 = 0; r <= maxR; r++) {
      for (let i = 0; i < n; i++) {
        if (load<u32>(blkRank + (<usize> i) * 4) == r) emitEntry(i);
      }
    }
  }
  spanCount = 0;
  blkSorted = true;
}

function nfdPush(cp: u32, cont: u32): void {
  const f = flagsOf(cp);
  let rank: u32 = 0;
  if (f & F_NONSTARTER) rank = <u32> unchecked(CCC_RANKS[findKey(CCC_KEYS, cp)]);
  else flushBlock();
  if (blkLen == blkCap) blkGrow();
  const p = (<usize> blkLen) * 4;
  if (blkLen > 0 && load<u32>(blkRank + p - 4) > rank) blkSorted = false;
  store<u32>(blkCp + p, cp);
  store<u32>(blkRank + p, rank);
  store<u32>(blkCont + p, cont);
  blkLen++;
}

/** Decomposes one source char into the pending block. */
function stripStage(cp: u32, start: u32, end: u32): void {
  let first: u32 = cp;
  let k: i32 = -1;
  let hangul = false;
  if (flagsOf(cp) & F_DECOMP) {
    if (cp >= 0xAC00 && cp <= 0xD7A3) {
      hangul = true;
      first = 0x1100 + (cp - 0xAC00) / 588;
    } else {
      k = findKey(DECOMP_KEYS, cp);
      first = unchecked(DECOMP_DATA[unchecked(DECOMP_STARTS[k])]);
    }
  }
  // the first char may flush the block; its source span joins the new block's queue
  if (!(flagsOf(first) & F_NONSTARTER)) flushBlock();
  if (blkLen == blkCap) blkGrow();
  store<u32>(spanS + (<usize> spanCount) * 4, start);
  store<u32>(spanE + (<usize> spanCount) * 4, end);
  spanCount++;
  nfdPush(first, 0);
  if (hangul) {
    const s = cp - 0xAC00;
    nfdPush(0x1161 + (s % 588) / 28, 1);
    if (s % 28 != 0) nfdPush(0x11A7 + s % 28, 1);
  } else if (k >= 0) {
    const a = unchecked(DECOMP_STARTS[k]);
    const b = unchecked(DECOMP_STARTS[k + 1]);
    for (let i = a + 1; i < b; i++) nfdPush(unchecked(DECOMP_DATA[i]), 1);
  }
}

// @ts-ignore: decorator
@inline function normalized(cp: u32, start: u32, end: u32): void {
  if (optStrip) stripStage(cp, start, end);
  else lowerStage(cp, start, end);
}

/** A boundary that is a starter (whitespace): emits the pending block, then ends the word. */
function boundary(): void {
  flushBlock();
  endWord();
}

/** Starts a new output (before `encodeRange`/`addToken`). Returns E_NO_MODEL before a model. */
export function begin(): i32 {
  if (model == 0) return E_NO_MODEL;
  outCount = 0;
  wordIdx = -1;
  inWord = false;
  blkLen = 0;
  spanCount = 0;
  return E_OK;
}

/** Appends a token that stands for itself (an added token found in the text) as its own word. */
export function addToken(id: i32, start: u32, end: u32): i32 {
  boundary();
  wordIdx++;
  emit(id, wordIdx, start, end);
  return outCount;
}

/**
 * Tokenizes `len` UTF-16 code units at `input`. Returns the token count; the tokens are at
 * `idsPtr()`, `wordsPtr()`, `startsPtr()`, `endsPtr()`. Returns E_NO_MODEL before a model.
 */
export function encode(input: usize, len: i32): i32 {
  const status = begin();
  if (status != E_OK) return status;
  return encodeRange(input, 0, len);
}

/**
 * Appends the tokens of code units [from, to) of the text at `input` to the output started
 * by `begin`; offsets count from `input`, word indices continue. Returns the token count.
 */
export function encodeRange(input: usize, from: i32, to: i32): i32 {
  if (model == 0) return E_NO_MODEL;
  lastS = lastE = <u32> from;
  const end = input + (<usize> to) * 2;
  let p = input + (<usize> from) * 2;
  while (p < end) {
    const start = <u32> ((p - input) >> 1);
    let cp = <u32> load<u16>(p);
    p += 2;
    // ASCII fast path (ASCII chars are starters without decompositions).
    if (cp < 0x80) {
      const c = load<u32>(asciiClass + (<usize>cp) * 4);
      if (c & A_DROP) continue; // removed by clean_text before NFD: no block boundary
      if (blkLen != 0) flushBlock();
      if (c < 0x100) {
        wordChar(c, start, start + 1);
      } else if (c & A_PUNCT) {
        endWord();
        wordChar(c & 0x7F, start, start + 1);
        endWord();
      } else if (c & A_SPACE) {
        endWord();
      }
      continue;
    }
    if (cp >= 0xD800 && cp < 0xE000) {
      const hi = cp;
      cp = 0xFFFD; // a lone surrogate becomes U+FFFD, as in a UTF-8 conversion
      if (hi < 0xDC00 && p < end) {
        const lo = <u32> load<u16>(p);
        if (lo >= 0xDC00 && lo < 0xE000) {
          cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
          p += 2;
        }
      }
    }
    const e = <u32> ((p - input) >> 1);
    const f = flagsOf(cp);
    if (optCleanText) {
      if (f & F_DROP) continue;
      if (f & F_WS) {
        boundary();
        continue;
      }
    }
    if (optChinese && (f & F_CJK)) {
      boundary();
      normalized(cp, start, e);
      boundary();
      continue;
    }
    normalized(cp, start, e);
  }
  boundary();
  return outCount;
}
