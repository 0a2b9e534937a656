/**
 * The inside of one worker of a session pool (session_pool.ts): it loads the model with
 * `createSession` and runs what the main thread sends, returning the outputs' buffers
 * as transferables (no copy). Messages: `load` → `loaded` (the session's facts) or
 * `failed`; `run` → `result` or `failed`, each with the run's `id`; `release` → `released`.
 *
 * @example
 * ```ts
 * // started by session_pool.ts, never imported:
 * const url = new URL("./session_worker.ts", import.meta.url);
 * console.log(url.pathname.endsWith("session_worker.ts")); // true
 * ```
 * @module
 */
import { createSession, type ModelSession, type SessionOptions } from "./session.ts";
import { EmbedgeError } from "../../errors.ts";
import { loadRuntime } from "./runtimes.ts";

/** What the main thread sends. */
export type PoolRequest =
  | {
    type: "load";
    bytes: Uint8Array;
    options: Omit<SessionOptions, "wasm">;
    /** Threads to ask for when the runtime turns out native and `options` names none. */
    nativeThreads?: number;
  }
  | {
    type: "run";
    id: number;
    ids: BigInt64Array;
    mask: BigInt64Array;
    types: BigInt64Array;
    batch: number;
    seq: number;
    states?: readonly number[];
  }
  | { type: "release" };

/** What a worker answers. */
export type PoolReply =
  | {
    type: "loaded";
    facts: Omit<ModelSession, "run" | "release">;
  }
  | {
    type: "result";
    id: number;
    hidden: Float32Array;
    hiddenSize: number;
    pooler?: Float32Array;
    states?: Float32Array[];
  }
  | { type: "failed"; id?: number; message: string; code?: string; param?: string }
  | { type: "released" };

let session: ModelSession | undefined;

/** The worker's global scope (Deno's workers have no `self` binding here). */
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<PoolRequest>) => void) | null;
  postMessage(message: PoolReply, options?: { transfer: Transferable[] }): void;
};

function failure(id: number | undefined, e: unknown): PoolReply {
  return e instanceof EmbedgeError
    ? { type: "failed", id, message: e.message, code: e.code, param: e.param }
    : { type: "failed", id, message: String((e as Error)?.message ?? e) };
}

scope.onmessage = async (event: MessageEvent<PoolRequest>) => {
  const m = event.data;
  if (m.type === "load") {
    try {
      const options = { ...m.options };
      // native shares the cores among the pool's workers; WASM stays on one thread (the
      // kernels' condition), whatever the core count
      if (m.nativeThreads && !options.threads) {
        const runtime = await loadRuntime(options.backend ?? "auto");
        if (runtime.name === "native") options.threads = m.nativeThreads;
      }
      session = await createSession(m.bytes, options);
      const { run: _run, release: _release, ...facts } = session;
      scope.postMessage({ type: "loaded", facts } satisfies PoolReply);
    } catch (e) {
      scope.postMessage(failure(undefined, e));
    }
  } else if (m.type === "run") {
    try {
      const out = await session!.run(m.ids, m.mask, m.types, m.batch, m.seq, m.states);
      // each output's buffer moves to the main thread once (outputs may share one)
      const buffers = new Set<ArrayBuffer>();
      for (const a of [out.hidden, out.pooler, ...(out.states ?? [])]) {
        if (a && a.buffer instanceof ArrayBuffer) buffers.add(a.buffer);
      }
      scope.postMessage(
        { type: "result", id: m.id, ...out } satisfies PoolReply,
        { transfer: [...buffers] },
      );
    } catch (e) {
      scope.postMessage(failure(m.id, e));
    }
  } else if (m.type === "release") {
    await session?.release();
    scope.postMessage({ type: "released" } satisfies PoolReply);
  }
};
