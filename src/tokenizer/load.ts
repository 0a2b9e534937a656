/**
 * Loading a tokenizer from its sources: a configuration (from `vocab.txt` or a parsed
 * `tokenizer.json`), whose vocabulary is copied into wasm and built into the WordPiece
 * trie there, and the text of a `tokenizer.json`, whose vocabulary a scanner in wasm reads
 * straight into the builder's input. (The precompiled form is precompiled.ts's.)
 *
 * @example
 * ```ts
 * import { Tokenizer } from "./tokenizer.ts";
 * const json = await Deno.readTextFile("../shared/models/all-MiniLM-L6-v2/tokenizer.json");
 * const scanned = await Tokenizer.fromTokenizerJson(json); // the scanner's way
 * const parsed = await Tokenizer.fromTokenizerJson(JSON.parse(json)); // JSON.parse's way
 * console.log(scanned.vocabSize, parsed.vocabSize, scanned.tokenize("Paris")); // 30522 30522 [ "paris" ]
 * ```
 * @module
 */
import { TokenizerLoadError } from "../errors.ts";
import {
  configFromTokenizerJson,
  type LazyVocab,
  type TokenizerConfig,
  tokenizerJsonConfig,
  type TokenizerOptions,
} from "./config.ts";
import type { CreateTokenizer } from "./precompiled.ts";
import type { Tokenizer } from "./tokenizer.ts";
import {
  compileTokenizerWasm,
  instantiateTokenizerWasm,
  type TokenizerWasm,
  type WasmSource,
} from "./wasm.ts";

/** Buffers of a scanned vocabulary in wasm memory: tokens' UTF-16 back to back, (id, length) entries. */
interface Scanned {
  text: number;
  entries: number;
  count: number;
  size: number;
}

/** The tokenizer of a configuration: builds the WordPiece trie with failure links in wasm. */
export async function loadConfig(
  config: TokenizerConfig,
  wasm: WasmSource | undefined,
  create: CreateTokenizer,
): Promise<Tokenizer> {
  const w = instantiateTokenizerWasm(await compileTokenizerWasm(wasm));
  const tokenizer = create(config, w);
  buildTrie(w, config);
  return tokenizer;
}

/**
 * The tokenizer of HF `tokenizer.json` (text or parsed), optionally with
 * `tokenizer_config.json`: given the text, the scanner's way first (`scanTokenizerJson`),
 * else (or when it declines) `JSON.parse`'s.
 */
export async function loadTokenizerJson(
  tokenizerJson: unknown,
  tokenizerConfig: unknown,
  options: TokenizerOptions,
  wasm: WasmSource | undefined,
  create: CreateTokenizer,
): Promise<Tokenizer> {
  if (typeof tokenizerJson === "string") {
    const w = instantiateTokenizerWasm(await compileTokenizerWasm(wasm));
    const fast = scanTokenizerJson(tokenizerJson, tokenizerConfig, options, w, create);
    if (fast) return fast;
  }
  return await loadConfig(
    configFromTokenizerJson(tokenizerJson, tokenizerConfig, options),
    wasm,
    create,
  );
}

/**
 * The fast path of `fromTokenizerJson`: finds `"vocab": {` and scans the object from
 * there in wasm (UTF-16, unescaped in place), then parses the file with that object
 * replaced by `0`. The cut is the model's vocabulary exactly when the parse sees
 * `model.vocab === 0`; any other outcome returns null (the JSON.parse path decides).
 *   …"vocab": {"[PAD]": 0, "i": 1045}…  →  wasm: "[PAD]i" (0, 5) (1045, 1);  JS: …"vocab": 0…
 */
function scanTokenizerJson(
  text: string,
  tokenizerConfig: unknown,
  options: TokenizerOptions,
  w: TokenizerWasm,
  create: CreateTokenizer,
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
    const lazy = scannedVocab(
      w,
      { text: buf, entries, count, size: w.scanMaxIdSeen() + 1 },
      parsed,
    );
    if (!lazy) { // two tokens for one id, or ids the added tokens fill: JSON.parse's way
      w.free(buf);
      w.free(entries);
      return null;
    }
    const config = tokenizerJsonConfig(parsed, tokenizerConfig, options, lazy);
    const tokenizer = create(config, w);
    buildTrie(w, config, { text: buf, entries, count, size: lazy.size });
    w.free(buf);
    w.free(entries);
    // a token listed twice: the JSON.parse path decides which ids survive (rare enough
    // not to repeat its rules here)
    return w.shadowedCount() === 0 ? tokenizer : null;
  }
  return null;
}

/**
 * The scanned tokens, kept (compact, JS-owned) for the id → token array, which is made
 * only when read; the trie is built from the wasm buffers as they are. Null unless every
 * id is listed once and every added token of `parsed` has its id in the vocabulary.
 */
function scannedVocab(w: TokenizerWasm, scanned: Scanned, parsed: unknown): LazyVocab | null {
  const { count, size } = scanned;
  const mem = w.memory.buffer;
  const ent = new Int32Array(mem, scanned.entries, count * 2).slice();
  const starts = new Int32Array(count + 1);
  for (let k = 0; k < count; k++) starts[k + 1] = starts[k] + ent[2 * k + 1];
  const units = new Uint16Array(mem, scanned.text, starts[count]).slice();
  const byId = new Int32Array(size).fill(-1);
  for (let k = 0; k < count; k++) {
    if (byId[ent[2 * k]] >= 0) return null;
    byId[ent[2 * k]] = k;
  }
  // deno-lint-ignore no-explicit-any
  for (const a of (parsed as any).added_tokens ?? []) {
    if (typeof a?.content !== "string" || !Number.isInteger(a?.id)) continue;
    if (a.id >= size || byId[a.id] < 0) return null;
  }
  return {
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
}

/**
 * Builds the trie in wasm from the vocabulary: from `scanned` buffers already in wasm
 * memory (tokens' UTF-16 back to back, (id, length) entries), else copied from
 * `config.vocab`.
 */
function buildTrie(w: TokenizerWasm, config: TokenizerConfig, scanned?: Scanned): void {
  const prefix = config.continuingSubwordPrefix;
  let text: number, entries: number, count: number, size: number;
  if (scanned) {
    ({ text, entries, count, size } = scanned);
  } else {
    const vocab = config.vocab;
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
    const vocab = config.vocab;
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
