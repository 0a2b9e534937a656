/**
 * Hugging Face's JS client, `@huggingface/inference`'s `InferenceClient` with an
 * `endpointUrl` (it POSTs every task to that URL, the server's root), against the app
 * served by `Deno.serve` on a free port: featureExtraction (one text, a batch),
 * sentenceSimilarity and textClassification give the same numbers as the direct routes
 * (`/embed`, `/similarity`, `/predict`).
 */
import { InferenceClient } from "@huggingface/inference";
import { assertEquals } from "./support/assert.ts";
import { hasShared, shared } from "./support/paths.ts";
import { Embedder } from "../src/model/embedder.ts";
import { TextClassifier } from "../src/model/classify/text_classifier.ts";
import { createApp } from "../edge/app.ts";

const ignore = !hasShared("models/embedge-mini-sst2/onnx/model.onnx") ||
  !hasShared("models/embedge-mini-simcse/tokenizer.json");

/** Serves `app` on a free local port for `use`, then shuts it down. */
async function served(
  app: ReturnType<typeof createApp>,
  use: (url: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  try {
    await use(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

/** A direct POST to a route. */
async function direct(url: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assertEquals(res.status, 200, url);
  return await res.json();
}

Deno.test({
  name:
    "@huggingface/inference against the app: featureExtraction, sentenceSimilarity, textClassification equal the direct routes",
  ignore,
  async fn() {
    const embedder = await Embedder.load(shared("models/embedge-mini-simcse"));
    const sst2 = await TextClassifier.load(shared("models/embedge-mini-sst2"), {
      backend: "native",
    });
    const client = new InferenceClient();
    try {
      await served(createApp(embedder, { log: false }), async (url) => {
        const one = await client.featureExtraction({ endpointUrl: url, inputs: "I love Paris." });
        assertEquals(one, await direct(`${url}/embed`, { inputs: "I love Paris." }));
        const texts = ["I love Paris.", "I hate traffic.", "Rain again."];
        const many = await client.featureExtraction({ endpointUrl: url, inputs: texts });
        assertEquals(many, await direct(`${url}/embed`, { inputs: texts }));
        assertEquals((many as number[][]).length, 3);
        const inputs = { source_sentence: "I love Paris.", sentences: ["I adore Paris.", "Rain."] };
        const similar = await client.sentenceSimilarity({ endpointUrl: url, inputs });
        assertEquals(similar, await direct(`${url}/similarity`, { inputs }));
      });
      await served(createApp(embedder, { log: false, textClassifier: sst2 }), async (url) => {
        const labels = await client.textClassification({
          endpointUrl: url,
          inputs: "i love paris .",
        });
        assertEquals(labels, await direct(`${url}/predict`, { inputs: "i love paris ." }));
        assertEquals(labels[0].label, "positive");
      });
    } finally {
      await sst2.close();
      await embedder.close();
    }
  },
});
