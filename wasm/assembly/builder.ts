// The trie builder: a vocabulary (tokens as UTF-16 back to back, (id, length) entries)
// into the compiled model of format.ts, with failure links and failure pops (Song et al.,
// "Fast WordPiece Tokenization", EMNLP 2021, section 4). Separate from the matcher, as in
// TensorFlow Text: a precompiled model needs only format.ts and wordpiece.ts.

import { E_OK, E_TOO_LARGE } from "./errors";
import {
  asciiKids,
  attachBlock,
  blockSize,
  FNV_OFFSET,
  FNV_PRIME,
  wordChars,
  wordSlots,
  wordTable,
  INLINE,
  lengths,
  MAGIC,
  MAX_NODES,
  MAX_POPS,
  model,
  NONE,
  pool,
  ROOT,
  setNode,
  SROOT,
  VERSION,
} from "./format";

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

// The roots' ASCII children, directly (most tokens start with one, and most failure links
// lead to the ##-root): the hash table holds every other edge. -1 = none.
const rootKids: usize = memory.data(2 * 128 * 4);

/** The child of `node` by `cp`, or -1. */
// @ts-ignore: decorator
@inline function findChild(node: i32, cp: u32): i32 {
  if (node <= SROOT && cp < 128) return load<i32>(rootKids + ((<usize>node << 7) + <usize>cp) * 4);
  return htFind(node, cp);
}

/** Adds child `target` of `node` by `cp` (its edge arrays already written). */
function addChild(node: i32, cp: u32, target: i32): void {
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

/**
 * Copies `n` i32 words. The copies here are short (most nodes have one child and one
 * pop), where a loop beats wasm's memory.copy, which V8 runs as a call into C.
 */
// @ts-ignore: decorator
@inline function copyWords(dst: usize, src: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<i32>(dst + (<usize>i) * 4, load<i32>(src + (<usize>i) * 4));
}

function pow2AtLeast(n: u32): u32 {
  let c: u32 = 16;
  while (c < n) c <<= 1;
  return c;
}

/**
 * Fills the attached model's whole-word table (zeroed) with the chosen entries: a token
 * listed again replaces the earlier one (the later id wins, as in the trie); characters
 * go to wordChars in order.
 */
function fillWordTable(
  entries: usize,
  chosen: usize,
  starts: usize,
  hashes: usize,
  n: i32,
): void {
  memory.fill(wordTable, 0, (<usize>wordSlots) * 8);
  const mask = wordSlots - 1;
  let charAt: u32 = 0;
  for (let c = 0; c < n; c++) {
    const i = load<i32>(chosen + (<usize>c) * 4);
    const id = load<i32>(entries + (<usize>i) * 8);
    const len = load<i32>(entries + (<usize>i) * 8, 4);
    const src = load<usize>(starts + (<usize>i) * 4);
    let slot = load<u32>(hashes + (<usize>i) * 4) & mask;
    while (true) {
      const e = wordTable + (<usize>slot) * 8;
      const t = load<u32>(e);
      if (t == 0) {
        store<u32>(e, <u32>id + 1);
        store<u32>(e, charAt | (<u32>len << 24), 4);
        memory.copy(wordChars + (<usize>charAt) * 2, src, (<usize>len) * 2);
        charAt += <u32>len;
        break;
      }
      const packed = load<u32>(e, 4);
      const same = <i32>(packed >>> 24) == len &&
        memory.compare(wordChars + (<usize>(packed & 0xFFFFFF)) * 2, src, (<usize>len) * 2) == 0;
      if (same) { // the same token again: the later id
        store<u32>(e, <u32>id + 1);
        break;
      }
      slot = (slot + 1) & mask;
    }
  }
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
  // sized for about two nodes per token (bert-base-uncased: 30,522 tokens, 64,583 nodes):
  // at 2 slots per token it grew once on the way, rehashing the edges so far
  htInit(pow2AtLeast(<u32>count * 4), eParent, eChar);
  memory.fill(rootKids, 0xFF, 2 * 128 * 4);
  store<i32>(tTok, -1);
  store<i32>(tTok, -1, 4);
  store<i32>(eParent, -1);
  store<i32>(eParent, -1, 4);
  store<u32>(eChar, 0);
  store<u32>(eChar, 0, 4);
  let nn: i32 = 2;

  // per entry, the whole-word table's hash of its characters (FNV-1a of the code units),
  // made on the way down the trie; 0 when the entry cannot be in that table (a
  // continuation token, empty, over 255 characters, or not all in the BMP)
  const eHash = heap.alloc((<usize>count) * 4);
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
    let wordly = node == ROOT && len > 0 && len <= 255;
    let h = FNV_OFFSET;
    let chars: u32 = 0;
    while (p < end) {
      let cp = <u32>load<u16>(p);
      p += 2;
      h = (h ^ cp) * FNV_PRIME;
      if (cp >= 0xD800 && cp < 0xE000) wordly = false;
      if (cp >= 0xD800 && cp < 0xDC00 && p < end) {
        const lo = <u32>load<u16>(p);
        if (lo >= 0xDC00 && lo < 0xE000) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          p += 2;
        }
      }
      chars++;
      let next = findChild(node, cp);
      if (next < 0) {
        next = nn++;
        store<i32>(tTok + (<usize>next) * 4, -1);
        store<i32>(eParent + (<usize>next) * 4, node);
        store<u32>(eChar + (<usize>next) * 4, cp);
        addChild(node, cp, next);
      }
      node = next;
    }
    // (a word whose hash is 0 is stored as 1: it is never found, and the trie spells it)
    store<u32>(eHash + (<usize>i) * 4, wordly ? (h == 0 ? 1 : h) : 0);
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
    copyWords(order + (<usize>tail) * 4, grouped + (<usize>a) * 4, n);
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
      copyWords(tPool + (<usize>pN) * 4, tPool + (<usize>fs) * 4, fl);
      pN += fl;
      if (z < 0) break;
      target = findChild(z, c);
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
  // the whole-word table: the word-initial tokens of at most 255 characters, all in the
  // BMP (eHash), in id order, so the table does not depend on the order the vocabulary
  // was listed in
  const chosen = heap.alloc((<usize>count) * 4); // entry index of each chosen token
  const starts = heap.alloc((<usize>count) * 4); // where each entry's text starts
  const byId = heap.alloc((<usize>vocab) * 4); // entry index of each id, or -1
  memory.fill(byId, 0xFF, (<usize>vocab) * 4);
  {
    let at: usize = text;
    for (let i = 0; i < count; i++) {
      const id = load<i32>(entries + (<usize>i) * 8);
      store<usize>(starts + (<usize>i) * 4, at);
      at += (<usize>load<i32>(entries + (<usize>i) * 8, 4)) * 2;
      if (id >= 0 && id < vocab) store<i32>(byId + (<usize>id) * 4, i);
    }
  }
  let nChosen: i32 = 0;
  let nChars: u32 = 0;
  for (let id = 0; id < vocab; id++) {
    const i = load<i32>(byId + (<usize>id) * 4);
    if (i < 0 || load<u32>(eHash + (<usize>i) * 4) == 0) continue;
    store<i32>(chosen + (<usize>nChosen) * 4, i);
    nChosen++;
    nChars += <u32>load<i32>(entries + (<usize>i) * 8, 4);
  }
  heap.free(byId);
  const slots: u32 = nChosen == 0 ? 0 : pow2AtLeast(<u32>nChosen * 2);
  if (nChars >= 0x1000000) status = E_TOO_LARGE; // offsets are 24 bits

  if (status == E_OK) {
    const block = heap.alloc(blockSize(nn, vocab, poolN, slots, nChars));
    store<i32>(block, MAGIC);
    store<i32>(block, VERSION, 4);
    store<i32>(block, nn, 8);
    store<i32>(block, vocab, 12);
    store<i32>(block, poolN, 16);
    store<u32>(block, slots, 20);
    store<u32>(block, nChars, 24);
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
        copyWords(pool + (<usize>(pAt + 1)) * 4, tPool + (<usize>ps) * 4, <i32>pl);
        pAt += 1 + pl;
      }
      setNode(i, edge, firstChild, f < 0 ? NONE : load<u32>(rank + (<usize>f) * 4), pop);
      firstChild += load<u32>(cnt + vp);
    }
    setNode(nn, 0, <u32>nn, NONE, 0);
    for (let r = 0; r < 2; r++) {
      for (let cp: u32 = 0; cp < 128; cp++) {
        const c = findChild(r, cp);
        store<i32>(
          asciiKids + ((<usize>r << 7) + <usize>cp) * 4,
          c < 0 ? -1 : load<i32>(rank + (<usize>c) * 4),
        );
      }
    }
    for (let t = 0; t < vocab; t++) {
      store<u16>(lengths + (<usize>t) * 2, <u16>load<u32>(tLen + (<usize>t) * 4));
    }
    fillWordTable(entries, chosen, starts, eHash, nChosen);
  }
  heap.free(chosen);
  heap.free(starts);
  heap.free(eHash);

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
