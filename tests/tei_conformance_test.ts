/**
 * TEI conformance on Deno (tests/support/tei_conformance.ts: every request shape TEI's
 * OpenAPI document gives each route, every answer and error against TEI's schemas and
 * statuses): the Deno server (edge/deno.ts, started as a process) serving an embedding model
 * alone, with a classifier (`EMBEDGE_PREDICT_MODEL`: embedge-mini-sst2) and with a one-label
 * cross-encoder (a reranker), and the app with a SPLADE model (which only `AppOptions` can
 * load) through its `request`. Each server's `/info` names the model type of the model its
 * `POST /` answers with, as TEI's does. tests/worker_tei_conformance_test.ts runs the same
 * suite against the Worker.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { hasShared, shared } from "./support/paths.ts";
import { makeTestModel } from "./support/test_model.ts";
import { startDenoServer } from "./support/local_server.ts";
import { type Client, clientOf, type Served, teiConformance } from "./support/tei_conformance.ts";
import { Embedder } from "../src/model/embedder.ts";
import { SparseEncoder } from "../src/model/sparse/sparse_encoder.ts";
import { createApp } from "../edge/app.ts";

const ignore = !hasShared("models/all-MiniLM-L6-v2/tokenizer.json") ||
  !hasShared("models/embedge-mini-sst2/onnx/model.onnx");

/** Runs the suite; fails listing every answer that does not conform. */
async function conforms(client: Client, served: Served, what: string): Promise<void> {
  const report = await teiConformance(client, served);
  assertEquals(report.failures, [], `${what}: ${report.failures.length} failures`);
  // counted, so that a suite that lost its cases cannot pass by checking nothing
  assert(report.answers >= 40 && report.errors >= 20, JSON.stringify(report));
  console.log(`${what}: ${report.answers} answers, ${report.errors} errors conform`);
}

/** Starts edge/deno.ts on `modelDir` with `env`, runs the suite, stops it. */
async function denoServer(modelDir: string, env: Record<string, string>, served: Served) {
  const { url, proc } = await startDenoServer(modelDir, { EMBEDGE_WORKERS: "0", ...env }, 120);
  try {
    await conforms(clientOf(url), served, `Deno server ${JSON.stringify(env)}`);
  } finally {
    proc.kill("SIGTERM");
    await proc.status;
  }
}

Deno.test({
  name:
    "TEI conformance: the Deno server with an embedding model only (/predict, /rerank, /embed_sparse: 424)",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 12, layers: 1 });
    await denoServer(model.dir, {}, {});
  },
});

Deno.test({
  name:
    "TEI conformance: the Deno server with a classifier; /info's model_type is TEI's classifier",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 12, layers: 1 });
    await denoServer(model.dir, { EMBEDGE_PREDICT_MODEL: shared("models/embedge-mini-sst2") }, {
      labels: ["negative", "positive"],
    });
  },
});

Deno.test({
  name:
    "TEI conformance: the Deno server with a one-label cross-encoder; /info's model_type is TEI's reranker",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 12, layers: 1 });
    const reranker = await makeTestModel({ head: "sequence-classification", labels: 1 });
    await denoServer(model.dir, { EMBEDGE_PREDICT_MODEL: reranker.dir }, { labels: ["LABEL_0"] });
  },
});

Deno.test({
  name:
    "TEI conformance: the app with a SPLADE model; /info's model_type is an embedding model with splade pooling",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 12, layers: 1 });
    const embedder = await Embedder.load(model.dir);
    const splade = await SparseEncoder.load((await makeTestModel({ head: "masked-lm" })).dir, {
      backend: "native",
    });
    try {
      const app = createApp(embedder, { log: false, sparseEncoder: splade });
      await conforms(
        (path, init) => Promise.resolve(app.request(path, init)),
        { sparse: true },
        "app with SPLADE",
      );
    } finally {
      await splade.close();
      await embedder.close();
    }
  },
});
