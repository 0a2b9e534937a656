/**
 * The request fields several routes share, made once per app from its model and limits
 * (`sharedFields`): the inputs (texts, or texts and token ids), pooling, layers and
 * layer_mix, truncate and truncation_direction, prompt_name, an optional plain string; and
 * `vector`, the answer schema of one embedding. Each family's table (openai.ts, tei.ts,
 * classify.ts, models.ts) takes them from here, so that a field checks and is documented
 * the same way on every route it appears on.
 *
 * @example
 * ```ts
 * import { sharedFields } from "./fields.ts";
 * import { Embedder } from "../../src/model/embedder.ts";
 * const embedder = await Embedder.load("../shared/models/embedge-mini-mlm");
 * const fields = sharedFields(embedder, { maxInputs: 4, maxInputChars: 100 });
 * console.log(fields.texts.parse("I love Paris.", "inputs")); // [ "I love Paris." ]
 * console.log(fields.truncationDirection.parse("left", "truncation_direction")); // Left
 * await embedder.close();
 * ```
 * @module
 */
import type { Embedder, ModelInfo } from "../../src/model/embedder.ts";
import type { TruncationDirection } from "../truncation.ts";
import { type Pooling, POOLINGS } from "../../src/model/pooling.ts";
import { LAYER_MIXES } from "../../src/model/layers.ts";
import { HttpError } from "../errors.ts";
import { array, choice, empty, field, flag, invalid, number, required } from "../schema.ts";
import type { ContractLimits } from "./route.ts";
import { promptNameField } from "../prompt_name.ts";

/** One embedding in an answer. */
export const vector = array(number());

/** One input given as token ids: not too long, every id an integer in the vocabulary. */
function checkIds(ids: unknown[], p: string, limits: ContractLimits, vocab: number): number[] {
  if (ids.length > limits.maxInputChars) {
    throw new HttpError(413, `${p} is too long`, "invalid_request_error", p);
  }
  if (!ids.every((t) => Number.isInteger(t) && (t as number) >= 0 && (t as number) < vocab)) {
    throw invalid(`${p} must hold token ids in 0..${vocab - 1}`, p);
  }
  return ids as number[];
}

/** A string or a non-empty array of strings (or, `allowIds`, of token-id arrays). */
export function inputsField<T extends string | number[]>(
  allowIds: boolean,
  limits: ContractLimits,
  vocab: number,
) {
  const text = { type: "string", minLength: 1, maxLength: limits.maxInputChars };
  const ids = {
    type: "array",
    items: { type: "integer", minimum: 0, maximum: vocab - 1 },
    minItems: 1,
    maxItems: limits.maxInputChars,
  };
  const list = (item: unknown) => ({
    type: "array",
    items: item,
    minItems: 1,
    maxItems: limits.maxInputs,
  });
  return required(field<T[] | undefined>(
    // TEI's Input: a text, token ids, or a batch of either (mixed)
    { oneOf: allowIds ? [text, ids, list({ oneOf: [text, ids] })] : [text, list(text)] },
    (v, name) => {
      if (v === undefined || v === null) return undefined;
      const items = typeof v === "string" ? [v] : v;
      if (!Array.isArray(items)) {
        throw invalid(`${name} must be a string or an array of strings`, name);
      }
      if (items.length === 0) throw empty(`${name} must not be empty`, name);
      if (items.length > limits.maxInputs) {
        // a 400 as OpenAI answers it; TEI's batch-size error is a 413 Validation
        throw new HttpError(
          400,
          `${name} has ${items.length} items; the limit is ${limits.maxInputs}`,
          "invalid_request_error",
          name,
          {},
          "Validation",
        );
      }
      // OpenAI accepts one token array as well as an array of them: checked as one input
      if (allowIds && items.every((x) => typeof x === "number")) {
        return [checkIds(items, name, limits, vocab)] as T[];
      }
      items.forEach((x, i) => {
        const p = `${name}[${i}]`;
        if (typeof x === "string") {
          if (x.length === 0) throw empty(`${p} is empty`, p);
          if (x.length > limits.maxInputChars) {
            throw new HttpError(
              413,
              `${p} has ${x.length} characters; the limit is ${limits.maxInputChars}`,
              "invalid_request_error",
              p,
            );
          }
        } else if (allowIds && Array.isArray(x)) {
          if (x.length === 0) throw empty(`${p} is empty`, p);
          checkIds(x, p, limits, vocab);
        } else {
          throw invalid(`${p} must be a string${allowIds ? " or an array of token ids" : ""}`, p);
        }
      });
      return items as T[];
    },
  ));
}

/** The pooling of a sentence vector: the model's own by default, `pooler` if it has one. */
function poolingField(info: ModelInfo) {
  const poolings = POOLINGS.filter((p) => p !== "pooler" || info.hasPooler);
  return field<Pooling>(
    { type: "string", enum: poolings, default: info.pooling },
    (v, name) => {
      if (v === undefined || v === null) return info.pooling;
      if (typeof v !== "string" || !POOLINGS.includes(v as Pooling)) {
        throw invalid(`${name} must be one of ${POOLINGS.join(", ")}`, name);
      }
      if (v === "pooler" && !info.hasPooler) {
        throw invalid(`${info.modelId} exports no pooler output`, name);
      }
      return v as Pooling;
    },
  );
}

/** An optional string field (its value unchecked beyond its type). */
const textField = (description: string) =>
  field<string | undefined>({ type: "string", description }, (v, name) => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw invalid(`${name} must be a string`, name);
    return v;
  });

/** The hidden states to read (`layers`) and how they combine (`layer_mix`). */
function layerFieldsOf(embedder: Embedder) {
  const info = embedder.info;
  const layers = field<number[] | undefined>({
    type: "array",
    items: { type: "integer", minimum: -info.layers - 1, maximum: info.layers },
    minItems: 1,
    default: [-1],
    description:
      "hidden states to read: 0 the embeddings, N the last of N layers, -1 the last, -2 the one before",
  }, (v) => {
    if (v === undefined || v === null) return undefined;
    embedder.layerStates(v); // InputError → 400 naming layers or layers[i]
    return v as number[];
  });
  // layer_mix says how the states of `layers` combine: without `layers` it would have
  // nothing to do, so app.ts refuses it there (no default here, so that it can tell)
  const layerMix = choice(LAYER_MIXES);
  return {
    layers,
    layer_mix: {
      ...layerMix,
      json: { ...layerMix.json, description: "with layers (default mean)" },
    },
  };
}

// TEI's TruncationDirection: which end a cut (truncate: true) removes tokens from
function truncationDirectionField() {
  return field<TruncationDirection>(
    { type: "string", enum: ["Left", "Right", "left", "right"], default: "Right" },
    (v, name) => {
      if (v === undefined || v === null) return "Right";
      if (v === "Right" || v === "right") return "Right";
      if (v === "Left" || v === "left") return "Left";
      throw invalid(`${name} must be Left or Right`, name);
    },
  );
}

/** The fields the routes of an app around `embedder` share, under `limits`. */
export function sharedFields(embedder: Embedder, limits: ContractLimits) {
  const info = embedder.info;
  const vocab = embedder.tokenizer.vocabSize;
  return {
    info,
    vocab,
    limits,
    /** A string or a non-empty array of strings (or, `allowIds`, of token-id arrays). */
    inputs: <T extends string | number[]>(allowIds: boolean) =>
      inputsField<T>(allowIds, limits, vocab),
    // the text inputs of every route but /v1/embeddings (which also takes token ids)
    texts: inputsField<string>(false, limits, vocab),
    pooling: poolingField(info),
    text: textField,
    layerFields: layerFieldsOf(embedder),
    truncate: flag(false),
    truncationDirection: truncationDirectionField(),
    // TEI's prompt_name, checked by each route against the model that runs it (prompt_name.ts)
    promptName: promptNameField(info),
  };
}

/** What `sharedFields` makes. */
export type SharedFields = ReturnType<typeof sharedFields>;
