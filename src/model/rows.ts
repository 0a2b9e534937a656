/**
 * The inputs of an embed call as rows a model batch writes into its tensors: texts
 * tokenized together (`Tokenizer.encodeRows`: no object per text), encodings tokenized
 * before (`EncodedText`), token ids wrapped in `[CLS] … [SEP]`; any group of them written
 * as the rows of zeroed `[rows, width]` int64 tensors, in the group's order.
 *
 * @example
 * ```ts
 * import { Tokenizer } from "../tokenizer/tokenizer.ts";
 * import { inputRows } from "./rows.ts";
 * const tok = await Tokenizer.fromVocab(await Deno.readTextFile("../shared/models/bert-base-uncased/vocab.txt"));
 * const rows = inputRows(tok, ["I love Paris.", [2293]], { truncate: true, maxLength: 8 });
 * console.log([...rows.lengths]); // [ 6, 3 ]
 * const ids = new BigInt64Array(2 * 6), mask = new BigInt64Array(12), types = new BigInt64Array(12);
 * rows.writeTensors([1, 0], 6, ids, mask, types);
 * console.log([...ids].join(" ")); // 101 2293 102 0 0 0 101 1045 2293 3000 1012 102
 * ```
 * @module
 */
import { InputError, InputTooLongError } from "../errors.ts";
import type { Encoding, Tokenizer, TokenRows } from "../tokenizer/tokenizer.ts";

/**
 * A text already tokenized by `Embedder.encode`: embed calls take it in place of the text
 * and do not tokenize it again. A server validates and tokenizes each request once, by
 * itself (its errors name that request's fields), then queues these.
 *
 * @example
 * ```ts
 * import { Embedder, EncodedText } from "./embedder.ts";
 * const embedder = await Embedder.load("../shared/models/embedge-mini-mlm");
 * const encoded = embedder.encode("I love Paris.");
 * console.log(encoded instanceof EncodedText, encoded.text); // true I love Paris.
 * await embedder.close();
 * ```
 */
export class EncodedText {
  constructor(readonly text: string, readonly encoding: Encoding) {}
}

/** One input of an embed call: a text, a text already encoded, or token ids. */
export type EmbedInput = string | EncodedText | readonly number[];

/** The text of an input given as a text or an encoded text. */
export function textOf(t: string | EncodedText): string {
  return t instanceof EncodedText ? t.text : t;
}

/**
 * The inputs with `prompt` put before each text (sentence-transformers' string
 * concatenation, prompts.ts); encodings (`Embedder.encode` prompted them) and token ids as
 * they are.
 */
export function prompted<T extends EmbedInput>(texts: readonly T[], prompt: string): readonly T[] {
  if (prompt === "") return texts;
  return texts.map((t) => (typeof t === "string" ? prompt + t : t) as T);
}

/** The inputs of one call, ready to batch (see `inputRows`). */
export interface Rows {
  /** Tokens per input, special tokens included. */
  lengths: Int32Array;
  /** Writes the inputs `group` as the rows of zeroed `[group.length, width]` tensors. */
  writeTensors(
    group: number[],
    width: number,
    ids: BigInt64Array,
    mask: BigInt64Array,
    types: BigInt64Array,
  ): void;
  /** Input `i` as an Encoding. */
  encoding(i: number): Encoding;
}

/** What the rows of a call follow: cut to `maxLength` when `truncate`, else refused past it. */
export interface RowOptions {
  truncate: boolean;
  maxLength: number;
}

/**
 * The inputs of a call as pooled rows: texts tokenized together (`Tokenizer.encodeRows`:
 * no object per text), admitted encodings and token-id inputs as they are.
 */
export function inputRows(
  tokenizer: Tokenizer,
  texts: readonly EmbedInput[],
  o: RowOptions,
): Rows {
  const strings: number[] = [];
  texts.forEach((t, i) => {
    if (typeof t === "string") {
      if (t.length === 0) {
        throw new InputError(`inputs[${i}] must be a non-empty string`, `inputs[${i}]`);
      }
      strings.push(i);
    }
  });
  // texts: run once, then checked for length when truncation is off
  const pooled = strings.length ? encodeStrings(tokenizer, texts, strings, o) : undefined;
  const slot = new Int32Array(texts.length).fill(-1); // index among the strings
  strings.forEach((i, k) => slot[i] = k);
  const others: Encoding[] = [];
  const otherAt = new Int32Array(texts.length).fill(-1);
  const lengths = new Int32Array(texts.length);
  texts.forEach((t, i) => {
    let n: number;
    if (slot[i] >= 0) n = pooled!.lengths[slot[i]];
    else {
      const e = t instanceof EncodedText ? t.encoding : wrapIds(tokenizer, t as number[], o);
      otherAt[i] = others.push(e) - 1;
      n = e.ids.length;
    }
    if ((!o.truncate || t instanceof EncodedText) && n > o.maxLength) {
      throw new InputTooLongError(
        `inputs[${i}] has ${n} tokens; the limit is ${o.maxLength} (truncate is off)`,
        `inputs[${i}]`,
      );
    }
    lengths[i] = n;
  });
  const pad = tokenizer.tokenToId(tokenizer.config.padToken) ?? 0;
  return {
    lengths,
    writeTensors(group, width, ids, mask, types) {
      // the texts of the group in one call; the others row by row
      if (group.every((i) => slot[i] >= 0)) {
        pooled!.writeTensors(group.map((i) => slot[i]), width, ids, mask, types);
        return;
      }
      const i32 = new Int32Array(ids.buffer), m32 = new Int32Array(mask.buffer);
      const t32 = new Int32Array(types.buffer);
      group.forEach((r, k) => {
        const base = k * width;
        if (slot[r] >= 0) {
          const row = (t: BigInt64Array) => t.subarray(base, base + width);
          pooled!.writeTensors([slot[r]], width, row(ids), row(mask), row(types));
          return;
        }
        const e = others[otherAt[r]], n = e.ids.length;
        const eIds = e.ids, eTypes = e.typeIds;
        for (let j = 0; j < n; j++) {
          i32[2 * (base + j)] = eIds[j];
          m32[2 * (base + j)] = 1;
          t32[2 * (base + j)] = eTypes[j];
        }
        if (pad !== 0) { for (let j = n; j < width; j++) i32[2 * (base + j)] = pad; }
      });
    },
    encoding: (i) => slot[i] >= 0 ? pooled!.encoding(slot[i]) : others[otherAt[i]],
  };
}

/**
 * The texts `strings` (indices into `texts`) tokenized together; an error the tokenizer
 * names `inputs[k]` (k among the strings) is named by the caller's index instead.
 */
function encodeStrings(
  tokenizer: Tokenizer,
  texts: readonly EmbedInput[],
  strings: number[],
  o: RowOptions,
): TokenRows {
  try {
    return tokenizer.encodeRows(
      strings.map((i) => texts[i] as string),
      o.truncate ? { maxLength: o.maxLength, truncation: true } : undefined,
    );
  } catch (e) {
    const known = e instanceof InputError || e instanceof InputTooLongError ? e : null;
    const k = known && /^inputs\[(\d+)\]/.exec(known.param ?? "");
    if (known && k) {
      const p = `inputs[${strings[Number(k[1])]}]`;
      const message = known.message.replace(`inputs[${k[1]}]`, p);
      const param = known.param!.replace(`inputs[${k[1]}]`, p);
      throw known instanceof InputTooLongError
        ? new InputTooLongError(message, param)
        : new InputError(message, param);
    }
    throw e;
  }
}

/** Token ids as a row: `[CLS] ids [SEP]`, cut to `maxLength` when truncating. */
function wrapIds(tokenizer: Tokenizer, ids: readonly number[], o: RowOptions): Encoding {
  return idsEncoding(tokenizer, o.truncate ? ids.slice(0, Math.max(0, o.maxLength - 2)) : ids);
}

/**
 * Token ids as the encoding of `[CLS] ids [SEP]`: no text, so offsets are 0 and no token
 * belongs to a word; the token strings are made only when read.
 */
export function idsEncoding(tokenizer: Tokenizer, ids: readonly number[]): Encoding {
  const all = Int32Array.from([
    tokenizer.tokenToId(tokenizer.config.clsToken)!,
    ...ids,
    tokenizer.tokenToId(tokenizer.config.sepToken)!,
  ]);
  const n = all.length;
  const special = new Uint8Array(n);
  special[0] = special[n - 1] = 1;
  return {
    ids: all,
    typeIds: new Int32Array(n),
    attentionMask: new Int32Array(n).fill(1),
    specialTokensMask: special,
    wordIds: new Int32Array(n).fill(-1),
    sequenceIds: new Int8Array(n),
    offsets: new Uint32Array(2 * n),
    get tokens() {
      return tokenizer.convertIdsToTokens(all);
    },
  };
}
