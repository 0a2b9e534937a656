/**
 * The bag-of-words baseline for the classifier head: each text becomes the hashed counts
 * of its WordPiece unigrams and bigrams (the model's own tokenizer, special tokens left
 * out), a sparse row for the same trainer (`fitSoftmax`). A sentence-vector head that
 * cannot beat this has learned nothing a word list would not know.
 *
 * Hashing: FNV-1a over the token ids (a bigram is the pair), modulo `buckets` (default
 * 2¹⁸); collisions are rare at SST-2's vocabulary and only blur two features together.
 * Counts are log-scaled (1 + ln count) so a repeated word does not dominate.
 *
 * @example
 * ```ts
 * import { bagOfWordsRow } from "./bag_of_words.ts";
 * // ids of "[CLS] i love paris [SEP]" without the specials: 1045 2293 3000
 * const row = bagOfWordsRow(Int32Array.of(1045, 2293, 3000), 1024);
 * console.log(row.length); // 5: three unigrams and two bigrams
 * ```
 * @module
 */
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import { type Features, sparseFeatures } from "./features.ts";

/** Default number of hash buckets. */
export const BAG_OF_WORDS_BUCKETS = 1 << 18;

function fnv(a: number, b = -1): number {
  let h = 0x811c9dc5;
  for (const v of b < 0 ? [a] : [a, b, 0x9e3779b9]) {
    for (let k = 0; k < 4; k++) {
      h ^= (v >>> (8 * k)) & 0xff;
      h = Math.imul(h, 0x01000193);
    }
  }
  return h >>> 0;
}

/** Sparse `[bucket, value]` pairs of one token-id sequence. */
export function bagOfWordsRow(ids: Int32Array, buckets = BAG_OF_WORDS_BUCKETS): [number, number][] {
  const counts = new Map<number, number>();
  const add = (bucket: number) => counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
  for (let i = 0; i < ids.length; i++) {
    add(fnv(ids[i]) % buckets);
    if (i > 0) add(fnv(ids[i - 1], ids[i]) % buckets);
  }
  return [...counts].sort((x, y) => x[0] - y[0]).map(([b, c]) => [b, 1 + Math.log(c)]);
}

/** Bag-of-words rows of texts with the model's tokenizer (no special tokens). */
export function bagOfWords(
  tokenizer: Tokenizer,
  texts: string[],
  buckets = BAG_OF_WORDS_BUCKETS,
): Features {
  return sparseFeatures(
    texts.map((t) => bagOfWordsRow(tokenizer.encode(t, { addSpecialTokens: false }).ids, buckets)),
    buckets,
  );
}
