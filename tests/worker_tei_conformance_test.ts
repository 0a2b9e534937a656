/**
 * TEI conformance on the Cloudflare Worker: the suite of tests/support/tei_conformance.ts
 * (every request shape TEI's OpenAPI document gives each route, every answer and error
 * against TEI's schemas and statuses) against the default build (edge/worker.ts: the
 * tokenizer and embedge's kernels, no onnxruntime-web) under `wrangler dev`, started once.
 *
 * The Worker serves an embedding model only: TEI's routes of the other model types answer
 * TEI's 424 `Backend` there, as TEI answers them for a model of another type. It loads no
 * second model because this build could not run one: a sequence-classification or masked-LM
 * graph ends in a head (`logits` from a Gemm, not a LayerNorm output), which embedge's
 * kernels refuse (TextClassifier's doc example: "logits is not a LayerNorm output (Gemm)"),
 * so it would need onnxruntime-web and its 14 MB wasm (the opt-in build), and a second
 * model's weights in the same 128 MB isolate.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { exists, hasShared, tempDir } from "./support/paths.ts";
import { makeTestModel } from "./support/test_model.ts";
import { startWranglerDev, WRANGLER } from "./support/wrangler_dev.ts";
import { clientOf, teiConformance } from "./support/tei_conformance.ts";
import { prepareWorkerAssets } from "../bin/worker_assets.ts";

const ignore = !hasShared("models/all-MiniLM-L6-v2/tokenizer.json") || !exists(WRANGLER);

Deno.test({
  name: "TEI conformance: the Worker (default build) under wrangler dev, an embedding model only",
  ignore,
  sanitizeResources: false,
  async fn() {
    const model = await makeTestModel({ seed: 12, layers: 1 });
    const assetsDir = await tempDir("embedge-worker-tei-");
    await prepareWorkerAssets(model.dir, assetsDir);
    const worker = await startWranglerDev({
      assetsDir,
      vars: { EMBEDGE_MODEL_ID: "worker-tei-bert", EMBEDGE_LOG: "off" },
    });
    try {
      const report = await teiConformance(clientOf(worker.url), {});
      assertEquals(report.failures, [], `${report.failures.length} failures`);
      // counted, so that a suite that lost its cases cannot pass by checking nothing
      assert(report.answers >= 40 && report.errors >= 20, JSON.stringify(report));
      console.log(`Worker: ${report.answers} answers, ${report.errors} errors conform`);
    } catch (e) {
      console.error(worker.log().slice(-3000));
      throw e;
    } finally {
      await worker.stop();
    }
  },
});
