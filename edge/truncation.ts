/**
 * Cutting a long input on the left (TEI's `truncation_direction: "Left"`): the tokenizer
 * cuts only the end of a text, so a text is tokenized whole and its encoding cut here,
 * keeping its leading special tokens (`[CLS]`), its last content tokens and its trailing
 * special tokens (`[SEP]`), `maxLength` in all. Token-id inputs become encodings here too
 * (`[CLS] ids [SEP]`), for the routes that need one (`/embed_all`).
 *
 * @example
 * ```ts
 * import { cutLeft, idsEncoding } from "./truncation.ts";
 * import { Embedder } from "../src/model/embedder.ts";
 * const embedder = await Embedder.load("../shared/models/embedge-mini-mlm");
 * const whole = embedder.encode("I love Paris so much.", { truncate: false }).encoding;
 * console.log(cutLeft(whole, 5).tokens); // [ "[CLS]", "so", "much", ".", "[SEP]" ]
 * console.log(idsEncoding(embedder.tokenizer, [1045, 2293]).tokens); // [ "[CLS]", "i", "love", "[SEP]" ]
 * await embedder.close();
 * ```
 * @module
 */
import type { Encoding } from "../src/tokenizer/tokenizer.ts";
// token-id inputs as encodings: the library's own (src/model/rows.ts), re-exported for the routes
export { idsEncoding } from "../src/model/rows.ts";

/** Which end of a long input a cut removes from: TEI's `TruncationDirection`. */
export type TruncationDirection = "Left" | "Right";

type PerToken = Int32Array | Uint8Array | Int8Array;

/** `encoding` cut to `maxLength` tokens from the left (unchanged when it fits). */
export function cutLeft(encoding: Encoding, maxLength: number): Encoding {
  const n = encoding.ids.length;
  if (n <= maxLength) return encoding;
  const special = encoding.specialTokensMask;
  let lead = 0, trail = 0;
  while (lead < n && special[lead]) lead++;
  while (trail < n - lead && special[n - 1 - trail]) trail++;
  const body = Math.max(0, maxLength - lead - trail);
  const kept: number[] = [];
  for (let k = 0; k < lead; k++) kept.push(k);
  for (let k = n - trail - body; k < n; k++) kept.push(k);
  const pick = <T extends PerToken>(a: T, make: (m: number) => T): T => {
    const out = make(kept.length);
    kept.forEach((k, j) => out[j] = a[k]);
    return out;
  };
  const offsets = new Uint32Array(2 * kept.length);
  kept.forEach((k, j) => {
    offsets[2 * j] = encoding.offsets[2 * k];
    offsets[2 * j + 1] = encoding.offsets[2 * k + 1];
  });
  return {
    ids: pick(encoding.ids, (m) => new Int32Array(m)),
    typeIds: pick(encoding.typeIds, (m) => new Int32Array(m)),
    attentionMask: pick(encoding.attentionMask, (m) => new Int32Array(m)),
    specialTokensMask: pick(special, (m) => new Uint8Array(m)),
    wordIds: pick(encoding.wordIds, (m) => new Int32Array(m)),
    sequenceIds: pick(encoding.sequenceIds, (m) => new Int8Array(m)),
    offsets,
    tokens: kept.map((k) => encoding.tokens[k]),
  };
}
