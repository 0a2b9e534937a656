/**
 * Dynamic batching: concurrent requests whose options shape the model run alike are
 * queued for up to `maxWaitMs` and run together (sorted by length and split by a token
 * budget), so several small requests share `session.run` calls. Poolings, normalization
 * and layers do not split them: one forward pass serves each request's own (keys.ts;
 * `Embedder.embedMany`). The queue is
 * bounded: past `maxQueue` waiting inputs a request is refused at once with 503 and
 * `Retry-After` instead of piling up memory.
 *
 * Fair turns instead of first come, first served: a job's inputs, sorted by length, are
 * cut into parts of at most `partTokens` cells (rows × padded length), and the jobs that
 * wait take turns part by part (round-robin; a job runs one part at a time, each part on
 * every worker of a pool). A one-sentence request that arrives while 256 × 128 tokens run
 * waits for one part, not for the whole bulk request (TEI's FIFO makes it wait for all);
 * and a job whose requests all gave up (timeout, client gone) stops after its running
 * part instead of holding the model for seconds of answers nobody will read.
 *
 * No progress depends on one request staying alive. On Cloudflare Workers a request
 * that has answered (or whose client went away) loses its timers and pending
 * continuations, so a module-wide flush timer or promise chain owned by one request can
 * strand every request behind it. Here every waiting request sets its own timer for its
 * group's deadline and, whenever the model is free, runs the next ready job itself; a
 * running job is handed to the request's `keepAlive` (the Worker's `waitUntil`) so that
 * it finishes even if that request has answered. A request that gives up (its `signal`
 * aborts, e.g. on the request timeout) leaves the queue, or its job's remaining parts.
 *
 * The parts: this file (the queue: admission, groups, turns, withdrawals), jobs.ts (the
 * `Turn` a request lends, and the queue's records), keys.ts (which options group
 * requests), parts.ts (cutting an embed job into parts by length and running them).
 *
 * @example
 * ```ts
 * import { Batcher } from "./batcher.ts";
 * import { Embedder } from "../../src/model/embedder.ts";
 * const embedder = await Embedder.load("../shared/models/embedge-mini-mlm");
 * const batcher = new Batcher(embedder, { maxWaitMs: 5, partTokens: 4096 });
 * const out = await batcher.embed(["I love Paris."], { pooling: "mean" });
 * console.log(out.dims); // [1, 256]
 * await embedder.close();
 * ```
 * @module
 */
import type { Embedder, Embeddings, EmbedOptions } from "../../src/model/embedder.ts";
import { HttpError } from "../errors.ts";
import { InputError } from "../../src/errors.ts";
import type { Metrics } from "../metrics.ts";
import type { Group, Input, Job, Turn, Waiter } from "./jobs.ts";
import { runKey } from "./keys.ts";
import { JobParts } from "./parts.ts";

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
  /**
   * Most cells (rows × padded length) of one part of a job (default 4,096): jobs take
   * turns part by part, so a request waits for at most about one part per other job.
   * Smaller parts answer small requests sooner and cost a bulk request more per-run
   * overhead (see bench/fairness.ts for the measured trade on the mini model).
   */
  partTokens?: number;
}

/** Queues and groups embed requests. */
export class Batcher {
  readonly options: Required<BatcherOptions>;
  #groups = new Map<string, Group>();
  /** Jobs waiting for a turn, in turn order; a job whose part runs is not in it. */
  #ready: Job[] = [];
  /** Jobs running now; a session pool takes several at once (`session.capacity`). */
  #running = 0;
  #waiters = new Set<Waiter>();
  #waiting = 0;
  #parts: JobParts;

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
      partTokens: options.partTokens ?? 4096,
    };
    if (!(Number.isInteger(this.options.partTokens) && this.options.partTokens >= 1)) {
      throw new InputError("partTokens must be a positive integer", "partTokens");
    }
    this.#parts = new JobParts(
      embedder,
      this.options.partTokens,
      (w, ok, value) => this.#settle(w, ok, value),
      metrics,
    );
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
    const w: Waiter = { inputs, options, turn, state: "grouped" };
    this.#waiting += inputs.length;
    if (!this.options.enabled) this.#enqueue({ members: [w], options });
    else {
      const key = runKey(options);
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
          // started, not awaited: the loop goes on to start another job's turn while this
          // one runs (a pool takes `capacity` at once); its end wakes every waiter
          this.#runNext(turn);
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

  /**
   * Gives the next ready job a turn in the caller's context: an exclusive task or the
   * whole of a job that fits one part, else its next part, after which it rejoins the
   * queue behind the jobs that arrived meanwhile. Wakes every waiter when the turn ends.
   */
  async #runNext(turn: Turn): Promise<void> {
    const job = this.#ready.shift()!;
    this.#running++;
    const work = this.#turn(job);
    turn.keepAlive?.(work);
    try {
      await work;
    } finally {
      this.#running--;
      if (
        job.parts && job.taken! < job.parts.length && job.members.some((w) => w.state !== "done")
      ) {
        this.#ready.push(job);
      }
      for (const w of this.#waiters) w.wake?.();
    }
  }

  /** One turn of a job; never throws (a failure is its members' answer). */
  async #turn(job: Job): Promise<void> {
    try {
      if (!job.parts && !this.#start(job)) return;
      if (job.task) {
        this.#settle(job.members[0], true, await job.task());
        return;
      }
      if (job.taken! < job.parts!.length) {
        // rows of requests that left meanwhile do not run
        const part = job.parts![job.taken!++].filter((r) => r.member.state !== "done");
        if (part.length) await this.#parts.runPart(job, part);
      }
      for (const w of job.members) await this.#parts.finish(job, w);
    } catch (e) {
      for (const w of job.members) this.#settle(w, false, e);
    }
  }

  /**
   * The job's first turn: members whose deadline passed while they waited leave before
   * the model runs; the rest start (their answers are owed from now on) and an embed
   * job's rows are sorted by length and cut into parts. False when nobody is left.
   */
  #start(job: Job): boolean {
    const now = Date.now();
    job.members = job.members.filter((w) => {
      const t = w.turn;
      if (t?.deadline === undefined || now < t.deadline) return true;
      this.#settle(w, false, t.expired?.() ?? new Error("the request's deadline passed"));
      return false;
    });
    job.parts = [];
    job.taken = 0;
    if (!job.members.length) return false;
    for (const w of job.members) {
      w.state = "running";
      if (w.turn) w.turn.started = true;
    }
    if (job.task) return true;
    this.#parts.cutIntoParts(job);
    return true;
  }

  /** Takes a job nobody waits for out of the turn order (if it is there). */
  #unready(job: Job): void {
    const at = this.#ready.indexOf(job);
    if (at >= 0) this.#ready.splice(at, 1);
  }

  #settle(w: Waiter, ok: boolean, value: unknown): void {
    if (w.state === "done") return;
    w.state = "done";
    w.ok = ok;
    w.value = value;
    this.#waiting -= w.inputs.length;
    w.wake?.();
  }

  /**
   * Takes a request that gave up out of its group or job. Out of a running job, its rows
   * in the parts still to come are skipped (the running part finishes: a part is short);
   * a job nobody waits for any more gets no further turn.
   */
  #withdraw(w: Waiter, reason: unknown): void {
    if (w.state === "grouped" && w.group) {
      const g = w.group;
      g.members.splice(g.members.indexOf(w), 1);
      g.size -= w.inputs.length;
      if (!g.members.length && this.#groups.get(g.key) === g) this.#groups.delete(g.key);
    } else if (w.state === "ready" && w.job) {
      w.job.members.splice(w.job.members.indexOf(w), 1);
      if (!w.job.members.length) this.#unready(w.job);
    } else if (w.state === "running" && w.job) {
      if (w.job.members.every((m) => m === w || m.state === "done")) this.#unready(w.job);
    } else return;
    w.group = undefined;
    this.#settle(w, false, reason ?? new Error("the request gave up"));
  }
}
