/**
 * Dynamic batching: concurrent requests with the same embedding options are queued for
 * up to `maxWaitMs` and run as one `embed` call (which sorts by length and splits by a
 * token budget), so several small requests share `session.run` calls. The model runs
 * one call at a time. The queue is bounded: past `maxQueue` waiting inputs a request is
 * refused at once with 503 and `Retry-After` instead of piling up memory.
 *
 * @example
 * ```ts
 * import { Batcher } from "./batcher.ts";
 * // const batcher = new Batcher(embedder, { maxWaitMs: 5, maxBatchInputs: 64, maxQueue: 1024 });
 * // const out = await batcher.embed(["I love Paris."], { pooling: "mean" });
 * ```
 * @module
 */
import type { Embedder, Embeddings, EmbedOptions } from "../src/model/embedder.ts";
import { HttpError } from "./errors.ts";
import type { Metrics } from "./metrics.ts";

/** Batching limits. */
export interface BatcherOptions {
  /** Off: every request runs on its own (still one model call at a time). */
  enabled?: boolean;
  /** Longest wait for more requests before a batch runs. */
  maxWaitMs?: number;
  /** A batch runs at once when it holds this many inputs. */
  maxBatchInputs?: number;
  /** Most inputs waiting (queued or running) before requests are refused. */
  maxQueue?: number;
}

type Input = string | readonly number[];
interface Pending {
  inputs: readonly Input[];
  resolve: (e: Embeddings) => void;
  reject: (e: unknown) => void;
}
interface Group {
  options: EmbedOptions;
  pending: Pending[];
  size: number;
  timer?: ReturnType<typeof setTimeout>;
}

/** Queues and groups embed requests. */
export class Batcher {
  readonly options: Required<BatcherOptions>;
  #groups = new Map<string, Group>();
  #waiting = 0;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly embedder: Embedder,
    options: BatcherOptions = {},
    readonly metrics?: Metrics,
  ) {
    this.options = {
      enabled: options.enabled ?? true,
      maxWaitMs: options.maxWaitMs ?? 5,
      maxBatchInputs: options.maxBatchInputs ?? 64,
      maxQueue: options.maxQueue ?? 1024,
    };
  }

  /** Inputs queued or running. */
  get depth(): number {
    return this.#waiting;
  }

  /** Embeds `inputs`, possibly together with other requests. */
  embed(inputs: readonly Input[], options: EmbedOptions): Promise<Embeddings> {
    if (this.#waiting + inputs.length > this.options.maxQueue) {
      return Promise.reject(
        new HttpError(
          503,
          `server busy: ${this.#waiting} inputs queued (limit ${this.options.maxQueue}); retry shortly`,
          "overloaded",
          null,
          { "retry-after": "1" },
        ),
      );
    }
    this.#waiting += inputs.length;
    return new Promise<Embeddings>((resolve, reject) => {
      const p: Pending = { inputs, resolve, reject };
      if (!this.options.enabled) {
        this.#run(options, [p]);
        return;
      }
      const key = JSON.stringify([
        options.pooling,
        options.normalize,
        options.truncate,
        options.maxLength,
      ]);
      let g = this.#groups.get(key);
      if (!g) {
        g = { options, pending: [], size: 0 };
        this.#groups.set(key, g);
      }
      g.pending.push(p);
      g.size += inputs.length;
      if (g.size >= this.options.maxBatchInputs) this.#flush(key);
      else g.timer ??= setTimeout(() => this.#flush(key), this.options.maxWaitMs);
    });
  }

  #flush(key: string): void {
    const g = this.#groups.get(key);
    if (!g) return;
    this.#groups.delete(key);
    if (g.timer !== undefined) clearTimeout(g.timer);
    this.#run(g.options, g.pending);
  }

  /** Runs one batch after the previous one (the model runs one call at a time). */
  #run(options: EmbedOptions, pending: Pending[]): void {
    const all = pending.flatMap((p) => p.inputs);
    this.#chain = this.#chain.then(async () => {
      try {
        const out = await this.embedder.embed(all, options);
        this.metrics?.batch(all.length, out.tokenCounts.reduce((a, b) => a + b, 0));
        const d = out.dims[1];
        let at = 0;
        for (const p of pending) {
          const n = p.inputs.length;
          p.resolve({
            ...out,
            data: out.data.slice(at * d, (at + n) * d),
            dims: [n, d],
            tokenCounts: out.tokenCounts.slice(at, at + n),
          });
          at += n;
        }
      } catch (e) {
        for (const p of pending) p.reject(e);
      } finally {
        this.#waiting -= all.length;
      }
    });
  }

  /** Runs `f` in the model's turn (for token and word vectors, not batched). */
  exclusive<T>(f: () => Promise<T>): Promise<T> {
    const r = this.#chain.then(f);
    this.#chain = r.catch(() => {});
    return r;
  }
}
