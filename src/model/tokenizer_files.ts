/**
 * A model's tokenizer from its files: `tokenizer.json` (with `tokenizer_config.json`) or
 * `vocab.txt`, or — much faster to start — the precompiled form `embedge-tokenizer.bin`
 * that `precompileModelTokenizer` writes next to them (the Worker's assets get one). The
 * precompiled file carries a SHA-256 of the source files it was built from; when those
 * files are present and differ, it is stale and the tokenizer is built from the source.
 *
 * @example
 * ```ts
 * import { readModelFiles } from "./files.ts";
 * import { loadModelTokenizer, precompileModelTokenizer, TOKENIZER_FILES } from "./tokenizer_files.ts";
 * const files = await readModelFiles("../shared/models/all-MiniLM-L6-v2", TOKENIZER_FILES);
 * const bin = await precompileModelTokenizer(files);
 * const fast = await loadModelTokenizer(
 *   { name: "precompiled", get: (p) => (p === "embedge-tokenizer.bin" ? bin : undefined) },
 * );
 * console.log(fast.encode("I love Paris.").ids); // [101, 1045, 2293, 3000, 1012, 102]
 * ```
 * @module
 */
import { ModelLoadError, TokenizerLoadError } from "../errors.ts";
import { Tokenizer } from "../tokenizer/tokenizer.ts";
import type { WasmSource } from "../tokenizer/wasm.ts";
import { type ModelFiles, modelJson } from "./files.ts";
import { hostFiles } from "../host.ts";

/** The precompiled tokenizer's file name in a model directory. */
export const PRECOMPILED_TOKENIZER = "embedge-tokenizer.bin";

/** The files a model's tokenizer can come from. */
export const TOKENIZER_FILES = [
  PRECOMPILED_TOKENIZER,
  "tokenizer.json",
  "tokenizer_config.json",
  "vocab.txt",
];

const SOURCE_FILES = ["tokenizer.json", "tokenizer_config.json", "vocab.txt"];
const DIGEST_BYTES = 32;

/**
 * SHA-256 over the source files present: of each file's name and digest (no copy of the
 * files, whose fresh pages would cost more than the hashing).
 */
async function sourceDigest(files: ModelFiles): Promise<Uint8Array | undefined> {
  const present = SOURCE_FILES.filter((name) => files.get(name));
  if (present.length === 0) return undefined;
  const digests = await Promise.all(
    present.map((name) => crypto.subtle.digest("SHA-256", files.get(name) as BufferSource)),
  );
  const list = present.map((name, i) => `${name} ${toHex(new Uint8Array(digests[i]))}\n`);
  return new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(list.join(""))),
  );
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromSource(files: ModelFiles, wasm?: WasmSource): Promise<Tokenizer> {
  const text = (f: string) => new TextDecoder().decode(files.get(f));
  const tokenizerConfig = modelJson(files, "tokenizer_config.json") as
    | { do_lower_case?: boolean }
    | undefined;
  if (files.get("tokenizer.json")) {
    return Tokenizer.fromTokenizerJson(text("tokenizer.json"), tokenizerConfig, {}, wasm);
  }
  if (files.get("vocab.txt")) {
    const options = tokenizerConfig?.do_lower_case === false ? { lowercase: false } : {};
    return Tokenizer.fromVocab(text("vocab.txt"), options, wasm);
  }
  throw new ModelLoadError(`${files.name}: no tokenizer.json or vocab.txt`, "model");
}

/**
 * The model's tokenizer: from `embedge-tokenizer.bin` when it is present and matches the
 * source files (or there are none), else built from `tokenizer.json` / `vocab.txt`.
 * A damaged precompiled file with no source to fall back on is a ModelLoadError.
 */
export async function loadModelTokenizer(
  files: ModelFiles,
  wasm?: WasmSource,
  cache?: TokenizerCache,
): Promise<Tokenizer> {
  const bin = files.get(PRECOMPILED_TOKENIZER);
  if (!bin) return cache ? await throughCache(files, cache, wasm) : fromSource(files, wasm);
  const digest = await sourceDigest(files);
  const stale = digest !== undefined &&
    (bin.length < DIGEST_BYTES || digest.some((b, i) => b !== bin[i]));
  if (stale) return fromSource(files, wasm);
  try {
    return await Tokenizer.fromBytes(bin.subarray(DIGEST_BYTES), wasm);
  } catch (cause) {
    if (!(cause instanceof TokenizerLoadError)) throw cause;
    if (digest !== undefined) return fromSource(files, wasm); // e.g. an older format
    throw new ModelLoadError(
      `${files.name}: ${PRECOMPILED_TOKENIZER} cannot be loaded (${cause.message})`,
      PRECOMPILED_TOKENIZER,
      { cause },
    );
  }
}

/**
 * Where built tokenizers are kept between runs, by the SHA-256 of their source files: a
 * first load builds from tokenizer.json / vocab.txt and stores the precompiled form, the
 * next load of the same files reads it (a few ms). Reads and writes may fail (a read-only
 * disk): the tokenizer is then built, as without a cache.
 */
export interface TokenizerCache {
  read(key: string): Promise<Uint8Array | undefined>;
  write(key: string, bytes: Uint8Array): Promise<void>;
}

/**
 * A tokenizer cache in a directory (created when first written): `<dir>/<digest>.bin`,
 * written to a temporary name and renamed, so a reader never sees half a file; a write
 * that fails removes its temporary file.
 */
export function directoryTokenizerCache(dir: string): TokenizerCache {
  return {
    async read(key) {
      try {
        return await (await hostFiles()).readFile(`${dir}/${key}.bin`);
      } catch {
        return undefined; // not cached yet
      }
    },
    async write(key, bytes) {
      const fs = await hostFiles();
      await fs.mkdir(dir);
      const temporary = `${dir}/${key}.${crypto.randomUUID()}.partial`;
      try {
        await fs.writeFile(temporary, bytes);
        await fs.rename(temporary, `${dir}/${key}.bin`);
      } catch (cause) {
        // a failed write or rename (the entry's name taken by a directory, a full disk)
        // would leave a 2 MB temporary file behind at every start: removed, then reported
        await fs.remove(temporary).catch(() => {});
        throw cause;
      }
    },
  };
}

async function throughCache(
  files: ModelFiles,
  cache: TokenizerCache,
  wasm?: WasmSource,
): Promise<Tokenizer> {
  const digest = await sourceDigest(files);
  if (!digest) return fromSource(files, wasm); // (which names the missing files)
  const key = toHex(digest);
  const cached = await cache.read(key).catch(() => undefined);
  if (cached) {
    try {
      return await Tokenizer.fromBytes(cached, wasm);
    } catch (cause) {
      if (!(cause instanceof TokenizerLoadError)) throw cause;
      // damaged, or from another version of the format: built again and replaced below
    }
  }
  const tokenizer = await fromSource(files, wasm);
  await cache.write(key, tokenizer.toBytes()).catch(() => {}); // a read-only disk: no cache
  return tokenizer;
}

/** The bytes of `embedge-tokenizer.bin` for a model's tokenizer source files. */
export async function precompileModelTokenizer(
  files: ModelFiles,
  wasm?: WasmSource,
): Promise<Uint8Array> {
  const digest = await sourceDigest(files);
  if (!digest) throw new ModelLoadError(`${files.name}: no tokenizer.json or vocab.txt`, "model");
  const bytes = (await fromSource(files, wasm)).toBytes();
  const out = new Uint8Array(DIGEST_BYTES + bytes.length);
  out.set(digest);
  out.set(bytes, DIGEST_BYTES);
  return out;
}
