/**
 * What the batching queue (batcher.ts) holds: the `Turn` a request lends it, each waiting
 * request (`Waiter`), the groups that gather requests whose model runs are the same (their
 * poolings and layers may differ: one run serves them all), and the jobs that take turns at
 * the model, with their rows and parts (parts.ts).
 *
 * @module
 */
import type { Embeddings, EmbedInput, EmbedOptions } from "../../src/model/embedder.ts";

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
export type Input = EmbedInput;

/** One waiting request. */
export interface Waiter {
  inputs: readonly Input[];
  /** The request's own options (an embed request's; its vectors are pooled by them). */
  options?: EmbedOptions;
  turn?: Turn;
  state: "grouped" | "ready" | "running" | "done";
  group?: Group;
  job?: Job;
  ok?: boolean;
  value?: unknown;
  wake?: () => void;
}

/**
 * Requests whose options shape the model run alike (`runKey`), waiting for more company
 * until `deadline`; `options` are the first request's, whose run-shaping fields every
 * member shares.
 */
export interface Group {
  key: string;
  options: EmbedOptions;
  members: Waiter[];
  size: number;
  deadline: number;
}

/** One input of an embed job: whose it is, where in its request, its length in tokens. */
export interface Row {
  member: Waiter;
  index: number;
  length: number;
}

/** A batch of embed requests (run part by part), or one exclusive task. */
export interface Job {
  members: Waiter[];
  /** An embed job's run-shaping options (its first request's); each member pools by its own. */
  options?: EmbedOptions;
  task?: () => Promise<unknown>;
  /** The rows cut into parts, sorted by length; made when the job first gets a turn. */
  parts?: Row[][];
  /** Parts taken so far. */
  taken?: number;
  /** Per member: its vectors as the parts come in, and its token counts. */
  results?: Map<Waiter, { data?: Float32Array; tokenCounts: Int32Array; last?: Embeddings }>;
}
