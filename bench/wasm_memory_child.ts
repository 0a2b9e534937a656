/**
 * Child process of bench/worker_memory.ts: loads one model on the WASM backend as the Worker
 * does (its token budget, no tokenizer cache, the engine the library picks: embedge's
 * kernels for fp32 and int8 BERT graphs) and prints, as one JSON line, snapshots of the
 * isolate's memory: every WebAssembly memory's size (the engine's and the tokenizer's; wasm
 * memory grows to its high-water mark and never shrinks), the JS heap and the memory held
 * outside it by ArrayBuffers (`external`: the model files' bytes while they are read), each
 * after two GCs. Snapshots are taken at every step of the load (`onLoadStep`: after the files
 * are read, with their bytes alive; after the tokenizer; after the session is built, the
 * files' bytes and the packed weights alive at once; after the probe run), after 24 requests
 * of 8 sentences and after 32 inputs of 512 tokens. Also the process's resident high-water
 * mark (VmHWM: Deno's runtime, compiled code and garbage not yet collected included, an upper
 * bound). With `none` as the dtype it only imports the modules and reports that mark: the
 * runtime's own share. The memories are found by wrapping `WebAssembly.Memory`, `Instance`
 * and `instantiate` before anything else is imported (a benchmark may patch globals; the
 * library never does).
 *
 * @example
 * ```sh
 * deno run -A --v8-flags=--expose-gc bench/wasm_memory_child.ts .cache/bench-minilm-structure int8 512 ../shared/corpus/big.txt
 * ```
 * @module
 */
// first: it wraps WebAssembly before anything compiles wasm
import { memories } from "./wasm_memories.ts";

const [dir, dtype, batchTokens, corpus] = Deno.args;
const { Embedder } = await import("../src/model/embedder.ts");
const { partedReader } = await import("../edge/assets.ts");
const MiB = 2 ** 20;
/** The process's resident high-water mark (Linux), MiB. */
const vmHwmMiB = () =>
  Number(/VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"))?.[1]) / 1024;
if (dtype === "none") {
  console.log(JSON.stringify({ vmHwmMiB: vmHwmMiB() }));
  Deno.exit(0);
}
const snapshot = () => {
  // twice: V8 frees dead ArrayBuffers' memory after a GC, concurrently, and the next GC
  // waits for that; after one, `external` still counted 9–25 MiB of dead buffers (varying)
  const gc = (globalThis as unknown as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const wasm = memories.map((m) => m.buffer.byteLength / MiB);
  const usage = Deno.memoryUsage();
  const wasmMiB = wasm.reduce((a, b) => a + b, 0);
  const heapMiB = usage.heapUsed / MiB, externalMiB = usage.external / MiB;
  return {
    wasmMiB,
    memoriesMiB: wasm,
    heapMiB,
    externalMiB,
    totalMiB: wasmMiB + heapMiB + externalMiB,
  };
};
// as the Worker reads its assets: files over 25 MiB are stored in parts
const read = partedReader((path) => Deno.readFile(`${dir}/${path}`).catch(() => undefined));
const loadSteps: Record<string, ReturnType<typeof snapshot>> = {};
const embedder = await Embedder.load(read, {
  backend: "wasm",
  batchTokens: Number(batchTokens),
  tokenizerCache: false,
  ...(dtype === "int8" ? { dtype: "int8" as const } : {}),
  onLoadStep: (step) => {
    loadSteps[step] = snapshot();
  },
});
const afterLoad = snapshot();
const lines = Deno.readTextFileSync(corpus).split("\n").map((l) => l.trim())
  .filter((l) => l.length > 20 && l.length < 300).slice(0, 400);
for (let i = 0; i < 24; i++) await embedder.embed(lines.slice(i * 8, i * 8 + 8));
const afterShort = snapshot();
await embedder.embed(
  // 32 inputs of 512 tokens (each long enough to be truncated there)
  Array.from({ length: 32 }, (_, i) => lines.slice(i * 10, i * 10 + 40).join(" ")),
  { truncate: true },
);
const afterLong = snapshot();
console.log(JSON.stringify({
  onnxFile: embedder.info.onnxFile,
  engine: embedder.info.engine,
  loadSteps,
  afterLoad,
  afterShort,
  afterLong,
  vmHwmMiB: vmHwmMiB(),
}));
await embedder.close();
