/**
 * TEI's `prompt_name` (its docs/openapi.json: a string field of `EmbedRequest`,
 * `EmbedAllRequest`, `EmbedSparseRequest`, `TokenizeRequest` and `SimilarityParameters`;
 * TEI's tokenizer puts the named prompt's text before the input, and refuses a name not in
 * the model's prompts with a `Validation` error, a 413): every route that documents it,
 * every request shape (a text, a batch, token ids, `/similarity`'s `parameters`), the
 * answers and the errors, on a generated model whose `config_sentence_transformers.json`
 * holds prompts.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { hasShared } from "./support/paths.ts";
import { makeTestModel } from "./support/test_model.ts";
import { Embedder } from "../src/model/embedder.ts";
import { SparseEncoder } from "../src/model/sparse/sparse_encoder.ts";
import { createApp } from "../edge/app.ts";

const ignore = !hasShared("models/all-MiniLM-L6-v2/tokenizer.json");
const PROMPTS = { query: "query: ", passage: "passage: " };
const ST_CONFIG = "config_sentence_transformers.json";
const TEXT = "I love Paris.";

const model = ignore
  ? null
  : await makeTestModel({ seed: 31, layers: 1 }, {}, { [ST_CONFIG]: { prompts: PROMPTS } });
const embedder = ignore ? null : await Embedder.load(model!.dir, { modelId: "prompted" });
const sparseModel = ignore ? null : await makeTestModel({ head: "masked-lm" }, {}, {
  [ST_CONFIG]: { prompts: { question: "question: " } },
});
const sparse = ignore ? null : await SparseEncoder.load(sparseModel!.dir, { backend: "native" });
const app = ignore ? null : createApp(embedder!, { log: false, sparseEncoder: sparse! });

type Json = Record<string, unknown>;
const post = async (path: string, body: unknown, on = app!) => {
  const res = await on.request(path, { method: "POST", body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
};
const near = (a: number[], b: number[], what: string) => {
  assertEquals(a.length, b.length, what);
  a.forEach((v, i) => assert(Math.abs(v - b[i]) < 1e-5, `${what} [${i}]: ${v} vs ${b[i]}`));
};
const differ = (a: number[], b: number[]) => a.some((v, i) => Math.abs(v - b[i]) > 1e-4);

Deno.test({
  name:
    "prompt_name on /embed, /embed_all, /embed/words, /similarity: the hand-prefixed texts' answers",
  ignore,
  async fn() {
    const named = await post("/embed", { inputs: [TEXT, "rain"], prompt_name: "query" });
    const byHand = await post("/embed", { inputs: ["query: " + TEXT, "query: rain"] });
    const plain = await post("/embed", { inputs: [TEXT, "rain"] });
    assertEquals(named.status, 200, JSON.stringify(named.body));
    near(named.body.flat(), byHand.body.flat(), "/embed");
    assert(differ(named.body.flat(), plain.body.flat()), "the prompt changed nothing");
    // a single text; prompt_name null is no name
    near(
      (await post("/embed", { inputs: TEXT, prompt_name: "query" })).body[0],
      byHand.body[0],
      "/embed, one text",
    );
    near(
      (await post("/embed", { inputs: TEXT, prompt_name: null })).body[0],
      plain.body[0],
      "/embed, null",
    );
    // token ids with a prompt: decoded, prompted and tokenized again, as TEI does
    const ids = Array.from(embedder!.tokenizer.encode(TEXT, { addSpecialTokens: false }).ids);
    const fromIds = await post("/embed", { inputs: [ids], prompt_name: "query" });
    const decoded = embedder!.tokenizer.decode(ids, { skipSpecialTokens: true });
    near(
      fromIds.body[0],
      (await post("/embed", { inputs: "query: " + decoded })).body[0],
      "/embed, token ids",
    );
    const all = await post("/embed_all", { inputs: TEXT, prompt_name: "passage" });
    near(
      all.body.flat(2),
      (await post("/embed_all", { inputs: "passage: " + TEXT })).body.flat(2),
      "/embed_all",
    );
    assertEquals(all.body[0].length, embedder!.tokenizer.encode("passage: " + TEXT).ids.length);
    const words = await post("/embed/words", { inputs: TEXT, prompt_name: "query" });
    assertEquals(words.body[0].words.slice(0, 2).map((w: Json) => w.word), ["query", ":"]);
    const similarity = (parameters: Json, source: string, sentences: string[]) =>
      post("/similarity", { inputs: { source_sentence: source, sentences }, parameters });
    near(
      (await similarity({ prompt_name: "query" }, TEXT, ["rain", "Paris"])).body,
      (await similarity({}, "query: " + TEXT, ["query: rain", "query: Paris"])).body,
      "/similarity",
    );
  },
});

Deno.test({
  name: "prompt_name on /embed_sparse (the SPLADE model's own prompts) and /tokenize",
  ignore,
  async fn() {
    const named = await post("/embed_sparse", { inputs: TEXT, prompt_name: "question" });
    assertEquals(named.status, 200, JSON.stringify(named.body));
    assertEquals(named.body, (await post("/embed_sparse", { inputs: "question: " + TEXT })).body);
    // the embedding model's names are not the SPLADE model's
    const other = await post("/embed_sparse", { inputs: TEXT, prompt_name: "query" });
    assertEquals(other.status, 413);
    assert(other.body.error.includes("its prompts are question"), other.body.error);
    // /tokenize shows the prompt's tokens, offsets in the prompted text
    const tokens = await post("/tokenize", { inputs: [TEXT], prompt_name: "query" });
    assertEquals(tokens.status, 200, JSON.stringify(tokens.body));
    const [row] = tokens.body as Json[][];
    assertEquals(row.map((t) => t.text), [
      "[CLS]",
      "query",
      ":",
      "i",
      "love",
      "paris",
      ".",
      "[SEP]",
    ]);
    assertEquals([row[1].start, row[1].stop, row[3].start], [0, 5, 7]);
    assertEquals(
      (await post("/tokenize", { inputs: TEXT, prompt_name: "query", add_special_tokens: false }))
        .body[0].map((t: Json) => t.text).slice(0, 2),
      ["query", ":"],
    );
  },
});

Deno.test({
  name:
    "an unknown prompt_name is TEI's 413 Validation on every route that takes it, naming the field",
  ignore,
  async fn() {
    const requests: [string, Json, string][] = [
      ["/embed", { inputs: TEXT, prompt_name: "question" }, "prompt_name"],
      ["/embed_all", { inputs: [TEXT], prompt_name: "question" }, "prompt_name"],
      ["/embed/words", { inputs: TEXT, prompt_name: "question" }, "prompt_name"],
      ["/tokenize", { inputs: TEXT, prompt_name: "question" }, "prompt_name"],
      ["/embed_sparse", { inputs: TEXT, prompt_name: "query" }, "prompt_name"],
      ["/similarity", {
        inputs: { source_sentence: TEXT, sentences: ["rain"] },
        parameters: { prompt_name: "question" },
      }, "parameters.prompt_name"],
    ];
    for (const [path, body, param] of requests) {
      const r = await post(path, body);
      assertEquals(r.status, 413, `${path}: ${JSON.stringify(r.body)}`);
      assertEquals(r.body.error_type, "Validation", path);
      assertEquals(r.body.param, param, path);
      assert(r.body.error.includes("is not a prompt of this model"), r.body.error);
    }
    const known = "its prompts are query, passage";
    assert((await post("/embed", requests[0][1])).body.error.includes(known));
    // not a string: the field's type, TEI's 422 Validation
    const typed = await post("/embed", { inputs: TEXT, prompt_name: 7 });
    assertEquals([typed.status, typed.body.error_type, typed.body.param], [
      422,
      "Validation",
      "prompt_name",
    ]);
  },
});

Deno.test({
  name: "/info lists the prompts and the default; the default prompt applies when none is named",
  ignore,
  async fn() {
    const info = await (await app!.request("/info")).json();
    assertEquals([info.prompts, info.default_prompt_name], [PROMPTS, null]);
    const doc = await (await app!.request("/openapi.json")).json();
    const field = doc.paths["/embed"].post.requestBody.content["application/json"].schema
      .properties.prompt_name;
    assertEquals(field.type, ["string", "null"]);
    assertEquals(field.examples, ["query"]);
    assert(field.description.includes("query, passage"), field.description);
    const withDefault = await makeTestModel({ seed: 31, layers: 1 }, {}, {
      [ST_CONFIG]: { prompts: PROMPTS, default_prompt_name: "passage" },
    });
    const defaulted = await Embedder.load(withDefault.dir, { modelId: "defaulted" });
    try {
      const other = createApp(defaulted, { log: false });
      const i = await (await other.request("/info")).json();
      assertEquals(i.default_prompt_name, "passage");
      // same weights as the app's model: its answers are those of the prefixed texts
      const texts = [TEXT, "rain"];
      near(
        (await post("/embed", { inputs: texts }, other)).body.flat(),
        (await post("/embed", { inputs: texts.map((t) => "passage: " + t) })).body.flat(),
        "default prompt",
      );
      near(
        (await post("/embed", { inputs: texts, prompt_name: "query" }, other)).body.flat(),
        (await post("/embed", { inputs: texts, prompt_name: "query" })).body.flat(),
        "a name over the default",
      );
      const tokens = await post("/tokenize", { inputs: TEXT }, other);
      assertEquals(tokens.body[0][1].text, "passage");
      const v1 = await post("/v1/embeddings", { input: TEXT }, other);
      near(
        v1.body.data[0].embedding,
        (await post("/embed", { inputs: "passage: " + TEXT })).body[0],
        "/v1/embeddings",
      );
    } finally {
      await defaulted.close();
    }
  },
});

Deno.test({
  name:
    "server: --default-prompt-name / EMBEDGE_DEFAULT_PROMPT_NAME (TEI's flag) sets the prompt of requests that name none; none turns it off; an unknown name stops the start in one line",
  ignore,
  sanitizeResources: false,
  async fn() {
    const { startDenoServer } = await import("./support/local_server.ts");
    const withDefault = await makeTestModel({ seed: 21, layers: 1 }, {}, {
      [ST_CONFIG]: { prompts: PROMPTS, default_prompt_name: "passage" },
    });
    const embedOf = async (url: string, body: unknown) => {
      const r = await fetch(`${url}/embed`, { method: "POST", body: JSON.stringify(body) });
      assertEquals(r.status, 200);
      return ((await r.json()) as number[][])[0];
    };
    const info = async (url: string) =>
      (await (await fetch(`${url}/info`)).json()).default_prompt_name;
    const plain = await startDenoServer(withDefault.dir, {
      EMBEDGE_DEFAULT_PROMPT_NAME: "none",
      EMBEDGE_WORKERS: "0",
    });
    try {
      assertEquals(await info(plain.url), null);
      const unprompted = await embedOf(plain.url, { inputs: TEXT });
      // the library's vector of the text with no prompt (the server normalizes)
      const library = await Embedder.load(withDefault.dir);
      try {
        const bare = await library.embed([TEXT], { prompt: "", normalize: true });
        near(unprompted, [...bare.data], "none: the text alone");
      } finally {
        await library.close();
      }
      // a name in the request still applies
      const passage = await embedOf(plain.url, { inputs: TEXT, prompt_name: "passage" });
      assert(differ(unprompted, passage), "the named prompt changed nothing");
    } finally {
      plain.proc.kill();
      await plain.proc.status;
    }
    // the flag spelled as TEI spells it, on the command line
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../edge/deno.ts", import.meta.url).pathname,
        "--default-prompt-name",
        "title",
        "--port",
        "0",
      ],
      env: { EMBEDGE_MODEL: withDefault.dir, EMBEDGE_WORKERS: "0" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr).trim();
    assertEquals(out.code, 2, stderr);
    const lines = stderr.split("\n").filter((l) => l.startsWith("error"));
    assertEquals(lines.length, 1, stderr);
    assert(lines[0].includes('"title" is not a prompt of this model'), stderr);
    assert(lines[0].includes("EMBEDGE_DEFAULT_PROMPT_NAME (--default-prompt-name)"), stderr);
  },
});
