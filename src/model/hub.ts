/**
 * Downloads a model from a Hugging Face Hub–style server into a local cache, in the Hub
 * layout (`<cache>/<owner>--<name>/<revision>/<file>`), for users with internet access.
 *
 * - Resumable: bytes go to `<file>.part`; a later call sends `Range: bytes=<n>-` and
 *   appends when the server answers 206 (and starts over on 200).
 * - Verified: the SHA-256 of the file is compared with `checksums[file]` or, failing
 *   that, the server's `X-Linked-ETag`/`ETag` when it is a SHA-256 (as the Hub sends for
 *   large files). A mismatch deletes the partial file and throws.
 * - Atomic: the file is renamed into place only once complete and verified, so no
 *   half-written file is ever found in the cache.
 *
 * Deno and Node (file system). The server is injectable, which is how the tests run it
 * against a local server on 127.0.0.1.
 *
 * @example
 * ```ts ignore
 * // needs the network (tests/hub_test.ts runs it against a server on 127.0.0.1)
 * import { downloadModel } from "./hub.ts";
 * const dir = await downloadModel("sentence-transformers/all-MiniLM-L6-v2", {
 *   cacheDir: `${Deno.env.get("HOME")}/.cache/embedge`,
 * });
 * ```
 * @module
 */
import { ModelLoadError } from "../errors.ts";
import { env, hostFiles } from "../host.ts";
import { externalDataLocations } from "./onnx/external.ts";

/** Files of a BERT model in the Hub layout; `?` marks optional ones. */
export const MODEL_FILES = [
  "config.json",
  "tokenizer.json?",
  "tokenizer_config.json?",
  "vocab.txt?",
  "modules.json?",
  "1_Pooling/config.json?",
  "config_sentence_transformers.json?",
  "onnx/model.onnx",
];

/** Options of `downloadModel`. */
export interface HubOptions {
  /** Cache root. */
  cacheDir: string;
  /** Server (default `https://huggingface.co`). */
  endpoint?: string;
  /** Branch, tag or commit (default `main`). */
  revision?: string;
  /** Files to fetch, `?` for optional (default `MODEL_FILES`). */
  files?: string[];
  /** Expected SHA-256 (hex) per file. */
  checksums?: Record<string, string>;
  /** Bearer token for gated models. */
  token?: string;
  /** Called with bytes received per file. */
  onProgress?: (file: string, received: number, total: number | undefined) => void;
}

/** Fetches the model's files (those not cached yet) and returns the local directory. */
export async function downloadModel(repo: string, options: HubOptions): Promise<string> {
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(repo) || repo.split("/").some((p) => /^\.+$/.test(p))) {
    throw new ModelLoadError(`not a model id: ${JSON.stringify(repo)}`, "model");
  }
  const endpoint = (options.endpoint ?? "https://huggingface.co").replace(/\/$/, "");
  const revision = options.revision ?? "main";
  const dir = `${options.cacheDir}/${repo.replace("/", "--")}/${revision}`;
  // a finished download records what it asked for, so that optional files the hub does not
  // have are not asked for again (and a cached model loads offline)
  const specs = options.files ?? MODEL_FILES;
  const marker = `${dir}/.embedge-download.json`;
  try {
    const done: string[] = JSON.parse(await (await hostFiles()).readTextFile(marker));
    if (specs.every((f) => done.includes(f))) return dir;
  } catch { /* not downloaded yet, or by an older version */ }
  for (const spec of specs) {
    const optional = spec.endsWith("?");
    const file = optional ? spec.slice(0, -1) : spec;
    if (file.split("/").some((p) => p === ".." || p === "")) {
      throw new ModelLoadError(`bad file name ${file}`, "files");
    }
    const target = `${dir}/${file}`;
    if (await exists(target)) continue;
    const url = `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${file}`;
    const ok = await downloadFile(url, target, file, options);
    if (!ok && !optional) {
      throw new ModelLoadError(`${repo}: ${file} not found at ${url}`, "model");
    }
  }
  // large exports keep their weights beside the graph: the files the graph names
  for (const spec of options.files ?? MODEL_FILES) {
    const file = spec.replace(/\?$/, "");
    if (!file.endsWith(".onnx") || !(await exists(`${dir}/${file}`))) continue;
    const folder = file.includes("/") ? file.slice(0, file.lastIndexOf("/") + 1) : "";
    const graph = await (await hostFiles()).readFile(`${dir}/${file}`);
    for (const location of externalDataLocations(graph)) {
      const data = folder + location;
      if (data.split("/").some((p) => p === ".." || p === "")) {
        throw new ModelLoadError(`${file} names a bad external data file ${location}`, "onnx");
      }
      if (await exists(`${dir}/${data}`)) continue;
      const url = `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${data}`;
      if (!(await downloadFile(url, `${dir}/${data}`, data, options))) {
        throw new ModelLoadError(`${repo}: ${file} needs ${data}, not found at ${url}`, "model");
      }
    }
  }
  const fs = await hostFiles();
  let done: string[] = [];
  try {
    done = JSON.parse(await fs.readTextFile(marker));
  } catch { /* first download */ }
  await fs.writeFile(marker, JSON.stringify([...new Set([...done, ...specs])]));
  return dir;
}

/** Whether a model name is a Hub id (`owner/name`, optionally `@revision`), not a path. */
export function isHubId(name: string): boolean {
  return /^[\w-][\w.-]*\/[\w-][\w.-]*(@[\w.-]+)?$/.test(name) && !name.startsWith(".");
}

/** Where downloaded models live: `EMBEDGE_CACHE`, else `$HF_HOME/embedge`, else
 * `~/.cache/embedge`. */
export function defaultCacheDir(): string {
  return env("EMBEDGE_CACHE") ??
    (env("HF_HOME") ? `${env("HF_HOME")}/embedge` : `${env("HOME") ?? "."}/.cache/embedge`);
}

/**
 * A model name as a local directory: an existing path as it is; a Hub id
 * (`owner/name[@revision]`) from the cache, downloading what is missing (server
 * `EMBEDGE_HUB_ENDPOINT`, else `HF_ENDPOINT`, else huggingface.co). Offline and not
 * cached, the error says exactly that.
 */
export async function resolveModel(
  name: string,
  options: Partial<HubOptions> = {},
): Promise<string> {
  if (!isHubId(name) || await exists(name)) return name;
  const [repo, revision] = name.split("@");
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const endpoint = options.endpoint ?? env("EMBEDGE_HUB_ENDPOINT") ?? env("HF_ENDPOINT") ??
    "https://huggingface.co";
  try {
    return await downloadModel(repo, {
      ...options,
      cacheDir,
      endpoint,
      ...(revision ? { revision } : {}),
      ...(env("HF_TOKEN") && !options.token ? { token: env("HF_TOKEN") } : {}),
    });
  } catch (e) {
    if (e instanceof ModelLoadError && e.message.startsWith("cannot reach")) {
      throw new ModelLoadError(
        `${name} is not in the model cache (${cacheDir}) and the hub at ${endpoint} cannot be reached`,
        "model",
        { cause: e },
      );
    }
    throw e;
  }
}

async function exists(path: string): Promise<boolean> {
  return (await (await hostFiles()).stat(path)) !== undefined;
}

/** Downloads one file; false when the server has no such file (404). */
async function downloadFile(
  url: string,
  target: string,
  file: string,
  o: HubOptions,
): Promise<boolean> {
  const fs = await hostFiles();
  const part = `${target}.part`;
  await fs.mkdir(target.slice(0, target.lastIndexOf("/")));
  let have = (await fs.stat(part))?.size ?? 0;
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (have > 0) headers.range = `bytes=${have}-`;
  let res: Response;
  try {
    res = await fetch(url, { headers, redirect: "follow" });
  } catch (cause) {
    throw new ModelLoadError(`cannot reach ${url}: ${cause}`, "model", { cause });
  }
  if (res.status === 404) {
    await res.body?.cancel();
    return false;
  }
  if (res.status === 416 && have > 0) { // the part is already whole
    await res.body?.cancel();
  } else if (res.status === 200 || res.status === 206) {
    const append = res.status === 206 && have > 0;
    if (!append) have = 0;
    const total = Number(res.headers.get("content-length") ?? NaN) + have;
    const f = await fs.openWriter(part, append);
    try {
      for await (const chunk of res.body!) {
        await f.write(chunk);
        have += chunk.length;
        o.onProgress?.(file, have, Number.isFinite(total) ? total : undefined);
      }
    } catch (cause) {
      throw new ModelLoadError(
        `download of ${file} broke off after ${have} bytes (run again to resume): ${cause}`,
        "model",
        { cause },
      );
    } finally {
      await f.close();
    }
  } else {
    await res.body?.cancel();
    throw new ModelLoadError(`${url}: HTTP ${res.status}`, "model");
  }
  const expected = (o.checksums?.[file] ?? etagSha256(res.headers))?.toLowerCase();
  if (expected) {
    const actual = await sha256File(part);
    if (actual !== expected) {
      await fs.remove(part);
      throw new ModelLoadError(
        `${file}: SHA-256 ${actual} does not match the expected ${expected}; the partial file was removed`,
        "checksum",
      );
    }
  }
  await fs.rename(part, target); // atomic on one file system
  return true;
}

/** The SHA-256 the Hub gives for large files, from `X-Linked-ETag` or `ETag`. */
function etagSha256(h: Headers): string | undefined {
  for (const name of ["x-linked-etag", "etag"]) {
    const v = h.get(name)?.replace(/^W\//, "").replaceAll('"', "");
    if (v && /^[0-9a-f]{64}$/i.test(v)) return v;
  }
  return undefined;
}

/** SHA-256 (hex) of a file. */
export async function sha256File(path: string): Promise<string> {
  const bytes = await (await hostFiles()).readFile(path);
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
