/**
 * TEI's routes of the other model types on the app: `/predict` (a sequence classifier),
 * `/rerank` (a one-label cross-encoder), `/embed_sparse` (SPLADE), each answering as the
 * library does, TEI's 424 when the loaded model does not fit, and `POST /` and
 * `/invocations` dispatched to the loaded model's route.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { hasShared, shared } from "./support/paths.ts";
import { makeTestModel } from "./support/test_model.ts";
import { Embedder } from "../src/model/embedder.ts";
import { TextClassifier } from "../src/model/classify/text_classifier.ts";
import { SparseEncoder } from "../src/model/sparse/sparse_encoder.ts";
import { createApp } from "../edge/app.ts";

const ignore = !hasShared("models/embedge-mini-sst2/onnx/model.onnx") ||
  !hasShared("models/all-MiniLM-L6-v2/tokenizer.json");

type App = ReturnType<typeof createApp>;
const post = async (app: App, path: string, body: unknown) => {
  const res = await app.request(path, { method: "POST", body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
};

Deno.test({
  name:
    "/predict, /rerank and /embed_sparse answer as the library; 424 when the model does not fit",
  ignore,
  async fn() {
    const embedder = await Embedder.load(shared("models/embedge-mini-simcse"));
    const sst2 = await TextClassifier.load(shared("models/embedge-mini-sst2"), {
      backend: "native",
    });
    const reranker = await TextClassifier.load(
      (await makeTestModel({ head: "sequence-classification", labels: 1 })).dir,
      { backend: "native" },
    );
    const splade = await SparseEncoder.load((await makeTestModel({ head: "masked-lm" })).dir, {
      backend: "native",
    });
    try {
      const plain = createApp(embedder, { log: false });
      const classifying = createApp(embedder, { log: false, textClassifier: sst2 });
      const reranking = createApp(embedder, { log: false, textClassifier: reranker });
      const sparse = createApp(embedder, { log: false, sparseEncoder: splade });

      // /predict: a text, a pair, a batch, as TextClassifier.classify ranks them
      const texts = ["i love paris .", "i hate traffic ."];
      const [love, hate] = await sst2.classify(texts);
      assertEquals((await post(classifying, "/predict", { inputs: texts[0] })).body, love);
      assertEquals(
        (await post(classifying, "/predict", { inputs: [[texts[0]], [texts[1]]] })).body,
        [
          love,
          hate,
        ],
      );
      const [pair] = await sst2.classify([[texts[0], texts[1]]]);
      assertEquals((await post(classifying, "/predict", { inputs: texts })).body, pair);

      // /rerank: the cross-encoder's ranks; a two-label model is not a reranker (424)
      const query = "paris", candidates = ["rain in london", "i love paris", "traffic"];
      const ranks = await reranker.rerank(query, candidates, { returnText: true });
      const got = await post(reranking, "/rerank", { query, texts: candidates, return_text: true });
      assertEquals(got.body, ranks);
      assert(ranks.every((r, i) => i === 0 || r.score <= ranks[i - 1].score));
      const notReranker = await post(classifying, "/rerank", { query, texts: candidates });
      assertEquals([notReranker.status, notReranker.body.error_type], [424, "Backend"]);
      const byLabel = await post(classifying, "/rerank", {
        query,
        texts: candidates,
        label: "positive",
      });
      assertEquals(byLabel.body, await sst2.rerank(query, candidates, { label: "positive" }));

      // /embed_sparse: the SPLADE vectors
      const vectors = await splade.embedSparse(texts);
      assertEquals((await post(sparse, "/embed_sparse", { inputs: texts })).body, vectors);
      assert(vectors[0].length > 0);

      // a route whose model is not loaded: TEI's 424 Backend, in TEI's shape
      for (
        const [app, path, body] of [
          [plain, "/predict", { inputs: "x" }],
          [plain, "/rerank", { query, texts: ["x"] }],
          [plain, "/embed_sparse", { inputs: "x" }],
          [classifying, "/embed_sparse", { inputs: "x" }],
          [sparse, "/predict", { inputs: "x" }],
        ] as [App, string, unknown][]
      ) {
        const r = await post(app, path, body);
        assertEquals(
          [r.status, r.body.error_type],
          [424, "Backend"],
          `${path}: ${JSON.stringify(r.body)}`,
        );
      }

      // POST / and /invocations: the loaded model's route, as TEI dispatches by model type
      for (
        const [app, route, body] of [
          [plain, "/embed", { inputs: "i love paris ." }],
          [classifying, "/predict", { inputs: "i love paris ." }],
          [reranking, "/rerank", { query, texts: candidates }],
          [sparse, "/embed_sparse", { inputs: ["i love paris ."] }],
        ] as [App, string, unknown][]
      ) {
        const direct = await post(app, route, body);
        assertEquals(direct.status, 200, route);
        // a classifier's single text comes back as a batch of one at the root (the
        // Inference API's text-classification shape, which its clients read there)
        const expected = route === "/predict" ? { ...direct, body: [direct.body] } : direct;
        for (const path of ["/", "/invocations"]) {
          assertEquals(await post(app, path, body), expected, `${path} as ${route}`);
        }
      }
      // an embedding model's root takes the Inference API's sentence-similarity body too
      const similar = { inputs: { source_sentence: "paris", sentences: ["rain", "i love paris"] } };
      const cosines = await post(plain, "/similarity", similar);
      assertEquals(cosines.status, 200);
      assertEquals(await post(plain, "/", similar), cosines);
      // and the document says so
      const doc = await (await reranking.request("/openapi.json")).json();
      assert(doc.paths["/"].post.summary.includes("/rerank"), doc.paths["/"].post.summary);
    } finally {
      for (const m of [sst2, reranker, splade, embedder]) await m.close();
    }
  },
});
