/**
 * Model files as Workers static assets. Cloudflare (and `wrangler dev`) refuse any asset
 * over 25 MiB, while a BERT's weights are larger (all-MiniLM-L6-v2's external data is
 * 87 MiB). `bin/worker_assets.ts` therefore stores such a file `F` as parts `F.part-000`,
 * `F.part-001`, … next to a manifest `F.parts.json` (`{ size, parts }`), and the reader
 * here puts a file back together when it is asked for `F` and only the parts exist.
 *
 * @example
 * ```ts
 * import { partedReader } from "./assets.ts";
 * // a file stored as two parts and a manifest, read back whole
 * const files: Record<string, Uint8Array> = {
 *   "big.bin.parts.json": new TextEncoder().encode(JSON.stringify({ size: 5, parts: 2 })),
 *   "big.bin.part-000": Uint8Array.of(1, 2, 3),
 *   "big.bin.part-001": Uint8Array.of(4, 5),
 * };
 * const read = partedReader((path) => Promise.resolve(files[path]));
 * console.log(await read("big.bin")); // Uint8Array [1, 2, 3, 4, 5]
 * ```
 * @module
 */

/** Largest part written (below the 25 MiB asset limit). */
export const PART_BYTES = 24 * 1024 * 1024;

/** The manifest stored as `F.parts.json`. */
export interface PartsManifest {
  size: number;
  parts: number;
}

/** Name of part `i` of `path`. */
export function partName(path: string, i: number): string {
  return `${path}.part-${String(i).padStart(3, "0")}`;
}

/**
 * Wraps a reader of single assets so that a file stored as parts reads whole. Parts are
 * fetched concurrently and copied once into one buffer (ORT needs contiguous bytes).
 *
 * @example
 * ```ts
 * import { partedReader } from "./assets.ts";
 * const files = new Map([["a.bin.parts.json", new TextEncoder().encode('{"size":3,"parts":2}')],
 *   ["a.bin.part-000", Uint8Array.of(1, 2)], ["a.bin.part-001", Uint8Array.of(3)]]);
 * const read = partedReader((p) => Promise.resolve(files.get(p)));
 * console.log(await read("a.bin")); // Uint8Array [1, 2, 3]
 * ```
 */
export function partedReader(
  read: (path: string) => Promise<Uint8Array | undefined>,
): (path: string) => Promise<Uint8Array | undefined> {
  return async (path) => {
    const whole = await read(path);
    if (whole) return whole;
    const manifest = await read(`${path}.parts.json`);
    if (!manifest) return undefined;
    const { size, parts } = JSON.parse(new TextDecoder().decode(manifest)) as PartsManifest;
    if (!Number.isInteger(size) || !Number.isInteger(parts) || size < 0 || parts < 1) {
      throw new Error(`${path}.parts.json is not a parts manifest`);
    }
    const chunks = await Promise.all(
      Array.from({ length: parts }, (_, i) => read(partName(path, i))),
    );
    const out = new Uint8Array(size);
    let at = 0;
    for (const [i, c] of chunks.entries()) {
      if (!c || at + c.length > size) {
        throw new Error(`${partName(path, i)} is missing or too long`);
      }
      out.set(c, at);
      at += c.length;
    }
    if (at !== size) throw new Error(`${path}: parts hold ${at} bytes, the manifest says ${size}`);
    return out;
  };
}
