/**
 * Loads the WordPiece WebAssembly module. Accepts a precompiled
 * `WebAssembly.Module` (what Cloudflare Workers give for an imported `.wasm`,
 * since they forbid compiling from bytes), bytes, or a URL; by default it reads
 * `wasm/build/tokenizer.wasm` next to this package.
 *
 * @example
 * ```ts
 * import { compileTokenizerWasm, instantiateTokenizerWasm } from "./wasm.ts";
 * const module = await compileTokenizerWasm();
 * const wasm = instantiateTokenizerWasm(module);
 * console.log(wasm.memory.buffer.byteLength > 0); // true
 * ```
 * @module
 */
import { TokenizerLoadError } from "../errors.ts";
import { cwd, readUrl } from "../host.ts";

/** The functions the tokenizer module exports (see wasm/assembly/index.ts). */
export interface TokenizerWasm {
  memory: WebAssembly.Memory;
  alloc(size: number): number;
  free(ptr: number): void;
  configure(
    cleanText: number,
    chinese: number,
    strip: number,
    lower: number,
    maxChars: number,
    unkId: number,
  ): void;
  build(
    text: number,
    entries: number,
    count: number,
    vocab: number,
    prefix: number,
    prefixLen: number,
  ): number;
  attach(block: number, size: number): number;
  scanVocab(bytes: number, len: number, out: number, entries: number, maxEntries: number): number;
  scanEnd(): number;
  scanMaxIdSeen(): number;
  shadowedCount(): number;
  shadowedPtr(): number;
  modelPtr(): number;
  modelBytes(): number;
  begin(): number;
  encode(input: number, len: number): number;
  encodeRange(input: number, from: number, to: number): number;
  batchTokenize(
    text: number,
    starts: number,
    from: number,
    to: number,
    keep: number,
    rows: number,
  ): number;
  addToken(id: number, start: number, end: number): number;
  idsPtr(): number;
  wordsPtr(): number;
  startsPtr(): number;
  endsPtr(): number;
  shrink(keepTokens: number): void;
  outCapacity(): number;
}

/** What the tokenizer wasm can be loaded from. */
export type WasmSource = WebAssembly.Module | BufferSource | URL | string;

// resolved on first use: bundles for Workers have no file URL to resolve against
const defaultUrl = () => new URL("../../wasm/build/tokenizer.wasm", import.meta.url);
let defaultModule: Promise<WebAssembly.Module> | undefined;

/**
 * Compiles (or passes through) the tokenizer module. The default module is compiled once
 * per process and shared.
 */
export function compileTokenizerWasm(source?: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return Promise.resolve(source);
  if (source === undefined) {
    defaultModule ??= compileFrom(defaultUrl());
    return defaultModule;
  }
  return compileFrom(source);
}

async function compileFrom(source: BufferSource | URL | string): Promise<WebAssembly.Module> {
  try {
    if (source instanceof URL || typeof source === "string") {
      // a URL, or a file path (relative to the working directory)
      const url = source instanceof URL || /^[a-z][a-z0-9+.-]*:/i.test(source)
        ? new URL(source)
        : new URL(`file://${source.startsWith("/") ? "" : cwd() + "/"}${source}`);
      const bytes = await readUrl(url);
      if (!bytes) throw new Error(`nothing at ${url.href}`);
      source = bytes;
    }
    return await WebAssembly.compile(source);
  } catch (cause) {
    throw new TokenizerLoadError(
      `cannot load the tokenizer wasm (run \`deno task build\` first?): ${cause}`,
      "wasm",
      { cause },
    );
  }
}

/** Instantiates a compiled tokenizer module; each instance has its own memory and model. */
export function instantiateTokenizerWasm(module: WebAssembly.Module): TokenizerWasm {
  const instance = new WebAssembly.Instance(module, {
    env: {
      abort(_msg: number, _file: number, line: number, col: number) {
        throw new TokenizerLoadError(`tokenizer wasm aborted at ${line}:${col}`);
      },
    },
  });
  return instance.exports as unknown as TokenizerWasm;
}
