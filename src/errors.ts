/**
 * Typed errors. Every error embedge throws on purpose is an {@link EmbedgeError} with a
 * stable `code`, and for bad arguments the `param` that was wrong, so callers (and the
 * HTTP layer) can answer precisely.
 *
 * @example
 * ```ts
 * import { InputError } from "./errors.ts";
 * try {
 *   throw new InputError("text must be a string", "text");
 * } catch (e) {
 *   if (e instanceof InputError) console.log(e.code, e.param); // invalid_input text
 * }
 * ```
 * @module
 */

/** Base class of all embedge errors. */
export class EmbedgeError extends Error {
  /** Stable machine-readable code, e.g. `invalid_input`. */
  readonly code: string;
  /** The argument or field at fault, when there is one. */
  readonly param?: string;
  /** Creates an error with a code and an optional parameter name. */
  constructor(message: string, code: string, param?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.param = param;
  }
}

/** An argument has the wrong type or value (empty list, non-string, bad option). */
export class InputError extends EmbedgeError {
  /** @param param the argument or field at fault */
  constructor(message: string, param?: string) {
    super(message, "invalid_input", param);
  }
}

/** An input is longer than a limit and truncation was not allowed. */
export class InputTooLongError extends EmbedgeError {
  /** @param param the argument or field at fault */
  constructor(message: string, param?: string) {
    super(message, "input_too_long", param);
  }
}

/** Tokenizer files (vocab, tokenizer.json, precompiled form) are missing or invalid. */
export class TokenizerLoadError extends EmbedgeError {
  /** @param param the file or option at fault */
  constructor(message: string, param?: string, options?: ErrorOptions) {
    super(message, "tokenizer_load", param, options);
  }
}

/** A model directory, config or ONNX graph is missing or unusable. */
export class ModelLoadError extends EmbedgeError {
  /** @param param the file or option at fault */
  constructor(message: string, param?: string, options?: ErrorOptions) {
    super(message, "model_load", param, options);
  }
}

/**
 * A model run failed on the server's side, not the input's: a session worker died during
 * the run or the run passed its time limit (the worker is then replaced). Retrying can help.
 */
export class InferenceError extends EmbedgeError {
  /** @param param the option or part at fault (e.g. `workers`) */
  constructor(message: string, param?: string, options?: ErrorOptions) {
    super(message, "inference_failed", param, options);
  }
}
