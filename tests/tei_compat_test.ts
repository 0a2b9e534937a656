/**
 * text-embeddings-inference's contract on TEI's routes (its docs/openapi.json): `/info`'s
 * required fields, `/decode` always an array, token-id inputs on `/embed` and `/embed_all`,
 * `truncation_direction: "Left"`, `/similarity`'s `parameters`, and the routes TEI serves
 * outside its document (`POST /embeddings`, `GET /ping`, `GET /`).
 */
import { assert, assertEquals } from "./support/assert.ts";
import { hasShared } from "./support/paths.ts";
import { makeTestModel } from "./support/test_model.ts";
import { Embedder } from "../src/model/embedder.ts";
import { createApp } from "../edge/app.ts";

const ignore = !hasShared("models/all-MiniLM-L6-v2/tokenizer.json");
const model = ignore ? null : await makeTestModel({ seed: 12, layers: 1 });
const embedder = ignore ? null : await Embedder.load(model!.dir, { modelId: "test-bert" });
const app = ignore ? null : createApp(embedder!, { log: false, maxInputs: 16 });

const post = async (path: string, body: unknown) => {
  const res = await app!.request(path, { method: "POST", body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
};
const near = (a: number[], b: ArrayLike<number>, what: string) => {
  assertEquals(a.length, b.length, what);
  a.forEach((v, i) => assert(Math.abs(v - b[i]) < 1e-5, `${what} [${i}]: ${v} vs ${b[i]}`));
};
/** A text's token ids, without [CLS] and [SEP]. */
const idsOf = (text: string) =>
  Array.from(embedder!.tokenizer.encode(text, { addSpecialTokens: false }).ids);

Deno.test({
  name: "GET /info has TEI's required Info fields, of TEI's types",
  ignore,
  async fn() {
    const info = await (await app!.request("/info")).json();
    const pkg = JSON.parse(Deno.readTextFileSync(new URL("../package.json", import.meta.url)));
    assertEquals(info.model_id, "test-bert");
    assertEquals(info.model_type, { embedding: { pooling: embedder!.info.pooling } });
    assertEquals(info.model_dtype, "float32");
    assertEquals(info.version, pkg.version);
    assertEquals(info.max_client_batch_size, 16);
    assertEquals(info.max_input_length, embedder!.info.maxLength);
    assertEquals(info.max_batch_tokens, embedder!.info.batchTokens);
    assertEquals(info.auto_truncate, false);
    for (const k of ["max_concurrent_requests", "tokenization_workers", "max_batch_requests"]) {
      assert(Number.isInteger(info[k]) && info[k] > 0, `${k}: ${info[k]}`);
    }
    // embedge's own fields stay
    assertEquals(info.hidden_size, embedder!.info.hiddenSize);
  },
});

Deno.test({
  name: "POST /decode answers an array of texts, for one id list as for several",
  ignore,
  async fn() {
    const ids = idsOf("i love paris");
    assertEquals((await post("/decode", { ids })).body, ["i love paris"]);
    assertEquals((await post("/decode", { ids: [ids, ids.slice(0, 1)] })).body, [
      "i love paris",
      "i",
    ]);
  },
});

Deno.test({
  name: "token ids on /embed and /embed_all give the text's vectors; mixed batches too",
  ignore,
  async fn() {
    const text = "I love Paris.";
    const ids = idsOf(text);
    const byText = await post("/embed", { inputs: [text, "rain"] });
    const byIds = await post("/embed", { inputs: [ids, "rain"] });
    assertEquals([byText.status, byIds.status], [200, 200], JSON.stringify(byIds.body));
    near(byIds.body.flat(), byText.body.flat(), "/embed");
    near((await post("/embed", { inputs: ids })).body[0], byText.body[0], "/embed, flat ids");
    const allText = await post("/embed_all", { inputs: text });
    const allIds = await post("/embed_all", { inputs: [ids] });
    assertEquals(allIds.status, 200, JSON.stringify(allIds.body));
    near(allIds.body.flat(2), allText.body.flat(2), "/embed_all");
    // ids outside the vocabulary: TEI's 422 Validation naming the input
    const bad = await post("/embed", { inputs: [[1, 10_000_000]] });
    assertEquals([bad.status, bad.body.error_type, bad.body.param], [
      422,
      "Validation",
      "inputs[0]",
    ]);
  },
});

Deno.test({
  name: "truncation_direction Left keeps [CLS], the last tokens and [SEP]; Right the first",
  ignore,
  async fn() {
    const max = embedder!.info.maxLength;
    // different ends, so that the two cuts differ
    const text = `I love Paris. ${"rain ".repeat(max)}and that is the end of the story`;
    const ids = idsOf(text);
    assert(ids.length > max, "the text must be longer than the model takes");
    const [left, right] = [ids.slice(ids.length - (max - 2)), ids.slice(0, max - 2)];
    const lib = await embedder!.embed([left, right], { normalize: true });
    const d = lib.dims[1];
    for (const [direction, k] of [["Left", 0], ["Right", 1]] as const) {
      const expected = lib.data.subarray(k * d, (k + 1) * d);
      const tokens = await post("/embed", {
        inputs: text,
        truncate: true,
        truncation_direction: direction,
      });
      assertEquals(tokens.status, 200, JSON.stringify(tokens.body));
      near(tokens.body[0], expected, `/embed ${direction} (text)`);
      const given = await post("/embed", {
        inputs: [ids],
        truncate: true,
        truncation_direction: direction,
      });
      near(given.body[0], expected, `/embed ${direction} (ids)`);
    }
    // the two cuts differ (the field is not ignored)
    assert(lib.data.subarray(0, d).some((v, i) => Math.abs(v - lib.data[d + i]) > 1e-4));
    const all = await post("/embed_all", {
      inputs: text,
      truncate: true,
      truncation_direction: "Left",
    });
    const kept = await post("/embed_all", { inputs: [left] });
    assertEquals(all.body[0].length, max);
    near(all.body[0].flat(), kept.body[0].flat(), "/embed_all Left");
    // without truncate, a long input is refused whatever the direction: 413 Validation
    const long = await post("/embed", { inputs: text, truncation_direction: "Left" });
    assertEquals([long.status, long.body.error_type, long.body.param], [
      413,
      "Validation",
      "inputs[0]",
    ]);
  },
});

Deno.test({
  name: "/similarity's parameters: truncate (TEI's default off) and truncation_direction",
  ignore,
  async fn() {
    const long = "paris rain ".repeat(embedder!.info.maxLength);
    const inputs = { source_sentence: "paris", sentences: ["rain", long] };
    const refused = await post("/similarity", { inputs });
    assertEquals([refused.status, refused.body.error_type], [413, "Validation"]);
    const cut = await post("/similarity", { inputs, parameters: { truncate: true } });
    assertEquals(cut.status, 200);
    const left = await post("/similarity", {
      inputs,
      parameters: { truncate: true, truncation_direction: "Left" },
    });
    assertEquals(left.status, 200);
    assertEquals(cut.body[0], left.body[0]); // short: no cut either way
    const bad = await post("/similarity", { inputs, parameters: { truncat: true } });
    assertEquals([bad.status, bad.body.param], [422, "parameters.truncat"]);
  },
});

Deno.test({
  name: "TEI's routes outside its document: POST /embeddings, GET /ping and GET /",
  ignore,
  async fn() {
    const body = { input: ["I love Paris.", "rain"] };
    const v1 = await post("/v1/embeddings", body), bare = await post("/embeddings", body);
    assertEquals(bare.status, 200);
    assertEquals(bare.body, v1.body);
    // OpenAI's error shape there, as on /v1/embeddings
    const bad = await post("/embeddings", { input: 5 });
    assertEquals([bad.status, bad.body.error.param], [400, "input"]);
    const keyed = createApp(embedder!, { log: false, apiKey: "k" });
    for (const path of ["/ping", "/"]) {
      const res = await app!.request(path);
      assertEquals([res.status, await res.json()], [200, { status: "ok" }], path);
    }
    // /ping is a probe: open like /health; GET / answers with the key
    assertEquals((await keyed.request("/ping")).status, 200);
    assertEquals((await keyed.request("/")).status, 401);
  },
});
