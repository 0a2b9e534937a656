/**
 * The Worker's fetch handler (edge/worker_handler.ts) run in Deno as its default build
 * runs it: the tokenizer and kernels handed over as compiled modules, the model read
 * through an `ASSETS`-like binding from a directory. Run it with an import map that sends
 * `onnxruntime-web` to edge/ort_web_excluded.ts (as edge/wrangler.jsonc's alias does) to
 * have the build without onnxruntime-web. Prints one JSON line: each request's status and
 * body, in order.
 *
 * Usage: `deno run -A --import-map map.json worker_twin.ts <model dir> <vars JSON> <path>…`
 * (a path `POST /embed {json}` posts the body).
 * @module
 */
import { createWorker, type WorkerEnv } from "../../edge/worker_handler.ts";
import { directoryAssets } from "./directory_assets.ts";

const root = new URL("../../", import.meta.url).pathname;
const [dir, varsJson, ...requests] = Deno.args;
const compile = async (path: string) => new WebAssembly.Module(await Deno.readFile(root + path));
const worker = createWorker({
  tokenizerWasm: await compile("wasm/build/tokenizer.wasm"),
  kernelsWasm: await compile("wasm/build/bert_kernels.wasm"),
});
const env: WorkerEnv = {
  ...JSON.parse(varsJson),
  ASSETS: directoryAssets(dir),
};
const answers = [];
for (const request of requests) {
  const [method, path, ...body] = request.split(" ");
  const init = method === "POST" ? { method, body: body.join(" ") } : {};
  const res = await worker.fetch(new Request(`http://worker.local${path}`, init), env, {});
  answers.push({ request, status: res.status, body: await res.json() });
}
console.log(JSON.stringify(answers));
