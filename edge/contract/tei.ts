/**
 * The contract of TEI's embedding and token routes (routes/tei.ts): `/embed`, `/embed_all`,
 * `/embed/words`, `/tokenize`, `/decode`, `/similarity`, with TEI's request fields (its
 * Input, truncate, truncation_direction, prompt_name, SimilarityParameters) and embedge's
 * (layers, layer_mix, pooling, aggregate).
 *
 * @module
 */
import type { TruncationDirection } from "../truncation.ts";
import {
  array,
  boolean,
  choice,
  type Field,
  field,
  flag,
  integer,
  integerIn,
  invalid,
  nullable,
  number,
  object,
  type Parsed,
  required,
  string,
} from "../schema.ts";
import { HttpError } from "../errors.ts";
import { type SharedFields, vector } from "./fields.ts";
import { type ContractLimits, post } from "./route.ts";

const tokenVectors = array(vector);

/** TEI's SimilarityParameters, each refused by its full name (parameters.truncate). */
function similarityParameters(
  promptName: Field<string | undefined>,
  truncate: Field<boolean>,
  truncationDirection: Field<TruncationDirection>,
) {
  const similarityFields = {
    prompt_name: promptName,
    truncate,
    truncation_direction: truncationDirection,
  };
  return field<Parsed<typeof similarityFields>>({
    type: "object",
    properties: Object.fromEntries(
      Object.entries(similarityFields).map(([k, f]) => [k, f.json]),
    ),
    additionalProperties: false,
  }, (v, name) => {
    const given = v ?? {};
    if (typeof given !== "object" || Array.isArray(given)) {
      throw invalid(`${name} must be an object`, name);
    }
    for (const k of Object.keys(given)) {
      if (!Object.hasOwn(similarityFields, k)) {
        throw invalid(
          `${name}.${k} is not a parameter; they are ${Object.keys(similarityFields).join(", ")}`,
          `${name}.${k}`,
        );
      }
    }
    const out = given as Record<string, unknown>;
    return {
      prompt_name: promptName.parse(out.prompt_name, `${name}.prompt_name`),
      truncate: truncate.parse(out.truncate, `${name}.truncate`),
      truncation_direction: truncationDirection.parse(
        out.truncation_direction,
        `${name}.truncation_direction`,
      ),
    };
  });
}

/** `/decode`'s ids: one list of token ids, or a batch of them. */
function decodeIds(limits: ContractLimits, vocab: number) {
  const idList = array(integer({ minimum: 0, maximum: vocab - 1 }), { maxItems: 100_000 });
  return required(field<number[] | number[][] | undefined>(
    { oneOf: [idList.json, array(idList, { minItems: 1, maxItems: limits.maxInputs }).json] },
    (v, name) => {
      if (v === undefined || v === null) return undefined;
      const valid = (x: unknown) =>
        Array.isArray(x) && x.length <= 100_000 &&
        x.every((t) => Number.isInteger(t) && t >= 0 && t < vocab);
      if (valid(v)) return v as number[];
      if (
        Array.isArray(v) && v.length > 0 && v.length <= limits.maxInputs && v.every(valid)
      ) {
        return v as number[][];
      }
      if (Array.isArray(v) && v.length > limits.maxInputs && v.every(valid)) {
        // too many id lists: TEI's batch-size error (413 Validation), as on /embed
        throw new HttpError(
          400,
          `${name} has ${v.length} id lists; the limit is ${limits.maxInputs}`,
          "invalid_request_error",
          name,
          {},
          "Validation",
        );
      }
      throw invalid(
        `${name} must be an array of token ids (or an array of such arrays)`,
        name,
      );
    },
  ));
}

/** `/similarity`'s inputs: a source sentence and the sentences to compare it with. */
function similarityInputs(texts: Field<string[]>, limits: ContractLimits) {
  return required(field<{ source: string; sentences: string[] } | undefined>({
    type: "object",
    properties: {
      source_sentence: { type: "string", minLength: 1 },
      sentences: texts.json,
    },
    required: ["source_sentence", "sentences"],
  }, (v, name) => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "object" || Array.isArray(v)) {
      throw invalid(`${name} must be an object`, name);
    }
    const { source_sentence: source, sentences } = v as Record<string, unknown>;
    if (typeof source !== "string" || source.length === 0) {
      throw invalid(
        `${name}.source_sentence must be a non-empty string`,
        `${name}.source_sentence`,
      );
    }
    const list = texts.parse(sentences, `${name}.sentences`);
    if (list.length + 1 > limits.maxInputs) {
      // TEI embeds the source and the sentences as one batch: its batch-size error
      // (413 Validation), as on /embed
      throw new HttpError(
        400,
        `at most ${limits.maxInputs - 1} sentences`,
        "invalid_request_error",
        `${name}.sentences`,
        {},
        "Validation",
      );
    }
    return { source, sentences: list };
  }));
}

/** The TEI embedding and token routes' entries. */
export function teiContract(shared: SharedFields) {
  const { info, vocab, limits, inputs, texts, pooling, layerFields } = shared;
  const { truncate, truncationDirection, promptName } = shared;
  // TEI's request fields of the token and word routes; /embed adds the sentence ones
  const tokenFields = {
    inputs: texts,
    truncate, // TEI: refuse long inputs by default
    truncation_direction: truncationDirection,
    prompt_name: promptName,
    ...layerFields,
  };
  // TEI's Input on its embedding routes: texts or token ids (as /v1/embeddings takes them)
  const textsOrIds = inputs<string | number[]>(true);
  const sentenceFields = {
    ...tokenFields,
    inputs: textsOrIds,
    normalize: flag(true),
    pooling,
    dimensions: integerIn(1),
  };
  const token = object({
    id: integer(),
    text: string(),
    special: boolean(),
    start: nullable(integer()),
    stop: nullable(integer()),
    attention_mask: integer(),
  });
  return {
    "/embed": post("TEI-compatible sentence embeddings", sentenceFields, array(vector)),
    "/embed_all": post(
      "Token embeddings (last_hidden_state per token)",
      { ...tokenFields, inputs: textsOrIds },
      array(tokenVectors),
    ),
    "/embed/words": post(
      "Word embeddings (subwords aggregated per word)",
      { ...tokenFields, aggregate: choice(["mean", "first"], "mean") },
      array(object({
        words: array(object({ word: string(), start: integer(), stop: integer(), vector })),
      })),
    ),
    "/tokenize": post(
      "Tokens, ids, offsets, attention mask (optionally padded to max_length)",
      {
        inputs: texts,
        add_special_tokens: flag(true),
        prompt_name: promptName,
        max_length: integerIn(2, info.maxLength),
        padding: field<"max_length" | false | undefined>(
          { enum: ["max_length", false] },
          (v, name) => {
            if (v === undefined || v === null) return undefined;
            if (v !== false && v !== "max_length") {
              throw invalid(`${name} must be max_length or false`, name);
            }
            return v;
          },
        ),
      },
      array(array(token)),
    ),
    "/decode": post(
      "Token ids to text",
      { ids: decodeIds(limits, vocab), skip_special_tokens: flag(true) },
      array(string()), // TEI's DecodeResponse: one text per id list, a flat list too
    ),
    "/similarity": post(
      "Cosine similarity of a source sentence to candidates",
      {
        inputs: similarityInputs(texts, limits),
        parameters: similarityParameters(promptName, truncate, truncationDirection),
        pooling,
      },
      array(number()),
    ),
  };
}
