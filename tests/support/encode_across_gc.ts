/**
 * Child process of the tokenizer test "a full GC keeps encode's optimized code": encodes
 * enough short texts for V8 to optimize `encode`, drops every Encoding, runs a full GC,
 * and encodes again. Run with `--v8-flags=--expose-gc,--trace-opt,--trace-deopt`; the test reads the
 * trace.
 * @module
 */
import { Tokenizer } from "../../src/tokenizer/tokenizer.ts";

const vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "i", "love", "paris", ".", "##s"];
const tokenizer = await Tokenizer.fromVocab(vocab.join("\n"));
const texts = ["I love Paris.", "Paris loves", "i", "love love paris ."];
const run = () => {
  let n = 0;
  for (let k = 0; k < 200_000; k++) n += tokenizer.encode(texts[k & 3]).ids.length;
  return n;
};
const before = run();
(globalThis as { gc?: () => void }).gc!();
console.error("--- after gc ---");
const after = run();
console.log(before === after ? "same" : `different: ${before} vs ${after}`);
