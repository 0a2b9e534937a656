/**
 * Child process of bench/worker_memory.ts: loads one model on the WASM backend and prints,
 * as one JSON line, the size of every WebAssembly memory (onnxruntime-web's and the
 * tokenizer's) and the JS heap after a GC, after load and after a request mix (24
 * requests of 8 sentences, then 32 inputs of 512 tokens). The memories are found by
 * wasm_memories.ts, imported before anything else.
 *
 * @example
 * ```sh
 * deno run -A --v8-flags=--expose-gc bench/wasm_memory_child.ts .cache/bench-minilm-structure int8 512
 * ```
 * @module
 */
import { memories } from "./wasm_memories.ts";

const [dir, dtype, batchTokens, corpus] = Deno.args;
const { Embedder } = await import("../src/model/embedder.ts");
const { partedReader } = await import("../edge/assets.ts");
const MiB = 2 ** 20;
const snapshot = () => {
  (globalThis as unknown as { gc?: () => void }).gc?.();
  const wasm = memories.map((m) => m.buffer.byteLength / MiB);
  return {
    wasmMiB: wasm.reduce((a, b) => a + b, 0),
    memoriesMiB: wasm,
    heapMiB: Deno.memoryUsage().heapUsed / MiB,
  };
};
// as the Worker reads its assets: files over 25 MiB are stored in parts
const read = partedReader((path) => Deno.readFile(`${dir}/${path}`).catch(() => undefined));
const embedder = await Embedder.load(read, {
  backend: "wasm",
  batchTokens: Number(batchTokens),
  ...(dtype === "int8" ? { dtype: "int8" as const } : {}),
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
console.log(JSON.stringify({ onnxFile: embedder.info.onnxFile, afterLoad, afterShort, afterLong }));
await embedder.close();
