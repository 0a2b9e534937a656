/**
 * Child of tests/kernels_memory_test.ts (run with `--v8-flags=--expose-gc`): makes a kernel
 * session from a model's bytes, drops the bytes, and prints whether a full GC collected
 * them while the session lives on and still runs (`{"collected":true,"dims":[1,3,32]}`).
 * A session that kept views of the bytes (bert_graph.ts hands the kernels weights as views
 * of the file) would hold the whole ONNX file for its lifetime, beside the packed copy.
 *
 * @example
 * ```sh
 * deno run -A --v8-flags=--expose-gc tests/support/kernels_release_child.ts int8
 * ```
 * @module
 */
import { bertOnnx, bertWeights } from "../../src/model/fixtures/generated_bert.ts";
import { bertGraphWeights } from "../../src/model/kernels/bert_graph.ts";
import { createKernelSession } from "../../src/model/kernels/kernel_session.ts";
import { quantizeModel } from "../../src/model/onnx/quantize.ts";
import type { OrtSession } from "../../src/model/engine/runtimes.ts";

const gc = (globalThis as unknown as { gc: () => void }).gc;
const shape = { vocabSize: 64, hidden: 32, layers: 2, heads: 4, intermediate: 64 };

/** A session of the model; the model's buffer only through the WeakRef. */
async function load(): Promise<[OrtSession, WeakRef<ArrayBuffer>]> {
  const fp32 = bertOnnx(bertWeights(shape));
  const model = Deno.args[0] === "int8" ? quantizeModel(fp32).model : fp32;
  const weights = bertGraphWeights(model, { heads: shape.heads });
  if (typeof weights === "string") throw new Error(weights);
  return [await createKernelSession(weights), new WeakRef(model.buffer as ArrayBuffer)];
}

const [session, bytes] = await load();
// a WeakRef's target lives until the job that made it ends: collect in later tasks
for (let i = 0; i < 3; i++) {
  await new Promise((resolve) => setTimeout(resolve, 0));
  gc();
}
const ids = { data: BigInt64Array.of(1n, 7n, 2n), dims: [1, 3] };
const out = await session.run({ input_ids: ids }, ["last_hidden_state"]);
console.log(JSON.stringify({
  collected: bytes.deref() === undefined,
  dims: out.last_hidden_state.dims,
}));
