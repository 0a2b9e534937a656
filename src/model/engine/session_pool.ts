/**
 * A session pool: the model loaded in N Deno workers, behind the same `ModelSession`
 * interface as one inline session, so that inference runs off the main thread (timers,
 * `/health` and new requests keep running while the model computes) and up to N runs go
 * at once. The main thread sends each run's int64 tensors (copied: the caller keeps using
 * the mask) and receives the outputs' buffers as transferables (moved, not copied).
 *
 * Costs: each worker holds its own copy of the model (N × the weights in memory) and
 * loads it in parallel at start; a run pays two message hops (well under a millisecond
 * next to a model run). Deno only (it uses `Worker` with module scripts); on Cloudflare
 * Workers there are no threads and the session runs inline.
 *
 * @example
 * ```ts
 * import { createSessionPool } from "./session_pool.ts";
 * const bytes = await Deno.readFile("../shared/models/embedge-mini-mlm/onnx/model.onnx");
 * const pool = await createSessionPool(bytes, { layers: 4, backend: "wasm" }, 2);
 * console.log(pool.capacity, pool.hiddenOutput); // 2 last_hidden_state
 * await pool.release();
 * ```
 * @module
 */
import { EmbedgeError, InferenceError, ModelLoadError } from "../../errors.ts";
import type { ModelSession, SessionOptions, SessionOutput } from "./session.ts";
import type { PoolReply, PoolRequest } from "./session_worker.ts";

/**
 * Deno's web `Worker`, taken when this module loads: onnxruntime-web's Emscripten loader,
 * seeing `process.versions.node` (which Deno has), replaces `globalThis.Worker` with
 * `node:worker_threads`' Worker the first time it initializes, and that one never calls
 * `onmessage` (found when a pool started after an inline WASM session never loaded).
 */
const WebWorker = globalThis.Worker;

/** Options of the pool itself (the session's own are `SessionOptions`). */
export interface PoolOptions {
  /**
   * Longest one run may take in a worker, in ms (default 300,000). Past it the worker is
   * terminated and replaced (a new one loads the model) and the run rejects with an
   * `InferenceError`: a run that hangs (onnxruntime-web with several threads has been
   * seen not to finish a 48 × 128 batch in 120 s) must not hold a worker for ever. The
   * default leaves room for a full 16,384-token batch of a BERT-base on one slow thread.
   */
  runTimeoutMs?: number;
}

/** A loaded pool: a `ModelSession` that runs `capacity` batches at once. */
export interface SessionPool extends ModelSession {
  capacity: number;
  /** Workers started to replace one that died or passed the run time limit. */
  readonly replaced: number;
  /** The workers now in the pool (diagnostics and tests; the pool owns them). */
  workers(): readonly Worker[];
}

interface Member {
  worker: Worker;
  /** Running, or loading the model: takes no other run. */
  busy: boolean;
  /** The run it is doing (its id), if any. */
  running?: number;
  /** The running run's time limit. */
  timer?: ReturnType<typeof setTimeout>;
  /** Set when the worker died or failed to load: it takes no more runs. */
  dead?: Error;
}

type Facts = Extract<PoolReply, { type: "loaded" }>["facts"];

/** Rebuilds a worker's error on the main thread (typed errors keep their code and field). */
function errorOf(reply: Extract<PoolReply, { type: "failed" }>): Error {
  if (reply.code) return new EmbedgeError(reply.message, reply.code, reply.param);
  return new Error(reply.message);
}

/**
 * Loads the model in `size` workers; rejects with the first worker's load error.
 *
 * Threads: a native worker gets its share of the cores (`cores / size`: N sessions each
 * using every core would only contend); a WASM worker gets one thread, which is what
 * embedge's kernels run on (with more, onnxruntime-web runs multi-threaded instead: 1.7 s
 * on the kernels against no answer in 120 s for 48 × 128 tokens on 2 cores). Explicit
 * `threads` are passed through as asked.
 */
export async function createSessionPool(
  bytes: Uint8Array,
  options: SessionOptions,
  size: number,
  poolOptions: PoolOptions = {},
): Promise<SessionPool> {
  if (!Number.isInteger(size) || size < 1) {
    throw new ModelLoadError(`a session pool needs at least one worker, not ${size}`, "workers");
  }
  const runTimeoutMs = poolOptions.runTimeoutMs ?? 300_000;
  if (!(typeof runTimeoutMs === "number" && runTimeoutMs > 0)) {
    throw new ModelLoadError("runTimeoutMs must be a positive number of ms", "runTimeoutMs");
  }
  if (typeof (globalThis as { Deno?: unknown }).Deno === "undefined" || !WebWorker) {
    throw new ModelLoadError(
      "a session pool needs Deno (its module workers); elsewhere load without workers",
      "workers",
    );
  }
  if (options.wasm) {
    throw new ModelLoadError(
      "a precompiled ORT module (Workers) cannot be used in a pool",
      "workers",
    );
  }
  const { wasm: _wasm, ...sent } = options;
  // the worker knows which runtime loads (auto): it takes the cores' share only for native
  const nativeThreads = sent.threads
    ? undefined
    : Math.max(1, Math.floor((navigator.hardwareConcurrency || 1) / size));
  if (!sent.threads) delete sent.threads;
  const crew = new Crew(bytes, sent, nativeThreads, runTimeoutMs);
  let facts: Facts;
  try {
    const loads = Array.from({ length: size }, () => crew.start());
    for (const load of loads) load.catch(() => {}); // the first failure is the one thrown
    facts = (await Promise.all(loads))[0];
  } catch (e) {
    crew.release(e as Error);
    throw e;
  }
  return {
    ...facts,
    capacity: size,
    get replaced() {
      return crew.replaced;
    },
    workers: () => crew.members.map((m) => m.worker),
    run: (ids, mask, types, batch, seq, states) =>
      crew.run({ type: "run", id: 0, ids, mask, types, batch, seq, states }),
    release() {
      crew.release(new InferenceError("the session pool was released", "workers"));
      return Promise.resolve();
    },
  };
}

/** The pool's workers: starting, reserving, timing, retiring and replacing them. */
class Crew {
  /** The live workers (loading or loaded). */
  members: Member[] = [];
  /** Workers started to replace one that died or passed the run time limit. */
  replaced = 0;
  #pending = new Map<number, { resolve(o: SessionOutput): void; reject(e: Error): void }>();
  /** Runs waiting for a free worker. */
  #idle: (() => void)[] = [];
  #next = 0;
  #released = false;
  #lastError: Error = new InferenceError("the session pool has no worker left", "workers");

  constructor(
    readonly bytes: Uint8Array,
    readonly options: Omit<SessionOptions, "wasm">,
    readonly nativeThreads: number | undefined,
    readonly runTimeoutMs: number,
  ) {}

  /** Starts a worker loading the model (busy until it has loaded); resolves with its facts. */
  start(): Promise<Facts> {
    const worker = new WebWorker(new URL("./session_worker.ts", import.meta.url), {
      type: "module",
    });
    const member: Member = { worker, busy: true };
    let loaded = false;
    const ready = new Promise<Facts>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<PoolReply>) => {
        const m = event.data;
        if (m.type === "loaded") {
          loaded = true;
          member.busy = false;
          resolve(m.facts);
        } else if (m.type === "failed" && m.id === undefined) {
          const e = errorOf(m);
          this.#retire(member, e);
          reject(e);
        } else if (m.type === "result" || m.type === "failed") this.#answer(member, m);
      };
      worker.onerror = (event) => {
        // a worker that died fails its own run only; a loaded one is replaced
        event.preventDefault();
        if (member.dead) return;
        const message = `a session worker failed: ${event.message}`;
        if (loaded) this.#replace(member, new InferenceError(message, "workers"));
        else {
          const e = new ModelLoadError(message, "workers");
          this.#retire(member, e);
          reject(e);
        }
        this.#wakeAll(); // waiting runs look again
      };
    });
    this.members.push(member);
    worker.postMessage(
      {
        type: "load",
        bytes: this.bytes,
        options: this.options,
        nativeThreads: this.nativeThreads,
      } satisfies PoolRequest,
    );
    return ready;
  }

  /** Runs one batch in a free worker, within the time limit. */
  async run(request: Extract<PoolRequest, { type: "run" }>): Promise<SessionOutput> {
    const member = await this.#reserve();
    const id = request.id = this.#next++;
    return await new Promise<SessionOutput>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      member.running = id;
      member.timer = setTimeout(() => {
        const e = new InferenceError(
          `a model run (${request.batch} × ${request.seq} tokens) took longer than ${this.runTimeoutMs} ms; its worker was replaced`,
          "workers",
        );
        this.#replace(member, e);
      }, this.runTimeoutMs);
      member.worker.postMessage(request satisfies PoolRequest);
    });
  }

  /** Ends every worker; waiting and running runs reject with `error`. */
  release(error: Error): void {
    this.#released = true;
    for (const m of [...this.members]) this.#retire(m, error);
    this.#wakeAll();
  }

  /** A run's answer from `member`, which is free again. */
  #answer(member: Member, m: Extract<PoolReply, { type: "result" | "failed" }>): void {
    const p = this.#pending.get(m.id!);
    this.#pending.delete(m.id!);
    clearTimeout(member.timer);
    member.busy = false;
    member.running = undefined;
    this.#idle.shift()?.();
    if (!p) return; // its run was given up (time limit) before this answer came
    if (m.type === "failed") p.reject(errorOf(m));
    else {
      p.resolve({
        hidden: m.hidden,
        hiddenSize: m.hiddenSize,
        ...(m.pooler ? { pooler: m.pooler } : {}),
        ...(m.states ? { states: m.states } : {}),
      });
    }
  }

  /** A free worker, reserved for the caller (busy from this tick on). */
  async #reserve(): Promise<Member> {
    for (;;) {
      if (this.#released) throw new InferenceError("the session pool was released", "workers");
      if (!this.members.length) throw this.#lastError;
      const m = this.members.find((m) => !m.busy);
      if (m) {
        m.busy = true;
        return m;
      }
      await new Promise<void>((resolve) => this.#idle.push(resolve));
    }
  }

  #wakeAll(): void {
    for (const wake of this.#idle.splice(0)) wake();
  }

  /** Ends `member`'s run (if any) with `error`; the member takes no more runs. */
  #retire(member: Member, error: Error): void {
    member.dead = this.#lastError = error;
    member.busy = true;
    clearTimeout(member.timer);
    member.worker.terminate();
    const at = this.members.indexOf(member);
    if (at >= 0) this.members.splice(at, 1);
    if (member.running !== undefined) {
      this.#pending.get(member.running)?.reject(error);
      this.#pending.delete(member.running);
      member.running = undefined;
    }
  }

  /**
   * Replaces a worker that died or hung after it had loaded: the pool keeps its capacity.
   * A replacement that fails to load is not replaced again (the model loaded before, so
   * something else is wrong); runs go to the others, and fail once none is left.
   */
  #replace(member: Member, error: Error): void {
    this.#retire(member, error);
    if (this.#released) return;
    this.replaced++;
    const wake = () => this.#wakeAll();
    this.start().then(wake, wake);
    this.#wakeAll();
  }
}
