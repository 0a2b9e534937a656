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
import { EmbedgeError, ModelLoadError } from "../errors.ts";
import type { ModelSession, SessionOptions, SessionOutput } from "./session.ts";
import type { PoolReply, PoolRequest } from "./session_worker.ts";

/**
 * Deno's web `Worker`, taken when this module loads: onnxruntime-web's Emscripten loader,
 * seeing `process.versions.node` (which Deno has), replaces `globalThis.Worker` with
 * `node:worker_threads`' Worker the first time it initializes, and that one never calls
 * `onmessage` (found when a pool started after an inline WASM session never loaded).
 */
const WebWorker = globalThis.Worker;

interface Member {
  worker: Worker;
  busy: boolean;
  /** The run it is doing (its id), if any. */
  running?: number;
  /** Set when the worker died: it takes no more runs. */
  dead?: Error;
}

/** Rebuilds a worker's error on the main thread (typed errors keep their code and field). */
function errorOf(reply: Extract<PoolReply, { type: "failed" }>): Error {
  if (reply.code) return new EmbedgeError(reply.message, reply.code, reply.param);
  return new Error(reply.message);
}

/** Loads the model in `size` workers; rejects with the first worker's load error. */
export async function createSessionPool(
  bytes: Uint8Array,
  options: SessionOptions,
  size: number,
): Promise<ModelSession & { capacity: number }> {
  if (!Number.isInteger(size) || size < 1) {
    throw new ModelLoadError(`a session pool needs at least one worker, not ${size}`, "workers");
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
  // the cores shared out: N native sessions each using every core would only contend
  if (sent.threads === undefined || sent.threads === 0) {
    sent.threads = Math.max(1, Math.floor((navigator.hardwareConcurrency || 1) / size));
  }
  const members: Member[] = [];
  const pending = new Map<number, { resolve(o: SessionOutput): void; reject(e: Error): void }>();
  const idle: (() => void)[] = []; // runs waiting for a free worker
  let next = 0;
  const start = () =>
    new Promise<[Member, Extract<PoolReply, { type: "loaded" }>["facts"]]>((resolve, reject) => {
      const worker = new WebWorker(new URL("./session_worker.ts", import.meta.url), {
        type: "module",
      });
      const member: Member = { worker, busy: false };
      worker.onmessage = (event: MessageEvent<PoolReply>) => {
        const m = event.data;
        if (m.type === "loaded") resolve([member, m.facts]);
        else if (m.type === "failed" && m.id === undefined) reject(errorOf(m));
        else if (m.type === "result" || m.type === "failed") {
          const p = pending.get(m.id!)!;
          pending.delete(m.id!);
          member.busy = false;
          member.running = undefined;
          idle.shift()?.();
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
        // a worker that died fails its own run only; the others keep serving
        event.preventDefault();
        const e = new ModelLoadError(`a session worker failed: ${event.message}`, "workers");
        member.dead = e;
        worker.terminate();
        if (member.running !== undefined) {
          pending.get(member.running)?.reject(e);
          pending.delete(member.running);
        }
        for (const wake of idle.splice(0)) wake(); // waiting runs look again
        reject(e);
      };
      members.push(member);
      worker.postMessage({ type: "load", bytes, options: sent } satisfies PoolRequest);
    });
  let facts: Extract<PoolReply, { type: "loaded" }>["facts"];
  try {
    facts = (await Promise.all(Array.from({ length: size }, start)))[0][1];
  } catch (e) {
    for (const m of members) m.worker.terminate();
    throw e;
  }
  /** A free worker, reserved for the caller (busy from this tick on). */
  const reserve = async (): Promise<Member> => {
    for (;;) {
      const alive = members.filter((m) => !m.dead);
      if (!alive.length) throw members[0].dead!;
      const m = alive.find((m) => !m.busy);
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
    async run(ids, mask, types, batch, seq, states) {
      const member = await reserve();
      const id = next++;
      return await new Promise<SessionOutput>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        member.running = id;
        member.worker.postMessage(
          { type: "run", id, ids, mask, types, batch, seq, states } satisfies PoolRequest,
        );
      });
    },
    release() {
      for (const m of members) m.worker.terminate();
      return Promise.resolve();
    },
  };
}
