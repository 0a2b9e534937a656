/**
 * The opt-in Cloudflare Worker build with onnxruntime-web (`-c edge/wrangler.ort.jsonc`):
 * edge/worker.ts plus onnxruntime-web's JS and its 14 MB wasm, which run the models the
 * kernels refuse (int8 graphs, graphs src/model/kernels/bert_graph.ts does not recognise). Models
 * the kernels run still run on them. Bindings and variables: see edge/worker.ts.
 *
 * @example
 * ```sh
 * npx wrangler dev -c edge/wrangler.ort.jsonc --ip 127.0.0.1 --port 8787
 * ```
 * @module
 */
// Wrangler's default module rules turn these imports into `WebAssembly.Module`s.
import ortWasm from "../node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm";
import tokenizerWasm from "../wasm/build/tokenizer.wasm";
import kernelsWasm from "../wasm/build/bert_kernels.wasm";
import { createWorker } from "./worker_handler.ts";

export default createWorker({
  tokenizerWasm: tokenizerWasm as WebAssembly.Module,
  kernelsWasm: kernelsWasm as WebAssembly.Module,
  ortWasm: ortWasm as WebAssembly.Module,
});
