/**
 * The host embedge runs in, as the library needs it: files, environment variables and the
 * working directory, the same on Deno and Node (both through `node:fs/promises`, which
 * Deno implements), absent on Cloudflare Workers and in browsers (which read a model
 * through a reader function or URLs instead, see files.ts).
 *
 * `node:fs/promises` is imported on first use under a computed name, so that bundlers for
 * Workers (wrangler's esbuild) neither resolve nor require it.
 *
 * @example
 * ```ts
 * import { hostFiles, readUrl } from "./host.ts";
 * const fs = await hostFiles();
 * console.log((await fs.stat("deno.json"))?.isDirectory); // false
 * console.log(await fs.stat("no-such-file")); // undefined
 * const bytes = await readUrl(new URL("../deno.json", import.meta.url));
 * console.log(bytes !== undefined && bytes.length > 0); // true
 * ```
 * @module
 */

/** What embedge needs of a file system (paths are plain strings, `/`-separated). */
export interface HostFiles {
  readFile(path: string): Promise<Uint8Array<ArrayBuffer>>;
  readTextFile(path: string): Promise<string>;
  /** Writes the whole file (replacing it). */
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  /** Opens a file for streaming writes, appending or truncating. */
  openWriter(path: string, append: boolean): Promise<FileWriter>;
  /** Creates a directory and its parents. */
  mkdir(path: string): Promise<void>;
  /** Size and kind, or `undefined` when nothing is there. */
  stat(path: string): Promise<{ size: number; isDirectory: boolean } | undefined>;
  rename(from: string, to: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
  /** Removes a file or a directory tree; nothing there is not an error. */
  remove(path: string): Promise<void>;
}

/** A file open for writing. */
export interface FileWriter {
  write(data: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

// the parts of node:fs/promises used here (typed locally: no @types/node in this project)
interface NodeFileHandle {
  write(data: Uint8Array, offset: number, length: number): Promise<{ bytesWritten: number }>;
  close(): Promise<void>;
}
interface NodeFs {
  readFile(path: string, encoding?: string): Promise<Uint8Array | string>;
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  open(path: string, flags: string): Promise<NodeFileHandle>;
  mkdir(path: string, options: { recursive: boolean }): Promise<unknown>;
  stat(path: string): Promise<{ size: number; isDirectory(): boolean }>;
  rename(from: string, to: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
  rm(path: string, options: { recursive: boolean; force: boolean }): Promise<void>;
}

/** A permission, as Deno names it. */
export type Permission =
  | { name: "read" | "write"; path: string }
  | { name: "env"; variable: string };

interface HostGlobals {
  Deno?: {
    env: { get(name: string): string | undefined };
    cwd(): string;
    permissions: { querySync(p: Permission): { state: string } };
  };
  process?: {
    env: Record<string, string | undefined>;
    cwd(): string;
    versions?: { node?: string };
  };
}
const host = globalThis as unknown as HostGlobals;

/** Whether this is a host with a file system (Deno or Node), not a Worker or a browser. */
export function hasFileSystem(): boolean {
  return host.Deno !== undefined || host.process?.versions?.node !== undefined;
}

let files: Promise<HostFiles> | undefined;

/** The host's file system; rejects on hosts without one. */
export function hostFiles(): Promise<HostFiles> {
  files ??= loadFiles();
  return files;
}

async function loadFiles(): Promise<HostFiles> {
  if (!hasFileSystem()) throw new Error("this runtime has no file system");
  const specifier = ["node", "fs/promises"].join(":");
  const fs = await import(specifier) as NodeFs;
  return {
    readFile: async (path) => {
      const data = await fs.readFile(path) as Uint8Array;
      return new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    },
    readTextFile: async (path) => await fs.readFile(path, "utf8") as string,
    writeFile: (path, data) => fs.writeFile(path, data),
    async openWriter(path, append) {
      const handle = await fs.open(path, append ? "a" : "w");
      return {
        async write(data) {
          // a write may take part of the buffer: go on until all of it is written
          for (let off = 0; off < data.length;) {
            off += (await handle.write(data, off, data.length - off)).bytesWritten;
          }
        },
        close: () => handle.close(),
      };
    },
    mkdir: async (path) => void await fs.mkdir(path, { recursive: true }),
    async stat(path) {
      try {
        const s = await fs.stat(path);
        return { size: s.size, isDirectory: s.isDirectory() };
      } catch (e) {
        if ((e as { code?: string }).code === "ENOENT") return undefined;
        if ((e as { code?: string }).code === "ENOTDIR") return undefined;
        throw e;
      }
    },
    rename: (from, to) => fs.rename(from, to),
    copyFile: (from, to) => fs.copyFile(from, to),
    remove: (path) => fs.rm(path, { recursive: true, force: true }),
  };
}

/**
 * Whether the program may do this without asking: always on Node; on Deno when the
 * permission is granted (so an optional feature such as the tokenizer cache never makes
 * Deno prompt the user).
 */
export function permitted(permission: Permission): boolean {
  if (!host.Deno) return true;
  try {
    return host.Deno.permissions.querySync(permission).state === "granted";
  } catch {
    return false;
  }
}

/** An environment variable (`undefined` when unset or on hosts without an environment). */
export function env(name: string): string | undefined {
  if (host.Deno) return host.Deno.env.get(name);
  return host.process?.env?.[name];
}

/** The working directory (`/` on hosts without one). */
export function cwd(): string {
  if (host.Deno) return host.Deno.cwd();
  return host.process?.cwd?.() ?? "/";
}

/** A `file:` URL as a path. */
export function urlPath(url: URL): string {
  return decodeURIComponent(url.pathname);
}

/**
 * The bytes at a URL: `file:` URLs from the file system (Node's fetch cannot read them),
 * others fetched. `undefined` when there is nothing there (a missing file, HTTP 404).
 */
export async function readUrl(url: URL): Promise<Uint8Array<ArrayBuffer> | undefined> {
  if (url.protocol === "file:") {
    const fs = await hostFiles();
    const path = urlPath(url);
    if ((await fs.stat(path))?.isDirectory !== false) return undefined;
    return await fs.readFile(path);
  }
  const res = await fetch(url);
  if (!res.ok) {
    await res.body?.cancel();
    if (res.status === 404) return undefined;
    throw new Error(`${url.href}: HTTP ${res.status}`);
  }
  return new Uint8Array(await res.arrayBuffer());
}
