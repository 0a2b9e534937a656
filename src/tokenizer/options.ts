/**
 * The options of `encode`, `encodeBatch` and `encodeRows`, checked once a call: every
 * field given a value, so the encoders read no `undefined` defaults.
 *
 * @example
 * ```ts
 * import { checkOptions, NO_OPTIONS } from "./options.ts";
 * console.log(checkOptions(NO_OPTIONS)); // { addSpecialTokens: true, truncation: false, padding: false }
 * try {
 *   checkOptions({ padding: "left" as "longest" });
 * } catch (e) {
 *   console.log((e as Error).message); // unknown padding "left"
 * }
 * ```
 * @module
 */
import { InputError } from "../errors.ts";
import type { TruncationStrategy } from "./post_processor.ts";
import type { EncodeOptions } from "./tokenizer.ts";

/** The default options (one object, so the check is one comparison). */
export const NO_OPTIONS: EncodeOptions = Object.freeze({});

/** Options with every field the encoders read set. */
export type CheckedOptions = EncodeOptions & {
  addSpecialTokens: boolean;
  truncation: boolean | TruncationStrategy;
  padding: false | "longest" | "max_length";
};

const DEFAULT_OPTIONS: CheckedOptions = {
  addSpecialTokens: true,
  truncation: false,
  padding: false,
};

/** `o` checked, with its defaults filled in; an InputError names a bad field. */
export function checkOptions(o: EncodeOptions): CheckedOptions {
  if (o === NO_OPTIONS) return DEFAULT_OPTIONS;
  if (typeof o !== "object" || o === null) {
    throw new InputError("options must be an object", "options");
  }
  const maxLength = o.maxLength;
  if (
    maxLength !== undefined &&
    !(Number.isInteger(maxLength) && maxLength >= 0 && maxLength <= 1 << 24)
  ) {
    throw new InputError("maxLength must be a non-negative integer", "maxLength");
  }
  const m = o.padToMultipleOf;
  if (m !== undefined && !(Number.isInteger(m) && m >= 1 && m <= 1 << 16)) {
    throw new InputError("padToMultipleOf must be a positive integer", "padToMultipleOf");
  }
  const truncation = o.truncation ?? false;
  if (![false, true, "longest_first", "only_first", "only_second"].includes(truncation)) {
    throw new InputError(`unknown truncation ${JSON.stringify(truncation)}`, "truncation");
  }
  const padding = o.padding ?? false;
  if (![false, "longest", "max_length"].includes(padding)) {
    throw new InputError(`unknown padding ${JSON.stringify(padding)}`, "padding");
  }
  return { ...o, addSpecialTokens: o.addSpecialTokens ?? true, truncation, padding };
}
