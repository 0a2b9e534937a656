/**
 * The post-processor: truncation (HF `longest_first`, `only_first`, `only_second`),
 * the BERT template (`[CLS] A [SEP]`, `[CLS] A [SEP] B [SEP]` with token type ids),
 * and padding (`longest`, fixed `max_length`, `pad_to_multiple_of`). It writes rows
 * straight into typed arrays, so a batch becomes ONNX-ready tensors with no per-token
 * objects.
 *
 * @example
 * ```ts
 * import { truncatedLengths } from "./post_processor.ts";
 * // HF longest_first: keep the short sequence, cut the long one.
 * console.log(truncatedLengths(2, 8, 7, "longest_first")); // [2, 5]
 * ```
 * @module
 */
import { InputError, InputTooLongError } from "../errors.ts";

/** How a pair is truncated, as in HF tokenizers. */
export type TruncationStrategy = "longest_first" | "only_first" | "only_second";

/** Token data of one encoded sequence: views of `n` tokens. */
export interface Segment {
  ids: Int32Array;
  words: Int32Array;
  starts: Uint32Array;
  ends: Uint32Array;
}

/**
 * Tokens HF keeps of a sequence of a pair before truncating: it stops tokenizing after the
 * first word that brings the count to `maxLength` (special tokens included) or more. The
 * check follows words the model tokenized, not added tokens found in the text (`added`
 * holds their token indices).
 */
export function earlyStop(
  words: Int32Array,
  n: number,
  maxLength: number,
  added: readonly number[] | null,
): number {
  for (let i = Math.max(maxLength - 1, 0); i < n; i++) {
    const endsWord = i + 1 === n || words[i + 1] !== words[i];
    if (endsWord && !added?.includes(i)) return i + 1;
  }
  return n;
}

/**
 * Lengths after truncating sequences of `n1` and `n2` tokens (n2 = -1 for no pair) to
 * `max` tokens in total, as HF `truncate_encodings` (for pairs, pass lengths already cut
 * by `earlyStop`).
 */
export function truncatedLengths(
  n1: number,
  n2: number,
  max: number,
  strategy: TruncationStrategy,
): [number, number] {
  const pair = n2 >= 0;
  const b = pair ? n2 : 0;
  if (max <= 0) return [0, pair ? 0 : -1];
  if (n1 + b <= max) return [n1, n2];
  const toRemove = n1 + b - max;
  if (strategy === "longest_first") {
    if (!pair) return [max, -1];
    let a1 = n1, a2 = b;
    const swap = a1 > a2;
    if (swap) [a1, a2] = [a2, a1];
    a2 = a1 > max ? a1 : Math.max(a1, max - a1);
    if (a1 + a2 > max) {
      a1 = Math.floor(max / 2);
      a2 = a1 + (max % 2);
    }
    if (swap) [a1, a2] = [a2, a1];
    return [Math.min(a1, n1), Math.min(a2, b)];
  }
  if (strategy === "only_second" && !pair) {
    throw new InputError("only_second truncation needs a second sequence", "truncation");
  }
  const target = strategy === "only_first" ? n1 : b;
  if (target <= toRemove) {
    throw new InputTooLongError(
      `the ${
        strategy === "only_first" ? "first" : "second"
      } sequence is too short to truncate to ${max} tokens (${strategy})`,
      "truncation",
    );
  }
  return strategy === "only_first" ? [n1 - toRemove, n2] : [n1, b - toRemove];
}

/**
 * Where a row is written: each field is an array and the index of the batch's first cell
 * in it (fields may share one array at different bases). `ids`, `mask`, `types` are
 * written every `stride` cells: 2 for the low words of BigInt64Array tensors.
 */
export interface RowTarget {
  ids: Int32Array;
  idsAt: number;
  types: Int32Array;
  typesAt: number;
  mask: Int32Array;
  maskAt: number;
  stride: 1 | 2;
  words: Int32Array;
  wordsAt: number;
  offsets: Int32Array | Uint32Array;
  offsetsAt: number;
  special: Int8Array | Uint8Array;
  specialAt: number;
  sequence: Int8Array;
  sequenceAt: number;
}

/** Special token ids of the template. */
export interface Template {
  cls: number;
  sep: number;
  pad: number;
}

/**
 * Writes one row at token position `row` (`row` = batch index × sequence length): template
 * around `a[0..na)` and `b[0..nb)` (nb = -1: no pair), then padding up to `width`. All
 * cells must be zero on entry (fresh arrays). Returns the number of real tokens.
 */
export function writeRow(
  t: RowTarget,
  row: number,
  width: number,
  tpl: Template,
  special: boolean,
  a: Segment,
  aAt: number,
  na: number,
  b: Segment | null,
  bAt: number,
  nb: number,
): number {
  const s = t.stride;
  const { ids, mask, types, words, sequence, offsets, special: sp } = t;
  const I = t.idsAt, M = t.maskAt, T = t.typesAt, W = t.wordsAt, Q = t.sequenceAt;
  const O = t.offsetsAt, S = t.specialAt;
  let k = row;
  if (special) { // [CLS]
    ids[I + k * s] = tpl.cls;
    mask[M + k * s] = 1;
    sp[S + k] = 1;
    words[W + k] = -1;
    sequence[Q + k] = -1;
    k++;
  }
  for (let i = aAt, end = aAt + na; i < end; i++, k++) {
    ids[I + k * s] = a.ids[i];
    mask[M + k * s] = 1;
    words[W + k] = a.words[i];
    offsets[O + 2 * k] = a.starts[i];
    offsets[O + 2 * k + 1] = a.ends[i];
  }
  if (special) { // [SEP]
    ids[I + k * s] = tpl.sep;
    mask[M + k * s] = 1;
    sp[S + k] = 1;
    words[W + k] = -1;
    sequence[Q + k] = -1;
    k++;
  }
  if (b && nb >= 0) {
    for (let i = bAt, end = bAt + nb; i < end; i++, k++) {
      ids[I + k * s] = b.ids[i];
      mask[M + k * s] = 1;
      types[T + k * s] = 1;
      words[W + k] = b.words[i];
      sequence[Q + k] = 1;
      offsets[O + 2 * k] = b.starts[i];
      offsets[O + 2 * k + 1] = b.ends[i];
    }
    if (special) { // [SEP] of the second sequence
      ids[I + k * s] = tpl.sep;
      mask[M + k * s] = 1;
      types[T + k * s] = 1;
      sp[S + k] = 1;
      words[W + k] = -1;
      sequence[Q + k] = -1;
      k++;
    }
  }
  const used = k - row;
  const end = row + width;
  if (k < end) { // padding: block fills (a batch padded to its longest row is mostly this)
    if (tpl.pad !== 0) { for (let j = k; j < end; j++) ids[I + j * s] = tpl.pad; }
    sp.fill(1, S + k, S + end);
    words.fill(-1, W + k, W + end);
    sequence.fill(-1, Q + k, Q + end);
  }
  return used;
}

/**
 * Writes one row's ids, attention mask and token types into int64 tensors seen as int32
 * pairs (the low word; ids are non-negative, so the high word stays 0): what a model run
 * needs and nothing else. Returns the real (unpadded) token count.
 */
export function writeTensorRow(
  ids: Int32Array,
  mask: Int32Array,
  types: Int32Array,
  row: number,
  width: number,
  tpl: Template,
  special: boolean,
  a: Segment,
  aAt: number,
  na: number,
  b: Segment | null,
  bAt: number,
  nb: number,
): number {
  let k = 2 * row;
  const aIds = a.ids;
  if (special) {
    ids[k] = tpl.cls;
    mask[k] = 1;
    k += 2;
  }
  for (let i = aAt, end = aAt + na; i < end; i++, k += 2) {
    ids[k] = aIds[i];
    mask[k] = 1;
  }
  if (special) {
    ids[k] = tpl.sep;
    mask[k] = 1;
    k += 2;
  }
  if (b && nb >= 0) {
    const bIds = b.ids;
    for (let i = bAt, end = bAt + nb; i < end; i++, k += 2) {
      ids[k] = bIds[i];
      mask[k] = 1;
      types[k] = 1;
    }
    if (special) {
      ids[k] = tpl.sep;
      mask[k] = 1;
      types[k] = 1;
      k += 2;
    }
  }
  const used = (k >> 1) - row;
  if (tpl.pad !== 0) { for (let j = k, end = 2 * (row + width); j < end; j += 2) ids[j] = tpl.pad; }
  return used;
}

/** Padded width for rows of `longest` real tokens. */
export function paddedWidth(
  longest: number,
  padding: "longest" | "max_length" | false,
  maxLength: number | undefined,
  multipleOf: number | undefined,
): number {
  let w = longest;
  if (padding === "max_length") {
    if (maxLength === undefined) {
      throw new InputError("padding 'max_length' needs maxLength", "maxLength");
    }
    w = Math.max(longest, maxLength);
  }
  if (padding !== false && multipleOf && multipleOf > 1 && w % multipleOf !== 0) {
    w += multipleOf - (w % multipleOf);
  }
  return w;
}
