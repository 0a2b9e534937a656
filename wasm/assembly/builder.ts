// The trie builder: a vocabulary (tokens as UTF-16 back to back, (id, length) entries)
// into the compiled model of format.ts, with failure links and failure pops (Song et al.,
// "Fast WordPiece Tokenization", EMNLP 2021, section 4). Separate from the matcher, as in
// TensorFlow Text: a precompiled model needs only format.ts and wordpiece.ts. `build` runs
// in phases: insertTokens (the trie, its edges in edge_table.ts), orderNodes and
// failureLinks (trie_links.ts), then writeBlock (the model).

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
import { addChild, findChild, htFree, htInit, rootKids } from "./edge_table";
import {
  bfsOrder,
  childCounts,
  copyWords,
  failLinks,
  failureLinks,
  orderNodes,
  popLengths,
  popPool,
  popStarts,
  ranks,
} from "./trie_links";

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

/**
 * Puts every entry's characters into the trie (nodes 0 and 1 are the roots, already
 * there), recording each token's node, each id's length and each entry's whole-word hash
 * (`eHash`); gives the node count.
 */
function insertTokens(
  text: usize,
  entries: usize,
  count: i32,
  vocab: i32,
  prefix: usize,
  prefixLen: i32,
  tTok: usize,
  eParent: usize,
  eChar: usize,
  tLen: usize,
  eHash: usize,
): i32 {
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
  return nn;
}

/**
 * Writes the compiled model (format.ts) into a new block and attaches it: nodes renumbered
 * in BFS order, pops inline or in the pool, the roots' ASCII children, the token lengths
 * and the whole-word table.
 */
function writeBlock(
  nn: i32,
  vocab: i32,
  poolN: i32,
  slots: u32,
  nChars: u32,
  entries: usize,
  eChar: usize,
  tLen: usize,
  chosen: usize,
  starts: usize,
  eHash: usize,
  nChosen: i32,
): void {
  const cnt = childCounts, rank = ranks, order = bfsOrder;
  const tFail = failLinks, tPs = popStarts, tPl = popLengths, tPool = popPool;
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

  // per entry, the whole-word table's hash of its characters (FNV-1a of the code units),
  // made on the way down the trie; 0 when the entry cannot be in that table (a
  // continuation token, empty, over 255 characters, or not all in the BMP)
  const eHash = heap.alloc((<usize>count) * 4);
  const nn = insertTokens(
    text,
    entries,
    count,
    vocab,
    prefix,
    prefixLen,
    tTok,
    eParent,
    eChar,
    tLen,
    eHash,
  );
  orderNodes(nn, eParent, eChar);
  const cnt = childCounts, rank = ranks, order = bfsOrder;
  failureLinks(nn, order, tTok, eParent, eChar);
  const tFail = failLinks, tPs = popStarts, tPl = popLengths, tPool = popPool;

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
    writeBlock(
      nn, vocab, poolN, slots, nChars, entries, eChar, tLen, chosen, starts, eHash, nChosen,
    );
  }
  heap.free(chosen);
  heap.free(starts);
  heap.free(eHash);

  heap.free(tTok);
  heap.free(eParent);
  heap.free(eChar);
  heap.free(tLen);
  htFree();
  heap.free(cnt);
  heap.free(order);
  heap.free(rank);
  heap.free(tFail);
  heap.free(tPs);
  heap.free(tPl);
  heap.free(tPool);
  return status;
}
