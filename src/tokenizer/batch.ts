/**
 * Many inputs at once: `encodeBatch`'s two paths (every plain text in one wasm call, or
 * every input run by itself into a pool) and `encodeRows`' pooled tokens (`TokenRows`),
 * which a model batch writes straight into its tensors.
 *
 * @example
 * ```ts
 * import { Tokenizer } from "./tokenizer.ts";
 * const tok = await Tokenizer.fromVocab(await Deno.readTextFile("../shared/models/bert-base-uncased/vocab.txt"));
 * const texts = tok.encodeBatch(["Hi", "I love Paris."]); // the wasm path
 * const pairs = tok.encodeBatch([["Hi", "there"]]); // the row path
 * console.log(texts.sequenceLength, [...texts.inputIds.subarray(0, 6)].join(" ")); // 6 101 7632 102 0 0 0
 * console.log([...pairs.tokenTypeIds].join(" ")); // 0 0 0 1 1
 * ```
 * @module
 */
import { TokenizerLoadError } from "../errors.ts";
import { Arena, TENSOR_ARENA_BYTES } from "./arena.ts";
import { WasmBatch } from "./encoding.ts";
import type { CheckedOptions } from "./options.ts";
import {
  paddedWidth,
  type RowAnnotations,
  type RowTarget,
  type Segment,
  type Template,
  tensorTarget,
  writeRow,
} from "./post_processor.ts";
import type { BatchEncoding, Encoding, TextInput } from "./tokenizer.ts";
import { emptySegment, type WasmIO } from "./wasm_io.ts";

/** `encodeBatch` of one tokenizer: its two paths, their reused pool and tensor arena. */
export class BatchEncoder {
  readonly #io: WasmIO;
  readonly #template: Template;
  /** Pool reused by the row path (its tokens are copied out before it returns). */
  #pool: Segment = emptySegment(0);
  /** Where batches' tensors go (regions of 24 bytes a cell keep BigInt64 alignment). */
  #tensorArena = new Arena(TENSOR_ARENA_BYTES);

  constructor(io: WasmIO, template: Template) {
    this.#io = io;
    this.#template = template;
  }

  /** `inputs` as a padded batch (see `Tokenizer.encodeBatch`). */
  encode(inputs: readonly TextInput[], o: CheckedOptions): BatchEncoding {
    return this.#inWasm(inputs, o) ?? this.#byRows(inputs, o);
  }

  /**
   * encodeBatch with one wasm call for all the texts (`batchTokenize`), the tensors written
   * from one view of its output; word ids, offsets, special tokens and sequence ids are
   * made when first read, by the row path (they cost a batch 14 of its 38 bytes a cell, and
   * a model needs none of them). Null (the row path's turn) for pairs, texts holding added
   * tokens, `only_second`, a vocabulary without an unknown token, and anything the row path
   * rejects with an error naming the input.
   */
  #inWasm(inputs: readonly TextInput[], o: CheckedOptions): BatchEncoding | null {
    const io = this.#io;
    const count = inputs.length;
    if (count === 0 || io.unk < 0 || o.truncation === "only_second") return null;
    const special = o.addSpecialTokens;
    const specials = special ? 2 : 0;
    let keep = -1;
    if (o.truncation !== false) {
      if (o.maxLength === undefined || o.maxLength < specials) return null;
      keep = o.maxLength - specials;
    }
    let units = 0;
    for (let i = 0; i < count; i++) {
      const t = inputs[i];
      if (typeof t !== "string" || t.length > io.maxInputChars) return null;
      units += t.length;
    }
    const w = io.wasm;
    const rowsAt = w.alloc(count * 8 + (count + 1) * 4);
    const startsAt = rowsAt + count * 8;
    const u16 = io.inputArea(units); // (after the alloc: either may grow the memory)
    // where each text starts (this view is good until the tokenizing below grows the
    // memory, which detaches every view of it)
    const starts = new Int32Array(w.memory.buffer, startsAt, count + 1);
    let at = 0;
    for (let i = 0; i < count; i++) {
      const t = inputs[i] as string;
      starts[i] = at;
      for (let k = 0; k < t.length; k++) u16[at + k] = t.charCodeAt(k);
      at += t.length;
    }
    starts[count] = at;
    // runs of plain texts in one call each; a text holding added tokens ([MASK] …) by
    // itself, in between (its added tokens are found by the JS side's pattern)
    let tokens = w.begin();
    const added = io.addedTokens;
    for (let from = 0; from < count && tokens >= 0;) {
      let to = from;
      while (to < count && !added.mayOccur(inputs[to] as string)) to++;
      if (to > from) tokens = w.batchTokenize(io.input, startsAt, from, to, keep, rowsAt);
      if (to < count && tokens >= 0) {
        const first = tokens;
        // (a fresh view: the memory may have grown since `starts` was made)
        const base = new Int32Array(w.memory.buffer, startsAt + 4 * to, 1)[0];
        tokens = io.appendWithAdded(inputs[to] as string, base);
        const kept = tokens - first;
        const row = new Int32Array(w.memory.buffer, rowsAt, count * 2);
        row[2 * to] = first;
        row[2 * to + 1] = keep >= 0 && kept > keep ? keep : kept;
        to++;
      }
      from = to;
    }
    if (tokens < 0) {
      w.free(rowsAt);
      throw new TokenizerLoadError(`tokenizer has no model (${tokens})`);
    }
    const rows = new Int32Array(w.memory.buffer, rowsAt, count * 2).slice();
    w.free(rowsAt);
    const out = io.outViews(tokens);
    const lengths = new Int32Array(count);
    let longest = 0;
    for (let i = 0; i < count; i++) {
      lengths[i] = rows[2 * i + 1] + specials;
      if (lengths[i] > longest) longest = lengths[i];
    }
    const width = batchWidth(longest, o);
    const cells = count * width;
    const region = this.#tensorArena.take(cells * 24), buf = this.#tensorArena.last;
    const ids = new Int32Array(buf, region, cells * 2);
    const mask = new Int32Array(buf, region + cells * 8, cells * 2);
    const types = new Int32Array(buf, region + cells * 16, cells * 2);
    const tpl = this.#template, target = tensorTarget(ids, mask, types);
    for (let i = 0; i < count; i++) {
      writeRow(
        target,
        i * width,
        width,
        tpl,
        special,
        out,
        rows[2 * i],
        rows[2 * i + 1],
        null,
        0,
        -1,
      );
    }
    io.release(tokens);
    const copy = inputs.slice();
    return new WasmBatch(count, width, buf, region, lengths, () => this.#byRows(copy, o));
  }

  /** encodeBatch by rows: every input run by itself, every field written (any options). */
  #byRows(inputs: readonly TextInput[], o: CheckedOptions): BatchEncoding {
    const count = inputs.length;
    const { pool, spans, lengths, longest } = collect(this.#io, inputs, o, this.#pool);
    this.#pool = pool;
    const width = batchWidth(longest, o);
    const cells = count * width;
    // one allocation: ids, mask, types (8 bytes a cell), offsets (8), words (4),
    // special tokens and sequence ids (1 each)
    const buf = new ArrayBuffer(cells * 38);
    const inputIds = new BigInt64Array(buf, 0, cells);
    const attentionMask = new BigInt64Array(buf, cells * 8, cells);
    const tokenTypeIds = new BigInt64Array(buf, cells * 16, cells);
    const annotations: RowAnnotations = {
      offsets: new Uint32Array(buf, cells * 24, cells * 2),
      offsetsAt: 0,
      words: new Int32Array(buf, cells * 32, cells),
      wordsAt: 0,
      special: new Uint8Array(buf, cells * 36, cells),
      specialAt: 0,
      sequence: new Int8Array(buf, cells * 37, cells),
      sequenceAt: 0,
    };
    const t: RowTarget = {
      ...tensorTarget(
        new Int32Array(buf, 0, cells * 2),
        new Int32Array(buf, cells * 8, cells * 2),
        new Int32Array(buf, cells * 16, cells * 2),
      ),
      annotations,
    };
    const special = o.addSpecialTokens;
    for (let i = 0; i < count; i++) {
      writeRow(t, i * width, width, this.#template, special, ...pooled(pool, spans, i));
    }
    return {
      batchSize: count,
      sequenceLength: width,
      inputIds,
      attentionMask,
      tokenTypeIds,
      lengths,
      specialTokensMask: annotations.special as Uint8Array,
      wordIds: annotations.words,
      sequenceIds: annotations.sequence,
      offsets: annotations.offsets as Uint32Array,
    };
  }
}

/**
 * Runs every input once and keeps the tokens in one pool (`pool`, grown as needed):
 * per input its span (aStart, na, bStart, nb; nb = -1 without a pair) and its row
 * length with the special tokens.
 */
export function collect(
  io: WasmIO,
  inputs: readonly TextInput[],
  o: CheckedOptions,
  pool: Segment,
): { pool: Segment; spans: Int32Array; lengths: Int32Array; longest: number } {
  const special = o.addSpecialTokens;
  const count = inputs.length;
  const spans = new Int32Array(count * 4);
  const lengths = new Int32Array(count);
  let used = 0, longest = 0;
  const keep = (seg: Segment, n: number) => {
    if (used + n > pool.ids.length) {
      const grown = emptySegment(Math.max(used + n, pool.ids.length * 2, 1024));
      grown.ids.set(pool.ids.subarray(0, used));
      grown.words.set(pool.words.subarray(0, used));
      grown.starts.set(pool.starts.subarray(0, used));
      grown.ends.set(pool.ends.subarray(0, used));
      pool = grown;
    }
    const { ids, words, starts, ends } = pool;
    if (n < 64) { // element by element: four subarray views cost more for short texts
      const sIds = seg.ids, sWords = seg.words, sStarts = seg.starts, sEnds = seg.ends;
      for (let j = 0; j < n; j++) {
        ids[used + j] = sIds[j];
        words[used + j] = sWords[j];
        starts[used + j] = sStarts[j];
        ends[used + j] = sEnds[j];
      }
    } else {
      ids.set(seg.ids.subarray(0, n), used);
      words.set(seg.words.subarray(0, n), used);
      starts.set(seg.starts.subarray(0, n), used);
      ends.set(seg.ends.subarray(0, n), used);
    }
    used += n;
    return used - n;
  };
  for (let i = 0; i < count; i++) {
    const [a, na, b, nb] = io.runInput(inputs[i], `inputs[${i}]`, o);
    spans[4 * i] = keep(a, na);
    spans[4 * i + 1] = na;
    spans[4 * i + 2] = b ? keep(b, nb) : 0;
    spans[4 * i + 3] = nb;
    const real = na + Math.max(nb, 0) + (special ? (nb >= 0 ? 3 : 2) : 0);
    lengths[i] = real;
    if (real > longest) longest = real;
  }
  return { pool, spans, lengths, longest };
}

/**
 * The segments of input `i` of a pool (its spans: aStart, na, bStart, nb; nb = -1 without
 * a pair) as the arguments the row writers take after `special`.
 */
export function pooled(
  pool: Segment,
  spans: Int32Array,
  i: number,
): [Segment, number, number, Segment | null, number, number] {
  const nb = spans[4 * i + 3];
  return [pool, spans[4 * i], spans[4 * i + 1], nb >= 0 ? pool : null, spans[4 * i + 2], nb];
}

/** A batch's sequence length: padded to its longest row unless `max_length` is asked for. */
function batchWidth(longest: number, o: CheckedOptions): number {
  const padding = o.padding === "max_length" ? "max_length" : "longest";
  return paddedWidth(longest, padding, o.maxLength, o.padToMultipleOf);
}

/** A writer of pooled inputs (see `collect`) into int64 model tensors, for `TokenRows`. */
export function tensorWriter(
  pool: Segment,
  spans: Int32Array,
  template: Template,
  special: boolean,
): TokenRows["writeTensors"] {
  return (rows, width, ids, mask, types) => {
    const i32 = new Int32Array(ids.buffer, ids.byteOffset, ids.length * 2);
    const m32 = new Int32Array(mask.buffer, mask.byteOffset, mask.length * 2);
    const t32 = new Int32Array(types.buffer, types.byteOffset, types.length * 2);
    const target = tensorTarget(i32, m32, t32);
    for (let k = 0; k < rows.length; k++) {
      writeRow(target, k * width, width, template, special, ...pooled(pool, spans, rows[k]));
    }
  };
}

/**
 * The tokens of many inputs, pooled (see `Tokenizer.encodeRows`): row lengths, a writer of
 * any rows into int64 model tensors, and each input's `Encoding` on demand.
 */
export class TokenRows {
  /** Tokens of each input, special tokens included (after truncation). */
  readonly lengths: Int32Array;
  readonly #write: (
    rows: ArrayLike<number>,
    width: number,
    ids: BigInt64Array,
    mask: BigInt64Array,
    types: BigInt64Array,
  ) => void;
  readonly #encoding: (i: number) => Encoding;

  constructor(
    lengths: Int32Array,
    write: TokenRows["writeTensors"],
    encoding: (i: number) => Encoding,
  ) {
    this.lengths = lengths;
    this.#write = write;
    this.#encoding = encoding;
  }

  /** How many inputs. */
  get count(): number {
    return this.lengths.length;
  }

  /**
   * Writes the inputs `rows` (in that order) as the rows of `[rows.length, width]` tensors:
   * ids (padded with the pad id), attention mask, token types. The tensors must be zeroed
   * (fresh) and `width` at least the longest of those rows.
   */
  writeTensors(
    rows: ArrayLike<number>,
    width: number,
    ids: BigInt64Array,
    mask: BigInt64Array,
    types: BigInt64Array,
  ): void {
    this.#write(rows, width, ids, mask, types);
  }

  /** Input `i` as an `Encoding` (unpadded). */
  encoding(i: number): Encoding {
    return this.#encoding(i);
  }
}
