// Many texts in one call: `batchTokenize` runs texts given back to back and leaves all
// their tokens in the matcher's output, one row (first token, tokens kept) per text, so
// the JS side writes the model's padded tensors from one view of that output with no
// crossing per text (a text holding added tokens is the JS side's, between two calls).
//   texts "I love Paris." and "Hi" at code units [0, 13) and [13, 15), keep -1:
//     output  1045 2293 3000 1012 | 7632      rows  (0, 4) (4, 1)

import { E_NO_MODEL } from "./errors";
import { model } from "./format";
import { boundary, normalizeRange } from "./normalizer";
import { setIdsOnly, tokenCount } from "./wordpiece";

/**
 * Appends the tokens of texts `from` to `to` - 1 to the output started by `begin`: text k
 * is code units [starts[k], starts[k + 1]) of `text` (`starts`: i32 per text and one
 * more). Writes to `rows` (i32 × 2 per text, at index k) the index of the text's first
 * token in the output and how many of its tokens are kept: all, or at most `keep` when
 * `keep` >= 0 (truncation of a single text keeps its first tokens). Only the ids are
 * written (no word indices or offsets). Returns the tokens in the output
 * (truncated ones included: the JS side's views must cover them all), or E_NO_MODEL
 * before a model.
 */
export function batchTokenize(
  text: usize,
  starts: usize,
  from: i32,
  to: i32,
  keep: i32,
  rows: usize,
): i32 {
  if (model == 0) return E_NO_MODEL;
  setIdsOnly(true);
  for (let k = from; k < to; k++) {
    const first = tokenCount();
    const at = starts + (<usize>k) * 4;
    normalizeRange(text, load<i32>(at), load<i32>(at, 4));
    boundary(); // the text's last word ends with it
    let n = tokenCount() - first;
    if (keep >= 0 && n > keep) n = keep;
    store<i32>(rows + (<usize>k) * 8, first);
    store<i32>(rows + (<usize>k) * 8, n, 4);
  }
  setIdsOnly(false);
  return tokenCount();
}
