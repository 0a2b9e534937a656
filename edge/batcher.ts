/**
 * Dynamic batching: concurrent requests with the same embedding options are queued for
 * up to `maxWaitMs` and run as one `embed` call (which sorts by length and splits by a
 * token budget), so several small requests share `session.run` calls. The model runs
 * one job at a time. The queue is bounded: past `maxQueue` waiting inputs a request is
 * refused at once with 503 and `Retry-After` instead of piling up memory.
 *
 * No progress depends on one request staying alive. On Cloudflare Workers a request
 * that has answered (or whose client went away) loses its timers and pending
 * continuations, so a module-wide flush timer or promise chain owned by one request can
 * strand every request behind it. Here every waiting request sets its own timer for its
 * group's deadline and, whenever the model is free, runs the next ready job itself; a
 * running job is handed to the request's `keepAlive` (the Worker's `waitUntil`) so that
 * it finishes even if that request has answered. A request that gives up (its `signal`
 * aborts, e.g. on the request timeout) leaves the queue unless its job already runs.
 *
 * @example
 * ```ts
 * import { Batcher } from "./batcher.ts";
 * // const batcher = new Batcher(embedder, { maxWaitMs: 5, maxBatchInputs: 64, maxQueue: 1024 });
 * // const out = await batcher.embed(["I love Paris."], { pooling: "mean" });
 * ```
 * @module
 */
import type { Embedder, Embeddings, EmbedInput, EmbedOptions } from "../src/model/embedder.ts";
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

/** What a request lends the batcher: when it gives up, and how to outlive its answer. */
export interface Turn {
  /** Aborts when the request no longer wants an answer (its inputs leave the queue). */
  signal?: AbortSignal;
  /** Keeps the request's context alive until a job it runs is done (`waitUntil`). */
  keepAlive?: (work: Promise<unknown>) => void;
  /**
   * When the request stops wanting an answer (ms since the epoch): a job that starts after
   * it leaves the request out and answers it with `expired()`. Timers are late on a busy
   * event loop (inference runs inline) and on workerd, so this check at the start of the
   * batch is what keeps a timed-out request's inputs out of the model.
   */
  deadline?: number;
  /** The error for a request whose deadline passed before its batch started. */
  expired?: () => unknown;
  /** Set by the batcher when the request's job starts: from then on its answer is owed
   * (its inputs run), and a timer that fires late must not turn it into a timeout. */
  started?: boolean;
}

/** What is queued: encoded texts (admission tokenized them) or token ids. */
type Input = EmbedInput;

/** One waiting request. */
interface Waiter {
  inputs: readonly Input[];
  turn?: Turn;
  state: "grouped" | "ready" | "running" | "done";
  group?: Group;
  job?: Job;
  ok?: boolean;
  value?: unknown;
  wake?: () => void;
}

/** Requests with the same options, waiting for more company until `deadline`. */
interface Group {
  key: string;
  options: EmbedOptions;
  members: Waiter[];
  size: number;
  deadline: number;
}

/** One turn of the model: a batch of embed requests, or one exclusive task. */
interface Job {
  members: Waiter[];
  options?: EmbedOptions;
  task?: () => Promise<unknown>;
}

/** Queues and groups embed requests. */
export class Batcher {
  readonly options: Required<BatcherOptions>;
  #groups = new Map<string, Group>();
  #ready: Job[] = [];
  /** Jobs running now; a session pool takes several at once (`session.capacity`). */
  #running = 0;
  #waiters = new Set<Waiter>();
  #waiting = 0;

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
  async embed(
    inputs: readonly Input[],
    options: EmbedOptions,
    turn: Turn = {},
  ): Promise<Embeddings> {
    this.#admit(inputs.length);
    turn.signal?.throwIfAborted();
    const w: Waiter = { inputs, turn, state: "grouped" };
    this.#waiting += inputs.length;
    if (!this.options.enabled) this.#enqueue({ members: [w], options });
    else {
      const key = JSON.stringify([
        options.pooling,
        options.normalize,
        options.truncate,
        options.maxLength,
        options.layers,
        options.layerMix,
      ]);
      let g = this.#groups.get(key);
      if (!g) {
        g = { key, options, members: [], size: 0, deadline: Date.now() + this.options.maxWaitMs };
        this.#groups.set(key, g);
      }
      g.members.push(w);
      g.size += inputs.length;
      w.group = g;
      if (g.size >= this.options.maxBatchInputs) this.#flush(g);
    }
    return await this.#wait(w, turn) as Embeddings;
  }

  /**
   * Runs `task` in the model's turn (for token and word vectors, not batched); its
   * `inputs` count against the queue bound like batched ones.
   */
  async exclusive<T>(task: () => Promise<T>, turn: Turn = {}, inputs = 1): Promise<T> {
    this.#admit(inputs);
    turn.signal?.throwIfAborted();
    const w: Waiter = { inputs: new Array(inputs), turn, state: "ready" };
    this.#waiting += inputs;
    this.#enqueue({ members: [w], task });
    return await this.#wait(w, turn) as T;
  }

  /**
   * Admission against the queue bound: a request that can never fit is a 413 (retrying
   * cannot help), one that does not fit now a 503 with Retry-After.
   */
  #admit(n: number): void {
    const max = this.options.maxQueue;
    if (n > max) {
      throw new HttpError(
        413,
        `the request has ${n} inputs; this server queues at most ${max} (EMBEDGE_MAX_QUEUE): send fewer per request`,
        "invalid_request_error",
        "inputs",
      );
    }
    if (this.#waiting + n > max) {
      throw new HttpError(
        503,
        `server busy: ${this.#waiting} inputs queued (limit ${max}); retry shortly`,
        "overloaded",
        null,
        { "retry-after": "1" },
      );
    }
  }

  /** Waits for `w`'s answer, running ready jobs whenever the model is free. */
  async #wait(w: Waiter, turn: Turn): Promise<unknown> {
    this.#waiters.add(w);
    const giveUp = () => this.#withdraw(w, turn.signal?.reason);
    turn.signal?.addEventListener("abort", giveUp, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      while (w.state !== "done") {
        this.#flushDue();
        if (this.#running < (this.embedder.session.capacity ?? 1) && this.#ready.length) {
          await this.#runNext(turn);
          continue;
        }
        await new Promise<void>((resolve) => {
          w.wake = resolve;
          const g = w.group;
          if (g) {
            // this request's own timer: the group's first request may be gone by then
            timer = setTimeout(() => {
              if (g === w.group) this.#flush(g);
              resolve();
            }, Math.max(0, g.deadline - Date.now()));
          }
        });
        clearTimeout(timer);
        w.wake = undefined;
      }
    } finally {
      clearTimeout(timer);
      turn.signal?.removeEventListener("abort", giveUp);
      this.#waiters.delete(w);
    }
    if (!w.ok) throw w.value;
    return w.value;
  }

  #enqueue(job: Job): void {
    for (const w of job.members) {
      w.state = "ready";
      w.group = undefined;
      w.job = job;
    }
    this.#ready.push(job);
  }

  #flush(g: Group): void {
    if (this.#groups.get(g.key) === g) this.#groups.delete(g.key);
    this.#enqueue({ members: g.members, options: g.options });
  }

  /** Flushes the groups whose deadline has passed. */
  #flushDue(): void {
    const now = Date.now();
    for (const g of this.#groups.values()) if (g.deadline <= now) this.#flush(g);
  }

  /** Runs the next ready job in the caller's turn; wakes every waiter when it is done. */
  async #runNext(turn: Turn): Promise<void> {
    const job = this.#ready.shift()!;
    this.#running++;
    const work = this.#execute(job);
    turn.keepAlive?.(work);
    try {
      await work;
    } finally {
      this.#running--;
      for (const w of this.#waiters) w.wake?.();
    }
  }

  /** Runs one job and settles its members; never throws. */
  async #execute(job: Job): Promise<void> {
    // members whose deadline passed while they waited leave now, before the model runs
    const now = Date.now();
    const members = job.members.filter((w) => {
      const t = w.turn;
      if (t?.deadline === undefined || now < t.deadline) return true;
      this.#settle(w, false, t.expired?.() ?? new Error("the request's deadline passed"));
      return false;
    });
    if (!members.length) return;
    for (const w of members) {
      w.state = "running";
      if (w.turn) w.turn.started = true;
    }
    try {
      if (job.task) {
        this.#settle(members[0], true, await job.task());
        return;
      }
      const all = members.flatMap((w) => w.inputs);
      let out: Embeddings;
      try {
        out = await this.embedder.embed(all, job.options!);
      } catch (e) {
        if (members.length === 1) throw e;
        // one member's failure must not change another's answer: each runs on its own,
        // and only the one at fault gets the error (naming its own fields)
        for (const w of members) await this.#execute({ members: [w], options: job.options });
        return;
      }
      this.metrics?.batch(all.length, out.tokenCounts.reduce((a, b) => a + b, 0));
      const d = out.dims[1];
      let at = 0;
      for (const w of members) {
        const n = w.inputs.length;
        this.#settle(w, true, {
          ...out,
          data: out.data.slice(at * d, (at + n) * d),
          dims: [n, d],
          tokenCounts: out.tokenCounts.slice(at, at + n),
        });
        at += n;
      }
    } catch (e) {
      for (const w of members) this.#settle(w, false, e);
    }
  }

  #settle(w: Waiter, ok: boolean, value: unknown): void {
    if (w.state === "done") return;
    w.state = "done";
    w.ok = ok;
    w.value = value;
    this.#waiting -= w.inputs.length;
    w.wake?.();
  }

  /** Takes a request that gave up out of its group or ready job (not out of a running one). */
  #withdraw(w: Waiter, reason: unknown): void {
    if (w.state === "grouped" && w.group) {
      const g = w.group;
      g.members.splice(g.members.indexOf(w), 1);
      g.size -= w.inputs.length;
      if (!g.members.length && this.#groups.get(g.key) === g) this.#groups.delete(g.key);
    } else if (w.state === "ready" && w.job) {
      w.job.members.splice(w.job.members.indexOf(w), 1);
    } else return;
    w.group = undefined;
    this.#settle(w, false, reason ?? new Error("the request gave up"));
  }
}
