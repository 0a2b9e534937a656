/**
 * The precompiled tokenizer (`toBytes` / `fromBytes`): a header of 16 bytes (magic
 * `EMBTOK01`, then the byte lengths of the two JSON parts), the configuration with the
 * special tokens' ids (JSON), the vocabulary id → token (JSON, parsed on first use), and,
 * 4-byte aligned, the compiled model as wasm/assembly/format.ts lays it out (its own magic
 * and version; `attach` checks all of it). The model block is format.ts's one container;
 * this wraps it only with what the JS side needs.
 *
 * @example
 * ```ts
 * import { Tokenizer } from "./tokenizer.ts";
 * const tok = await Tokenizer.fromVocab(await Deno.readTextFile("../shared/models/bert-base-uncased/vocab.txt"));
 * const bytes = tok.toBytes();
 * console.log(new TextDecoder().decode(bytes.subarray(0, 8))); // EMBTOK01
 * const copy = await Tokenizer.fromBytes(bytes);
 * console.log([...copy.encode("I love Paris.").ids].join(" ")); // 101 1045 2293 3000 1012 102
 * ```
 * @module
 */
import { TokenizerLoadError } from "../errors.ts";
import { align4 } from "./arena.ts";
import type { TokenizerConfig } from "./config.ts";
import type { Tokenizer } from "./tokenizer.ts";
import { instantiateTokenizerWasm, type TokenizerWasm } from "./wasm.ts";

/** Ids of the special tokens the template and the model use. */
export interface SpecialIds {
  cls: number;
  sep: number;
  pad: number;
  unk: number;
}

/** Makes the tokenizer of a configuration and a wasm instance (its private constructor). */
export type CreateTokenizer = (
  config: TokenizerConfig,
  wasm: TokenizerWasm,
  ids?: SpecialIds,
) => Tokenizer;

const MAGIC = new TextEncoder().encode("EMBTOK01");

/** The precompiled form of a tokenizer: configuration, vocabulary and the compiled model. */
export function writePrecompiled(
  config: TokenizerConfig,
  ids: SpecialIds,
  wasm: TokenizerWasm,
): Uint8Array {
  const { vocab, ...head } = config;
  const enc = new TextEncoder();
  const h = enc.encode(JSON.stringify({ ...head, ids }));
  const v = enc.encode(JSON.stringify(vocab));
  const trieAt = align4(16 + h.length + v.length);
  const size = wasm.modelBytes();
  const out = new Uint8Array(trieAt + size);
  out.set(MAGIC);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, h.length, true);
  dv.setUint32(12, v.length, true);
  out.set(h, 16);
  out.set(v, 16 + h.length);
  out.set(new Uint8Array(wasm.memory.buffer, wasm.modelPtr(), size), trieAt);
  return out;
}

/**
 * The tokenizer of a precompiled form (see `writePrecompiled`), in an instance of `module`:
 * the model is copied, not rebuilt. Corrupt bytes give a TokenizerLoadError.
 */
export function readPrecompiled(
  bytes: Uint8Array,
  module: WebAssembly.Module,
  create: CreateTokenizer,
): Tokenizer {
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
  const tokenizer = create(config, w, ids);
  const size = bytes.length - trieAt;
  const ptr = w.alloc(size);
  new Uint8Array(w.memory.buffer, ptr, size).set(bytes.subarray(trieAt));
  if (w.attach(ptr, size) !== 0) {
    w.free(ptr);
    throw bad("trie is corrupt");
  }
  return tokenizer;
}
