/**
 * TEI conformance on the Cloudflare Worker with a classifier: the opt-in build
 * (edge/worker_ort.ts, with onnxruntime-web) under `wrangler dev`, started once, serving an
 * embedding model and, as `EMBEDGE_PREDICT_MODEL`, embedge-mini-sst2 from a directory beside
 * it in the same assets. The suite of tests/support/tei_conformance.ts runs against it (its
 * `/info` names TEI's classifier model type, `/predict` answers, `/rerank` is TEI's 424 for
 * a two-label model), and its `/predict` scores are the library's on onnxruntime-web. The
 * default build cannot load a classifier (its head is a Gemm the kernels refuse):
 * tests/worker_refused_model_test.ts checks that it says so.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { exists, hasShared, shared, tempDir } from "./support/paths.ts";
import { makeTestModel } from "./support/test_model.ts";
import { startWranglerDev, WRANGLER } from "./support/wrangler_dev.ts";
import { clientOf, teiConformance } from "./support/tei_conformance.ts";
import { prepareWorkerAssets } from "../bin/worker_assets.ts";
import { TextClassifier } from "../src/model/classify/text_classifier.ts";

const ignore = !hasShared("models/all-MiniLM-L6-v2/tokenizer.json") ||
  !hasShared("models/embedge-mini-sst2/onnx/model.onnx") || !exists(WRANGLER);

Deno.test({
  name:
    "TEI conformance: the Worker (onnxruntime-web build) with EMBEDGE_PREDICT_MODEL, a classifier beside the embedding model",
  ignore,
  sanitizeResources: false,
  async fn() {
    const model = await makeTestModel({ seed: 12, layers: 1 });
    const assetsDir = await tempDir("embedge-worker-tei-clf-");
    await prepareWorkerAssets(model.dir, assetsDir);
    await prepareWorkerAssets(shared("models/embedge-mini-sst2"), `${assetsDir}/sst2`);
    const sst2 = await TextClassifier.load(shared("models/embedge-mini-sst2"), {
      backend: "wasm",
    });
    const worker = await startWranglerDev({
      assetsDir,
      build: "ort",
      vars: {
        EMBEDGE_MODEL_ID: "worker-tei-bert",
        EMBEDGE_PREDICT_MODEL: "sst2",
        EMBEDGE_LOG: "off",
      },
    });
    try {
      const report = await teiConformance(clientOf(worker.url), {
        labels: ["negative", "positive"],
      });
      assertEquals(report.failures, [], `${report.failures.length} failures`);
      assert(report.answers >= 40 && report.errors >= 20, JSON.stringify(report));
      console.log(
        `Worker with a classifier: ${report.answers} answers, ${report.errors} errors conform`,
      );
      // the library's scores, on the same engine
      const texts = ["i love paris .", "i hate traffic ."];
      const res = await fetch(`${worker.url}/predict`, {
        method: "POST",
        body: JSON.stringify({ inputs: texts.map((t) => [t]) }),
      });
      const got: { label: string; score: number }[][] = await res.json();
      const expected = await sst2.classify(texts);
      assertEquals(
        got.map((r) => r.map((l) => l.label)),
        expected.map((r) => r.map((l) => l.label)),
      );
      got.flat().forEach((l, i) => {
        const want = expected.flat()[i].score;
        assert(Math.abs(l.score - want) < 1e-5, `${l.label}: ${l.score} vs ${want}`);
      });
      assertEquals(got[0][0].label, "positive");
    } catch (e) {
      console.error(worker.log().slice(-3000));
      throw e;
    } finally {
      await worker.stop();
      await sst2.close();
    }
  },
});
