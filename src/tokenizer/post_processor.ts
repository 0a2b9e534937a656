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
 * written every `stride` cells: 2 for the low words of BigInt64Array tensors. The other
 * fields (word ids, offsets, special-token mask, sequence ids) are optional: a model run
 * needs none of them, and a target without them (`tensorTarget`) costs one loop per
 * sequence instead of two.
 */
export interface RowTarget {
  ids: Int32Array;
  idsAt: number;
  types: Int32Array;
  typesAt: number;
  mask: Int32Array;
  maskAt: number;
  stride: 1 | 2;
  annotations?: RowAnnotations;
}

/** The fields of a row besides the model's tensors (see `RowTarget`). */
export interface RowAnnotations {
  words: Int32Array;
  wordsAt: number;
  offsets: Int32Array | Uint32Array;
  offsetsAt: number;
  special: Int8Array | Uint8Array;
  specialAt: number;
  sequence: Int8Array;
  sequenceAt: number;
}

/**
 * A target for int64 model tensors seen as int32 pairs (the low word; ids are
 * non-negative, so the high word stays 0): ids, attention mask and token types only.
 */
export function tensorTarget(ids: Int32Array, mask: Int32Array, types: Int32Array): RowTarget {
  // the same keys in the same order as a full target, so writeRow sees one object shape
  return { ids, idsAt: 0, types, typesAt: 0, mask, maskAt: 0, stride: 2, annotations: undefined };
}

/** Special token ids of the template. */
export interface Template {
  cls: number;
  sep: number;
  pad: number;
}

/** Writes a special token (`[CLS]`, `[SEP]`) at token position `k`. */
function writeSpecial(t: RowTarget, k: number, id: number, type: number): void {
  const s = t.stride;
  t.ids[t.idsAt + k * s] = id;
  t.mask[t.maskAt + k * s] = 1;
  if (type) t.types[t.typesAt + k * s] = type;
  const a = t.annotations;
  if (a) {
    a.special[a.specialAt + k] = 1;
    a.words[a.wordsAt + k] = -1;
    a.sequence[a.sequenceAt + k] = -1;
  }
}

/**
 * Writes tokens `from … from+n` of `seg` from token position `k` on: sequence 0 (types and
 * sequence ids left at their zeros) or 1. The tensors' loop is the hot path of a model
 * batch; the annotations, when wanted, get a loop of their own.
 */
function writeTokens(
  t: RowTarget,
  k: number,
  seg: Segment,
  from: number,
  n: number,
  sequenceId: 0 | 1,
): void {
  const s = t.stride, ids = t.ids, mask = t.mask, types = t.types, segIds = seg.ids;
  const I = t.idsAt, M = t.maskAt, T = t.typesAt;
  const end = from + n;
  if (sequenceId === 0) {
    for (let i = from, p = k * s; i < end; i++, p += s) {
      ids[I + p] = segIds[i];
      mask[M + p] = 1;
    }
  } else {
    for (let i = from, p = k * s; i < end; i++, p += s) {
      ids[I + p] = segIds[i];
      mask[M + p] = 1;
      types[T + p] = 1;
    }
  }
  const a = t.annotations;
  if (!a) return;
  const { words, offsets, sequence } = a;
  for (let i = from, j = k; i < end; i++, j++) {
    words[a.wordsAt + j] = seg.words[i];
    offsets[a.offsetsAt + 2 * j] = seg.starts[i];
    offsets[a.offsetsAt + 2 * j + 1] = seg.ends[i];
    if (sequenceId) sequence[a.sequenceAt + j] = 1;
  }
}

/**
 * Writes one row at token position `row` (`row` = batch index × sequence length): the
 * template `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]` (without special tokens: `A` or
 * `A B`) around `a[aAt … aAt+na)` and `b[bAt … bAt+nb)` (nb = -1: no pair), then padding
 * up to `width`. All cells must be zero on entry (fresh arrays). Returns the number of
 * real tokens. The one writer of the template, for model tensors and full encodings alike.
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
  let k = row;
  if (special) writeSpecial(t, k++, tpl.cls, 0);
  writeTokens(t, k, a, aAt, na, 0);
  k += na;
  if (special) writeSpecial(t, k++, tpl.sep, 0);
  if (b && nb >= 0) {
    writeTokens(t, k, b, bAt, nb, 1);
    k += nb;
    if (special) writeSpecial(t, k++, tpl.sep, 1);
  }
  const end = row + width;
  if (k < end) { // padding: block fills (a batch padded to its longest row is mostly this)
    const s = t.stride, ids = t.ids, I = t.idsAt;
    if (tpl.pad !== 0) { for (let j = k; j < end; j++) ids[I + j * s] = tpl.pad; }
    const an = t.annotations;
    if (an) {
      an.special.fill(1, an.specialAt + k, an.specialAt + end);
      an.words.fill(-1, an.wordsAt + k, an.wordsAt + end);
      an.sequence.fill(-1, an.sequenceAt + k, an.sequenceAt + end);
    }
  }
  return k - row;
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
