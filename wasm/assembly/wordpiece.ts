// The matcher: WordPiece by LinMaxMatch over the compiled model (format.ts), one
// normalized character at a time (the normalizer calls wordChar and endWord), into the
// output buffers the JS side reads. Each character costs amortised O(1): on a missing
// edge the failure pops of the node are the tokens greedy longest-match-first commits,
// and the failure link is where matching goes on.
//   vocabulary {un, ##aff, ##able}:  "unaffable" → u n (un) a f f (##aff) a b l e (##able)
//   at "a" after "un" there is no edge un→a: pop [un], follow f(un) = ##-root, go on with a

import {
  child,
  failOf,
  FNV_OFFSET,
  FNV_PRIME,
  isInline,
  lengths,
  pool,
  popOf,
  ROOT,
  SROOT,
  wordChars,
  wordSlots,
  wordTable,
} from "./format";

let optMaxChars: i32 = 100;
let optUnk: i32 = 100;

/** The matcher's options: longest word in characters, the unknown token's id. */
export function setWordPiece(maxChars: i32, unkId: i32): void {
  optMaxChars = maxChars;
  optUnk = unkId;
  ensureWordCap(maxChars + 1);
}

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

/** Token capacity of the output buffers. */
export function outCapacity(): i32 {
  return outCap;
}

function growOut(): void {
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

// Ids only: no word indices or offsets are written, nor the characters' spans kept (a
// model batch needs the ids alone; the stores were a tenth of the matcher's time).
let idsOnly = false;

/** Whether the output gets token ids only (see batchTokenize); off by default. */
export function setIdsOnly(on: bool): void {
  idsOnly = on;
}

// @ts-ignore: decorator
@inline function emit(id: i32, word: i32, start: u32, end: u32): void {
  if (outCount == outCap) growOut();
  const p = (<usize> outCount) * 4;
  store<i32>(outIds + p, id);
  if (!idsOnly) {
    store<i32>(outWords + p, word);
    store<u32>(outStarts + p, start);
    store<u32>(outEnds + p, end);
  }
  outCount++;
}

/** Tokens written since `resetWords`. */
// @ts-ignore: decorator
@inline export function tokenCount(): i32 {
  return outCount;
}

/** Starts a new output: no tokens, no word. */
export function resetWords(): void {
  outCount = 0;
  wordIdx = -1;
  inWord = false;
}

/** A token that stands for itself (an added token found in the text) as its own word. */
export function wholeToken(id: i32, start: u32, end: u32): i32 {
  wordIdx++;
  emit(id, wordIdx, start, end);
  return outCount;
}

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

let wC: usize = 0; // u32 per char: the normalized code point
let wHash: u32 = FNV_OFFSET; // FNV-1a of the word's characters so far
let wBmp = true; // every character of the word is in the BMP (the whole-word table's)

function ensureWordCap(n: i32): void {
  if (n <= wCap) return;
  wS = wS == 0 ? heap.alloc((<usize> n) * 4) : heap.realloc(wS, (<usize> n) * 4);
  wE = wE == 0 ? heap.alloc((<usize> n) * 4) : heap.realloc(wE, (<usize> n) * 4);
  wC = wC == 0 ? heap.alloc((<usize> n) * 4) : heap.realloc(wC, (<usize> n) * 4);
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
  if (idsOnly) emit(<i32>t, 0, 0, 0);
  else emit(<i32>t, wordIdx, load<u32>(wS + (<usize>pos) * 4), load<u32>(wE + (<usize>last) * 4));
  pos += l;
}

/** A new word starts at code unit `start`. */
// @ts-ignore: decorator
@inline function beginWord(start: u32): void {
  inWord = true;
  failed = false;
  wordIdx++;
  wordLen = 0;
  wordStart = start;
  tokBase = outCount;
  wHash = FNV_OFFSET;
  wBmp = true;
}

// @ts-ignore: decorator
@inline export function wordChar(cp: u32, start: u32, end: u32): void {
  if (!inWord) beginWord(start);
  wordEnd = end;
  if (failed) return;
  if (wordLen >= optMaxChars) {
    failed = true;
    return;
  }
  // the word is matched when it ends (endWord): first as a whole, then by the trie
  const p = (<usize> wordLen) * 4;
  if (!idsOnly) {
    store<u32>(wS + p, start);
    store<u32>(wE + p, end);
  }
  store<u32>(wC + p, cp);
  wordLen++;
  wHash = (wHash ^ cp) * FNV_PRIME;
  if (cp > 0xFFFF) wBmp = false;
}

/**
 * `wordChar` for a run of ASCII word characters: `classes` maps an ASCII code unit to the
 * character it normalizes to (below 0x100) or to a class bit (0x100 and up: dropped,
 * whitespace, punctuation), which ends the run. The word's state stays in locals for the
 * run (wasm globals are loads and stores each time): most of English text is such runs.
 * Returns where the run stopped.
 *   "hello, world" at 0: stores h e l l o, returns the position of ","
 */
export function asciiWordRun(input: usize, p: usize, end: usize, classes: usize): usize {
  let at = <u32>((p - input) >> 1);
  if (!inWord) beginWord(at);
  let len = wordLen, h = wHash;
  const max = optMaxChars, spans = !idsOnly;
  while (p < end) {
    const u = <u32>load<u16>(p);
    if (u >= 0x80) break;
    const c = load<u32>(classes + (<usize>u) * 4);
    if (c >= 0x100) break;
    if (len >= max) failed = true;
    if (!failed) {
      const q = (<usize>len) * 4;
      if (spans) {
        store<u32>(wS + q, at);
        store<u32>(wE + q, at + 1);
      }
      store<u32>(wC + q, c);
      len++;
      h = (h ^ c) * FNV_PRIME;
    }
    p += 2;
    at++;
  }
  wordLen = len;
  wHash = h;
  wordEnd = at;
  return p;
}

/** The token that is the whole word, from the whole-word table; -1 when there is none. */
function wholeWord(): i32 {
  if (wordSlots == 0 || !wBmp) return -1;
  const mask = wordSlots - 1;
  let slot = wHash & mask;
  while (true) {
    const e = wordTable + (<usize>slot) * 8;
    const t = load<u32>(e);
    if (t == 0) return -1;
    const packed = load<u32>(e, 4);
    if (<i32>(packed >>> 24) == wordLen) {
      const chars = wordChars + (<usize>(packed & 0xFFFFFF)) * 2;
      let k = 0;
      while (k < wordLen && <u32>load<u16>(chars + (<usize>k) * 2) == load<u32>(wC + (<usize>k) * 4)) {
        k++;
      }
      if (k == wordLen) return <i32>(t - 1);
    }
    slot = (slot + 1) & mask;
  }
}

/**
 * At a node with no way on: commits its failure pops and returns its failure link, or -1
 * (the word failed) at a root or when the pops do not fit the word.
 */
function popAndFollow(node: i32): i32 {
  const f = node <= SROOT ? -1 : failOf(<usize>node);
  if (f < 0) {
    failed = true;
    return -1;
  }
  popTokens(node);
  return failed ? -1 : f;
}

/**
 * LinMaxMatch over the word's characters: follow the trie; on a missing edge commit the
 * node's failure pops and follow its failure link; at the end, pop until the ##-root.
 */
function matchWord(): void {
  let node = ROOT;
  pos = 0;
  for (let i = 0; i < wordLen; i++) {
    const cp = load<u32>(wC + (<usize>i) * 4);
    let next = child(node, cp);
    while (next < 0) {
      node = popAndFollow(node);
      if (node < 0) return;
      next = child(node, cp);
    }
    node = next;
  }
  while (node != SROOT) {
    node = popAndFollow(node);
    if (node < 0) return;
  }
}

export function endWord(): void {
  if (!inWord) return;
  inWord = false;
  if (!failed) {
    const whole = wholeWord();
    if (whole >= 0) {
      emit(whole, wordIdx, wordStart, wordEnd);
      return;
    }
    matchWord();
  }
  if (failed) {
    outCount = tokBase;
    emit(optUnk, wordIdx, wordStart, wordEnd);
  }
}
