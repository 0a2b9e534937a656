/**
 * A batched embed job's parts: its rows (every input of its requests) sorted by length and
 * cut into parts of at most `partTokens` cells, each part run as one `embed` call whose
 * vectors go back to the rows' requests, and each request answered once its last part has
 * run. The queue (batcher.ts) decides whose part runs next; this file runs it.
 *
 * @module
 */
import type { Embedder, Embeddings, EmbedOptions } from "../../src/model/embedder.ts";
import type { Metrics } from "../metrics.ts";
import type { Input, Job, Row, Waiter } from "./jobs.ts";

/** How a request gets its answer (the queue's own bookkeeping goes with it). */
export type Settle = (w: Waiter, ok: boolean, value: unknown) => void;

/** Cuts embed jobs into parts and runs them, for one batcher. */
export class JobParts {
  #settle: Settle;

  constructor(
    readonly embedder: Embedder,
    readonly partTokens: number,
    settle: Settle,
    readonly metrics?: Metrics,
  ) {
    this.#settle = settle;
  }

  /**
   * An embed job's rows sorted by length and cut into parts (at its first turn, once its
   * members are known), with a place per member for its vectors as the parts come in.
   */
  cutIntoParts(job: Job): void {
    const rows = job.members.flatMap((member) =>
      member.inputs.map((input, index) => ({
        member,
        index,
        length: this.#tokens(input, job.options!),
      }))
    );
    rows.sort((a, b) => a.length - b.length); // stable: equal lengths keep request order
    job.parts = cut(rows, this.partTokens);
    job.results = new Map(job.members.map((w) => [w, {
      tokenCounts: new Int32Array(w.inputs.length),
    }]));
  }

  /** Tokens an input will have in the model (`[CLS]` and `[SEP]` included). */
  #tokens(input: Input, options: EmbedOptions): number {
    const limit = options.maxLength ?? this.embedder.info.maxLength;
    if (typeof input === "string") {
      // not tokenized yet (library callers; the server admits encodings): about four
      // characters a token, which only decides where parts are cut
      return Math.min(limit, Math.ceil(input.length / 4) + 2);
    }
    const n = Array.isArray(input)
      ? input.length + 2
      : (input as Extract<Input, { encoding: unknown }>).encoding.ids.length;
    return options.truncate === false ? n : Math.min(n, limit);
  }

  /**
   * Runs one part as one `embed` call and hands each member its rows. A failure names the
   * part's inputs, not the request's: an input's fault is found again by running each
   * member's own request alone (so the error names its own field, and the others in the
   * part get their answers); any other failure (a worker's, the options') is everyone's.
   */
  async runPart(job: Job, part: Row[]): Promise<void> {
    let out: Embeddings;
    try {
      out = await this.embedder.embed(part.map((r) => r.member.inputs[r.index]), job.options!);
    } catch (e) {
      const members = [...new Set(part.map((r) => r.member))];
      const param = (e as { param?: unknown })?.param;
      if (typeof param === "string" && /^inputs\[\d+\]/.test(param)) {
        for (const w of members) await this.alone(w, job.options!);
      } else for (const w of members) this.#settle(w, false, e);
      return;
    }
    this.metrics?.batch(part.length, out.tokenCounts.reduce((a, b) => a + b, 0));
    const d = out.dims[1];
    part.forEach((r, k) => {
      const result = job.results!.get(r.member)!;
      result.data ??= new Float32Array(r.member.inputs.length * d);
      result.data.set(out.data.subarray(k * d, (k + 1) * d), r.index * d);
      result.tokenCounts[r.index] = out.tokenCounts[k];
      result.last = out;
    });
  }

  /** Answers `w` once every part holding its rows has run. */
  async finish(job: Job, w: Waiter): Promise<void> {
    if (w.state === "done") return;
    if (job.parts!.slice(job.taken).some((p) => p.some((r) => r.member === w))) return;
    const result = job.results!.get(w)!;
    // no rows (an empty list): the embedder's own answer, as when it runs alone
    if (!result.last) return await this.alone(w, job.options!);
    this.#settle(w, true, {
      ...result.last,
      data: result.data!,
      dims: [w.inputs.length, result.last.dims[1]],
      tokenCounts: result.tokenCounts,
    });
  }

  /** Runs `w`'s request on its own and answers it. */
  async alone(w: Waiter, options: EmbedOptions): Promise<void> {
    try {
      this.#settle(w, true, await this.embedder.embed(w.inputs, options));
    } catch (e) {
      this.#settle(w, false, e);
    }
  }
}

/**
 * Cuts rows sorted by length into parts of at most `budget` cells (rows × the longest
 * row's length); a row longer than the budget is a part on its own.
 */
function cut(rows: Row[], budget: number): Row[][] {
  const parts: Row[][] = [];
  let part: Row[] = [];
  for (const r of rows) {
    if (part.length && (part.length + 1) * r.length > budget) {
      parts.push(part);
      part = [];
    }
    part.push(r);
  }
  if (part.length) parts.push(part);
  return parts;
}
