/**
 * Which options of an embed request shape the model run and which only read its output.
 * The batcher groups requests by the first (`runKey`): one forward pass serves every
 * pooling, normalization and choice of layers waiting in the queue (`Embedder.embedMany`
 * fetches every layer its variants need and takes the run's shape from the first), as TEI
 * keys its batches by nothing but the model run. The second (`variantOf`) tells apart the
 * option sets one run answers.
 *
 * @example
 * ```ts
 * import { runKey, variantKey } from "./keys.ts";
 * console.log(runKey({ pooling: "cls" }) === runKey({ pooling: "mean", normalize: true })); // true
 * console.log(runKey({ maxLength: 64 }) === runKey({})); // false
 * console.log(variantKey({ pooling: "cls" }) === variantKey({ pooling: "mean" })); // false
 * ```
 * @module
 */
import type { EmbedOptions } from "../../src/model/embedder.ts";

/** The options that shape the model run: tokenization, prompt, padding and batching. */
const RUN_FIELDS = [
  "truncate",
  "maxLength",
  "padding",
  "batchTokens",
  "maxPaddingWaste",
  "prompt",
  "promptName",
] as const satisfies readonly (keyof EmbedOptions)[];

/** The options that only read the run's output: one run serves any mix of them. */
const VARIANT_FIELDS = [
  "pooling",
  "normalize",
  "layers",
  "layerMix",
] as const satisfies readonly (keyof EmbedOptions)[];

/**
 * Every option is in one list or the other (`onProgress` is a callback, the first
 * request's is called): a new option of `EmbedOptions` fails the type check here until it
 * is placed, instead of being silently shared by requests that asked differently.
 */
type Unplaced = Exclude<
  keyof EmbedOptions,
  typeof RUN_FIELDS[number] | typeof VARIANT_FIELDS[number] | "onProgress"
>;
const everyOptionPlaced: [Unplaced] extends [never] ? true : Unplaced = true;
void everyOptionPlaced;

/** A key of `fields` of `options`: `undefined` and non-finite numbers kept apart. */
function keyOf(options: EmbedOptions, fields: readonly (keyof EmbedOptions)[]): string {
  // JSON turns undefined, Infinity and NaN into null (`maxPaddingWaste: Infinity` would
  // share a run with the default 0.1); each given value is wrapped, so that no value (the
  // prompt "null", say) can spell another one's key
  return JSON.stringify(fields.map((f) => {
    const v = options[f];
    if (v === undefined) return null;
    return typeof v === "number" && !Number.isFinite(v) ? { number: `${v}` } : { value: v };
  }));
}

/** Requests with equal run keys can share one model run. */
export function runKey(options: EmbedOptions): string {
  return keyOf(options, RUN_FIELDS);
}

/** Requests of one run with equal variant keys get the same vectors. */
export function variantKey(options: EmbedOptions): string {
  return keyOf(options, VARIANT_FIELDS);
}

/**
 * `options`' variant fields over the run-shaping `run` options, each field set even when
 * undefined: `embedMany` fills a variant's missing fields from its first variant, so a
 * request without `layers` would otherwise read the layers another request asked for.
 */
export function variantOf(run: EmbedOptions, options: EmbedOptions): EmbedOptions {
  const variant: EmbedOptions = { ...run };
  for (const f of VARIANT_FIELDS) {
    (variant as Record<string, unknown>)[f] = options[f];
  }
  return variant;
}
