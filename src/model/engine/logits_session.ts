/**
 * The session of a model with a head: a sequence-classification export's `[batch, labels]`
 * logits (what `TextClassifier` reads), or with `rank: 3` a masked LM's
 * `[batch, tokens, vocab]` (what `SparseEncoder` reads). session.ts refuses such a graph,
 * pointing here.
 *
 * @example
 * ```ts
 * import { isClassifierGraph } from "./logits_session.ts";
 * console.log(isClassifierGraph(["logits"]), isClassifierGraph(["logits", "last_hidden_state"])); // true false
 * ```
 * @module
 */
import { ModelLoadError } from "../../errors.ts";
import { loadRuntime } from "./runtimes.ts";
import { HIDDEN_NAMES } from "../kernels/bert_graph.ts";
import {
  checkInputs,
  type Engine,
  feedsOf,
  layerStatesOf,
  ortSession,
  type SessionOptions,
} from "./open_session.ts";
import { chooseEngine } from "./choose_engine.ts";

/** The output a sequence-classification export (Hugging Face `…ForSequenceClassification`) names. */
export const LOGITS_OUTPUT = "logits";

/**
 * Whether a graph's outputs are a classifier's: `logits` and none of the hidden-state
 * names (a model exporting both is an encoder that also has a head, and embeds).
 */
export function isClassifierGraph(outputNames: readonly string[]): boolean {
  return outputNames.includes(LOGITS_OUTPUT) && !HIDDEN_NAMES.some((n) => outputNames.includes(n));
}

/** A loaded sequence-classification model. */
export interface LogitsSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  hasTokenTypes: boolean;
  hasAttentionMask: boolean;
  backend: "native" | "wasm";
  engine: Engine;
  /** Why the WASM backend did not use the kernels (absent on native). */
  engineNote?: string;
  threads: number;
  /** The logits' rank: 2 (`[batch, labels]`) or 3 (a masked LM's `[batch, seq, vocab]`). */
  rank: 2 | 3;
  /**
   * Runs `[batch, seq]` int64 tensors; gives the logits row-major, `labels` their last
   * dimension (a masked LM's vocabulary).
   */
  run(
    ids: BigInt64Array,
    mask: BigInt64Array,
    types: BigInt64Array,
    batch: number,
    seq: number,
  ): Promise<{ logits: Float32Array; labels: number }>;
  release(): Promise<void>;
}

/**
 * Creates a session for a sequence-classification graph (output `logits` `[batch, labels]`);
 * a graph without that output is a ModelLoadError. No per-layer outputs are added: a
 * classifier is read at its head only. On the WASM backend the kernels are asked first (they
 * recognise encoders, and refuse a graph ending in a head: `engineNote` says why), then
 * onnxruntime-web runs it.
 */
export async function createLogitsSession(
  bytes: Uint8Array,
  options: SessionOptions & {
    /** The logits' rank the model must output (default 2; 3: a masked LM). */
    rank?: 2 | 3;
  } = {},
): Promise<LogitsSession> {
  const rank = options.rank ?? 2;
  const runtime = await loadRuntime(options.wasm ? "wasm" : options.backend ?? "auto");
  const threads = options.threads ?? 0;
  // the encoder's layer boundaries let the graph reader get as far as the head, so the
  // note names the head rather than a missing encoder. The kernels' graph reader starts
  // from the encoder's last LayerNorm (or the pooler): a head after them (a classifier's
  // linear layer, a masked LM's transform and decoder) is a graph they do not run, so the
  // note says so before the reader's own reason
  const head = rank === 3 ? "masked-LM head" : "classification head";
  const states = runtime.name === "wasm" ? layerStatesOf(bytes) : [];
  const chosen = await chooseEngine(bytes, options, runtime, threads, states, {
    refused: (reason) =>
      `the kernels run BERT encoders, not the ${head} after them; onnxruntime-web runs this graph (the kernels' reader: ${reason})`,
    // an encoder they recognise inside the classifier, without its head: not usable here
    unusable: (kernels) =>
      kernels.outputNames.includes(LOGITS_OUTPUT)
        ? undefined
        : `the kernels run the encoder only, not the ${head}`,
  });
  let session = chosen.session;
  const { engine, engineNote } = chosen;
  session ??= await ortSession(bytes, runtime, options, threads, engineNote);
  await checkInputs(session);
  const { inputNames, outputNames } = session;
  if (!outputNames.includes(LOGITS_OUTPUT)) {
    await session.release();
    throw new ModelLoadError(
      `the model has no ${LOGITS_OUTPUT} output (outputs: ${
        outputNames.join(", ")
      }): not a sequence-classification model; load it with Embedder`,
      "onnx",
    );
  }
  const hasTokenTypes = inputNames.includes("token_type_ids");
  const hasAttentionMask = inputNames.includes("attention_mask");
  const loaded = session;
  const feeds = feedsOf(runtime, engine, inputNames);
  return {
    inputNames,
    outputNames,
    hasTokenTypes,
    hasAttentionMask,
    backend: runtime.name,
    engine,
    ...(engineNote ? { engineNote } : {}),
    threads,
    rank,
    async run(ids, mask, types, batch, seq) {
      const out = (await loaded.run(feeds(ids, mask, types, batch, seq), [LOGITS_OUTPUT]))[
        LOGITS_OUTPUT
      ];
      const shape = rank === 2 ? "[batch, labels]" : "[batch, sequence, vocab]";
      // the other head kind is another class's to load: say which
      const other = out.dims.length === 3 && rank === 2
        ? ": a masked-LM head (load it with SparseEncoder)"
        : out.dims.length === 2 && rank === 3
        ? ": a sequence-classification head (load it with TextClassifier)"
        : "";
      if (
        out.dims.length !== rank || out.dims[0] !== batch || (rank === 3 && out.dims[1] !== seq) ||
        out.type !== "float32"
      ) {
        throw new ModelLoadError(
          `output ${LOGITS_OUTPUT} is ${out.type} ${
            JSON.stringify(out.dims)
          }, expected float32 ${shape}${other}`,
          "onnx",
        );
      }
      return { logits: out.data as Float32Array, labels: out.dims[rank - 1] };
    },
    release: () => loaded.release(),
  };
}
