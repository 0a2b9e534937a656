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
import { EmbedgeError, InferenceError, ModelLoadError } from "../errors.ts";
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
  const members: Member[] = [];
  const pending = new Map<number, { resolve(o: SessionOutput): void; reject(e: Error): void }>();
  const idle: (() => void)[] = []; // runs waiting for a free worker
  let next = 0, replaced = 0, released = false;
  let lastError: Error = new InferenceError("the session pool has no worker left", "workers");
  const wakeAll = () => {
    for (const wake of idle.splice(0)) wake();
  };
  /** Ends `member`'s run (if any) with `error`; the member takes no more runs. */
  const retire = (member: Member, error: Error) => {
    member.dead = lastError = error;
    member.busy = true;
    clearTimeout(member.timer);
    member.worker.terminate();
    members.splice(members.indexOf(member), 1);
    if (member.running !== undefined) {
      pending.get(member.running)?.reject(error);
      pending.delete(member.running);
      member.running = undefined;
    }
  };
  /**
   * Replaces a worker that died or hung after it had loaded: the pool keeps its capacity.
   * A replacement that fails to load is not replaced again (the model loaded before, so
   * something else is wrong); runs go to the others, and fail once none is left.
   */
  const replace = (member: Member, error: Error) => {
    retire(member, error);
    if (released) return;
    replaced++;
    start().ready.then(wakeAll, wakeAll);
    wakeAll();
  };
  /** Starts a worker loading the model; it is busy until it has loaded. */
  const start = () => {
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
          retire(member, e);
          reject(e);
        } else if (m.type === "result" || m.type === "failed") {
          const p = pending.get(m.id!);
          pending.delete(m.id!);
          clearTimeout(member.timer);
          member.busy = false;
          member.running = undefined;
          idle.shift()?.();
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
      };
      worker.onerror = (event) => {
        // a worker that died fails its own run only; a loaded one is replaced
        event.preventDefault();
        if (member.dead) return;
        const message = `a session worker failed: ${event.message}`;
        if (loaded) replace(member, new InferenceError(message, "workers"));
        else {
          const e = new ModelLoadError(message, "workers");
          retire(member, e);
          reject(e);
        }
        wakeAll(); // waiting runs look again
      };
    });
    members.push(member);
    worker.postMessage(
      { type: "load", bytes, options: sent, nativeThreads } satisfies PoolRequest,
    );
    return { member, ready };
  };
  let facts: Facts;
  try {
    const loads = Array.from({ length: size }, () => start().ready);
    for (const load of loads) load.catch(() => {}); // the first failure is the one thrown
    facts = (await Promise.all(loads))[0];
  } catch (e) {
    released = true;
    for (const m of [...members]) retire(m, e as Error);
    throw e;
  }
  /** A free worker, reserved for the caller (busy from this tick on). */
  const reserve = async (): Promise<Member> => {
    for (;;) {
      if (released) throw new InferenceError("the session pool was released", "workers");
      if (!members.length) throw lastError;
      const m = members.find((m) => !m.busy);
      if (m) {
        m.busy = true;
        return m;
      }
      await new Promise<void>((resolve) => idle.push(resolve));
    }
  };
  return {
    ...facts,
    capacity: size,
    get replaced() {
      return replaced;
    },
    workers: () => members.map((m) => m.worker),
    async run(ids, mask, types, batch, seq, states) {
      const member = await reserve();
      const id = next++;
      return await new Promise<SessionOutput>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        member.running = id;
        member.timer = setTimeout(() => {
          const e = new InferenceError(
            `a model run (${batch} × ${seq} tokens) took longer than ${runTimeoutMs} ms; its worker was replaced`,
            "workers",
          );
          replace(member, e);
        }, runTimeoutMs);
        member.worker.postMessage(
          { type: "run", id, ids, mask, types, batch, seq, states } satisfies PoolRequest,
        );
      });
    },
    release() {
      released = true;
      const e = new InferenceError("the session pool was released", "workers");
      for (const m of [...members]) retire(m, e);
      wakeAll();
      return Promise.resolve();
    },
  };
}
