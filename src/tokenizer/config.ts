/**
 * Tokenizer configuration, read from the files a BERT model ships with:
 * `vocab.txt` (one token per line, line index = id), Hugging Face
 * `tokenizer.json` (BertNormalizer, BertPreTokenizer, WordPiece, added tokens)
 * and `tokenizer_config.json` (`do_lower_case`, `strip_accents`, …).
 *
 * @example
 * ```ts
 * import { configFromVocab } from "./config.ts";
 * const config = configFromVocab("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n");
 * console.log(config.vocab[4], config.lowercase); // hello true
 * ```
 * @module
 */
import { TokenizerLoadError } from "../errors.ts";

/** A token matched in the raw text before normalization (e.g. `[MASK]` in the input). */
export interface AddedToken {
  content: string;
  id: number;
  /** Special tokens are removed by `decode(ids, { skipSpecialTokens: true })`. */
  special: boolean;
}

/** Everything the tokenizer needs besides the wasm. */
export interface TokenizerConfig {
  /** id → token; ids without a token hold `""`. */
  vocab: string[];
  /** BertNormalizer `clean_text`. */
  cleanText: boolean;
  /** BertNormalizer `handle_chinese_chars`. */
  handleChineseChars: boolean;
  /** BertNormalizer `strip_accents`; `null` follows `lowercase`, as in HF. */
  stripAccents: boolean | null;
  /** BertNormalizer `lowercase`. */
  lowercase: boolean;
  unkToken: string;
  clsToken: string;
  sepToken: string;
  padToken: string;
  maskToken: string;
  /** WordPiece continuation prefix, `##`. */
  continuingSubwordPrefix: string;
  /** Longer words become `[UNK]`. */
  maxInputCharsPerWord: number;
  addedTokens: AddedToken[];
  /** The model's maximum sequence length (tokenizer_config `model_max_length`). */
  modelMaxLength: number;
}

/** Options that override what the files say. */
export type TokenizerOptions = Partial<Omit<TokenizerConfig, "vocab" | "addedTokens">>;

const DEFAULTS: Omit<TokenizerConfig, "vocab" | "addedTokens"> = {
  cleanText: true,
  handleChineseChars: true,
  stripAccents: null,
  lowercase: true,
  unkToken: "[UNK]",
  clsToken: "[CLS]",
  sepToken: "[SEP]",
  padToken: "[PAD]",
  maskToken: "[MASK]",
  continuingSubwordPrefix: "##",
  maxInputCharsPerWord: 100,
  modelMaxLength: 512,
};

/** Splits `vocab.txt`: one token per line, trailing whitespace trimmed (as HF does). */
export function parseVocabTxt(text: string): string[] {
  if (typeof text !== "string") throw new TokenizerLoadError("vocab must be text", "vocab");
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines.map((l) => l.trimEnd());
}

/**
 * Configuration for a `vocab.txt` (BertTokenizer defaults: uncased, accents stripped). The
 * special tokens present in the vocabulary are matched in raw text, as HF does.
 */
export function configFromVocab(
  vocabText: string,
  options: TokenizerOptions = {},
): TokenizerConfig {
  const vocab = parseVocabTxt(vocabText);
  const base = { ...DEFAULTS, ...stripUndefined(options) };
  const index = new Map<string, number>();
  vocab.forEach((t, i) => index.set(t, i)); // later duplicates win
  const addedTokens: AddedToken[] = [];
  for (const t of [base.padToken, base.unkToken, base.clsToken, base.sepToken, base.maskToken]) {
    const id = index.get(t);
    if (id !== undefined && !addedTokens.some((a) => a.content === t)) {
      addedTokens.push({ content: t, id, special: true });
    }
  }
  return validate({ ...base, vocab, addedTokens });
}

// deno-lint-ignore no-explicit-any
type Json = any;

/**
 * Configuration from HF `tokenizer.json` (and optionally `tokenizer_config.json`). Only
 * BERT-style tokenizers are accepted: WordPiece model, BertNormalizer (or none),
 * BertPreTokenizer.
 */
export function configFromTokenizerJson(
  tokenizerJson: string | Json,
  tokenizerConfig?: string | Json,
  options: TokenizerOptions = {},
): TokenizerConfig {
  const tj = parseJson(tokenizerJson, "tokenizer.json");
  if (typeof tj?.model?.vocab !== "object" || tj.model.vocab === null) {
    throw new TokenizerLoadError(
      `tokenizer.json: model must be WordPiece with a vocab (got ${tj?.model?.type})`,
      "tokenizer.json",
    );
  }
  const vocab: string[] = [];
  for (const [token, id] of Object.entries(tj.model.vocab)) {
    if (!Number.isInteger(id) || (id as number) < 0 || (id as number) > 0x7fffffff) {
      throw new TokenizerLoadError(`tokenizer.json: bad id for ${token}`, "tokenizer.json");
    }
    vocab[id as number] = token;
  }
  for (let i = 0; i < vocab.length; i++) vocab[i] ??= "";
  return tokenizerJsonConfig(tj, tokenizerConfig, options, vocab);
}

/**
 * A vocabulary known by its size and by membership, made into the id → token array only
 * when something reads `config.vocab` (tokens, decode): Tokenizer's fast path from
 * tokenizer.json, whose scanned vocabulary needs no array to build the trie.
 */
export interface LazyVocab {
  /** Ids 0..size-1, holes included. */
  size: number;
  has(token: string): boolean;
  array(): string[];
}

/**
 * The configuration of a parsed `tokenizer.json` whose vocabulary was read separately
 * (`vocab`: id → token, holes as `""`, or a `LazyVocab` whose ids every added token
 * already has; Tokenizer's fast path scans it in wasm and leaves `model.vocab` out of the
 * parse). Added tokens fill the ids an array lacks.
 */
export function tokenizerJsonConfig(
  tj: Json,
  tokenizerConfig: string | Json | undefined,
  options: TokenizerOptions,
  vocab: string[] | LazyVocab,
): TokenizerConfig {
  const tc = tokenizerConfig === undefined ? {} : parseJson(tokenizerConfig, "tokenizer_config");
  const model = tj?.model;
  if (!model || model.type !== "WordPiece") {
    throw new TokenizerLoadError(
      `tokenizer.json: model must be WordPiece with a vocab (got ${model?.type})`,
      "tokenizer.json",
    );
  }
  const norm = tj.normalizer;
  if (norm && norm.type !== "BertNormalizer") {
    throw new TokenizerLoadError(
      `tokenizer.json: unsupported normalizer ${norm.type} (BertNormalizer expected)`,
      "tokenizer.json",
    );
  }
  const pre = tj.pre_tokenizer;
  if (pre && pre.type !== "BertPreTokenizer") {
    throw new TokenizerLoadError(
      `tokenizer.json: unsupported pre_tokenizer ${pre.type} (BertPreTokenizer expected)`,
      "tokenizer.json",
    );
  }
  const addedTokens: AddedToken[] = [];
  for (const a of tj.added_tokens ?? []) {
    if (typeof a?.content !== "string" || !Number.isInteger(a?.id)) continue;
    addedTokens.push({ content: a.content, id: a.id, special: !!a.special });
    if (!Array.isArray(vocab)) continue; // (a LazyVocab has every added token's id)
    if (a.id >= vocab.length) {
      for (let i = vocab.length; i < a.id; i++) vocab[i] = "";
    }
    if (!vocab[a.id]) vocab[a.id] = a.content;
  }
  const fromFiles: TokenizerOptions = {
    cleanText: norm ? norm.clean_text : false,
    handleChineseChars: norm ? norm.handle_chinese_chars : false,
    stripAccents: norm ? norm.strip_accents ?? null : false,
    lowercase: norm ? norm.lowercase : false,
    unkToken: model.unk_token ?? tc.unk_token,
    clsToken: tc.cls_token,
    sepToken: tc.sep_token,
    padToken: tc.pad_token,
    maskToken: tc.mask_token,
    continuingSubwordPrefix: model.continuing_subword_prefix,
    maxInputCharsPerWord: model.max_input_chars_per_word,
    modelMaxLength: typeof tc.model_max_length === "number" && tc.model_max_length < 1e9
      ? tc.model_max_length
      : undefined,
  };
  const base = { ...DEFAULTS, ...stripUndefined(fromFiles), ...stripUndefined(options) };
  if (Array.isArray(vocab)) return validate({ ...base, vocab, addedTokens });
  // the same keys in the same order, `vocab` made on first read
  const config = { ...base, vocab: [] as string[], addedTokens };
  let array: string[] | undefined;
  Object.defineProperty(config, "vocab", { enumerable: true, get: () => array ??= vocab.array() });
  return validate(config, vocab);
}

function parseJson(value: string | Json, name: string): Json {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch (cause) {
    throw new TokenizerLoadError(`${name} is not valid JSON: ${cause}`, name, { cause });
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function validate(c: TokenizerConfig, lazy?: LazyVocab): TokenizerConfig {
  const size = lazy ? lazy.size : c.vocab.length;
  const has = lazy ? (t: string) => lazy.has(t) : (t: string) => c.vocab.includes(t);
  if (size === 0) throw new TokenizerLoadError("vocabulary is empty", "vocab");
  if (size > 1 << 24) throw new TokenizerLoadError("vocabulary too large", "vocab");
  // the unknown token may be absent, as in HF: then a word the vocabulary cannot spell is
  // refused when it is met (Tokenizer.encode), not at load. (includes, not a Set of 30k
  // tokens: special tokens sit near the start, and this runs on every load)
  for (const key of ["clsToken", "sepToken", "padToken"] as const) {
    if (!has(c[key])) {
      throw new TokenizerLoadError(`vocabulary has no ${key} ${JSON.stringify(c[key])}`, key);
    }
  }
  if (!(c.maxInputCharsPerWord >= 1 && c.maxInputCharsPerWord <= 65536)) {
    throw new TokenizerLoadError(
      "maxInputCharsPerWord must be in 1..65536",
      "maxInputCharsPerWord",
    );
  }
  if (!c.continuingSubwordPrefix) {
    throw new TokenizerLoadError("continuingSubwordPrefix must not be empty", "prefix");
  }
  return c;
}
