/**
 * Prompts (`config_sentence_transformers.json`), as sentence-transformers applies them in
 * the library and TEI on its routes: a named or literal prompt is the prompt's text put
 * before each text input (so the vectors equal those of the text with the prefix written
 * by hand), the model's default applies when none is named, an unknown name is refused
 * naming the field and listing the prompts (TEI: a 413 Validation error on every route
 * that takes `prompt_name`), and /tokenize shows the prompt's tokens.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { hasShared } from "./support/paths.ts";
import { makeTestModel } from "./support/test_model.ts";
import { Embedder } from "../src/model/embedder.ts";
import { SparseEncoder } from "../src/model/sparse/sparse_encoder.ts";
import { InputError, ModelLoadError } from "../src/errors.ts";

const ignore = !hasShared("models/all-MiniLM-L6-v2/tokenizer.json");
const PROMPTS = { query: "query: ", passage: "passage: " };
const ST_CONFIG = "config_sentence_transformers.json";
const SHAPE = { seed: 21, layers: 1 };
const TEXTS = ["I love Paris.", "Unbelievable weather"];

/** Two equal-length vectors, value by value within 1e-5. */
const near = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
  assertEquals(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    assert(Math.abs(a[i] - b[i]) < 1e-5, `${what} [${i}]: ${a[i]} vs ${b[i]}`);
  }
};
/** Whether two vectors differ somewhere by more than 1e-4 (a prompt must change them). */
const differ = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).some((v, i) => Math.abs(v - b[i]) > 1e-4);

/** The error `fn` throws (the test fails when it throws none). */
async function thrown(fn: () => unknown): Promise<Error & { param?: string; status?: number }> {
  try {
    await fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error");
}

async function withEmbedder(
  stConfig: unknown,
  fn: (embedder: Embedder) => Promise<void>,
  pooling?: Record<string, unknown>,
) {
  const files: Record<string, unknown> = stConfig === undefined ? {} : { [ST_CONFIG]: stConfig };
  if (pooling) files["1_Pooling/config.json"] = pooling;
  const model = await makeTestModel(SHAPE, {}, files);
  const embedder = await Embedder.load(model.dir, { modelId: "prompted" });
  try {
    await fn(embedder);
  } finally {
    await embedder.close();
  }
}

Deno.test({
  name: "library: promptName and prompt give the vectors of the hand-prefixed texts",
  ignore,
  async fn() {
    await withEmbedder({ prompts: PROMPTS }, async (embedder) => {
      assertEquals(embedder.info.prompts, PROMPTS);
      assertEquals(embedder.info.defaultPromptName, undefined);
      const plain = await embedder.embed(TEXTS);
      const byHand = await embedder.embed(TEXTS.map((t) => "query: " + t));
      const named = await embedder.embed(TEXTS, { promptName: "query" });
      const literal = await embedder.embed(TEXTS, { prompt: "query: " });
      near(named.data, byHand.data, "promptName");
      near(literal.data, byHand.data, "prompt");
      assert(differ(named.data, plain.data), "the prompt changed nothing");
      // the prompt's tokens are counted (and fed to the model)
      assertEquals([...named.tokenCounts], [...byHand.tokenCounts]);
      // token ids get no prompt
      const ids = Array.from(embedder.tokenizer.encode(TEXTS[0], { addSpecialTokens: false }).ids);
      near(
        (await embedder.embed([ids], { promptName: "query" })).data,
        (await embedder.embed([ids])).data,
        "token ids",
      );
      // the token and word vectors include the prompt's, offsets in the prompted text
      const [tokens] = await embedder.embedTokens([TEXTS[0]], { promptName: "query" });
      assertEquals(tokens.tokens.slice(0, 3), ["[CLS]", "query", ":"]);
      const [words] = await embedder.embedWords([TEXTS[0]], { promptName: "query" });
      assertEquals(words.words.slice(0, 3), ["query", ":", "I"]);
      // encode prompts once; embed does not prompt an encoded text again
      const encoded = embedder.encode(TEXTS[0], { promptName: "passage" });
      assertEquals(encoded.text, "passage: " + TEXTS[0]);
      near(
        (await embedder.embed([encoded], { promptName: "query" })).data,
        (await embedder.embed(["passage: " + TEXTS[0]])).data,
        "encoded",
      );
    });
  },
});

Deno.test({
  name: "library: the prompt's tokens count toward maxLength (a right cut keeps the prompt)",
  ignore,
  async fn() {
    await withEmbedder({ prompts: PROMPTS }, async (embedder) => {
      const encoded = embedder.encode(TEXTS[1], { promptName: "query", maxLength: 5 });
      assertEquals(encoded.encoding.tokens, ["[CLS]", "query", ":", "unbelievable", "[SEP]"]);
      const cut = await embedder.embed([TEXTS[1]], { promptName: "query", maxLength: 5 });
      assertEquals([...cut.tokenCounts], [5]);
      near(cut.data, (await embedder.embed([encoded])).data, "cut");
      const long = await thrown(() =>
        embedder.embed([TEXTS[1]], { promptName: "query", maxLength: 5, truncate: false })
      );
      assert(long.message.includes("tokens; the limit is 5"), long.message);
    });
  },
});

Deno.test({
  name: "library: the default prompt applies when none is named; prompt '' turns it off",
  ignore,
  async fn() {
    await withEmbedder(
      { prompts: PROMPTS, default_prompt_name: "passage" },
      async (embedder) => {
        assertEquals(embedder.info.defaultPromptName, "passage");
        const byHand = await embedder.embed(TEXTS.map((t) => "passage: " + t), { prompt: "" });
        near((await embedder.embed(TEXTS)).data, byHand.data, "default");
        const plain = await embedder.embed(TEXTS, { prompt: "" });
        assert(differ(plain.data, byHand.data), "the default prompt changed nothing");
        near(
          (await embedder.embed(TEXTS, { promptName: "query" })).data,
          (await embedder.embed(TEXTS.map((t) => "query: " + t), { prompt: "" })).data,
          "a name over the default",
        );
        assertEquals(embedder.promptText({}), "passage: ");
      },
    );
  },
});

Deno.test({
  name: "library: an unknown name is an InputError naming promptName and listing the prompts",
  ignore,
  async fn() {
    await withEmbedder({ prompts: PROMPTS }, async (embedder) => {
      for (
        const call of [
          () => embedder.embed(TEXTS, { promptName: "question" }),
          () => embedder.embedTokens(TEXTS, { promptName: "question" }),
          () => embedder.encode(TEXTS[0], { promptName: "question" }),
        ]
      ) {
        const e = await thrown(call);
        assert(e instanceof InputError, String(e));
        assertEquals(e.param, "promptName");
        assertEquals(
          e.message,
          'promptName "question" is not a prompt of this model; its prompts are query, passage',
        );
      }
      const both = await thrown(() => embedder.embed(TEXTS, { promptName: "query", prompt: "q" }));
      assert(both instanceof InputError && both.message.includes("not both"), both.message);
    });
    await withEmbedder(undefined, async (embedder) => {
      assertEquals(embedder.info.prompts, {});
      const e = await thrown(() => embedder.embed(TEXTS, { promptName: "query" }));
      assert(e.message.endsWith("it has none (no prompts in config_sentence_transformers.json)"));
    });
  },
});

Deno.test({
  name:
    "library: a default name that is not a prompt, or a default with include_prompt false, refuses the model",
  ignore,
  async fn() {
    const missing = await thrown(() =>
      withEmbedder({ prompts: PROMPTS, default_prompt_name: "question" }, () => Promise.resolve())
    );
    assert(missing instanceof ModelLoadError, String(missing));
    assert(missing.message.includes('default_prompt_name "question"'), missing.message);
    const pooling = { pooling_mode_mean_tokens: true, include_prompt: false };
    const excluded = await thrown(() =>
      withEmbedder(
        { prompts: PROMPTS, default_prompt_name: "query" },
        () => Promise.resolve(),
        pooling,
      )
    );
    assert(excluded instanceof ModelLoadError, String(excluded));
    assert(excluded.message.includes("include_prompt: false"), excluded.message);
    // without a default such a model loads, embeds without a prompt, refuses one
    await withEmbedder({ prompts: PROMPTS }, async (embedder) => {
      assertEquals((await embedder.embed(TEXTS)).dims[0], 2);
      const e = await thrown(() => embedder.embed(TEXTS, { promptName: "query" }));
      assert(e instanceof InputError && e.message.includes("include_prompt: false"), e.message);
    }, pooling);
  },
});

Deno.test({
  name: "library: SparseEncoder prompts as Embedder does",
  ignore,
  async fn() {
    const model = await makeTestModel({ head: "masked-lm" }, {}, {
      [ST_CONFIG]: { prompts: PROMPTS, default_prompt_name: "passage" },
    });
    const encoder = await SparseEncoder.load(model.dir, { backend: "native" });
    try {
      assertEquals(encoder.info.prompts, PROMPTS);
      const byHand = await encoder.embedSparse(["query: " + TEXTS[0]], { prompt: "" });
      assertEquals(await encoder.embedSparse([TEXTS[0]], { promptName: "query" }), byHand);
      assertEquals(
        await encoder.embedSparse([TEXTS[0]]),
        await encoder.embedSparse(["passage: " + TEXTS[0]], { prompt: "" }),
      );
      const e = await thrown(() => encoder.embedSparse(TEXTS, { promptName: "question" }));
      assert(e instanceof InputError && e.param === "promptName", String(e));
    } finally {
      await encoder.close();
    }
  },
});

Deno.test({
  name:
    "library: defaultPromptName overrides the model's default (null: none, as TEI); a name it lacks is refused at load",
  ignore,
  async fn() {
    const model = await makeTestModel(SHAPE, {}, {
      [ST_CONFIG]: { prompts: PROMPTS, default_prompt_name: "passage" },
    });
    const none = await Embedder.load(model.dir, { defaultPromptName: null });
    const query = await Embedder.load(model.dir, { defaultPromptName: "query" });
    try {
      assertEquals([none.info.defaultPromptName, query.info.defaultPromptName], [
        undefined,
        "query",
      ]);
      // the same vectors as the texts without a prompt / with the query prefix by hand
      near((await none.embed(TEXTS)).data, (await none.embed(TEXTS, { prompt: "" })).data, "null");
      near(
        (await query.embed(TEXTS)).data,
        (await query.embed(TEXTS.map((t) => "query: " + t), { prompt: "" })).data,
        "query",
      );
      // a name in the call still wins
      near(
        (await none.embed(TEXTS, { promptName: "passage" })).data,
        (await none.embed(TEXTS.map((t) => "passage: " + t), { prompt: "" })).data,
        "named",
      );
    } finally {
      await none.close();
      await query.close();
    }
    const e = await thrown(() => Embedder.load(model.dir, { defaultPromptName: "title" }));
    assert(e instanceof ModelLoadError, String(e));
    assert(e.message.includes('"title" is not a prompt of this model'), e.message);
    assert(e.message.includes("query, passage"), e.message);
  },
});
