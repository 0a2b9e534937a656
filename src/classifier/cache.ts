/**
 * An on-disk cache of sentence embeddings keyed by the embedding setup (model, pooling,
 * normalization, max length) and the text, so a second training run does not embed
 * again. One directory per setup: `index.json` (text hash → row) and `vectors.f32`.
 * Deno and Node (file system).
 *
 * @example
 * ```ts
 * import { EmbeddingCache } from "./cache.ts";
 * const cache = await EmbeddingCache.open(".cache/embeddings", { modelId: "m", pooling: "mean", normalize: true }, 384);
 * const vectors = await cache.embed(["a", "b"], async (missing) => new Float32Array(missing.length * 384));
 * ```
 * @module
 */
import type { EmbeddingSetup } from "./logistic.ts";
import type { Embedder, EmbedOptions } from "../model/embedder.ts";
import type { Pooling } from "../model/pooling.ts";
import { hostFiles } from "../host.ts";

const hex = (b: ArrayBuffer) =>
  Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
const sha256 = async (s: string) =>
  hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)));

/** The cache keys of texts (SHA-256 of each): compute once when several caches are read. */
export function textKeys(texts: string[]): Promise<string[]> {
  return Promise.all(texts.map(sha256));
}

/** Cached vectors of one embedding setup. */
export class EmbeddingCache {
  #index: Map<string, number>;
  #rows: Float32Array;
  #count: number;
  /** Rows computed (not found in the cache) since opening. */
  computed = 0;

  private constructor(
    readonly dir: string,
    readonly dim: number,
    index: Map<string, number>,
    rows: Float32Array,
  ) {
    this.#index = index;
    this.#rows = rows;
    this.#count = index.size;
  }

  /** Opens (or creates) the cache directory for a setup. */
  static async open(root: string, setup: EmbeddingSetup, dim: number): Promise<EmbeddingCache> {
    const dir = `${root}/${
      (await sha256(
        JSON.stringify([
          setup.modelId,
          setup.pooling,
          setup.normalize,
          setup.maxLength ?? null,
          dim,
          // the last layer is the default: old caches stay valid
          ...(setup.layers ? [setup.layers, setup.layerMix ?? "mean"] : []),
        ]),
      )).slice(0, 24)
    }`;
    const fs = await hostFiles();
    await fs.mkdir(dir);
    let index = new Map<string, number>();
    let rows = new Float32Array(0);
    try {
      const entries: [string, number][] = JSON.parse(await fs.readTextFile(`${dir}/index.json`));
      const bytes = await fs.readFile(`${dir}/vectors.f32`);
      rows = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      if (entries.every(([, r]) => (r + 1) * dim <= rows.length)) index = new Map(entries);
    } catch { /* a new or unreadable cache starts empty */ }
    return new EmbeddingCache(dir, dim, index, rows);
  }

  /** The texts (deduplicated) that are not cached yet; `keys` are their `textKeys`. */
  async missing(texts: string[], keys?: string[]): Promise<string[]> {
    keys ??= await textKeys(texts);
    const out = new Map<string, string>();
    keys.forEach((k, i) => {
      if (!this.#index.has(k)) out.set(k, texts[i]);
    });
    return [...out.values()];
  }

  /** Vectors of `texts` in order; `compute` embeds those not cached (in one call). */
  async embed(
    texts: string[],
    compute: (missing: string[]) => Promise<Float32Array>,
    keys?: string[],
  ): Promise<Float32Array> {
    keys ??= await textKeys(texts);
    const missing: string[] = [], missingKeys: string[] = [];
    const seen = new Set<string>();
    keys.forEach((k, i) => {
      if (!this.#index.has(k) && !seen.has(k)) {
        seen.add(k);
        missing.push(texts[i]);
        missingKeys.push(k);
      }
    });
    if (missing.length) {
      const fresh = await compute(missing);
      const grown = new Float32Array((this.#count + missing.length) * this.dim);
      grown.set(this.#rows.subarray(0, this.#count * this.dim));
      grown.set(fresh, this.#count * this.dim);
      missingKeys.forEach((k, j) => this.#index.set(k, this.#count + j));
      this.#count += missing.length;
      this.#rows = grown;
      this.computed += missing.length;
      // write the vectors first, then the index that points into them
      const fs = await hostFiles();
      await fs.writeFile(`${this.dir}/vectors.f32.tmp`, new Uint8Array(grown.buffer));
      await fs.rename(`${this.dir}/vectors.f32.tmp`, `${this.dir}/vectors.f32`);
      await fs.writeFile(`${this.dir}/index.json.tmp`, JSON.stringify([...this.#index]));
      await fs.rename(`${this.dir}/index.json.tmp`, `${this.dir}/index.json`);
    }
    const out = new Float32Array(texts.length * this.dim);
    keys.forEach((k, i) => {
      const r = this.#index.get(k)!;
      out.set(this.#rows.subarray(r * this.dim, (r + 1) * this.dim), i * this.dim);
    });
    return out;
  }
}

/** The embed options that reproduce an embedding setup. */
export function setupOptions(setup: EmbeddingSetup): EmbedOptions {
  return {
    pooling: setup.pooling as Pooling,
    normalize: setup.normalize,
    maxLength: setup.maxLength,
    layers: setup.layers,
    layerMix: setup.layerMix,
  };
}

/**
 * Sentence vectors of `texts` for each setup through the on-disk cache under `root`:
 * the texts any setup lacks are embedded once for all setups (`Embedder.embedMany`, one
 * model run per batch), then each setup's cache is filled from that run.
 */
export async function embedCachedMany(
  embedder: Embedder,
  setups: EmbeddingSetup[],
  texts: string[],
  root: string,
  onProgress?: (done: number, total: number) => void,
): Promise<Float32Array[]> {
  const caches = await Promise.all(
    setups.map((s) => EmbeddingCache.open(root, s, embedder.dimensions(s.pooling as Pooling, s))),
  );
  const keys = await textKeys(texts); // once for every setup: hashing 60k texts is not free
  const need = [...new Set((await Promise.all(caches.map((c) => c.missing(texts, keys)))).flat())];
  const fresh = need.length
    ? await embedder.embedMany(
      need,
      setups.map((s, v) => ({
        ...setupOptions(s),
        ...(v === 0 && onProgress ? { onProgress } : {}),
      })),
    )
    : [];
  const row = new Map(need.map((t, i) => [t, i]));
  return await Promise.all(caches.map((cache, v) =>
    cache.embed(texts, (missing) => {
      const d = fresh[v].dims[1], out = new Float32Array(missing.length * d);
      missing.forEach((t, i) => {
        const r = row.get(t)!;
        out.set(fresh[v].data.subarray(r * d, (r + 1) * d), i * d);
      });
      return Promise.resolve(out);
    }, keys)
  ));
}

/** Sentence vectors of `texts` for one setup through the on-disk cache under `root`. */
export async function embedCached(
  embedder: Embedder,
  setup: EmbeddingSetup,
  texts: string[],
  root: string,
  onProgress?: (done: number, total: number) => void,
): Promise<Float32Array> {
  const [vectors] = await embedCachedMany(embedder, [setup], texts, root, onProgress);
  return vectors;
}
