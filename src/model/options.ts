/**
 * The options of embed calls and their checks: each call's inputs and options are checked
 * once, up front, and resolved against the model's defaults (`Resolved`), so the batching
 * and pooling code reads no `undefined`; an `InputError` names the field at fault.
 *
 * @example
 * ```ts
 * import { checkInputs, resolveOptions } from "./options.ts";
 * const info = { modelId: "m", pooling: "mean", normalize: false, maxLength: 128, batchTokens: 16384, hasPooler: false, prompts: { query: "query: " }, includePrompt: true } as const;
 * const o = resolveOptions({ pooling: "cls", promptName: "query" }, info, () => null);
 * console.log(o.pooling, o.maxLength, o.padding, o.states, JSON.stringify(o.prompt)); // cls 128 longest null "query: "
 * try {
 *   checkInputs(["a", ""], 100, false);
 * } catch (e) {
 *   console.log((e as Error).message); // inputs[1] is empty
 * }
 * ```
 * @module
 */
import { InputError } from "../errors.ts";
import { LAYER_MIXES, type LayerMix } from "./layers.ts";
import type { ModelInfo } from "./load.ts";
import { type Pooling, POOLINGS } from "./pooling.ts";
import { type PromptChoice, promptText } from "./prompts.ts";
import { EncodedText } from "./rows.ts";

/** How rows of a batch are padded. */
export type PaddingStrategy = "longest" | "max_length" | "buckets";

/**
 * Options of every embed call. `promptName` (one of `info.prompts`) or `prompt` (a text)
 * puts a prompt before each text input, as sentence-transformers' `encode` does; without
 * either the model's default prompt (`info.defaultPromptName`) applies, and `prompt: ""`
 * turns it off. Token-id inputs and `EncodedText`s (which `encode` prompted) get none.
 */
export interface EmbedOptions extends PromptChoice {
  /** Sentence pooling (default: the model's sentence-transformers pooling, else mean). */
  pooling?: Pooling;
  /** L2-normalize sentence vectors (default: the model's Normalize module, else false). */
  normalize?: boolean;
  /** Truncate long inputs to `maxLength` (default true); false → InputTooLongError. */
  truncate?: boolean;
  /** Token limit per input, special tokens included (default: the model's). */
  maxLength?: number;
  /** Padding of each batch (default `longest`). */
  padding?: PaddingStrategy;
  /** Most cells (rows × padded length) per `session.run` (default 16384). */
  batchTokens?: number;
  /**
   * Most padding cells per real token in a batch (default 0.1; `Infinity` to fill the
   * budget). One-thread WASM gains nothing from rows it pads, so groups stay near-equal.
   * Fixed `max_length` padding pads every row to the same width whatever this says.
   */
  maxPaddingWaste?: number;
  /**
   * Encoder layers whose hidden states make the token vectors (default `[-1]`, the last):
   * 0 is the embeddings' output, N the last layer, negative indices count from the end
   * (`[-2]`, `[-4, -3, -2, -1]`). See layers.ts.
   */
  layers?: number[];
  /** How several `layers` are combined per token: `mean` (default) or `concat`. */
  layerMix?: LayerMix;
  /** Called after each batch with inputs done and total. */
  onProgress?: (done: number, total: number) => void;
}

/** Options with every default filled in; `states` are the absolute layer indices to read,
 * `null` for the graph's own hidden output (the last layer); `prompt` the prompt's text
 * (`""` for none). */
export type Resolved =
  & Required<Omit<EmbedOptions, "onProgress" | "promptName">>
  & Pick<EmbedOptions, "onProgress">
  & { states: number[] | null };

/** The model facts the defaults and checks of a call read. */
export type OptionDefaults = Pick<
  ModelInfo,
  | "modelId"
  | "pooling"
  | "normalize"
  | "maxLength"
  | "batchTokens"
  | "hasPooler"
  | "prompts"
  | "defaultPromptName"
  | "includePrompt"
>;

/**
 * The most cells (rows × padded length) one model run may take. A run's activations grow
 * with it (BERT-base: ~36 KB of float32 per cell and layer at its widest), so past 2^20 cells
 * a run would need tens of GB and WebAssembly's 4 GiB at the most: refused up front.
 */
export const MAX_BATCH_TOKENS = 1 << 20;

/** Refuses a `batchTokens` that is not an integer from 1 to MAX_BATCH_TOKENS. */
export function checkBatchTokens(value: number): void {
  if (!(Number.isInteger(value) && value >= 1 && value <= MAX_BATCH_TOKENS)) {
    throw new InputError(
      `batchTokens must be an integer from 1 to ${MAX_BATCH_TOKENS}, not ${value}`,
      "batchTokens",
    );
  }
}

/** A thread count: an integer in 0..256 (0: the backend's default). */
export function checkThreads(threads: unknown): number {
  if (!(Number.isInteger(threads) && (threads as number) >= 0 && (threads as number) <= 256)) {
    throw new InputError("threads must be an integer in 0..256 (0: the default)", "threads");
  }
  return threads as number;
}

/**
 * Checks the inputs of a call: a non-empty array of non-empty strings, encodings of a
 * model with `vocabSize` tokens, and (when `allowIds`) arrays of token ids.
 */
export function checkInputs(texts: unknown, vocabSize: number, allowIds: boolean): void {
  if (!Array.isArray(texts)) throw new InputError("inputs must be an array of strings", "inputs");
  if (texts.length === 0) throw new InputError("inputs must not be empty", "inputs");
  texts.forEach((t, i) => {
    if (t instanceof EncodedText) {
      const ids = t.encoding.ids;
      if (ids.length === 0 || !ids.every((x) => x >= 0 && x < vocabSize)) {
        throw new InputError(`inputs[${i}] is not an encoding of this model`, `inputs[${i}]`);
      }
      return;
    }
    if (allowIds && Array.isArray(t)) {
      if (t.length === 0) throw new InputError(`inputs[${i}] is empty`, `inputs[${i}]`);
      if (!t.every((x) => Number.isInteger(x) && x >= 0 && x < vocabSize)) {
        throw new InputError(
          `inputs[${i}] must hold token ids in 0..${vocabSize - 1}`,
          `inputs[${i}]`,
        );
      }
      return;
    }
    if (typeof t !== "string") {
      throw new InputError(
        `inputs[${i}] must be a string, got ${t === null ? "null" : typeof t}`,
        `inputs[${i}]`,
      );
    }
    if (t.length === 0) throw new InputError(`inputs[${i}] is empty`, `inputs[${i}]`);
  });
}

/**
 * A call's options over the model's defaults, checked; `layerStates` turns a `layers`
 * option into the states to read (`Embedder.layerStates`).
 */
export function resolveOptions(
  o: EmbedOptions,
  info: OptionDefaults,
  layerStates: (layers: unknown) => number[] | null,
): Resolved {
  const defaults: Resolved = {
    pooling: info.pooling,
    normalize: info.normalize,
    truncate: true,
    maxLength: info.maxLength,
    padding: "longest",
    batchTokens: info.batchTokens,
    maxPaddingWaste: 0.1,
    layers: [-1],
    layerMix: "mean",
    states: null,
    prompt: "",
  };
  const { promptName, ...given } = o ?? {};
  const opts = {
    ...defaults,
    ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)),
    prompt: promptText(info, { promptName, prompt: o?.prompt }),
  };
  if (!POOLINGS.includes(opts.pooling)) {
    throw new InputError(`pooling must be one of ${POOLINGS.join(", ")}`, "pooling");
  }
  if (opts.pooling === "pooler" && !info.hasPooler) {
    throw new InputError(`${info.modelId} exports no pooler output`, "pooling");
  }
  if (
    !(Number.isInteger(opts.maxLength) && opts.maxLength >= 2 &&
      opts.maxLength <= info.maxLength)
  ) {
    throw new InputError(`maxLength must be an integer in 2..${info.maxLength}`, "maxLength");
  }
  if (!["longest", "max_length", "buckets"].includes(opts.padding)) {
    throw new InputError("padding must be longest, max_length or buckets", "padding");
  }
  checkBatchTokens(opts.batchTokens);
  if (!(typeof opts.maxPaddingWaste === "number" && opts.maxPaddingWaste >= 0)) {
    throw new InputError("maxPaddingWaste must be a number ≥ 0", "maxPaddingWaste");
  }
  if (!LAYER_MIXES.includes(opts.layerMix)) {
    throw new InputError(`layerMix must be one of ${LAYER_MIXES.join(", ")}`, "layerMix");
  }
  opts.states = layerStates(opts.layers);
  if (opts.pooling === "pooler" && opts.states) {
    throw new InputError(
      "pooling pooler reads the last layer only; choose another pooling with layers",
      "pooling",
    );
  }
  return opts as Resolved;
}
