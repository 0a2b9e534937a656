/**
 * Word vectors from token vectors: the subword vectors of each word (by the encoding's
 * word ids, first sequence only) aggregated, `first` or `mean`, with the word's text and
 * UTF-16 offsets.
 *
 * @example
 * ```ts
 * import { aggregateWords } from "./words.ts";
 * // "Paris is" as [CLS] par ##is is [SEP], hidden size 1
 * const tokens = {
 *   tokens: ["[CLS]", "par", "##is", "is", "[SEP]"],
 *   ids: new Int32Array(5),
 *   offsets: Uint32Array.from([0, 0, 0, 3, 3, 5, 6, 8, 0, 0]),
 *   specialTokensMask: Uint8Array.from([1, 0, 0, 0, 1]),
 *   vectors: Float32Array.from([9, 1, 3, 5, 9]),
 *   hiddenSize: 1,
 * };
 * const encoding = { wordIds: Int32Array.from([-1, 0, 0, 1, -1]), sequenceIds: Int8Array.from([-1, 0, 0, 0, -1]) };
 * const mean = aggregateWords("Paris is", tokens, encoding, "mean");
 * console.log(mean.words, [...mean.vectors]); // [ "Paris", "is" ] [ 2, 5 ]
 * ```
 * @module
 */
import type { TokenEmbeddings, WordEmbeddings } from "./embedder.ts";
import type { Encoding } from "../tokenizer/tokenizer.ts";

/** How the subword vectors of a word make its vector. */
export type WordAggregate = "first" | "mean";

/** The word vectors of `text` from its token vectors and the encoding they came from. */
export function aggregateWords(
  text: string,
  t: TokenEmbeddings,
  encoding: Pick<Encoding, "wordIds" | "sequenceIds">,
  aggregate: WordAggregate,
): WordEmbeddings {
  const wordIds = encoding.wordIds, seq = encoding.sequenceIds;
  const h = t.hiddenSize;
  const spans: { start: number; end: number; sum: Float64Array; n: number }[] = [];
  let last = -1;
  for (let k = 0; k < t.ids.length; k++) {
    if (seq[k] !== 0 || wordIds[k] < 0) continue;
    if (wordIds[k] !== last) {
      spans.push({
        start: t.offsets[2 * k],
        end: t.offsets[2 * k + 1],
        sum: new Float64Array(h),
        n: 0,
      });
      last = wordIds[k];
    }
    const s = spans[spans.length - 1];
    s.end = t.offsets[2 * k + 1];
    if (aggregate === "mean" || s.n === 0) {
      for (let j = 0; j < h; j++) s.sum[j] += t.vectors[k * h + j];
      s.n++;
    }
  }
  const vectors = new Float32Array(spans.length * h);
  spans.forEach((s, w) => {
    for (let j = 0; j < h; j++) vectors[w * h + j] = s.sum[j] / s.n;
  });
  return {
    words: spans.map((s) => text.slice(s.start, s.end)),
    offsets: Uint32Array.from(spans.flatMap((s) => [s.start, s.end])),
    vectors,
    hiddenSize: h,
  };
}
