/**
 * Texts into the tokenizer's wasm memory and tokens out of it: the input area (UTF-16,
 * grown as needed), views of the output buffers (remade only when they move), a text
 * holding added tokens, a pair's first text held aside, truncation of a text or pair.
 * One per tokenizer; its views are valid until its next call.
 *
 * @example
 * ```ts
 * import { AddedTokens } from "./added_tokens.ts";
 * import { compileTokenizerWasm, instantiateTokenizerWasm } from "./wasm.ts";
 * import { WasmIO } from "./wasm_io.ts";
 * const wasm = instantiateTokenizerWasm(await compileTokenizerWasm()); // (no vocabulary yet)
 * const io = new WasmIO(wasm, new AddedTokens([]), 100, "[UNK]");
 * console.log(io.inputArea(5).length >= 5, io.maxInputChars); // true 16777216
 * try {
 *   io.run(42, "text");
 * } catch (e) {
 *   console.log((e as Error).message); // text must be a string, got number
 * }
 * ```
 * @module
 */
import { InputError, InputTooLongError, TokenizerLoadError } from "../errors.ts";
import type { AddedTokens } from "./added_tokens.ts";
import type { CheckedOptions } from "./options.ts";
import { earlyStop, type Segment, truncatedLengths } from "./post_processor.ts";
import type { TextInput } from "./tokenizer.ts";
import type { TokenizerWasm } from "./wasm.ts";

/** Output tokens the wasm buffers keep room for after a large text (more is given back). */
export const KEEP_TOKENS = 1 << 16;
/** `added` when a text holds no added token (one shared array: no allocation per text). */
const NO_ADDED: readonly number[] = Object.freeze([]);

/** The wasm side of one tokenizer: its memory, input area and output views. */
export class WasmIO {
  readonly wasm: TokenizerWasm;
  readonly addedTokens: AddedTokens;
  /** Id of the unknown token; -1 when the vocabulary has none. */
  readonly unk: number;
  /** Longest accepted input, in UTF-16 code units; longer → InputTooLongError. */
  maxInputChars = 1 << 24;
  /** Where the input area is in wasm memory. */
  input = 0;
  /** Views of the output buffers (after `run`: its tokens, from 0). */
  out: Segment = emptySegment(0);
  /** Positions of added tokens in the last `run` (the shared empty array when none). */
  added: readonly number[] = NO_ADDED;
  readonly #unkToken: string;
  #inputCap = 0;
  #in16: Uint16Array<ArrayBufferLike> = new Uint16Array(0);
  #scratch: Segment = emptySegment(0);
  #outBuf: ArrayBufferLike | null = null;

  constructor(wasm: TokenizerWasm, addedTokens: AddedTokens, unk: number, unkToken: string) {
    this.wasm = wasm;
    this.addedTokens = addedTokens;
    this.unk = unk;
    this.#unkToken = unkToken;
  }

  /**
   * Runs normalizer, pre-tokenizer and WordPiece on `text` (no special tokens). Returns the
   * token count; the tokens are in `out` (views of wasm memory, valid until the next call)
   * and the positions of added tokens found in the text in `added`.
   */
  run(text: unknown, param: string): number {
    if (typeof text !== "string") {
      throw new InputError(`${param} must be a string, got ${describe(text)}`, param);
    }
    const len = text.length;
    if (len > this.maxInputChars) {
      throw new InputTooLongError(
        `${param} has ${len} UTF-16 code units; the limit is ${this.maxInputChars}`,
        param,
      );
    }
    const w = this.wasm;
    const u16 = this.inputArea(len);
    for (let i = 0; i < len; i++) u16[i] = text.charCodeAt(i);
    let n: number;
    this.added = NO_ADDED;
    if (this.addedTokens.mayOccur(text)) n = this.#runWithAdded(text);
    else n = w.encode(this.input, len);
    if (n < 0) throw new TokenizerLoadError(`tokenizer has no model (${n})`);
    this.outViews(n);
    if (this.unk < 0 && this.out.ids.subarray(0, n).includes(-1)) {
      // HF: "WordPiece error: Missing [UNK] token from the vocabulary"
      throw new InputError(
        `${param} has a word the vocabulary cannot spell, and it has no unknown token ${
          JSON.stringify(this.#unkToken)
        }`,
        param,
      );
    }
    return n;
  }

  /**
   * The input area for `units` UTF-16 code units (grown as needed; a large one is given
   * back, with the output buffers, once texts are small again).
   */
  inputArea(units: number): Uint16Array {
    const w = this.wasm;
    if (units > this.#inputCap || (this.#inputCap > KEEP_TOKENS * 4 && units < KEEP_TOKENS)) {
      if (this.input) w.free(this.input);
      this.#inputCap = Math.max(units, 1024);
      this.input = w.alloc(this.#inputCap * 2);
      w.shrink(KEEP_TOKENS);
      this.#outBuf = null; // the output buffers moved
    }
    let u16 = this.#in16;
    if (u16.buffer !== w.memory.buffer || u16.byteOffset !== this.input || u16.length < units) {
      u16 = this.#in16 = new Uint16Array(w.memory.buffer, this.input, this.#inputCap);
    }
    return u16;
  }

  /**
   * Views of the output buffers holding `n` tokens. They move only when they grow (n over
   * their length: no wasm call to ask), when JS shrinks them, or when the memory grows.
   */
  outViews(n: number): Segment {
    const w = this.wasm, mem = w.memory.buffer;
    if (mem !== this.#outBuf || n > this.out.ids.length) {
      const cap = w.outCapacity();
      this.out = {
        ids: new Int32Array(mem, w.idsPtr(), cap),
        words: new Int32Array(mem, w.wordsPtr(), cap),
        starts: new Uint32Array(mem, w.startsPtr(), cap),
        ends: new Uint32Array(mem, w.endsPtr(), cap),
      };
      this.#outBuf = mem;
    }
    return this.out;
  }

  /** Gives back the output buffers' room over KEEP_TOKENS after a run of `tokens` tokens. */
  release(tokens: number): void {
    if (tokens > KEEP_TOKENS) {
      this.wasm.shrink(KEEP_TOKENS);
      this.#outBuf = null;
    }
  }

  /**
   * `run` for a text holding added tokens (`[MASK]` …): the text between them is encoded,
   * each of them is its own token. A method of its own, so that the common path's code
   * keeps its own type feedback (a text with `[MASK]` once made every later encode 25 %
   * slower when this was inline).
   */
  #runWithAdded(text: string): number {
    const added: number[] = [];
    this.wasm.begin();
    const n = this.appendWithAdded(text, 0, added);
    this.added = added;
    return n;
  }

  /**
   * Appends the tokens of `text`, at code unit `base` of the input area, to the output: the
   * text between added tokens is encoded, each added token is its own token (its index
   * goes to `added`, when given). Returns the tokens in the output.
   */
  appendWithAdded(text: string, base: number, added?: number[]): number {
    const w = this.wasm, re = this.addedTokens.pattern!, ids = this.addedTokens.ids;
    re.lastIndex = 0;
    let at = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (m.index > at) w.encodeRange(this.input, base + at, base + m.index);
      const end = m.index + m[0].length;
      const n = w.addToken(ids.get(m[0])!, base + m.index, base + end);
      added?.push(n - 1);
      at = end;
    }
    // (encodeRange ends the text's last word, also when the range is empty)
    return w.encodeRange(this.input, base + at, base + text.length);
  }

  /** Copies the first `n` tokens of `out` into reusable scratch (to encode a second text). */
  #hold(n: number): Segment {
    if (this.#scratch.ids.length < n) {
      this.#scratch = emptySegment(Math.max(n, 2 * this.#scratch.ids.length));
    }
    const s = this.#scratch, o = this.out;
    s.ids.set(o.ids.subarray(0, n));
    s.words.set(o.words.subarray(0, n));
    s.starts.set(o.starts.subarray(0, n));
    s.ends.set(o.ends.subarray(0, n));
    return s;
  }

  /** Runs a text or pair; returns segments and truncated lengths (nb = -1 without pair). */
  runInput(
    input: TextInput,
    param: string,
    o: CheckedOptions,
  ): [Segment, number, Segment | null, number] {
    let a: Segment, b: Segment | null = null, na: number, nb = -1;
    let addedA: readonly number[] = NO_ADDED, addedB: readonly number[] = NO_ADDED;
    if (typeof input === "string") {
      na = this.run(input, param);
      a = this.out;
      addedA = this.added;
    } else if (Array.isArray(input) && input.length === 2) {
      na = this.run(input[0], `${param}[0]`);
      addedA = this.added;
      a = this.#hold(na);
      nb = this.run(input[1], `${param}[1]`);
      b = this.out;
      addedB = this.added;
    } else {
      throw new InputError(`${param} must be a string or a pair [string, string]`, param);
    }
    if (o.truncation !== false) {
      if (o.maxLength === undefined) {
        throw new InputError("truncation needs maxLength", "maxLength");
      }
      const specials = o.addSpecialTokens ? (nb >= 0 ? 3 : 2) : 0;
      if (o.maxLength < specials) {
        throw new InputError(`maxLength must be at least ${specials}`, "maxLength");
      }
      const strategy = o.truncation === true ? "longest_first" : o.truncation;
      if (b) {
        na = earlyStop(a.words, na, o.maxLength, addedA);
        nb = earlyStop(b.words, nb, o.maxLength, addedB);
      }
      [na, nb] = truncatedLengths(na, nb, o.maxLength - specials, strategy);
    }
    return [a, na, b, nb];
  }
}

/** A segment of `n` zeroed tokens. */
export function emptySegment(n: number): Segment {
  return {
    ids: new Int32Array(n),
    words: new Int32Array(n),
    starts: new Uint32Array(n),
    ends: new Uint32Array(n),
  };
}

function describe(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : typeof v;
}
