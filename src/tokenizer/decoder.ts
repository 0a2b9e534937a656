/**
 * The WordPiece decoder: joins tokens, glues `##` continuations to the previous
 * token and applies HF's `cleanup` (no space before `.`, `?`, `!`, `,`, and the
 * English contractions), as HF tokenizers' `decoders.WordPiece` does.
 *
 * @example
 * ```ts
 * import { decodeWordPiece } from "./decoder.ts";
 * console.log(decodeWordPiece(["i", "love", "par", "##is", "."], "##")); // i love paris.
 * ```
 * @module
 */

/** HF `cleanup` of one decoded piece. */
export function cleanup(s: string): string {
  return s
    .replaceAll(" .", ".")
    .replaceAll(" ?", "?")
    .replaceAll(" !", "!")
    .replaceAll(" ,", ",")
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" do not", " don't")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

/** Decodes tokens to text; `prefix` is the continuation prefix (`##`). */
export function decodeWordPiece(tokens: readonly string[], prefix: string, clean = true): string {
  let out = "";
  for (let i = 0; i < tokens.length; i++) {
    let piece = tokens[i];
    if (i !== 0) piece = piece.startsWith(prefix) ? piece.slice(prefix.length) : " " + piece;
    out += clean ? cleanup(piece) : piece;
  }
  return out;
}
