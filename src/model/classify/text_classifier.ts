/**
 * Sequence-classification models (Hugging Face `…ForSequenceClassification` exports: a graph
 * whose output is `logits` `[batch, labels]`, `id2label` in config.json): texts or text
 * pairs in, labels with scores out, in the spirit of transformers.js's `text-classification`
 * pipeline (`topK`, the function applied to the logits) and TEI's `/predict` (truncation).
 *
 * The model's files are found as `Embedder.load` finds them (files.ts, tokenizer_files.ts);
 * texts are tokenized together by `Tokenizer.encodeRows`, sorted by length and run in
 * batches of at most `batchTokens` cells (rows × padded width), so padding stays small.
 *
 * @example
 * ```ts
 * import { TextClassifier } from "./text_classifier.ts";
 * const classifier = await TextClassifier.load("../shared/models/embedge-mini-sst2");
 * const [ranked] = await classifier.classify(["i love paris ."]);
 * console.log(ranked[0].label, ranked.length); // positive 2
 * await classifier.close();
 * ```
 * @module
 */
import { EmbedgeError, InputError, InputTooLongError, ModelLoadError } from "../../errors.ts";
import type { TextInput, Tokenizer, TokenRows } from "../../tokenizer/tokenizer.ts";
import type { ModelSource } from "../files.ts";
import type { Engine } from "../engine/session.ts";
import type { LogitsSession } from "../engine/logits_session.ts";
import {
  defaultScoreFunction,
  type LabelScore,
  rankLabels,
  SCORE_FUNCTIONS,
  type ScoreFunction,
  scoreRows,
} from "./scores.ts";
import {
  checkRankOptions,
  type Rank,
  type RankOptions,
  rankTexts,
  relevanceColumn,
} from "./rerank.ts";
import { type HeadLoadOptions, loadHeadModel } from "../head_model.ts";

/** What `TextClassifier.load` accepts besides the model source. */
export interface ClassifierLoadOptions extends HeadLoadOptions {
  /** Let the WASM backend try embedge's kernels first (default true; they refuse heads). */
  kernels?: boolean;
  /** embedge's kernels' wasm, precompiled (Workers). */
  kernelsWasm?: WebAssembly.Module;
}

/** Options of `logits` and `classify`. */
export interface PredictOptions {
  /** Cut inputs longer than `maxLength` (default true); false → InputTooLongError. */
  truncate?: boolean;
  /**
   * Which end a too-long input loses (default `right`). embedge's tokenizer cuts on the right
   * only: `left` is accepted while nothing needs cutting, and refused (InputError) otherwise.
   */
  truncationDirection?: "right" | "left";
  /** Token limit per input, special tokens included (default: the model's). */
  maxLength?: number;
  /** Most cells per model run (default: the load's `batchTokens`). */
  batchTokens?: number;
}

/** Options of `classify`. */
export interface ClassifyOptions extends PredictOptions {
  /** Labels kept per input, best first (default: all). */
  topK?: number;
  /** What turns logits into scores (default: the config's, see scores.ts). */
  function?: ScoreFunction;
}

/** Options of `rerank` (TEI's `/rerank`: `raw_scores`, `return_text`, `truncate`). */
export interface RerankOptions extends PredictOptions, RankOptions {
  /** Give the logits themselves rather than their sigmoid (default false). */
  rawScores?: boolean;
  /**
   * The label whose logit scores relevance, by index or name (default: the only one; a
   * model with several labels needs it).
   */
  label?: number | string;
}

/** Raw logits of a call: `data` is `[dims[0], dims[1]]` row-major, in input order. */
export interface Logits {
  data: Float32Array;
  dims: [number, number];
  /** Tokens fed to the model per input (special tokens included, padding excluded). */
  tokenCounts: Int32Array;
}

/** Facts about a loaded classifier. */
export interface ClassifierInfo {
  modelId: string;
  /** Label names by logit index (`id2label`, else `LABEL_0` …, as Hugging Face names them). */
  labels: readonly string[];
  maxLength: number;
  /** The function `classify` applies by default. */
  defaultFunction: ScoreFunction;
  onnxFile: string;
  backend: "native" | "wasm";
  engine: Engine;
  /** Why the WASM backend did not run it on embedge's kernels. */
  engineNote?: string;
  threads: number;
  batchTokens: number;
}

/** One input: a text or a pair `[text, textPair]`. */
export type ClassifyInput = TextInput;

/** Label names from config.json's `id2label` (keys "0" … "n-1"), else `LABEL_i`. */
function labelNames(config: Record<string, unknown> | undefined, count: number): string[] {
  const id2label = (config?.id2label ?? {}) as Record<string, unknown>;
  return Array.from({ length: count }, (_, i) => {
    const name = id2label[String(i)];
    return typeof name === "string" ? name : `LABEL_${i}`;
  });
}

/**
 * A loaded sequence-classification model: tokenizer + logits session + labels.
 *
 * @example Raw logits, and the engine that ran them
 * ```ts
 * import { TextClassifier } from "./text_classifier.ts";
 * const classifier = await TextClassifier.load("../shared/models/embedge-mini-sst2", { backend: "wasm" });
 * const { dims } = await classifier.logits(["i love paris .", ["a question", "a passage"]]);
 * console.log(dims, classifier.info.engine); // [2, 2] onnxruntime-web
 * console.log(classifier.info.engineNote);
 * // the kernels run BERT encoders, not the classification head after them; onnxruntime-web
 * // runs this graph (the kernels' reader: logits is not a LayerNorm output (Gemm))
 * await classifier.close();
 * ```
 */
export class TextClassifier {
  readonly tokenizer: Tokenizer;
  readonly session: LogitsSession;
  readonly info: ClassifierInfo;

  private constructor(tokenizer: Tokenizer, session: LogitsSession, info: ClassifierInfo) {
    this.tokenizer = tokenizer;
    this.session = session;
    this.info = info;
  }

  /**
   * Loads a Hub-layout directory (path, `file:`/`https:` URL, in-memory files or a reader):
   * `config.json` (`id2label`), `tokenizer.json` or `vocab.txt`, `onnx/model.onnx` with a
   * `logits` output. An embedding model (no `logits`) is a ModelLoadError saying to use
   * `Embedder`; so are labels that do not match the graph's output width.
   */
  static async load(
    source: ModelSource,
    options: ClassifierLoadOptions = {},
  ): Promise<TextClassifier> {
    const model = await loadHeadModel(source, options, {
      batchTokens: 16384,
      rank: 2,
      ...(options.kernels === false ? { kernels: false } : {}),
      ...(options.kernelsWasm ? { kernelsWasm: options.kernelsWasm } : {}),
    });
    const { session } = model;
    const classifier = new TextClassifier(model.tokenizer, session, {
      modelId: model.modelId,
      labels: [],
      maxLength: model.maxLength,
      defaultFunction: "softmax",
      onnxFile: model.onnxFile,
      backend: session.backend,
      engine: session.engine,
      ...(session.engineNote ? { engineNote: session.engineNote } : {}),
      threads: session.threads,
      batchTokens: model.batchTokens,
    });
    await classifier.#probe(model.files.name, model.json);
    return classifier;
  }

  /**
   * One run on a short input checks the graph end to end and gives the label count, which
   * must be config.json's (`id2label`, `num_labels`) when it names one.
   */
  async #probe(name: string, json: Record<string, unknown> | undefined): Promise<void> {
    let labels: number;
    try {
      labels = (await this.logits(["probe"])).dims[1];
    } catch (cause) {
      await this.session.release();
      if (cause instanceof EmbedgeError) throw cause;
      throw new ModelLoadError(`${name}: the model fails on a probe input: ${cause}`, "onnx", {
        cause,
      });
    }
    const named = Object.keys((json?.id2label ?? {}) as object).length || json?.num_labels;
    if (named !== undefined && named !== labels) {
      await this.session.release();
      throw new ModelLoadError(
        `${name}: config.json names ${named} labels, the graph outputs ${labels} logits`,
        "config",
      );
    }
    const info = this.info as { labels: readonly string[]; defaultFunction: ScoreFunction };
    info.labels = labelNames(json, labels);
    info.defaultFunction = defaultScoreFunction(json?.problem_type, labels);
  }

  /** The call's options with defaults, checked (InputError naming the option). */
  #options(options: PredictOptions): Required<PredictOptions> {
    const o = {
      truncate: options.truncate ?? true,
      truncationDirection: options.truncationDirection ?? "right",
      maxLength: options.maxLength ?? this.info.maxLength,
      batchTokens: options.batchTokens ?? this.info.batchTokens,
    };
    if (typeof o.truncate !== "boolean") {
      throw new InputError("truncate must be true or false", "truncate");
    }
    if (o.truncationDirection !== "right" && o.truncationDirection !== "left") {
      throw new InputError("truncationDirection must be right or left", "truncationDirection");
    }
    if (
      !(Number.isInteger(o.maxLength) && o.maxLength >= 3 && o.maxLength <= this.info.maxLength)
    ) {
      throw new InputError(
        `maxLength must be an integer in 3..${this.info.maxLength}`,
        "maxLength",
      );
    }
    if (!(Number.isInteger(o.batchTokens) && o.batchTokens >= 1)) {
      throw new InputError("batchTokens must be a positive integer", "batchTokens");
    }
    return o;
  }

  /**
   * The inputs tokenized (pairs as `[CLS] a [SEP] b [SEP]`, token types 0 then 1), cut at
   * `maxLength` on the right (`longest_first` for pairs, as Hugging Face's default) when
   * truncating; an input over the limit otherwise is an InputTooLongError naming it.
   */
  #rows(inputs: readonly ClassifyInput[], o: Required<PredictOptions>): TokenRows {
    if (!Array.isArray(inputs) || inputs.length === 0) {
      throw new InputError("inputs must be a non-empty array of texts or pairs", "inputs");
    }
    inputs.forEach((input, i) => {
      const parts = typeof input === "string" ? [input] : Array.isArray(input) ? input : [null];
      parts.forEach((text, k) => {
        const param = parts.length === 1 ? `inputs[${i}]` : `inputs[${i}][${k}]`;
        if (typeof text === "string" && text.length === 0) {
          throw new InputError(`${param} must be a non-empty string`, param);
        }
      });
    });
    // Cutting on the left is not something the tokenizer does: it is honoured only when
    // nothing is cut, which the untruncated lengths tell.
    const cutRight = o.truncate && o.truncationDirection === "right";
    const rows = this.tokenizer.encodeRows(
      inputs,
      cutRight ? { maxLength: o.maxLength, truncation: true } : undefined,
    );
    const over = rows.lengths.findIndex((n) => n > o.maxLength);
    if (over >= 0) {
      const n = rows.lengths[over];
      if (o.truncate) {
        throw new InputError(
          `inputs[${over}] has ${n} tokens, over the limit ${o.maxLength}, and embedge's tokenizer cannot cut on the left (only on the right): shorten it or truncate on the right`,
          "truncationDirection",
        );
      }
      throw new InputTooLongError(
        `inputs[${over}] has ${n} tokens; the limit is ${o.maxLength} (truncate is off)`,
        `inputs[${over}]`,
      );
    }
    return rows;
  }

  /**
   * Raw logits of texts or pairs, `[inputs, labels]` in input order. Inputs are sorted by
   * length and grouped while rows × the group's longest stays within `batchTokens`.
   */
  async logits(inputs: readonly ClassifyInput[], options: PredictOptions = {}): Promise<Logits> {
    const o = this.#options(options);
    const rows = this.#rows(inputs, o);
    const lengths = rows.lengths;
    const order = Array.from(lengths.keys()).sort((a, b) => lengths[a] - lengths[b] || a - b);
    let labels = 0;
    let data = new Float32Array(0);
    for (let start = 0; start < order.length;) {
      let end = start + 1;
      while (end < order.length && (end - start + 1) * lengths[order[end]] <= o.batchTokens) end++;
      const group = order.slice(start, end);
      const width = lengths[group[group.length - 1]];
      const cells = group.length * width;
      const ids = new BigInt64Array(cells), mask = new BigInt64Array(cells);
      const types = new BigInt64Array(cells);
      rows.writeTensors(group, width, ids, mask, types);
      const out = await this.session.run(ids, mask, types, group.length, width);
      if (labels === 0) data = new Float32Array(inputs.length * (labels = out.labels));
      group.forEach((r, k) =>
        data.set(out.logits.subarray(k * labels, (k + 1) * labels), r * labels)
      );
      start = end;
    }
    return { data, dims: [inputs.length, labels], tokenCounts: Int32Array.from(lengths) };
  }

  /**
   * Per input its labels with scores, best first: `function` (default the config's:
   * softmax for single-label models) over the logits, cut to `topK` (default all).
   *
   * @example
   * ```ts
   * import { TextClassifier } from "./text_classifier.ts";
   * const classifier = await TextClassifier.load("../shared/models/embedge-mini-sst2");
   * const [top] = await classifier.classify([["i hate traffic .", "it is slow"]], { topK: 1 });
   * console.log(top.length, top[0].score > 0.5); // 1 true
   * await classifier.close();
   * ```
   */
  async classify(
    inputs: readonly ClassifyInput[],
    options: ClassifyOptions = {},
  ): Promise<LabelScore[][]> {
    const labels = this.info.labels.length;
    const fn = options.function ?? this.info.defaultFunction;
    if (!SCORE_FUNCTIONS.includes(fn)) {
      throw new InputError(`function must be one of ${SCORE_FUNCTIONS.join(", ")}`, "function");
    }
    const topK = options.topK ?? labels;
    if (!(Number.isInteger(topK) && topK >= 1)) {
      throw new InputError("topK must be a positive integer", "topK");
    }
    const { data } = await this.logits(inputs, options);
    return rankLabels(scoreRows(data, labels, fn), labels, this.info.labels, topK);
  }

  /**
   * Ranks `texts` by relevance to `query`, as a cross-encoder does: each pair
   * `[query, text]` is one run of the model (`[CLS] query [SEP] text [SEP]`, token types 0
   * then 1), scored by the sigmoid of its relevance logit (`label`; the only one for a
   * reranker), or the logit itself with `rawScores`. TEI's `Rank` list, best first.
   *
   * @example A sentiment model ranking texts by its positive logit
   * ```ts
   * import { TextClassifier } from "./text_classifier.ts";
   * const classifier = await TextClassifier.load("../shared/models/embedge-mini-sst2");
   * const ranks = await classifier.rerank("the film", ["was dull", "was wonderful"], {
   *   label: "positive",
   *   returnText: true,
   * });
   * console.log(ranks[0].text, ranks[0].index); // was wonderful 1
   * await classifier.close();
   * ```
   */
  async rerank(
    query: string,
    texts: readonly string[],
    options: RerankOptions = {},
  ): Promise<Rank[]> {
    if (typeof query !== "string" || query.length === 0) {
      throw new InputError("query must be a non-empty string", "query");
    }
    if (!Array.isArray(texts) || texts.length === 0 || texts.some((t) => typeof t !== "string")) {
      throw new InputError("texts must be a non-empty array of strings", "texts");
    }
    const column = relevanceColumn(this.info.labels, options.label);
    const rawScores = options.rawScores ?? false;
    if (typeof rawScores !== "boolean") {
      throw new InputError("rawScores must be true or false", "rawScores");
    }
    checkRankOptions(options); // before the model runs, not after
    const pairs = texts.map((text): [string, string] => [query, text]);
    const { data, dims } = await this.logits(pairs, options);
    const logits = Float32Array.from(texts, (_, i) => data[i * dims[1] + column]);
    return rankTexts(scoreRows(logits, 1, rawScores ? "none" : "sigmoid"), texts, options);
  }

  /** Frees the session. */
  async close(): Promise<void> {
    await this.session.release();
  }
}
