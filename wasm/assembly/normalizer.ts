// The normalizer and pre-tokenizer: BertNormalizer (clean_text, handle_chinese_chars,
// strip_accents = NFD then drop Mn, lowercase) and BertPreTokenizer (split on whitespace,
// punctuation as its own word), fused into one pass that hands normalized characters to
// the matcher (wordpiece.ts) with the span of the source characters they came from.
//   "Café!"  →  c a f e (é → e + U+0301, the mark dropped) | ! (its own word)

import {
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
} from "./tables";
import { findKey, flagsOf } from "./unicode";
import { asciiWordRun, endWord, wordChar } from "./wordpiece";

let optCleanText = true;
let optChinese = true;
let optStrip = true;
let optLower = true;

// ASCII fast path: per char, the normalized char (a word char), or a class bit.
const A_DROP: u32 = 0x100;
const A_SPACE: u32 = 0x200;
const A_PUNCT: u32 = 0x400;
const asciiClass: usize = memory.data(128 * 4);

// Latin fast path, U+0080..U+02FF (Latin-1, Latin Extended-A/B, IPA): per char, the one
// character the whole pipeline makes of it when that is a word character, else 0 (the
// general path). With strip_accents, a precomposed letter whose decomposition is a starter
// and Mn marks only is its base, lowercased:  É → E + U+0301 → (mark dropped) e.
// Exact also when combining marks follow in the text: the base is first in its block
// whatever the marks' order, and the marks form a block of their own, as before.
const LATIN_FIRST: u32 = 0x80;
const LATIN_END: u32 = 0x300;
const latinClass: usize = memory.data((0x300 - 0x80) * 4);

/** The single word character `cp` normalizes to under the options, or 0. */
function simpleLatin(cp: u32): u32 {
  const f = flagsOf(cp);
  if (f & (F_DROP | F_WS | F_PUNCT | F_CJK | F_MN | F_NONSTARTER)) return 0;
  let r = cp;
  if (optStrip && (f & F_DECOMP)) {
    const k = findKey(DECOMP_KEYS, cp);
    const a = unchecked(DECOMP_STARTS[k]);
    const b = unchecked(DECOMP_STARTS[k + 1]);
    r = unchecked(DECOMP_DATA[a]);
    if (flagsOf(r) & (F_NONSTARTER | F_MN)) return 0;
    for (let i = a + 1; i < b; i++) {
      if (!(flagsOf(unchecked(DECOMP_DATA[i])) & F_MN)) return 0; // a mark that stays
    }
  }
  if (optLower && (flagsOf(r) & F_LOWER)) {
    const k = findKey(LOWER_KEYS, r);
    const a = unchecked(LOWER_STARTS[k]);
    if (unchecked(LOWER_STARTS[k + 1]) - a != 1) return 0; // lowercases to several chars
    r = unchecked(LOWER_DATA[a]);
  }
  // the pre-tokenizer's view of the result: a word character, nothing else
  if (flagsOf(r) & (F_DROP | F_WS | F_PUNCT | F_CJK | F_MN | F_NONSTARTER)) return 0;
  return r;
}

/** The normalizer's options (booleans as 0/1); the ASCII table follows them. */
export function setNormalizer(
  cleanText: i32,
  chinese: i32,
  stripAccents: i32,
  lowercase: i32,
): void {
  optCleanText = cleanText != 0;
  optChinese = chinese != 0;
  optStrip = stripAccents != 0;
  optLower = lowercase != 0;
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
  for (let cp = LATIN_FIRST; cp < LATIN_END; cp++) {
    store<u32>(latinClass + (<usize>(cp - LATIN_FIRST)) * 4, simpleLatin(cp));
  }
}

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
export function flushBlock(): void {
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
export function boundary(): void {
  flushBlock();
  endWord();
}

/** Forgets a pending decomposition block (a new output starts). */
export function resetNormalizer(): void {
  blkLen = 0;
  spanCount = 0;
}

/**
 * Normalizes code units [from, to) of the UTF-16 text at `input` into the matcher; offsets
 * count from `input`. The last word stays open (the caller ends it).
 */
export function normalizeRange(input: usize, from: i32, to: i32): void {
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
        p = asciiWordRun(input, p - 2, end, asciiClass);
      } else if (c & A_PUNCT) {
        endWord();
        wordChar(c & 0x7F, start, start + 1);
        endWord();
      } else if (c & A_SPACE) {
        endWord();
      }
      continue;
    }
    if (cp < LATIN_END) {
      const r = load<u32>(latinClass + (<usize>(cp - LATIN_FIRST)) * 4);
      if (r != 0) {
        if (blkLen != 0) flushBlock();
        wordChar(r, start, start + 1);
        continue;
      }
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
}
