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
//
// The modules: format.ts (the compiled model: the precompiled format), builder.ts (a
// vocabulary → the model; its trie's edges in edge_table.ts, order and failure links in
// trie_links.ts), vocab_scanner.ts (tokenizer.json's vocabulary → the builder's
// input), unicode.ts + tables.ts (Unicode data), normalizer.ts (normalizer and
// pre-tokenizer), wordpiece.ts (the matcher and its output), batch.ts (many texts in one
// call). This file is the API the JS side calls (src/tokenizer/wasm.ts lists it).

import { E_NO_MODEL, E_OK } from "./errors";
import { model } from "./format";
import { boundary, normalizeRange, resetNormalizer, setNormalizer } from "./normalizer";
import { resetWords, setWordPiece, tokenCount, wholeToken } from "./wordpiece";

export { alloc, attach, free, modelBytes, modelPtr } from "./format";
export { batchTokenize } from "./batch";
export { build, shadowedCount, shadowedPtr } from "./builder";
export { scanEnd, scanMaxIdSeen, scanVocab } from "./vocab_scanner";
export {
  endsPtr,
  idsPtr,
  outCapacity,
  shrink,
  startsPtr,
  wordsPtr,
} from "./wordpiece";

/** Sets the normalizer and model options (booleans as 0/1). */
export function configure(
  cleanText: i32,
  chinese: i32,
  stripAccents: i32,
  lowercase: i32,
  maxChars: i32,
  unkId: i32,
): void {
  setNormalizer(cleanText, chinese, stripAccents, lowercase);
  setWordPiece(maxChars, unkId);
}

/** Starts a new output (before `encodeRange`/`addToken`). Returns E_NO_MODEL before a model. */
export function begin(): i32 {
  if (model == 0) return E_NO_MODEL;
  resetWords();
  resetNormalizer();
  return E_OK;
}

/** Appends a token that stands for itself (an added token found in the text) as its own word. */
export function addToken(id: i32, start: u32, end: u32): i32 {
  boundary();
  return wholeToken(id, start, end);
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
  normalizeRange(input, from, to);
  boundary();
  return tokenCount();
}
