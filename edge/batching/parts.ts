/**
 * A batched embed job's parts: its rows (every input of its requests) sorted by length and
 * cut into parts of at most `partTokens` cells, each part run as one `embedMany` call (one
 * forward pass, one option set per distinct pooling, normalization and layers of the
 * part's requests) whose vectors go back to the rows' requests, each from its own option
 * set, and each request answered once its last part has run. The queue (batcher.ts)
 * decides whose part runs next; this file runs it.
 *
 * @module
 */
import type { Embedder, Embeddings, EmbedOptions } from "../../src/model/embedder.ts";
import type { Metrics } from "../metrics.ts";
import type { Input, Job, Row, Waiter } from "./jobs.ts";
import { variantKey, variantOf } from "./keys.ts";

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
   * Runs one part as one `embedMany` call and hands each member its rows, pooled by its own
   * options. A failure names the part's inputs, not the request's: an input's fault is found
   * again by running each member's own request alone (so the error names its own field, and
   * the others in the part get their answers), and so is an option's when the part's
   * members asked differently (the bad option is one member's); any other failure (a
   * worker's, the options all members share) is everyone's.
   */
  async runPart(job: Job, part: Row[]): Promise<void> {
    const members = [...new Set(part.map((r) => r.member))];
    const { variants, variantOfMember } = distinctVariants(job.options!, members);
    let outs: Embeddings[];
    try {
      outs = await this.embedder.embedMany(part.map((r) => r.member.inputs[r.index]), variants);
    } catch (e) {
      const param = (e as { param?: unknown })?.param;
      if (typeof param === "string" && (/^inputs\[\d+\]/.test(param) || variants.length > 1)) {
        for (const w of members) await this.alone(w);
      } else for (const w of members) this.#settle(w, false, e);
      return;
    }
    // the variants share the run: its token counts are every variant's
    const tokenCounts = outs[0].tokenCounts;
    this.metrics?.batch(part.length, tokenCounts.reduce((a, b) => a + b, 0));
    part.forEach((r, k) => {
      const out = outs[variantOfMember.get(r.member)!];
      const d = out.dims[1];
      const result = job.results!.get(r.member)!;
      result.data ??= new Float32Array(r.member.inputs.length * d);
      result.data.set(out.data.subarray(k * d, (k + 1) * d), r.index * d);
      result.tokenCounts[r.index] = tokenCounts[k];
      result.last = out;
    });
  }

  /** Answers `w` once every part holding its rows has run. */
  async finish(job: Job, w: Waiter): Promise<void> {
    if (w.state === "done") return;
    if (job.parts!.slice(job.taken).some((p) => p.some((r) => r.member === w))) return;
    const result = job.results!.get(w)!;
    // no rows (an empty list): the embedder's own answer, as when it runs alone
    if (!result.last) return await this.alone(w);
    this.#settle(w, true, {
      ...result.last,
      data: result.data!,
      dims: [w.inputs.length, result.last.dims[1]],
      tokenCounts: result.tokenCounts,
    });
  }

  /** Runs `w`'s request on its own, with its own options, and answers it. */
  async alone(w: Waiter): Promise<void> {
    try {
      this.#settle(w, true, await this.embedder.embed(w.inputs, w.options));
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

/**
 * The option sets one run of `members` answers, each distinct set once (two requests that
 * asked alike share its vectors), over the job's run-shaping options; and which set is
 * each member's.
 */
function distinctVariants(run: EmbedOptions, members: readonly Waiter[]) {
  const variants: EmbedOptions[] = [];
  const byKey = new Map<string, number>();
  const variantOfMember = new Map<Waiter, number>();
  for (const w of members) {
    const key = variantKey(w.options!);
    let v = byKey.get(key);
    if (v === undefined) {
      byKey.set(key, v = variants.length);
      variants.push(variantOf(run, w.options!));
    }
    variantOfMember.set(w, v);
  }
  return { variants, variantOfMember };
}
