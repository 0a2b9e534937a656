/**
 * The Cloudflare Workers entry point: the same Hono app as `edge/deno.ts`, with the model
 * read from an R2 bucket (`MODEL_BUCKET`) or from the static-assets binding `ASSETS` (a
 * Hub-layout model directory; under `wrangler dev` a local directory or the local R2
 * simulation) and the WebAssembly modules imported as modules, because workerd refuses
 * to compile wasm from bytes.
 *
 * Bindings and variables (see `edge/wrangler.jsonc`): `MODEL_BUCKET` (an R2 bucket holding
 * the model directory under the key prefix `EMBEDGE_MODEL_PREFIX`, e.g. `minilm/`; objects
 * have no 25 MiB limit) or else `ASSETS` (the model directory, as prepared by
 * `bin/worker_assets.ts`: files over the 25 MiB asset limit in parts, the tokenizer
 * precompiled), `EMBEDGE_MODEL_ID` (the name in responses and classifier checks), `EMBEDGE_API_KEY`
 * (a secret), `EMBEDGE_BATCHING` (`off` to stop batching the concurrent requests of an
 * isolate), `EMBEDGE_BATCH_TOKENS` (cells per model run, default 512 here: memory),
 * `EMBEDGE_DTYPE` (`int8` loads `onnx/model_int8.onnx`: a MiniLM-sized model
 * within a 128 MB isolate, on the kernels in this build), `EMBEDGE_TIMEOUT_MS`,
 * `EMBEDGE_CLASSIFIERS` (`name=path.json,…`, paths inside the model directory),
 * `EMBEDGE_PREDICT_MODEL` (a sequence-classification model for TEI's `/predict` and
 * `/rerank`: a directory under that path in the same assets or bucket, e.g. `sst2`; it runs on
 * onnxruntime-web, so the opt-in build only: this one answers 503 saying so),
 * `EMBEDGE_LOG_TIMINGS` (`on`: log how long each step of the model's load and the first
 * three requests took; `requests`: every request's time too).
 *
 * This build carries the tokenizer and embedge's kernels only (fp32 BERT graphs that
 * src/model/kernels/bert_graph.ts recognises): onnxruntime-web is left out (edge/wrangler.jsonc
 * aliases it to edge/ort_web_excluded.ts), and with it 14 MB of wasm. A model the kernels
 * refuse does not load: every route answers 503 with their reason. `edge/worker_ort.ts`
 * (`-c edge/wrangler.ort.jsonc`) is the build with onnxruntime-web, for such models.
 *
 * The model loads on the first request (workerd allows no I/O at module scope) and stays
 * for the life of the isolate; a failed load is retried on the next request, except a
 * refused graph, which would be refused again (edge/worker_handler.ts).
 *
 * @example
 * ```sh
 * npx wrangler dev -c edge/wrangler.jsonc --ip 127.0.0.1 --port 8787
 * curl -s 127.0.0.1:8787/embed -d '{"inputs":"I love Paris."}'
 * ```
 * @module
 */
// Wrangler's default module rules turn these imports into `WebAssembly.Module`s.
import tokenizerWasm from "../wasm/build/tokenizer.wasm";
import kernelsWasm from "../wasm/build/bert_kernels.wasm";
import { createWorker } from "./worker_handler.ts";

export type { WorkerEnv } from "./worker_handler.ts";

export default createWorker({
  tokenizerWasm: tokenizerWasm as WebAssembly.Module,
  kernelsWasm: kernelsWasm as WebAssembly.Module,
});
