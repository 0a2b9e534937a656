/**
 * End to end: the Deno server (`edge/deno.ts`) started on 127.0.0.1 by the test, called
 * over HTTP with the official `openai` npm client (`baseURL` pointed at it); its vectors
 * equal the library's.
 */
import OpenAI from "openai";
import { assert, assertEquals } from "./support/assert.ts";
import { hasShared } from "./support/paths.ts";
import { makeTestModel } from "./support/test_model.ts";
import { Embedder } from "../src/model/embedder.ts";
import { startDenoServer } from "./support/local_server.ts";

const ignore = !hasShared("models/all-MiniLM-L6-v2/tokenizer.json");

Deno.test({
  name: "Deno server + official openai client: vectors equal the library's",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 21, layers: 1 });
    const { url, proc } = await startDenoServer(model.dir, { EMBEDGE_API_KEY: "k-123" }, 30);
    try {
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "k-123", maxRetries: 0 });
      const texts = ["I love Paris.", "I adore Paris.", "I hate traffic."];
      const res = await client.embeddings.create({ model: "embedge", input: texts });
      const lib = await Embedder.load(model.dir);
      const expected = await lib.embed(texts, { normalize: true });
      assertEquals(res.data.length, 3);
      res.data.forEach((d, i) =>
        d.embedding.forEach((x, k) => assert(Math.abs(x - expected.data[i * 32 + k]) < 1e-6))
      );
      assert(res.usage.prompt_tokens > 0);
      const floats = await client.embeddings.create({
        model: "embedge",
        input: "I love Paris.",
        encoding_format: "float",
      });
      assertEquals(floats.data[0].embedding.length, 32);
      let status = 0;
      try {
        await new OpenAI({ baseURL: `${url}/v1`, apiKey: "wrong", maxRetries: 0 }).embeddings
          .create({
            model: "embedge",
            input: "x",
          });
      } catch (e) {
        status = (e as { status: number }).status;
      }
      assertEquals(status, 401);
      await lib.close();
    } finally {
      proc.kill("SIGTERM");
      await proc.status;
    }
  },
});
