/**
 * The BERT WordPiece tokenizer: text → token ids, attention mask, token type ids,
 * special-tokens mask, word ids and offsets, identical to Hugging Face
 * `tokenizers` for BERT vocabularies. Normalizer, pre-tokenizer and WordPiece run in
 * one pass in WebAssembly; the post-processor writes ONNX-ready tensors.
 *
 * Offsets are in UTF-16 code units of the input, so `text.slice(start, end)` is the
 * token's source text (HF's Node binding reports code points instead).
 *
 * @example
 * ```ts
 * import { Tokenizer } from "./tokenizer.ts";
 * const vocab = await Deno.readTextFile("../shared/models/bert-base-uncased/vocab.txt");
 * const tok = await Tokenizer.fromVocab(vocab);
 * const enc = tok.encode("I love Paris.", { padding: "max_length", maxLength: 7, truncation: true });
 * console.log(enc.tokens.join(" ")); // [CLS] i love paris [SEP] [PAD] [PAD]
 * console.log([...enc.ids].join(" ")); // 101 1045 2293 3000 102 0 0
 * console.log([...enc.attentionMask].join(" ")); // 1 1 1 1 1 0 0
 * ```
 * @module
 */
import { InputError, InputTooLongError, TokenizerLoadError } from "../errors.ts";
import {
  type AddedToken,
  configFromTokenizerJson,
  configFromVocab,
  type LazyVocab,
  type TokenizerConfig,
  tokenizerJsonConfig,
  type TokenizerOptions,
} from "./config.ts";
import { decodeWordPiece } from "./decoder.ts";
import {
  earlyStop,
  paddedWidth,
  type RowAnnotations,
  type RowTarget,
  type Segment,
  type Template,
  tensorTarget,
  truncatedLengths,
  type TruncationStrategy,
  writeRow,
} from "./post_processor.ts";
import {
  compileTokenizerWasm,
  instantiateTokenizerWasm,
  type TokenizerWasm,
  type WasmSource,
} from "./wasm.ts";

/** Options of `encode` and `encodeBatch`. */
export interface EncodeOptions {
  /** Add `[CLS]`/`[SEP]` (default true). */
  addSpecialTokens?: boolean;
  /** Total length (special tokens included) for truncation and fixed padding. */
  maxLength?: number;
  /** Truncate to `maxLength` (true = `longest_first`). Default false. */
  truncation?: boolean | TruncationStrategy;
  /**
   * `longest`: pad to the longest row (always the case in a batch); `max_length`: pad to
   * `maxLength`; false: no padding (single encode). Default false.
   */
  padding?: false | "longest" | "max_length";
  /** Round the padded length up to a multiple of this. */
  padToMultipleOf?: number;
}

/** One encoded input (a text or a pair). Arrays have one entry per token. */
export interface Encoding {
  ids: Int32Array;
  typeIds: Int32Array;
  attentionMask: Int32Array;
  specialTokensMask: Uint8Array;
  /** Word index of each token within its sequence; -1 for special and padding tokens. */
  wordIds: Int32Array;
  /** 0 or 1 for the sequence a token came from, -1 for special and padding tokens. */
  sequenceIds: Int8Array;
  /** `[start, end)` pairs in UTF-16 code units of the input; 0, 0 for special tokens. */
  offsets: Uint32Array;
  /** Token strings (computed on access). */
  readonly tokens: string[];
}

/** A padded batch: `[batchSize, sequenceLength]` tensors ready for ONNX. */
export interface BatchEncoding {
  batchSize: number;
  sequenceLength: number;
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  tokenTypeIds: BigInt64Array;
  /** Real (unpadded) tokens per row. */
  lengths: Int32Array;
  specialTokensMask: Uint8Array;
  wordIds: Int32Array;
  sequenceIds: Int8Array;
  /** `[start, end)` per cell, `[batch, seq, 2]`. */
  offsets: Uint32Array;
}

/** Ids of the special tokens the template and the model use. */
interface SpecialIds {
  cls: number;
  sep: number;
  pad: number;
  unk: number;
}

/** A text or a pair of texts. */
export type TextInput = string | readonly [string, string];

const MAGIC = new TextEncoder().encode("EMBTOK01");
const KEEP_TOKENS = 1 << 16;
/** Encodings' rows (26 bytes a token): an arena serves about a hundred short texts. */
const ROW_ARENA_BYTES = 1 << 15;
/** Batches' model tensors (24 bytes a cell). */
const TENSOR_ARENA_BYTES = 1 << 18;

/** The tokenizer. Create it with `fromVocab`, `fromTokenizerJson` or `fromBytes`. */
export class Tokenizer {
  /** The configuration (normalizer options, special tokens, vocabulary). */
  readonly config: TokenizerConfig;
  /** Longest accepted input, in UTF-16 code units (default 16 Mi); longer → InputTooLongError. */
  maxInputChars = 1 << 24;
  readonly #wasm: TokenizerWasm;
  readonly #template: Template;
  readonly #unk: number;
  readonly #addedRe: RegExp | null;
  readonly #addedFirstChars: string;
  readonly #addedIds: Map<string, number>;
  readonly #specialIds: Set<number>;
  #vocabIndex?: Map<string, number>;
  #input = 0;
  #inputCap = 0;
  #in16: Uint16Array<ArrayBufferLike> = new Uint16Array(0);
  #scratch: Segment = emptySegment(0);
  #out: Segment = emptySegment(0);
  #outBuf: ArrayBufferLike | null = null;
  /** Positions of added tokens in the last `#run` (the shared empty array when none). */
  #added: readonly number[] = NO_ADDED;
  #rowArena = new Arena(ROW_ARENA_BYTES);
  /** The buffer `#rowTarget` views. */
  #rowBuffer = new ArrayBuffer(0);
  #rowTarget: FullTarget = arenaTarget(this.#rowBuffer);

  private constructor(config: TokenizerConfig, wasm: TokenizerWasm, ids?: SpecialIds) {
    this.config = config;
    this.#wasm = wasm;
    const added = [...config.addedTokens].filter((a) => a.content.length > 0)
      .sort((a, b) => b.content.length - a.content.length);
    this.#addedRe = added.length
      ? new RegExp(
        added.map((a) => a.content.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"),
        "g",
      )
      : null;
    this.#addedFirstChars = [...new Set(added.map((a) => a.content[0]))].join("");
    this.#addedIds = new Map(added.map((a: AddedToken) => [a.content, a.id]));
    this.#specialIds = new Set(config.addedTokens.filter((a) => a.special).map((a) => a.id));
    const id = (t: string) => this.tokenToId(t)!;
    ids ??= {
      cls: id(config.clsToken),
      sep: id(config.sepToken),
      pad: id(config.padToken),
      unk: this.tokenToId(config.unkToken) ?? -1, // -1: no unknown token in the vocabulary
    };
    this.#template = { cls: ids.cls, sep: ids.sep, pad: ids.pad };
    this.#unk = ids.unk;
    const strip = config.stripAccents ?? config.lowercase;
    wasm.configure(
      +config.cleanText,
      +config.handleChineseChars,
      +strip,
      +config.lowercase,
      config.maxInputCharsPerWord,
      ids.unk,
    );
  }

  /** From the text of a `vocab.txt` (BERT uncased defaults unless `options` say otherwise). */
  static async fromVocab(
    vocabText: string,
    options: TokenizerOptions = {},
    wasm?: WasmSource,
  ): Promise<Tokenizer> {
    return await Tokenizer.fromConfig(configFromVocab(vocabText, options), wasm);
  }

  /**
   * From HF `tokenizer.json` (text or parsed), optionally with `tokenizer_config.json`.
   * Given the text, the vocabulary is read by a scanner in wasm straight into the trie
   * builder's input and only the rest of the file goes through `JSON.parse` (a first load
   * in about a third of the time); a vocabulary the scanner does not take (an exponent in
   * an id, say) goes the `JSON.parse` way, which accepts it or names what is wrong.
   */
  static async fromTokenizerJson(
    tokenizerJson: unknown,
    tokenizerConfig?: unknown,
    options: TokenizerOptions = {},
    wasm?: WasmSource,
  ): Promise<Tokenizer> {
    if (typeof tokenizerJson === "string") {
      const w = instantiateTokenizerWasm(await compileTokenizerWasm(wasm));
      const fast = Tokenizer.#scanned(tokenizerJson, tokenizerConfig, options, w);
      if (fast) return fast;
    }
    return await Tokenizer.fromConfig(
      configFromTokenizerJson(tokenizerJson, tokenizerConfig, options),
      wasm,
    );
  }

  /**
   * The fast path of `fromTokenizerJson`: finds `"vocab": {` and scans the object from
   * there in wasm (UTF-16, unescaped in place), then parses the file with that object
   * replaced by `0`. The cut is the model's vocabulary exactly when the parse sees
   * `model.vocab === 0`; any other outcome returns null (the JSON.parse path decides).
   *   …"vocab": {"[PAD]": 0, "i": 1045}…  →  wasm: "[PAD]i" (0, 5) (1045, 1);  JS: …"vocab": 0…
   */
  static #scanned(
    text: string,
    tokenizerConfig: unknown,
    options: TokenizerOptions,
    w: TokenizerWasm,
  ): Tokenizer | null {
    // UTF-8 is the cheapest way into wasm memory (encodeInto); a string with a lone
    // surrogate has no UTF-8 form, so it goes the JSON.parse way
    if (!text.isWellFormed()) return null;
    const utf8 = new TextEncoder();
    for (const m of text.matchAll(/"vocab"\s*:\s*\{/g)) {
      const open = m.index + m[0].length - 1;
      const rest = text.slice(open);
      const room = rest.length * 3; // bytes: at most 3 per UTF-16 unit
      const bytes = w.alloc(room);
      const { written } = utf8.encodeInto(rest, new Uint8Array(w.memory.buffer, bytes, room));
      const buf = w.alloc(written * 2); // tokens as UTF-16: at most one unit per byte
      const maxEntries = Math.floor(written / 5) + 1; // `"x":0,` is the shortest entry
      const entries = w.alloc(maxEntries * 8);
      const count = w.scanVocab(bytes, written, buf, entries, maxEntries);
      w.free(bytes);
      let parsed: unknown;
      if (count > 0) {
        try {
          parsed = JSON.parse(text.slice(0, open) + "0" + text.slice(open + w.scanEnd()));
        } catch { /* the rest is not JSON: the JSON.parse path says so */ }
      }
      // deno-lint-ignore no-explicit-any
      if ((parsed as any)?.model?.vocab !== 0) {
        w.free(buf);
        w.free(entries);
        continue; // not the model's vocabulary: another "vocab" key, or none
      }
      // the scanned tokens, kept (compact, JS-owned) for the id → token array, which is
      // made only when read; the trie is built from the wasm buffers as they are
      const mem = w.memory.buffer;
      const ent = new Int32Array(mem, entries, count * 2).slice();
      const starts = new Int32Array(count + 1);
      for (let k = 0; k < count; k++) starts[k + 1] = starts[k] + ent[2 * k + 1];
      const units = new Uint16Array(mem, buf, starts[count]).slice();
      const size = w.scanMaxIdSeen() + 1;
      const byId = new Int32Array(size).fill(-1);
      let simple = true; // every id once, and every added token's id in the vocabulary
      for (let k = 0; k < count && simple; k++) {
        if (byId[ent[2 * k]] >= 0) simple = false;
        byId[ent[2 * k]] = k;
      }
      // deno-lint-ignore no-explicit-any
      for (const a of (parsed as any).added_tokens ?? []) {
        if (typeof a?.content !== "string" || !Number.isInteger(a?.id)) continue;
        if (a.id >= size || byId[a.id] < 0) simple = false;
      }
      if (!simple) { // two tokens for one id, or ids the added tokens fill: JSON.parse's way
        w.free(buf);
        w.free(entries);
        return null;
      }
      const lazy: LazyVocab = {
        size,
        has(token) {
          for (let k = 0; k < count; k++) {
            if (ent[2 * k + 1] !== token.length) continue;
            let i = 0;
            while (i < token.length && units[starts[k] + i] === token.charCodeAt(i)) i++;
            if (i === token.length) return true;
          }
          return false;
        },
        array() { // one decode, then a slice per token
          const all = new TextDecoder("utf-16le").decode(units);
          const vocab: string[] = new Array(size).fill("");
          for (let k = 0; k < count; k++) vocab[ent[2 * k]] = all.slice(starts[k], starts[k + 1]);
          return vocab;
        },
      };
      const config = tokenizerJsonConfig(parsed, tokenizerConfig, options, lazy);
      const tokenizer = new Tokenizer(config, w);
      tokenizer.#build({ text: buf, entries, count, size });
      w.free(buf);
      w.free(entries);
      // a token listed twice: the JSON.parse path decides which ids survive (rare enough
      // not to repeat its rules here)
      return w.shadowedCount() === 0 ? tokenizer : null;
    }
    return null;
  }

  /** From a configuration: builds the WordPiece trie with failure links in wasm. */
  static async fromConfig(config: TokenizerConfig, wasm?: WasmSource): Promise<Tokenizer> {
    const w = instantiateTokenizerWasm(await compileTokenizerWasm(wasm));
    const tokenizer = new Tokenizer(config, w);
    tokenizer.#build();
    return tokenizer;
  }

  /**
   * From the precompiled form written by `toBytes()`: the trie is copied, not rebuilt, so
   * a cold start takes a few milliseconds (most of it first touches of the fresh wasm pages
   * the 0.95 MB trie of a BERT vocabulary is copied into). Corrupt bytes give a
   * TokenizerLoadError.
   */
  static async fromBytes(bytes: Uint8Array, wasm?: WasmSource): Promise<Tokenizer> {
    const module = await compileTokenizerWasm(wasm);
    return Tokenizer.fromBytesSync(bytes, module);
  }

  /** `fromBytes` for an already compiled module, synchronous. */
  static fromBytesSync(bytes: Uint8Array, module: WebAssembly.Module): Tokenizer {
    const bad = (why: string) => new TokenizerLoadError(`precompiled tokenizer: ${why}`, "bytes");
    if (!(bytes instanceof Uint8Array)) throw bad("expected a Uint8Array");
    if (bytes.length < 16 || !MAGIC.every((b, i) => bytes[i] === b)) throw bad("bad magic");
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const headLen = dv.getUint32(8, true);
    const vocabLen = dv.getUint32(12, true);
    const trieAt = align4(16 + headLen + vocabLen);
    if (trieAt > bytes.length) throw bad("truncated");
    const dec = new TextDecoder("utf-8", { fatal: true });
    let config: TokenizerConfig;
    let ids: SpecialIds;
    try {
      const { ids: specialIds, ...head } = JSON.parse(dec.decode(bytes.subarray(16, 16 + headLen)));
      ids = specialIds;
      if (![ids.cls, ids.sep, ids.pad, ids.unk].every(Number.isInteger)) throw 0;
      if (!Array.isArray(head.addedTokens)) throw 0;
      config = head;
    } catch {
      throw bad("header is not valid");
    }
    // The vocabulary (id → string) is only needed for tokens/decode: parse it on first use,
    // from a view (a copy would cost a cold start its page faults).
    const vocabBytes = bytes.subarray(16 + headLen, 16 + headLen + vocabLen);
    let vocab: string[] | undefined;
    Object.defineProperty(config, "vocab", {
      enumerable: true,
      get() {
        if (!vocab) {
          try {
            const v = JSON.parse(dec.decode(vocabBytes));
            if (!Array.isArray(v) || !v.every((t) => typeof t === "string")) throw 0;
            vocab = v;
          } catch {
            throw bad("vocabulary is not valid");
          }
        }
        return vocab;
      },
    });
    const w = instantiateTokenizerWasm(module);
    const tokenizer = new Tokenizer(config, w, ids);
    const size = bytes.length - trieAt;
    const ptr = w.alloc(size);
    new Uint8Array(w.memory.buffer, ptr, size).set(bytes.subarray(trieAt));
    if (w.attach(ptr, size) !== 0) {
      w.free(ptr);
      throw bad("trie is corrupt");
    }
    return tokenizer;
  }

  /** The precompiled form: configuration, vocabulary and the compiled trie. */
  toBytes(): Uint8Array {
    const { vocab, ...head } = this.config;
    const enc = new TextEncoder();
    const h = enc.encode(JSON.stringify({ ...head, ids: { ...this.#template, unk: this.#unk } }));
    const v = enc.encode(JSON.stringify(vocab));
    const trieAt = align4(16 + h.length + v.length);
    const size = this.#wasm.modelBytes();
    const out = new Uint8Array(trieAt + size);
    out.set(MAGIC);
    const dv = new DataView(out.buffer);
    dv.setUint32(8, h.length, true);
    dv.setUint32(12, v.length, true);
    out.set(h, 16);
    out.set(v, 16 + h.length);
    out.set(new Uint8Array(this.#wasm.memory.buffer, this.#wasm.modelPtr(), size), trieAt);
    return out;
  }

  /**
   * Builds the trie in wasm from the vocabulary: from `scanned` buffers already in wasm
   * memory (tokens' UTF-16 back to back, (id, length) entries), else copied from
   * `config.vocab`.
   */
  #build(scanned?: { text: number; entries: number; count: number; size: number }): void {
    const w = this.#wasm;
    const prefix = this.config.continuingSubwordPrefix;
    let text: number, entries: number, count: number, size: number;
    if (scanned) {
      ({ text, entries, count, size } = scanned);
    } else {
      const vocab = this.config.vocab;
      size = vocab.length;
      let total = 0;
      for (const t of vocab) total += t.length;
      text = w.alloc(Math.max(2, total * 2));
      entries = w.alloc(vocab.length * 8);
      count = vocab.length;
      const mem = w.memory.buffer;
      const u16 = new Uint16Array(mem, text, total);
      const ent = new Int32Array(mem, entries, vocab.length * 2);
      let k = 0;
      for (let id = 0; id < vocab.length; id++) {
        const t = vocab[id];
        for (let i = 0; i < t.length; i++) u16[k++] = t.charCodeAt(i);
        ent[2 * id] = id;
        ent[2 * id + 1] = t.length;
      }
    }
    const pre = w.alloc(prefix.length * 2);
    const p16 = new Uint16Array(w.memory.buffer, pre, prefix.length);
    for (let i = 0; i < prefix.length; i++) p16[i] = prefix.charCodeAt(i);
    const status = w.build(text, entries, count, size, pre, prefix.length);
    if (!scanned) {
      w.free(text);
      w.free(entries);
    }
    w.free(pre);
    // a token listed twice keeps the later id; the earlier id has no token (as the JSON
    // parse of the vocabulary object leaves it)
    // (the scanned path gives up on a token listed twice: its caller takes the other way)
    if (!scanned) {
      const vocab = this.config.vocab;
      const shadowed = new Int32Array(w.memory.buffer, w.shadowedPtr(), w.shadowedCount());
      for (const id of shadowed) vocab[id] = "";
    }
    if (status !== 0) {
      throw new TokenizerLoadError(
        status === -3
          ? "the vocabulary is too large for the trie (over 16M nodes, or a token over 65535 chars)"
          : `building the vocabulary failed (${status})`,
      );
    }
  }

  /** Bytes of WebAssembly memory this tokenizer holds (model, buffers). */
  memoryBytes(): number {
    return this.#wasm.memory.buffer.byteLength;
  }

  /** Vocabulary size. */
  get vocabSize(): number {
    return this.config.vocab.length;
  }

  /** The id of a token string, or undefined. */
  tokenToId(token: string): number | undefined {
    // added tokens win over the vocabulary (as below); looked up first, the special tokens
    // of a load do not build the index of the whole vocabulary
    const added = this.#addedIds.get(token);
    if (added !== undefined) return added;
    if (!this.#vocabIndex) {
      this.#vocabIndex = new Map();
      this.config.vocab.forEach((t, i) => this.#vocabIndex!.set(t, i));
      for (const a of this.config.addedTokens) this.#vocabIndex.set(a.content, a.id);
    }
    return this.#vocabIndex.get(token);
  }

  /** Token strings of ids (`[UNK]`'s string for ids out of range). */
  convertIdsToTokens(ids: ArrayLike<number | bigint>): string[] {
    const v = this.config.vocab;
    return Array.from(ids, (id) => v[Number(id)] ?? this.config.unkToken);
  }

  /** Text of ids, as HF's WordPiece decoder gives it. */
  decode(ids: ArrayLike<number | bigint>, options: { skipSpecialTokens?: boolean } = {}): string {
    let list = Array.from(ids, Number);
    if (options.skipSpecialTokens) list = list.filter((id) => !this.#specialIds.has(id));
    return decodeWordPiece(this.convertIdsToTokens(list), this.config.continuingSubwordPrefix);
  }

  /**
   * Runs normalizer, pre-tokenizer and WordPiece on `text` (no special tokens). Returns the
   * token count; the tokens are in `#out` (views of wasm memory, valid until the next call)
   * and the positions of added tokens found in the text in `#added`.
   */
  #run(text: unknown, param: string): number {
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
    const w = this.#wasm;
    const u16 = this.#inputArea(len);
    for (let i = 0; i < len; i++) u16[i] = text.charCodeAt(i);
    let n: number;
    this.#added = NO_ADDED;
    if (this.#addedRe && hasAny(text, this.#addedFirstChars)) n = this.#runWithAdded(text);
    else n = w.encode(this.#input, len);
    if (n < 0) throw new TokenizerLoadError(`tokenizer has no model (${n})`);
    this.#outViews(n);
    if (this.#unk < 0 && this.#out.ids.subarray(0, n).includes(-1)) {
      // HF: "WordPiece error: Missing [UNK] token from the vocabulary"
      throw new InputError(
        `${param} has a word the vocabulary cannot spell, and it has no unknown token ${
          JSON.stringify(this.config.unkToken)
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
  #inputArea(units: number): Uint16Array {
    const w = this.#wasm;
    if (units > this.#inputCap || (this.#inputCap > KEEP_TOKENS * 4 && units < KEEP_TOKENS)) {
      if (this.#input) w.free(this.#input);
      this.#inputCap = Math.max(units, 1024);
      this.#input = w.alloc(this.#inputCap * 2);
      w.shrink(KEEP_TOKENS);
      this.#outBuf = null; // the output buffers moved
    }
    let u16 = this.#in16;
    if (u16.buffer !== w.memory.buffer || u16.byteOffset !== this.#input || u16.length < units) {
      u16 = this.#in16 = new Uint16Array(w.memory.buffer, this.#input, this.#inputCap);
    }
    return u16;
  }

  /**
   * Views of the output buffers holding `n` tokens. They move only when they grow (n over
   * their length: no wasm call to ask), when JS shrinks them, or when the memory grows.
   */
  #outViews(n: number): Segment {
    const w = this.#wasm, mem = w.memory.buffer;
    if (mem !== this.#outBuf || n > this.#out.ids.length) {
      const cap = w.outCapacity();
      this.#out = {
        ids: new Int32Array(mem, w.idsPtr(), cap),
        words: new Int32Array(mem, w.wordsPtr(), cap),
        starts: new Uint32Array(mem, w.startsPtr(), cap),
        ends: new Uint32Array(mem, w.endsPtr(), cap),
      };
      this.#outBuf = mem;
    }
    return this.#out;
  }

  /**
   * `#run` for a text holding added tokens (`[MASK]` …): the text between them is encoded,
   * each of them is its own token. A method of its own, so that the common path's code
   * keeps its own type feedback (a text with `[MASK]` once made every later encode 25 %
   * slower when this was inline).
   */
  #runWithAdded(text: string): number {
    const added: number[] = [];
    this.#wasm.begin();
    const n = this.#appendWithAdded(text, 0, added);
    this.#added = added;
    return n;
  }

  /**
   * Appends the tokens of `text`, at code unit `base` of the input area, to the output: the
   * text between added tokens is encoded, each added token is its own token (its index
   * goes to `added`, when given). Returns the tokens in the output.
   */
  #appendWithAdded(text: string, base: number, added?: number[]): number {
    const w = this.#wasm, re = this.#addedRe!;
    re.lastIndex = 0;
    let at = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (m.index > at) w.encodeRange(this.#input, base + at, base + m.index);
      const end = m.index + m[0].length;
      const n = w.addToken(this.#addedIds.get(m[0])!, base + m.index, base + end);
      added?.push(n - 1);
      at = end;
    }
    // (encodeRange ends the text's last word, also when the range is empty)
    return w.encodeRange(this.#input, base + at, base + text.length);
  }

  /** Copies the first `n` tokens of `#out` into reusable scratch (to encode a second text). */
  #hold(n: number): Segment {
    if (this.#scratch.ids.length < n) {
      this.#scratch = emptySegment(Math.max(n, 2 * this.#scratch.ids.length));
    }
    const s = this.#scratch, o = this.#out;
    s.ids.set(o.ids.subarray(0, n));
    s.words.set(o.words.subarray(0, n));
    s.starts.set(o.starts.subarray(0, n));
    s.ends.set(o.ends.subarray(0, n));
    return s;
  }

  /**
   * The region of one encoding in the row arena, so an encode costs no buffer allocation.
   * Layout: ids, types, mask, words (i32 × w each), offsets (i32 × 2w),
   * special tokens mask and sequence ids (i8 × w each): 26 bytes a token. The row target
   * is one object over whole-arena views, moved by its offsets: making two views and an
   * object per encode was a tenth of a short text's encode time.
   */
  #allocRow(w: number): number {
    const o = this.#rowArena.take(align4(w * 26));
    let t = this.#rowTarget;
    if (this.#rowArena.last !== this.#rowBuffer) {
      this.#rowBuffer = this.#rowArena.last;
      t = this.#rowTarget = arenaTarget(this.#rowBuffer);
    }
    const at = o >> 2;
    t.idsAt = at;
    t.typesAt = at + w;
    t.maskAt = at + 2 * w;
    const a = t.annotations;
    a.wordsAt = at + 3 * w;
    a.offsetsAt = at + 4 * w;
    a.specialAt = o + 24 * w;
    a.sequenceAt = o + 25 * w;
    return o;
  }

  /** Token ids of a text without special tokens, padding or truncation. */
  tokenize(text: string): string[] {
    const n = this.#run(text, "text");
    return this.convertIdsToTokens(this.#out.ids.subarray(0, n));
  }

  /** Encodes a text, or a pair given as `[a, b]`. */
  encode(input: TextInput, options: EncodeOptions = NO_OPTIONS): Encoding {
    const o = checkOptions(options);
    const [a, na, b, nb] = this.#encodeInput(input, "text", o);
    const special = o.addSpecialTokens;
    const real = na + Math.max(nb, 0) + (special ? (nb >= 0 ? 3 : 2) : 0);
    const width = o.padding === false
      ? real
      : paddedWidth(real, o.padding, o.maxLength, o.padToMultipleOf);
    const at = this.#allocRow(width);
    writeRow(this.#rowTarget, 0, width, this.#template, special, a, 0, na, b, 0, nb);
    return new EncodingImpl(this, this.#rowBuffer, at, width);
  }

  /** Runs a text or pair; returns segments and truncated lengths (nb = -1 without pair). */
  #encodeInput(
    input: TextInput,
    param: string,
    o: Required<Omit<EncodeOptions, "maxLength" | "padToMultipleOf">> & EncodeOptions,
  ): [Segment, number, Segment | null, number] {
    let a: Segment, b: Segment | null = null, na: number, nb = -1;
    let addedA: readonly number[] = NO_ADDED, addedB: readonly number[] = NO_ADDED;
    if (typeof input === "string") {
      na = this.#run(input, param);
      a = this.#out;
      addedA = this.#added;
    } else if (Array.isArray(input) && input.length === 2) {
      na = this.#run(input[0], `${param}[0]`);
      addedA = this.#added;
      a = this.#hold(na);
      nb = this.#run(input[1], `${param}[1]`);
      b = this.#out;
      addedB = this.#added;
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

  /**
   * Runs every input once and keeps the tokens in one pool (`pool`, grown as needed):
   * per input its span (aStart, na, bStart, nb; nb = -1 without a pair) and its row
   * length with the special tokens.
   */
  #collect(
    inputs: readonly TextInput[],
    o: Required<Omit<EncodeOptions, "maxLength" | "padToMultipleOf">> & EncodeOptions,
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
      const [a, na, b, nb] = this.#encodeInput(inputs[i], `inputs[${i}]`, o);
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

  /** Pool reused by encodeBatch (its tokens are copied out before it returns). */
  #batchPool: Segment = emptySegment(0);

  /**
   * Encodes many inputs into padded `[batch, seq]` BigInt64 tensors (padding `longest`
   * unless `max_length` is asked for), with no per-token JS objects. Single texts run in
   * one wasm call and only the three model tensors are written; word ids, offsets,
   * special tokens and sequence ids are made when first read (by encoding the inputs
   * again). Pairs run into a reused pool and every field of every row is written.
   */
  encodeBatch(inputs: readonly TextInput[], options: EncodeOptions = NO_OPTIONS): BatchEncoding {
    if (!Array.isArray(inputs)) throw new InputError("inputs must be an array", "inputs");
    const o = checkOptions(options);
    return this.#batchInWasm(inputs, o) ?? this.#batchByRows(inputs, o);
  }

  /**
   * encodeBatch with one wasm call for all the texts (`batchTokenize`), the tensors written
   * from one view of its output; word ids, offsets, special tokens and sequence ids are
   * made when first read, by the row path (they cost a batch 14 of its 38 bytes a cell, and
   * a model needs none of them). Null (the row path's turn) for pairs, texts holding added
   * tokens, `only_second`, a vocabulary without an unknown token, and anything the row path
   * rejects with an error naming the input.
   */
  #batchInWasm(inputs: readonly TextInput[], o: CheckedOptions): BatchEncoding | null {
    const count = inputs.length;
    if (count === 0 || this.#unk < 0 || o.truncation === "only_second") return null;
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
      if (typeof t !== "string" || t.length > this.maxInputChars) return null;
      units += t.length;
    }
    const w = this.#wasm;
    const rowsAt = w.alloc(count * 8 + (count + 1) * 4);
    const startsAt = rowsAt + count * 8;
    const u16 = this.#inputArea(units); // (after the alloc: either may grow the memory)
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
    for (let from = 0; from < count && tokens >= 0;) {
      let to = from;
      const re = this.#addedRe;
      while (to < count && !(re && hasAny(inputs[to] as string, this.#addedFirstChars))) to++;
      if (to > from) tokens = w.batchTokenize(this.#input, startsAt, from, to, keep, rowsAt);
      if (to < count && tokens >= 0) {
        const first = tokens;
        // (a fresh view: the memory may have grown since `starts` was made)
        const base = new Int32Array(w.memory.buffer, startsAt + 4 * to, 1)[0];
        tokens = this.#appendWithAdded(inputs[to] as string, base);
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
    const out = this.#outViews(tokens);
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
    if (tokens > KEEP_TOKENS) {
      w.shrink(KEEP_TOKENS);
      this.#outBuf = null;
    }
    const copy = inputs.slice();
    return new WasmBatch(count, width, buf, region, lengths, () => this.#batchByRows(copy, o));
  }

  /** Where batches' tensors go (regions of 24 bytes a cell keep BigInt64 alignment). */
  #tensorArena = new Arena(TENSOR_ARENA_BYTES);

  /** encodeBatch by rows: every input run by itself, every field written (any options). */
  #batchByRows(inputs: readonly TextInput[], o: CheckedOptions): BatchEncoding {
    const count = inputs.length;
    const { pool, spans, lengths, longest } = this.#collect(inputs, o, this.#batchPool);
    this.#batchPool = pool;
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

  /**
   * Runs many inputs once and keeps their tokens pooled, with no object per input: a model
   * batch then writes any subset of them straight into its tensors
   * (`TokenRows.writeTensors`), and an input's full `Encoding` is made only when asked for.
   * This is how `Embedder` tokenizes the texts of a call.
   *
   * @example
   * ```ts
   * import { Tokenizer } from "./tokenizer.ts";
   * const tok = await Tokenizer.fromVocab(await Deno.readTextFile("../shared/models/bert-base-uncased/vocab.txt"));
   * const rows = tok.encodeRows(["I love Paris.", "Hi"]);
   * console.log([...rows.lengths]); // [ 6, 3 ]
   * const ids = new BigInt64Array(2 * 6), mask = new BigInt64Array(12), types = new BigInt64Array(12);
   * rows.writeTensors([1, 0], 6, ids, mask, types); // row order of the batch: "Hi" first
   * console.log([...ids].join(" ")); // 101 7632 102 0 0 0 101 1045 2293 3000 1012 102
   * console.log(rows.encoding(1).tokens.join(" ")); // [CLS] hi [SEP]
   * ```
   */
  encodeRows(inputs: readonly TextInput[], options: EncodeOptions = NO_OPTIONS): TokenRows {
    if (!Array.isArray(inputs)) throw new InputError("inputs must be an array", "inputs");
    const o = checkOptions(options);
    const { pool, spans, lengths } = this.#collect(inputs, o, emptySegment(0));
    const special = o.addSpecialTokens;
    const tpl = this.#template;
    return new TokenRows(lengths, (rows, width, ids, mask, types) => {
      const i32 = new Int32Array(ids.buffer, ids.byteOffset, ids.length * 2);
      const m32 = new Int32Array(mask.buffer, mask.byteOffset, mask.length * 2);
      const t32 = new Int32Array(types.buffer, types.byteOffset, types.length * 2);
      const target = tensorTarget(i32, m32, t32);
      for (let k = 0; k < rows.length; k++) {
        writeRow(target, k * width, width, tpl, special, ...pooled(pool, spans, rows[k]));
      }
    }, (i) => {
      const width = lengths[i];
      const at = this.#allocRow(width);
      writeRow(this.#rowTarget, 0, width, tpl, special, ...pooled(pool, spans, i));
      return new EncodingImpl(this, this.#rowBuffer, at, width);
    });
  }
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

/**
 * The segments of input `i` of a pool (its spans: aStart, na, bStart, nb; nb = -1 without
 * a pair) as the arguments the row writers take after `special`.
 */
function pooled(
  pool: Segment,
  spans: Int32Array,
  i: number,
): [Segment, number, number, Segment | null, number, number] {
  const nb = spans[4 * i + 3];
  return [pool, spans[4 * i], spans[4 * i + 1], nb >= 0 ? pool : null, spans[4 * i + 2], nb];
}

function emptySegment(n: number): Segment {
  return {
    ids: new Int32Array(n),
    words: new Int32Array(n),
    starts: new Uint32Array(n),
    ends: new Uint32Array(n),
  };
}

/** An Encoding over a region of an arena; field views are made on first access. */
class EncodingImpl implements Encoding {
  #tokenizer: Tokenizer;
  #buf: ArrayBuffer;
  #at: number;
  #w: number;
  #ids?: Int32Array;
  // V8 links the shapes an object goes through weakly, so a shape lives only while some
  // object has it: when a full GC found no Encoding left, it dropped their shape, and with
  // it the optimized code of encode and of these getters (each GC then cost a re-warm:
  // a tenth of the time of a big.txt run). One Encoding kept for good keeps the shape.
  static #keep: Encoding;
  static {
    EncodingImpl.#keep = new EncodingImpl(null as unknown as Tokenizer, new ArrayBuffer(0), 0, 0);
  }
  constructor(tokenizer: Tokenizer, buf: ArrayBuffer, at: number, w: number) {
    this.#tokenizer = tokenizer;
    this.#buf = buf;
    this.#at = at;
    this.#w = w;
  }
  get ids(): Int32Array {
    return this.#ids ??= new Int32Array(this.#buf, this.#at, this.#w);
  }
  get typeIds(): Int32Array {
    return new Int32Array(this.#buf, this.#at + 4 * this.#w, this.#w);
  }
  get attentionMask(): Int32Array {
    return new Int32Array(this.#buf, this.#at + 8 * this.#w, this.#w);
  }
  get wordIds(): Int32Array {
    return new Int32Array(this.#buf, this.#at + 12 * this.#w, this.#w);
  }
  get offsets(): Uint32Array {
    return new Uint32Array(this.#buf, this.#at + 16 * this.#w, 2 * this.#w);
  }
  get specialTokensMask(): Uint8Array {
    return new Uint8Array(this.#buf, this.#at + 24 * this.#w, this.#w);
  }
  get sequenceIds(): Int8Array {
    return new Int8Array(this.#buf, this.#at + 25 * this.#w, this.#w);
  }
  get tokens(): string[] {
    return this.#tokenizer.convertIdsToTokens(this.ids);
  }
}

/**
 * A BatchEncoding whose model tensors are written (at `at` in `buf`, which other batches
 * may share) and whose other fields are made on first read (by `make`, which encodes the
 * inputs again, row by row).
 */
class WasmBatch implements BatchEncoding {
  readonly batchSize: number;
  readonly sequenceLength: number;
  readonly inputIds: BigInt64Array;
  readonly attentionMask: BigInt64Array;
  readonly tokenTypeIds: BigInt64Array;
  readonly lengths: Int32Array;
  #make: (() => BatchEncoding) | null;
  #rest: BatchEncoding | null = null;
  // one kept for good (see EncodingImpl: a full GC would otherwise free the shape)
  static #keep: BatchEncoding;
  static {
    WasmBatch.#keep = new WasmBatch(
      0,
      0,
      new ArrayBuffer(0),
      0,
      new Int32Array(0),
      () => WasmBatch.#keep,
    );
  }
  constructor(
    count: number,
    width: number,
    buf: ArrayBuffer,
    at: number,
    lengths: Int32Array,
    make: () => BatchEncoding,
  ) {
    const cells = count * width;
    this.batchSize = count;
    this.sequenceLength = width;
    this.inputIds = new BigInt64Array(buf, at, cells);
    this.attentionMask = new BigInt64Array(buf, at + cells * 8, cells);
    this.tokenTypeIds = new BigInt64Array(buf, at + cells * 16, cells);
    this.lengths = lengths;
    this.#make = make;
  }
  #others(): BatchEncoding {
    if (!this.#rest) {
      this.#rest = this.#make!();
      this.#make = null; // (the inputs it holds can go)
    }
    return this.#rest;
  }
  get specialTokensMask(): Uint8Array {
    return this.#others().specialTokensMask;
  }
  get wordIds(): Int32Array {
    return this.#others().wordIds;
  }
  get sequenceIds(): Int8Array {
    return this.#others().sequenceIds;
  }
  get offsets(): Uint32Array {
    return this.#others().offsets;
  }
}

/** A batch's sequence length: padded to its longest row unless `max_length` is asked for. */
function batchWidth(longest: number, o: CheckedOptions): number {
  const padding = o.padding === "max_length" ? "max_length" : "longest";
  return paddedWidth(longest, padding, o.maxLength, o.padToMultipleOf);
}

/**
 * Zeroed regions of one buffer, each used once (what is written there is handed out and
 * lives on), so that a stream of encodings or batches is not a stream of ArrayBuffers, each
 * with its own allocation and GC cost: a new buffer when this one is full, and a buffer of
 * its own for a region over a quarter of the arena. Callers keep their own alignment.
 */
class Arena {
  /** The buffer of the region `take` gave last. */
  last = new ArrayBuffer(0);
  #buffer = new ArrayBuffer(0);
  #used = 0;
  constructor(readonly size: number) {}
  /** Where a region of `bytes` starts, in `last` (no tuple: encode calls this each time). */
  take(bytes: number): number {
    if (bytes > this.size / 4) {
      this.last = new ArrayBuffer(bytes);
      return 0;
    }
    if (this.#used + bytes > this.#buffer.byteLength) {
      this.#buffer = new ArrayBuffer(this.size);
      this.#used = 0;
    }
    this.last = this.#buffer;
    const at = this.#used;
    this.#used += bytes;
    return at;
  }
}

/** A row target with every field (an `Encoding`'s). */
type FullTarget = RowTarget & { annotations: RowAnnotations };

/** A row target over a whole arena (`#allocRow` sets its offsets per row). */
function arenaTarget(arena: ArrayBuffer): FullTarget {
  const c = new Int32Array(arena), q = new Int8Array(arena);
  return {
    ids: c,
    idsAt: 0,
    types: c,
    typesAt: 0,
    mask: c,
    maskAt: 0,
    stride: 1,
    annotations: {
      words: c,
      wordsAt: 0,
      offsets: c,
      offsetsAt: 0,
      special: q,
      specialAt: 0,
      sequence: q,
      sequenceAt: 0,
    },
  };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function hasAny(text: string, chars: string): boolean {
  for (let i = 0; i < chars.length; i++) if (text.includes(chars[i])) return true;
  return false;
}

function describe(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : typeof v;
}

const NO_OPTIONS: EncodeOptions = Object.freeze({});
const NO_ADDED: readonly number[] = Object.freeze([]);
type CheckedOptions = EncodeOptions & {
  addSpecialTokens: boolean;
  truncation: boolean | TruncationStrategy;
  padding: false | "longest" | "max_length";
};
const DEFAULT_OPTIONS: CheckedOptions = {
  addSpecialTokens: true,
  truncation: false,
  padding: false,
};

function checkOptions(o: EncodeOptions): CheckedOptions {
  if (o === NO_OPTIONS) return DEFAULT_OPTIONS;
  if (typeof o !== "object" || o === null) {
    throw new InputError("options must be an object", "options");
  }
  const maxLength = o.maxLength;
  if (
    maxLength !== undefined &&
    !(Number.isInteger(maxLength) && maxLength >= 0 && maxLength <= 1 << 24)
  ) {
    throw new InputError("maxLength must be a non-negative integer", "maxLength");
  }
  const m = o.padToMultipleOf;
  if (m !== undefined && !(Number.isInteger(m) && m >= 1 && m <= 1 << 16)) {
    throw new InputError("padToMultipleOf must be a positive integer", "padToMultipleOf");
  }
  const truncation = o.truncation ?? false;
  if (![false, true, "longest_first", "only_first", "only_second"].includes(truncation)) {
    throw new InputError(`unknown truncation ${JSON.stringify(truncation)}`, "truncation");
  }
  const padding = o.padding ?? false;
  if (![false, "longest", "max_length"].includes(padding)) {
    throw new InputError(`unknown padding ${JSON.stringify(padding)}`, "padding");
  }
  return { ...o, addSpecialTokens: o.addSpecialTokens ?? true, truncation, padding };
}
