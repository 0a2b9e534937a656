/**
 * Handing onnxruntime-web a precompiled `WebAssembly.Module`.
 *
 * Cloudflare Workers (workerd) refuse to compile WebAssembly from bytes: an imported `.wasm`
 * file arrives as a `WebAssembly.Module`, and only `WebAssembly.instantiate(module, imports)`
 * is allowed. onnxruntime-web 1.30 has no option that takes a module: its loader builds the
 * Emscripten config itself and accepts only bytes (`env.wasm.wasmBinary`) or a URL. So the
 * seam is the one call Emscripten makes with those bytes: `env.wasm.wasmBinary` is set to a
 * small marker buffer, and while ORT initialises, `WebAssembly.instantiate` answers a call
 * whose bytes are a view of that marker with an instance of the given module (every other
 * call goes to the real function, and the real function is put back afterwards).
 *
 * @example
 * ```ts
 * import * as ort from "onnxruntime-web";
 * import { withCompiledOrtWasm } from "./ort_wasm.ts";
 * const module = await WebAssembly.compile(
 *   await Deno.readFile("node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm"),
 * );
 * // wraps the first InferenceSession.create, which initialises ORT's runtime
 * const bytes = await Deno.readFile("../shared/models/embedge-mini-mlm/onnx/model.onnx");
 * const session = await withCompiledOrtWasm(module, () => ort.InferenceSession.create(bytes));
 * console.log(session.inputNames); // ["input_ids", "attention_mask", "token_type_ids"]
 * ```
 * @module
 */
import { loadOrtWeb } from "./runtimes.ts";

const MARKER = new Uint8Array([0x65, 0x6d, 0x62, 0x65, 0x64, 0x67, 0x65, 0x21]).buffer; // "embedge!"

// set once ORT has instantiated a module handed in here (ORT initialises once per process)
let compiledOrtWasmUsed = false;

/**
 * Runs `init` (the first session creation, which initialises ORT) so that ORT instantiates
 * `module` instead of compiling bytes; later calls run `init` unchanged.
 *
 * @example
 * ```ts ignore
 * // on Workers: the module comes from importing the .wasm file
 * import * as ort from "onnxruntime-web";
 * import ortWasm from "onnxruntime-web/dist/ort-wasm-simd-threaded.wasm";
 * import { withCompiledOrtWasm } from "./ort_wasm.ts";
 * const session = await withCompiledOrtWasm(ortWasm, () => ort.InferenceSession.create(bytes));
 * ```
 */
export async function withCompiledOrtWasm<T>(
  module: WebAssembly.Module,
  init: () => Promise<T>,
): Promise<T> {
  if (compiledOrtWasmUsed) return await init();
  const ort = await loadOrtWeb(); // lazily, as runtimes.ts does: see there
  const real = WebAssembly.instantiate;
  const isMarker = (x: unknown) => (x instanceof Uint8Array && x.buffer === MARKER) || x === MARKER;
  const adapter = (async (source: unknown, imports?: WebAssembly.Imports) => {
    if (!isMarker(source)) {
      return await (real as (s: unknown, i?: unknown) => unknown)(source, imports);
    }
    compiledOrtWasmUsed = true;
    const instance = await real(module, imports);
    return { instance, module };
  }) as typeof WebAssembly.instantiate;
  ort.env.wasm.wasmBinary = MARKER;
  WebAssembly.instantiate = adapter;
  try {
    return await init();
  } finally {
    if (WebAssembly.instantiate === adapter) WebAssembly.instantiate = real;
  }
}
