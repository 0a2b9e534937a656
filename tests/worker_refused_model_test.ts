/**
 * The default Worker build leaves onnxruntime-web out (edge/wrangler.jsonc aliases it to
 * edge/ort_web_excluded.ts). Its fetch handler (edge/worker_handler.ts) is run here in Deno
 * the same way (tests/support/worker_twin.ts, with an import map in place of the alias),
 * which is quicker than workerd; tests/edge_worker_test.ts checks the same under
 * `wrangler dev` once. A model the kernels refuse (a BERT look-alike: gelu's x/√2 as x/1)
 * answers 503 on every route, naming the kernels' reason; an fp32 BERT and an int8 one run on
 * the kernels without onnxruntime.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { hasShared, shared, tempDir } from "./support/paths.ts";
import { makeTestModel } from "./support/test_model.ts";
import { runWorkerTwin, type TwinAnswer } from "./support/run_worker_twin.ts";
import { quantize } from "../src/model/onnx/quantize.ts";
import { readGraph } from "../src/model/onnx/graph.ts";

const root = new URL("..", import.meta.url).pathname;
const ignore = !hasShared("models/all-MiniLM-L6-v2/tokenizer.json");

/** The default build's handler in a Deno without onnxruntime-web: each request's answer. */
async function withoutOrtWeb(
  modelDir: string,
  vars: Record<string, string>,
  requests: string[],
): Promise<{ answers: TwinAnswer[]; log: string }> {
  const dir = await tempDir("embedge-twin-");
  const map = `${dir}/import_map.json`;
  await Deno.writeTextFile(
    map,
    // the library names it with a versioned npm: specifier (src/deps/onnxruntime_web.ts)
    JSON.stringify({
      imports: { "npm:onnxruntime-web@1.30.0": `${root}edge/ort_web_excluded.ts` },
    }),
  );
  const { answers, stdout, stderr } = await runWorkerTwin(modelDir, vars, requests, map);
  return { answers, log: stderr + stdout };
}

const ROUTES = [
  "GET /health",
  "GET /info",
  'POST /embed {"inputs":"I love Paris."}',
  'POST /tokenize {"inputs":"I love Paris."}',
  'POST /v1/embeddings {"input":"I love Paris.","model":"x"}',
];

/** The model's graph with gelu's x/√2 made x/1: a BERT look-alike the kernels refuse. */
async function withLookAlikeGelu(modelDir: string): Promise<void> {
  const path = `${modelDir}/onnx/model.onnx`;
  const bytes = await Deno.readFile(path);
  const t = readGraph(bytes).initializers.find((i) => i.name === "sqrt2")!;
  new DataView(t.raw!.buffer, t.raw!.byteOffset, t.raw!.byteLength).setFloat32(0, 1, true);
  await Deno.writeFile(path, bytes);
}

Deno.test({
  name:
    "Worker without onnxruntime-web: a graph the kernels refuse answers 503 on every route, naming why",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 43, layers: 1 });
    await withLookAlikeGelu(model.dir);
    const { answers, log } = await withoutOrtWeb(
      model.dir,
      { EMBEDGE_LOG: "off", EMBEDGE_LOG_TIMINGS: "on" },
      ROUTES,
    );
    for (const a of answers) {
      assertEquals(a.status, 503, `${a.request}: ${JSON.stringify(a.body)}`);
      const message = typeof a.body.error === "string" ? a.body.error : a.body.error?.message ?? "";
      // the kernels' reason, then what is missing and how to get it
      assert(/the WASM kernels refused the model \(.*not exact gelu.*\)/.test(message), message);
      assert(message.includes("onnxruntime-web is not in this Worker build"), message);
      assert(message.includes("wrangler.ort.jsonc"), message);
    }
    // the refusal is kept: the model was read once, not once per request
    assertEquals(log.match(/embedge timing: files /g)?.length, 1, log);
  },
});

Deno.test({
  name: "Worker without onnxruntime-web: an int8 model (embedge quantize) runs on the int8 kernels",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 43, layers: 1 });
    await quantize(model.dir);
    const { answers, log } = await withoutOrtWeb(
      model.dir,
      { EMBEDGE_DTYPE: "int8", EMBEDGE_LOG: "off" },
      ROUTES,
    );
    for (const a of answers) assertEquals(a.status, 200, `${a.request}: ${JSON.stringify(a.body)}`);
    assertEquals(answers[1].body.engine, "embedge-kernels", log);
  },
});

Deno.test({
  name: "Worker without onnxruntime-web: an fp32 BERT runs on the kernels",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 41, layers: 1 });
    const { answers, log } = await withoutOrtWeb(model.dir, { EMBEDGE_LOG: "off" }, ROUTES);
    for (const a of answers) assertEquals(a.status, 200, `${a.request}: ${JSON.stringify(a.body)}`);
    assertEquals(answers[1].body.engine, "embedge-kernels", log);
  },
});

Deno.test({
  name:
    "Worker without onnxruntime-web: EMBEDGE_PREDICT_MODEL (a classifier's head the kernels refuse) answers 503 on every route, naming why",
  ignore: ignore || !hasShared("models/embedge-mini-sst2/onnx/model.onnx"),
  async fn() {
    const model = await makeTestModel({ seed: 41, layers: 1 });
    // the classifier in a directory beside the embedding model's files, as in the assets
    await Deno.symlink(shared("models/embedge-mini-sst2"), `${model.dir}/sst2`);
    const { answers } = await withoutOrtWeb(
      model.dir,
      { EMBEDGE_LOG: "off", EMBEDGE_PREDICT_MODEL: "sst2" },
      [...ROUTES, 'POST /predict {"inputs":"I love Paris."}'],
    );
    for (const a of answers) {
      assertEquals(a.status, 503, `${a.request}: ${JSON.stringify(a.body)}`);
      const message = typeof a.body.error === "string" ? a.body.error : a.body.error?.message ?? "";
      assert(message.includes("onnxruntime-web is not in this Worker build"), message);
      assert(message.includes("sst2"), message);
    }
  },
});
