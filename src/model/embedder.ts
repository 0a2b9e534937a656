/**
 * The embedding engine: text → WordPiece tokens → BERT (onnxruntime, native or WASM) → token, word
 * and sentence vectors. Inputs are sorted by length and split into batches by a token
 * budget (rows × padded width), padded `longest`, to a fixed `max_length` or to length
 * buckets; results come back in input order.
 *
 * @example
 * ```ts
 * import { Embedder } from "./embedder.ts";
 * const embedder = await Embedder.load("../shared/models/embedge-mini-mlm");
 * const { data, dims } = await embedder.embed(["I love Paris.", "I adore Paris."]);
 * console.log(dims, data.length); // [2, 256] 512
 * ```
 * @module
 */
import { InputError, InputTooLongError } from "../errors.ts";
import type { Encoding, Tokenizer } from "../tokenizer/tokenizer.ts";
import { type LayerMix, mixLayers, resolveLayers } from "./layers.ts";
import { loadModel, type LoadOptions, type ModelInfo } from "./load.ts";
import { checkFiniteOutput } from "./load_checks.ts";
import { checkInputs, type EmbedOptions, type Resolved, resolveOptions } from "./options.ts";
import { planGroups, rowWidth } from "./plan.ts";
import { type PromptChoice, promptText } from "./prompts.ts";
import { normalizeRows, pool, pooledSize, type Pooling } from "./pooling.ts";
import { type EmbedInput, EncodedText, inputRows, prompted, type Rows, textOf } from "./rows.ts";
import type { ModelSource } from "./files.ts";
import type { ModelSession, SessionOutput } from "./engine/session.ts";
import { aggregateWords } from "./words.ts";
import type { Embeddings, TokenEmbeddings, WordEmbeddings } from "./results.ts";

// the public types of the parts, re-exported: mod.ts and the servers import them from here
export {
  type Dtype,
  DTYPE_FILES,
  type LoadOptions,
  type LoadStep,
  type ModelInfo,
} from "./load.ts";
export { type EmbedOptions, MAX_BATCH_TOKENS, type PaddingStrategy } from "./options.ts";
export { type EmbedInput, EncodedText } from "./rows.ts";
export type { Embeddings, TokenEmbeddings, WordEmbeddings } from "./results.ts";

/** A loaded model: tokenizer + session + defaults. */
export class Embedder {
  readonly tokenizer: Tokenizer;
  readonly session: ModelSession;
  /** Facts about the model, frozen (built once at load, after the checks). */
  readonly info: Readonly<ModelInfo>;

  /** Why `layers` other than the last cannot be chosen, when they cannot. */
  readonly #layerRefusal: string | undefined;

  private constructor(
    tokenizer: Tokenizer,
    session: ModelSession,
    info: ModelInfo,
    layerRefusal: string | undefined,
  ) {
    this.tokenizer = tokenizer;
    this.session = session;
    this.info = info;
    this.#layerRefusal = layerRefusal;
  }

  /**
   * Loads a model from a Hub-layout directory (path, `file:`/`https:` URL) or in-memory
   * files: `config.json`, `tokenizer.json` or `vocab.txt`, `onnx/model.onnx`, optional
   * `1_Pooling/config.json`, `modules.json` and `embedge-tokenizer.bin` (the precompiled
   * tokenizer, see tokenizer_files.ts). The loading and its checks are load.ts's.
   */
  static async load(source: ModelSource, options: LoadOptions = {}): Promise<Embedder> {
    const { tokenizer, session, info, layerRefusal } = await loadModel(source, options);
    return new Embedder(tokenizer, session, info, layerRefusal);
  }

  /** Width of sentence vectors for a pooling (and a `layers` choice with `concat`). */
  dimensions(
    pooling: Pooling = this.info.pooling,
    layers: { layers?: number[]; layerMix?: LayerMix } = {},
  ): number {
    const n = layers.layerMix === "concat" ? layers.layers?.length ?? 1 : 1;
    return pooledSize(pooling, this.info.hiddenSize * n);
  }

  /**
   * Absolute state indices of a `layers` option, or null when that is just the last layer;
   * throws `InputError` naming `layers` (or `layers[i]`) when the model cannot give them.
   *
   * @example
   * ```ts
   * import { Embedder } from "./embedder.ts";
   * const embedder = await Embedder.load("../shared/models/embedge-mini-mlm");
   * console.log(embedder.layerStates([-2, -1]), embedder.layerStates([-1])); // [3, 4] null
   * ```
   */
  layerStates(layers: unknown): number[] | null {
    const n = this.info.layers;
    const states = resolveLayers(layers, n);
    if (states.length === 1 && states[0] === n) return null;
    if (!this.info.layerStates) {
      throw new InputError(
        `${this.info.modelId}: ${
          this.#layerRefusal ??
            "the graph's encoder layers were not found, so only the last layer (-1) can be used"
        }`,
        "layers",
      );
    }
    return states;
  }

  /** The inputs and options of a call, checked and resolved (options.ts). */
  #options(texts: unknown, o: EmbedOptions, allowIds = false): Resolved {
    checkInputs(texts, this.tokenizer.vocabSize, allowIds);
    return resolveOptions(o, this.info, (layers) => this.layerStates(layers));
  }

  /**
   * Tokenizes (or wraps token ids in `[CLS] … [SEP]`), batches (plan.ts) and runs; calls
   * `take` per batch with the rows' input indices.
   */
  async #forward(
    texts: readonly EmbedInput[],
    o: Resolved,
    take: (
      rows: number[],
      out: SessionOutput,
      mask: BigInt64Array,
      width: number,
      inputs: Rows,
    ) => void,
    /** Hidden states to fetch (by index) besides the graph's outputs. */
    fetch: readonly number[] | undefined = o.states ?? undefined,
  ): Promise<Rows> {
    const rows = inputRows(this.tokenizer, prompted(texts, o.prompt), o);
    const lengths = rows.lengths;
    const groups = planGroups(lengths, o, this.session.capacity ?? 1);
    let done = 0;
    const runGroup = async (group: number[]) => {
      const width = rowWidth(o, lengths[group[group.length - 1]]);
      const cells = group.length * width;
      const ids = new BigInt64Array(cells),
        mask = new BigInt64Array(cells),
        types = new BigInt64Array(cells);
      rows.writeTensors(group, width, ids, mask, types);
      const out = await this.session.run(ids, mask, types, group.length, width, fetch);
      // NaN or ±Inf (weights that overflow on some token) would be answered as null vectors.
      // Reading the output once costs 0.2–0.3% of the run (2,000 big.txt lines on
      // embedge-mini-mlm: 42–47 ms of checks for 15.5–22 s of session.run, 24M floats)
      const cellsPerRow = width * out.hiddenSize;
      checkFiniteOutput(
        out.hidden,
        this.info.modelId,
        (at) => `inputs[${group[Math.floor(at / cellsPerRow)]}]`,
      );
      take(group, out, mask, width, rows);
      done += group.length;
      o.onProgress?.(done, texts.length);
    };
    // a session pool takes several runs at once; an inline session one after another
    const lanes = Math.min(this.session.capacity ?? 1, groups.length);
    let nextGroup = 0;
    await Promise.all(Array.from({ length: lanes }, async () => {
      while (nextGroup < groups.length) await runGroup(groups[nextGroup++]);
    }));
    return rows;
  }

  /**
   * The token vectors one set of options reads from a run that fetched `fetched` states:
   * the graph's hidden output (and pooler), or the chosen layers mixed (width × layers for
   * concat).
   */
  #view(out: SessionOutput, o: Resolved, fetched: readonly number[] | undefined): SessionOutput {
    if (!o.states) return out;
    const states = o.states.map((k) => out.states![fetched!.indexOf(k)]);
    return {
      hidden: mixLayers(states, out.hiddenSize, o.layerMix),
      hiddenSize: o.layerMix === "concat" ? out.hiddenSize * states.length : out.hiddenSize,
    };
  }

  /**
   * Sentence vectors for each option set in `variants` from one model run per batch
   * (tokenization, padding and batching follow `variants[0]`).
   */
  async #run(texts: readonly EmbedInput[], variants: Resolved[]) {
    const fetch = [...new Set(variants.flatMap((o) => o.states ?? []))];
    let hiddenSize = 0;
    const data: (Float32Array | null)[] = variants.map(() => null);
    const widths = variants.map(() => 0);
    const encs = await this.#forward(texts, variants[0], (rows, out, mask, seq) => {
      hiddenSize = out.hiddenSize;
      variants.forEach((o, v) => {
        const view = this.#view(out, o, fetch);
        const w = widths[v] = pooledSize(o.pooling, view.hiddenSize);
        const into = data[v] ??= new Float32Array(texts.length * w);
        const pooled = o.pooling === "pooler"
          ? view.pooler!
          : pool(view.hidden, mask, rows.length, seq, view.hiddenSize, o.pooling);
        rows.forEach((r, k) => into.set(pooled.subarray(k * w, (k + 1) * w), r * w));
      });
    }, fetch.length ? fetch : undefined);
    return {
      results: variants.map((o, v) => {
        const d = data[v] ?? new Float32Array(0);
        if (o.normalize) normalizeRows(d, texts.length, widths[v]);
        return { data: d, width: widths[v] };
      }),
      hiddenSize,
      tokenCounts: Int32Array.from(encs.lengths),
    };
  }

  /**
   * The prompt text a call's options apply (`""` for none): `prompt`, else the prompt named
   * `promptName`, else the model's default (prompts.ts). An unknown name is an `InputError`
   * naming `field` and listing the model's prompts.
   *
   * @example
   * ```ts
   * import { Embedder } from "./embedder.ts";
   * const embedder = await Embedder.load("../shared/models/embedge-mini-mlm");
   * console.log(JSON.stringify(embedder.promptText({})), embedder.info.prompts); // "" {}
   * await embedder.close();
   * ```
   */
  promptText(choice: PromptChoice, field = "promptName"): string {
    return promptText(this.info, choice, field);
  }

  /**
   * Tokenizes a text the way embed calls do, once: the prompt put before it (`promptName`
   * or `prompt`, else the model's default; `text` of the result is the prompted text), cut
   * at `maxLength` (default the model's) when `truncate` (default true), else an
   * `InputTooLongError` naming `param`. Pass the result to `embed`, `embedMany`,
   * `embedTokens` or `embedWords` instead of the text (they do not prompt it again).
   *
   * @example
   * ```ts
   * import { Embedder } from "./embedder.ts";
   * const embedder = await Embedder.load("../shared/models/embedge-mini-mlm");
   * const encoded = embedder.encode("I love Paris.");
   * console.log(encoded.encoding.ids.length); // 6
   * const { dims } = await embedder.embed([encoded, "I adore Paris."]);
   * console.log(dims); // [2, 256]
   * await embedder.close();
   * ```
   */
  encode(
    text: string,
    options: { truncate?: boolean; maxLength?: number } & PromptChoice = {},
    param = "inputs",
  ): EncodedText {
    if (typeof text !== "string" || text.length === 0) {
      throw new InputError(`${param} must be a non-empty string`, param);
    }
    text = this.promptText(options) + text;
    const maxLength = options.maxLength ?? this.info.maxLength;
    const truncate = options.truncate ?? true;
    const encoding = this.tokenizer.encode(
      text,
      truncate ? { maxLength, truncation: true } : undefined,
    );
    if (!truncate && encoding.ids.length > maxLength) {
      throw new InputTooLongError(
        `${param} has ${encoding.ids.length} tokens; the limit is ${maxLength} (truncate is off)`,
        param,
      );
    }
    return new EncodedText(text, encoding);
  }

  /** Sentence embeddings of texts, or of token-id arrays (wrapped in `[CLS] … [SEP]`). */
  async embed(
    texts: readonly EmbedInput[],
    options: EmbedOptions = {},
  ): Promise<Embeddings> {
    const [result] = await this.embedMany(texts, [options]);
    return result;
  }

  /**
   * Sentence embeddings of the same texts in several ways (poolings, layers,
   * normalization) from one model run: each option set gives one `Embeddings`. The
   * options that shape the run itself (`truncate`, `maxLength`, `padding`, `batchTokens`,
   * `maxPaddingWaste`, `onProgress`, the prompt) are taken from the first.
   *
   * @example
   * ```ts
   * import { Embedder } from "./embedder.ts";
   * const embedder = await Embedder.load("../shared/models/embedge-mini-mlm");
   * const [cls, mean] = await embedder.embedMany(["I love Paris."], [{ pooling: "cls" }, { pooling: "mean", layers: [-2] }]);
   * console.log(cls.dims, mean.dims); // [1, 256] [1, 256]
   * ```
   */
  async embedMany(
    texts: readonly EmbedInput[],
    variants: EmbedOptions[],
  ): Promise<Embeddings[]> {
    if (!Array.isArray(variants) || variants.length === 0) {
      throw new InputError("variants must be a non-empty array of options", "variants");
    }
    const resolved = variants.map((v) => this.#options(texts, { ...variants[0], ...v }, true));
    const r = await this.#run(texts as (string | readonly number[])[], resolved);
    return resolved.map((o, v) => ({
      data: r.results[v].data,
      dims: [texts.length, r.results[v].width] as [number, number],
      pooling: o.pooling,
      normalized: o.normalize,
      tokenCounts: r.tokenCounts,
    }));
  }

  /** Contextual token vectors (`last_hidden_state` per real token, the prompt's included;
   * offsets index the prompted text). */
  async embedTokens(
    texts: readonly (string | EncodedText)[],
    options: EmbedOptions = {},
  ): Promise<TokenEmbeddings[]> {
    return (await this.#tokens(texts, options)).map((t) => t.embeddings);
  }

  /** Token vectors with the encodings they came from (each text tokenized once). */
  async #tokens(
    texts: readonly (string | EncodedText)[],
    options: EmbedOptions,
  ): Promise<{ embeddings: TokenEmbeddings; encoding: Encoding; text: string }[]> {
    const o = this.#options(texts, options);
    const vectors: Float32Array[] = new Array(texts.length);
    let hiddenSize = 0;
    const encs = await this.#forward(texts, o, (rows, raw, _mask, seq, all) => {
      const out = this.#view(raw, o, o.states ?? undefined);
      const h = hiddenSize = out.hiddenSize;
      rows.forEach((r, k) => {
        const n = all.lengths[r];
        vectors[r] = out.hidden.slice(k * seq * h, (k * seq + n) * h);
      });
    });
    return Array.from(texts, (_, i) => encs.encoding(i)).map((e, i) => ({
      embeddings: {
        tokens: e.tokens,
        ids: e.ids,
        offsets: e.offsets,
        specialTokensMask: e.specialTokensMask,
        vectors: vectors[i],
        hiddenSize,
      },
      encoding: e,
      text: textOf(prompted(texts, o.prompt)[i] as string | EncodedText),
    }));
  }

  /** Word vectors: the subword vectors of each word (by word ids), `first` or `mean`; a
   * prompt's words come first, and offsets index the prompted text. */
  async embedWords(
    texts: readonly (string | EncodedText)[],
    options: EmbedOptions & { aggregate?: "first" | "mean" } = {},
  ): Promise<WordEmbeddings[]> {
    const aggregate = options.aggregate ?? "mean";
    if (aggregate !== "first" && aggregate !== "mean") {
      throw new InputError("aggregate must be first or mean", "aggregate");
    }
    // word ids come from the same encodings the model ran on: no second tokenization
    const toks = await this.#tokens(texts, options);
    return toks.map(({ embeddings, encoding, text }) =>
      aggregateWords(text, embeddings, encoding, aggregate)
    );
  }

  /** Frees the session. */
  async close(): Promise<void> {
    await this.session.release();
  }
}
