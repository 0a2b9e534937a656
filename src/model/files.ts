/**
 * Reading a model's files from a Hub-layout directory: a path or `file:` URL (Deno, Node), an
 * `http(s):` URL (fetched), files already in memory (a map of path → bytes), or a reader
 * function (path → bytes, e.g. over a Workers static-assets or R2 binding). Missing files
 * read as `undefined`.
 *
 * @example
 * ```ts
 * import { readModelFiles } from "./files.ts";
 * const files = await readModelFiles({ "config.json": new TextEncoder().encode("{}") }, [
 *   "config.json",
 *   "vocab.txt",
 * ]);
 * console.log(files.get("config.json")?.length, files.get("vocab.txt")); // 2 undefined
 * ```
 * @module
 */
import { ModelLoadError } from "../errors.ts";
import { cwd, readUrl } from "../host.ts";

/** Reads one file of a model directory (`undefined` when it does not exist). */
export type ModelReader = (path: string) => Promise<Uint8Array | undefined>;

/** Where a model is: a directory path or URL, in-memory files, or a reader. */
export type ModelSource = string | URL | Record<string, Uint8Array> | ModelReader;

/** Files read from a source. */
export interface ModelFiles {
  /** A readable name of the source. */
  name: string;
  get(path: string): Uint8Array | undefined;
}

/** Resolves a directory path or URL string to a URL ending in `/`. */
export function directoryUrl(source: string | URL): URL {
  if (source instanceof URL) {
    return new URL(source.href.endsWith("/") ? source.href : source.href + "/");
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return directoryUrl(new URL(source));
  const abs = source.startsWith("/") ? source : `${cwd()}/${source}`;
  return directoryUrl(new URL(`file://${abs}`));
}

/** Reads the named files (those that exist). */
export async function readModelFiles(source: ModelSource, paths: string[]): Promise<ModelFiles> {
  if (typeof source === "function") {
    const found = new Map<string, Uint8Array>();
    await Promise.all(paths.map(async (p) => {
      const bytes = await source(p);
      if (bytes) found.set(p, bytes);
    }));
    if (found.size === 0) {
      throw new ModelLoadError("the model reader found no model files", "model");
    }
    return { name: source.name || "model reader", get: (p) => found.get(p) };
  }
  if (typeof source === "object" && source !== null && !(source instanceof URL)) {
    const map = new Map(Object.entries(source));
    return { name: "in-memory model", get: (p) => map.get(p) };
  }
  if (typeof source !== "string" && !(source instanceof URL)) {
    throw new ModelLoadError("model must be a path, a URL or a map of files", "model");
  }
  const dir = directoryUrl(source);
  const found = new Map<string, Uint8Array>();
  await Promise.all(paths.map(async (p) => {
    const bytes = await fetchOptional(new URL(p, dir));
    if (bytes) found.set(p, bytes);
  }));
  if (found.size === 0) {
    throw new ModelLoadError(`no model files found at ${dir.href}`, "model");
  }
  return { name: dir.href.replace(/^file:\/\//, ""), get: (p) => found.get(p) };
}

async function fetchOptional(url: URL): Promise<Uint8Array | undefined> {
  try {
    return await readUrl(url);
  } catch {
    return undefined; // unreadable counts as missing: the caller names what it needed
  }
}

/** Parses the JSON file `path` of a model (`undefined` when absent); bad JSON is a ModelLoadError. */
export function modelJson(files: ModelFiles, path: string): unknown {
  const bytes = files.get(path);
  if (!bytes) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new ModelLoadError(`${files.name}: ${path} is not valid JSON`, path, { cause });
  }
}
