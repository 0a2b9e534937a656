/**
 * Child process of the tokenizer test "a full GC keeps encode's optimized code": warms
 * `encode`, has V8 optimize it (with TurboFan, synchronously: the test must not depend on
 * when the concurrent compiler gets to it on a busy machine, nor on `encode` being inlined
 * into the loop instead), drops every Encoding, runs a full GC, and encodes again. Run with
 * `--v8-flags=--expose-gc,--allow-natives-syntax,--trace-opt,--trace-deopt,
 * --no-concurrent-recompilation,--no-concurrent-osr` (see the test); the test reads
 * the trace and the lines `optimized before gc: …` / `optimized after gc: …`.
 * @module
 */
import { Tokenizer } from "../../src/tokenizer/tokenizer.ts";

/** A V8 runtime function (`%Name(f)`): TypeScript cannot parse the syntax, Function can. */
const native = (name: string) => new Function("f", `return %${name}(f)`) as (f: unknown) => number;
// %GetOptimizationStatus bit for "has optimized code" (V8 15: kOptimized = 1 << 3)
const OPTIMIZED = 1 << 3;

const vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "i", "love", "paris", ".", "##s"];
const tokenizer = await Tokenizer.fromVocab(vocab.join("\n"));
const texts = ["I love Paris.", "Paris loves", "i", "love love paris ."];
const encode = Tokenizer.prototype.encode;
native("PrepareFunctionForOptimization")(encode);
const run = (count: number) => {
  let n = 0;
  for (let k = 0; k < count; k++) n += tokenizer.encode(texts[k & 3]).ids.length;
  return n;
};
run(2_000); // type feedback for the optimizer
native("OptimizeFunctionOnNextCall")(encode);
const before = run(2_000);
const optimized = () => (native("GetOptimizationStatus")(encode) & OPTIMIZED) !== 0;
console.log(`optimized before gc: ${optimized()}`);
(globalThis as { gc?: () => void }).gc!();
console.error("--- after gc ---");
console.log(`optimized after gc: ${optimized()}`);
const after = run(2_000);
console.log(before === after ? "same" : `different: ${before} vs ${after}`);
