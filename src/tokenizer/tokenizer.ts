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
import { InputError } from "../errors.ts";
import { AddedTokens } from "./added_tokens.ts";
import { RowArena } from "./arena.ts";
import { BatchEncoder, collect, pooled, tensorWriter, TokenRows } from "./batch.ts";
import { configFromVocab, type TokenizerConfig, type TokenizerOptions } from "./config.ts";
import { decodeWordPiece } from "./decoder.ts";
import { ArenaEncoding } from "./encoding.ts";
import { loadConfig, loadTokenizerJson } from "./load.ts";
import { checkOptions, NO_OPTIONS } from "./options.ts";
import { paddedWidth, type Template, type TruncationStrategy, writeRow } from "./post_processor.ts";
import { readPrecompiled, type SpecialIds, writePrecompiled } from "./precompiled.ts";
import { compileTokenizerWasm, type TokenizerWasm, type WasmSource } from "./wasm.ts";
import { emptySegment, WasmIO } from "./wasm_io.ts";

export { TokenRows };

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

/** A text or a pair of texts. */
export type TextInput = string | readonly [string, string];

/**
 * The tokenizer. Create it with `fromVocab`, `fromTokenizerJson` or `fromBytes`. The work
 * is done by helpers of its own (one each, made with it): `WasmIO` runs texts through the
 * wasm memory, `BatchEncoder` encodes batches, `RowArena` holds the rows encodings view.
 */
export class Tokenizer {
  /** The configuration (normalizer options, special tokens, vocabulary). */
  readonly config: TokenizerConfig;
  readonly #io: WasmIO;
  readonly #template: Template;
  readonly #added: AddedTokens;
  readonly #batches: BatchEncoder;
  readonly #rows = new RowArena();
  #vocabIndex?: Map<string, number>;

  private constructor(config: TokenizerConfig, wasm: TokenizerWasm, ids?: SpecialIds) {
    this.config = config;
    this.#added = new AddedTokens(config.addedTokens);
    const id = (t: string) => this.tokenToId(t)!;
    ids ??= {
      cls: id(config.clsToken),
      sep: id(config.sepToken),
      pad: id(config.padToken),
      unk: this.tokenToId(config.unkToken) ?? -1, // -1: no unknown token in the vocabulary
    };
    this.#template = { cls: ids.cls, sep: ids.sep, pad: ids.pad };
    this.#io = new WasmIO(wasm, this.#added, ids.unk, config.unkToken);
    this.#batches = new BatchEncoder(this.#io, this.#template);
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

  /** The loaders' way to the private constructor. */
  static #create(config: TokenizerConfig, wasm: TokenizerWasm, ids?: SpecialIds): Tokenizer {
    return new Tokenizer(config, wasm, ids);
  }

  /** Longest accepted input, in UTF-16 code units (default 16 Mi); longer → InputTooLongError. */
  get maxInputChars(): number {
    return this.#io.maxInputChars;
  }
  set maxInputChars(chars: number) {
    this.#io.maxInputChars = chars;
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
    return await loadTokenizerJson(
      tokenizerJson,
      tokenizerConfig,
      options,
      wasm,
      Tokenizer.#create,
    );
  }

  /** From a configuration: builds the WordPiece trie with failure links in wasm. */
  static async fromConfig(config: TokenizerConfig, wasm?: WasmSource): Promise<Tokenizer> {
    return await loadConfig(config, wasm, Tokenizer.#create);
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
    return readPrecompiled(bytes, module, Tokenizer.#create);
  }

  /** The precompiled form: configuration, vocabulary and the compiled trie. */
  toBytes(): Uint8Array {
    return writePrecompiled(this.config, { ...this.#template, unk: this.#io.unk }, this.#io.wasm);
  }

  /** Bytes of WebAssembly memory this tokenizer holds (model, buffers). */
  memoryBytes(): number {
    return this.#io.wasm.memory.buffer.byteLength;
  }

  /** Vocabulary size. */
  get vocabSize(): number {
    return this.config.vocab.length;
  }

  /** The id of a token string, or undefined. */
  tokenToId(token: string): number | undefined {
    // added tokens win over the vocabulary (as below); looked up first, the special tokens
    // of a load do not build the index of the whole vocabulary
    const added = this.#added.ids.get(token);
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
    if (options.skipSpecialTokens) list = list.filter((id) => !this.#added.specialIds.has(id));
    return decodeWordPiece(this.convertIdsToTokens(list), this.config.continuingSubwordPrefix);
  }

  /** Token ids of a text without special tokens, padding or truncation. */
  tokenize(text: string): string[] {
    const n = this.#io.run(text, "text");
    return this.convertIdsToTokens(this.#io.out.ids.subarray(0, n));
  }

  /** Encodes a text, or a pair given as `[a, b]`. */
  encode(input: TextInput, options: EncodeOptions = NO_OPTIONS): Encoding {
    const o = checkOptions(options);
    const [a, na, b, nb] = this.#io.runInput(input, "text", o);
    const special = o.addSpecialTokens;
    const real = na + Math.max(nb, 0) + (special ? (nb >= 0 ? 3 : 2) : 0);
    const width = o.padding === false
      ? real
      : paddedWidth(real, o.padding, o.maxLength, o.padToMultipleOf);
    const rows = this.#rows;
    const at = rows.alloc(width);
    writeRow(rows.target, 0, width, this.#template, special, a, 0, na, b, 0, nb);
    return new ArenaEncoding(this, rows.buffer, at, width);
  }

  /**
   * Encodes many inputs into padded `[batch, seq]` BigInt64 tensors (padding `longest`
   * unless `max_length` is asked for), with no per-token JS objects. Single texts run in
   * one wasm call and only the three model tensors are written; word ids, offsets,
   * special tokens and sequence ids are made when first read (by encoding the inputs
   * again). Pairs run into a reused pool and every field of every row is written.
   */
  encodeBatch(inputs: readonly TextInput[], options: EncodeOptions = NO_OPTIONS): BatchEncoding {
    if (!Array.isArray(inputs)) throw new InputError("inputs must be an array", "inputs");
    return this.#batches.encode(inputs, checkOptions(options));
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
    const { pool, spans, lengths } = collect(this.#io, inputs, o, emptySegment(0));
    const special = o.addSpecialTokens;
    const tpl = this.#template, rows = this.#rows;
    return new TokenRows(lengths, tensorWriter(pool, spans, tpl, special), (i) => {
      const width = lengths[i];
      const at = rows.alloc(width);
      writeRow(rows.target, 0, width, tpl, special, ...pooled(pool, spans, i));
      return new ArenaEncoding(this, rows.buffer, at, width);
    });
  }
}
