/**
 * Child process of bench/load_memory.ts: loads one model with `Embedder.load` on the WASM
 * backend from the source tree given (so that two trees, before and after a change, run
 * the same child), and prints as one JSON line the process's peak resident memory during
 * the load (VmHWM), then, after a full GC: resident memory, the JS heap, the memory held by
 * ArrayBuffers (`external`: the model file's bytes while something references them) and
 * the WebAssembly memories (the kernels' packed weights, the tokenizer's), all in MiB.
 *
 * @example
 * ```sh
 * deno run -A --v8-flags=--expose-gc bench/load_memory_child.ts . .cache/bench-minilm-structure int8
 * ```
 * @module
 */
import { memoriesMiB } from "./wasm_memories.ts";

const [tree, dir, dtype] = Deno.args;
const { Embedder } = await import(`${Deno.realPathSync(tree)}/src/model/embedder.ts`);
const MiB = 2 ** 20;
const gc = (globalThis as unknown as { gc: () => void }).gc;

/** A line of /proc/self/status in MiB (its values are in kB). */
function status(field: string): number {
  const line = Deno.readTextFileSync("/proc/self/status").split("\n")
    .find((l) => l.startsWith(`${field}:`));
  return Number(line?.split(/\s+/)[1]) / 1024;
}

/** After a full GC (in a later task, so nothing of the current one is pinned). */
async function settled() {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
  }
  const usage = Deno.memoryUsage();
  const wasm = memoriesMiB();
  return {
    rssMiB: usage.rss / MiB,
    heapMiB: usage.heapUsed / MiB,
    externalMiB: usage.external / MiB,
    wasmMiB: wasm.reduce((a, b) => a + b, 0),
    memoriesMiB: wasm,
  };
}

const before = await settled();
const embedder = await Embedder.load(dir, {
  backend: "wasm",
  ...(dtype === "int8" ? { dtype: "int8" as const } : {}),
});
const peakLoadMiB = status("VmHWM");
const afterLoad = await settled();
// the model still runs: what was released was not needed
const { dims } = await embedder.embed(["the memory a loaded model keeps"]);
console.log(JSON.stringify({
  engine: embedder.info.engine,
  onnxFile: embedder.info.onnxFile,
  dims,
  before,
  peakLoadMiB,
  afterLoad,
}));
await embedder.close();
