/**
 * Sparse (SPLADE) vectors from a masked-language model: a Hugging Face `…ForMaskedLM`
 * export, whose graph outputs `logits` `[batch, tokens, vocab]`. Each text becomes the
 * max over its real tokens of log(1 + relu(logit)) per vocabulary entry (splade.ts), in
 * TEI's `/embed_sparse` form: `[{ index, value }]`, non-zero entries by index, where an
 * index is a token id of the model's tokenizer.
 *
 * Loading follows `TextClassifier.load` (the Hub layout, tokenizer files, external data);
 * texts are sorted by length and run in batches of at most `batchTokens` cells, as there.
 * A masked LM's output is `vocab` floats per token (30,522 for BERT), so the default
 * batch is far smaller than the classifier's: 512 cells are 62 MB of float32 logits.
 *
 * @example
 * ```ts
 * import { SparseEncoder } from "./sparse_encoder.ts";
 * import { writeGeneratedModel } from "../fixtures/demo_model.ts";
 * const dir = await Deno.makeTempDir();
 * await writeGeneratedModel(dir, "../shared/models/all-MiniLM-L6-v2", { head: "masked-lm" });
 * const encoder = await SparseEncoder.load(dir);
 * const [vector] = await encoder.embedSparse(["I love Paris."]);
 * console.log(vector.length > 0, vector[0].index < encoder.info.vocabSize); // true true
 * await encoder.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { EmbedgeError, InputError, InputTooLongError, ModelLoadError } from "../../errors.ts";
import type { Tokenizer, TokenRows } from "../../tokenizer/tokenizer.ts";
import { modelJson, type ModelSource } from "../files.ts";
import { type ModelPrompts, type PromptChoice, promptsOf, promptText } from "../prompts.ts";
import type { Engine } from "../engine/session.ts";
import type { LogitsSession } from "../engine/logits_session.ts";
import { type SparseEntry, spladePool } from "./splade.ts";
import { type HeadLoadOptions, loadHeadModel } from "../head_model.ts";

/**
 * What `SparseEncoder.load` accepts besides the model source (head_model.ts's options; its
 * `batchTokens` defaults to 512 here: a masked LM's logits are vocabulary-wide, ~62 MB a run).
 */
export type SparseLoadOptions = HeadLoadOptions;

/**
 * Options of `embedSparse`. `promptName` or `prompt` puts a prompt before each text (else
 * the model's default, from `config_sentence_transformers.json`), as `Embedder` does.
 */
export interface SparseOptions extends PromptChoice {
  /** Cut texts longer than `maxLength` on the right (default true); false → InputTooLongError. */
  truncate?: boolean;
  /** Token limit per text, special tokens included (default: the model's). */
  maxLength?: number;
  /** Most cells per model run (default: the load's `batchTokens`). */
  batchTokens?: number;
}

/** Facts about a loaded sparse encoder (its prompts: prompts.ts). */
export interface SparseInfo extends ModelPrompts {
  modelId: string;
  /** The logits' width: the indices of the vectors are below it. */
  vocabSize: number;
  maxLength: number;
  onnxFile: string;
  backend: "native" | "wasm";
  engine: Engine;
  /** Why the WASM backend did not run it on embedge's kernels (they run encoders only). */
  engineNote?: string;
  threads: number;
  batchTokens: number;
}

const positiveInteger = (value: unknown, name: string) => {
  if (!(Number.isInteger(value) && (value as number) >= 1)) {
    throw new InputError(`${name} must be a positive integer`, name);
  }
};

/**
 * A loaded masked-LM model giving SPLADE vectors.
 *
 * @example A text's heaviest terms, as tokens
 * ```ts
 * import { SparseEncoder } from "./sparse_encoder.ts";
 * import { writeGeneratedModel } from "../fixtures/demo_model.ts";
 * const dir = await Deno.makeTempDir();
 * await writeGeneratedModel(dir, "../shared/models/all-MiniLM-L6-v2", { head: "masked-lm" });
 * const encoder = await SparseEncoder.load(dir, { backend: "native" });
 * const [vector] = await encoder.embedSparse(["sparse vectors"]);
 * const top = [...vector].sort((a, b) => b.value - a.value).slice(0, 3);
 * console.log(encoder.tokenizer.convertIdsToTokens(top.map((e) => e.index)).length); // 3
 * await encoder.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class SparseEncoder {
  readonly tokenizer: Tokenizer;
  readonly session: LogitsSession;
  readonly info: SparseInfo;

  private constructor(tokenizer: Tokenizer, session: LogitsSession, info: SparseInfo) {
    this.tokenizer = tokenizer;
    this.session = session;
    this.info = info;
  }

  /**
   * Loads a Hub-layout directory (path, URL, in-memory files or a reader) whose ONNX graph
   * outputs `logits` `[batch, tokens, vocab]`. A classifier (`logits` `[batch, labels]`)
   * or an encoder (no `logits`) is a ModelLoadError naming the class that loads it; so is
   * a vocabulary narrower than the tokenizer's.
   */
  static async load(source: ModelSource, options: SparseLoadOptions = {}): Promise<SparseEncoder> {
    // the kernels run encoders: asking them about an MLM head costs a graph walk for a no
    const model = await loadHeadModel(source, options, {
      batchTokens: 512,
      rank: 3,
      kernels: false,
    });
    const { session } = model;
    let prompts: ModelPrompts;
    try {
      const stConfig = modelJson(model.files, "config_sentence_transformers.json");
      prompts = promptsOf(stConfig, undefined, model.files.name);
    } catch (cause) {
      await session.release();
      throw cause;
    }
    const encoder = new SparseEncoder(model.tokenizer, session, {
      modelId: model.modelId,
      vocabSize: 0,
      maxLength: model.maxLength,
      onnxFile: model.onnxFile,
      backend: session.backend,
      engine: session.engine,
      ...(session.engineNote ? { engineNote: session.engineNote } : {}),
      threads: session.threads,
      batchTokens: model.batchTokens,
      ...prompts,
    });
    await encoder.#probe(model.files.name);
    return encoder;
  }

  /** One run on a short text checks the graph end to end and gives the vocabulary's width. */
  async #probe(name: string): Promise<void> {
    let vocab: number;
    try {
      const ids = BigInt64Array.of(BigInt(this.tokenizer.tokenToId("[CLS]") ?? 0));
      vocab = (await this.session.run(ids, BigInt64Array.of(1n), BigInt64Array.of(0n), 1, 1))
        .labels;
    } catch (cause) {
      await this.session.release();
      if (cause instanceof EmbedgeError) throw cause;
      throw new ModelLoadError(`${name}: the model fails on a probe input: ${cause}`, "onnx", {
        cause,
      });
    }
    if (vocab < this.tokenizer.vocabSize) {
      await this.session.release();
      throw new ModelLoadError(
        `${name}: the logits have ${vocab} entries per token, the tokenizer ${this.tokenizer.vocabSize} tokens`,
        "tokenizer",
      );
    }
    (this.info as { vocabSize: number }).vocabSize = vocab;
  }

  /** The texts, `prompt` before each, tokenized and cut (or refused) at `maxLength`. */
  #rows(
    texts: readonly string[],
    truncate: boolean,
    maxLength: number,
    prompt: string,
  ): TokenRows {
    if (!Array.isArray(texts) || texts.length === 0) {
      throw new InputError("texts must be a non-empty array of strings", "texts");
    }
    texts.forEach((text, i) => {
      if (typeof text !== "string" || text.length === 0) {
        throw new InputError(`texts[${i}] must be a non-empty string`, `texts[${i}]`);
      }
    });
    const rows = this.tokenizer.encodeRows(
      prompt === "" ? texts : texts.map((text) => prompt + text),
      truncate ? { maxLength, truncation: true } : undefined,
    );
    const over = rows.lengths.findIndex((n) => n > maxLength);
    if (over >= 0) {
      throw new InputTooLongError(
        `texts[${over}] has ${
          rows.lengths[over]
        } tokens; the limit is ${maxLength} (truncate is off)`,
        `texts[${over}]`,
      );
    }
    return rows;
  }

  /**
   * Each text's SPLADE vector, in input order: `[{ index, value }]`, non-zero entries by
   * ascending token id. Texts are grouped by length so that padding stays small.
   */
  async embedSparse(
    texts: readonly string[],
    options: SparseOptions = {},
  ): Promise<SparseEntry[][]> {
    const truncate = options.truncate ?? true;
    if (typeof truncate !== "boolean") {
      throw new InputError("truncate must be true or false", "truncate");
    }
    const maxLength = options.maxLength ?? this.info.maxLength;
    if (!(Number.isInteger(maxLength) && maxLength >= 3 && maxLength <= this.info.maxLength)) {
      throw new InputError(
        `maxLength must be an integer in 3..${this.info.maxLength}`,
        "maxLength",
      );
    }
    const batchTokens = options.batchTokens ?? this.info.batchTokens;
    positiveInteger(batchTokens, "batchTokens");
    const rows = this.#rows(texts, truncate, maxLength, promptText(this.info, options));
    const lengths = rows.lengths;
    const order = Array.from(lengths.keys()).sort((a, b) => lengths[a] - lengths[b] || a - b);
    const vectors = new Array<SparseEntry[]>(texts.length);
    for (let start = 0; start < order.length;) {
      let end = start + 1;
      while (end < order.length && (end - start + 1) * lengths[order[end]] <= batchTokens) end++;
      const group = order.slice(start, end);
      const width = lengths[group[group.length - 1]];
      const cells = group.length * width;
      const ids = new BigInt64Array(cells), mask = new BigInt64Array(cells);
      const types = new BigInt64Array(cells);
      rows.writeTensors(group, width, ids, mask, types);
      const out = await this.session.run(ids, mask, types, group.length, width);
      const pooled = spladePool(out.logits, mask, group.length, width, out.labels);
      group.forEach((r, k) => (vectors[r] = pooled[k]));
      start = end;
    }
    return vectors;
  }

  /** Frees the session. */
  async close(): Promise<void> {
    await this.session.release();
  }
}
