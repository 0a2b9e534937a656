/**
 * What `onnxruntime-web` resolves to in the default Worker build (edge/wrangler.jsonc's
 * `alias`): importing it fails, saying why. The library imports onnxruntime-web only when
 * a model needs it (src/model/engine/runtimes.ts), so this build carries neither its JS (~0.4 MB)
 * nor its wasm (~14 MB), and a model the WASM kernels refuse fails to load with the
 * kernels' reason and this message. `edge/wrangler.ort.jsonc` builds the Worker with it.
 * @module
 */
throw new Error(
  "onnxruntime-web is not in this Worker build (edge/wrangler.jsonc leaves it out; " +
    "deploy with -c edge/wrangler.ort.jsonc to include it)",
);
