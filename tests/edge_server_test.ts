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

const ignore = !hasShared("models/all-MiniLM-L6-v2/tokenizer.json");

async function startServer(modelDir: string, env: Record<string, string> = {}) {
  const port = 30000 + Math.floor(Math.random() * 20000);
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../edge/deno.ts", import.meta.url).pathname],
    env: {
      EMBEDGE_MODEL: modelDir,
      PORT: String(port),
      HOST: "127.0.0.1",
      EMBEDGE_LOG: "off",
      ...env,
    },
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      const r = await fetch(`${url}/health`);
      await r.body?.cancel();
      if (r.ok) return { url, proc };
    } catch { /* starting */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error("server did not start");
}

Deno.test({
  name: "Deno server + official openai client: vectors equal the library's",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 21, layers: 1 });
    const { url, proc } = await startServer(model.dir, { EMBEDGE_API_KEY: "k-123" });
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
