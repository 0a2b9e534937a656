/**
 * The Hono app through `app.request`: every route, every error shape, API key, CORS,
 * request ids, dynamic batching, overload refusal, and a fuzz run of malformed requests.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { rng } from "../src/random.ts";
import { hasShared } from "./support/paths.ts";
import { makeTestModel } from "./support/test_model.ts";
import { Embedder } from "../src/model/embedder.ts";
import { constantTimeEqual, createApp } from "../edge/app.ts";
import { timeoutBurst } from "./support/timeout_burst.ts";
import { train } from "../src/classifier/logistic.ts";

const ignore = !hasShared("models/all-MiniLM-L6-v2/tokenizer.json");
const model = ignore ? null : await makeTestModel({ seed: 11, layers: 1 });
const embedder = ignore ? null : await Embedder.load(model!.dir, { modelId: "test-bert" });
const app = ignore ? null : createApp(embedder!, { log: false });

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  app!.request(path, {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    headers: { "content-type": "application/json", ...headers },
  });

/** The status of a refused field: OpenAI's 400 on its route, TEI's 422 on the others. */
const badField = (path: string) => path === "/v1/embeddings" ? 400 : 422;

/** TEI's error types (text-embeddings-inference's ErrorType). */
const TEI_TYPES = ["Validation", "Tokenizer", "Backend", "Overloaded", "Unhealthy", "Empty"];

/**
 * The error of `res`, checked: OpenAI's `{ error: { message, type, param, … } }` or TEI's
 * `{ error, error_type, param, request_id }` (whichever the route's family is), returned
 * as `{ message, type, param, request_id }` (`type` is TEI's `error_type` on TEI's routes).
 */
async function errorOf(res: Response, status: number, param?: string | null) {
  assertEquals(res.status, status, await res.clone().text());
  assertEquals(res.headers.get("content-type")?.startsWith("application/json"), true);
  const j = await res.json();
  const e = typeof j.error === "string"
    ? { message: j.error, type: j.error_type, param: j.param, request_id: j.request_id }
    : j.error;
  assert(typeof e?.message === "string" && typeof e?.type === "string", JSON.stringify(j));
  if (typeof j.error === "string") assert(TEI_TYPES.includes(j.error_type), JSON.stringify(j));
  if (param !== undefined) assertEquals(e.param, param);
  return e;
}

Deno.test({
  name: "POST /embed (TEI) equals the library's vectors; normalize, pooling, truncate",
  ignore,
  async fn() {
    const res = await post("/embed", { inputs: ["I love Paris.", "I hate traffic."] });
    assertEquals(res.status, 200);
    const vectors: number[][] = await res.json();
    const lib = await embedder!.embed(["I love Paris.", "I hate traffic."], { normalize: true });
    assertEquals(vectors.length, 2);
    assertEquals(vectors[0].length, 32);
    vectors.flat().forEach((v, i) => assert(Math.abs(v - lib.data[i]) < 1e-6));
    const one =
      await (await post("/embed", { inputs: "I love Paris.", normalize: false, pooling: "cls" }))
        .json();
    const cls = await embedder!.embed(["I love Paris."], { normalize: false, pooling: "cls" });
    assertEquals(one[0], Array.from(cls.data));
    await errorOf(await post("/embed", { inputs: "word ".repeat(600) }), 413, "inputs[0]");
    assertEquals(
      (await post("/embed", { inputs: "word ".repeat(600), truncate: true })).status,
      200,
    );
  },
});

Deno.test({
  name: "POST /v1/embeddings (OpenAI): float, base64, dimensions, token arrays, usage",
  ignore,
  async fn() {
    const res = await post("/v1/embeddings", {
      input: ["I love Paris.", "I adore Paris."],
      model: "x",
    });
    assertEquals(res.status, 200);
    const j = await res.json();
    assertEquals(j.object, "list");
    assertEquals(j.model, "x");
    assertEquals(j.data.map((d: { index: number }) => d.index), [0, 1]);
    const count = (t: string) => embedder!.tokenizer.encode(t).ids.length;
    assertEquals(j.usage.prompt_tokens, count("I love Paris.") + count("I adore Paris."));
    assertEquals(j.usage.total_tokens, j.usage.prompt_tokens);
    const b64 =
      await (await post("/v1/embeddings", { input: "I love Paris.", encoding_format: "base64" }))
        .json();
    const bytes = Uint8Array.from(atob(b64.data[0].embedding), (c) => c.charCodeAt(0));
    const floats = new Float32Array(bytes.buffer);
    assertEquals(Array.from(floats), j.data[0].embedding);
    const small = await (await post("/v1/embeddings", { input: "I love Paris.", dimensions: 8 }))
      .json();
    const v: number[] = small.data[0].embedding;
    assertEquals(v.length, 8);
    assert(Math.abs(Math.hypot(...v) - 1) < 1e-5);
    const ids = embedder!.tokenizer.encode("I love Paris.", { addSpecialTokens: false }).ids;
    const fromIds = await (await post("/v1/embeddings", { input: Array.from(ids) })).json();
    fromIds.data[0].embedding.forEach((x: number, i: number) =>
      assert(Math.abs(x - j.data[0].embedding[i]) < 1e-6)
    );
    await errorOf(await post("/v1/embeddings", {}), 400, "input");
    await errorOf(
      await post("/v1/embeddings", { input: "x", dimensions: 1000 }),
      400,
      "dimensions",
    );
    await errorOf(
      await post("/v1/embeddings", { input: "x", encoding_format: "hex" }),
      400,
      "encoding_format",
    );
    await errorOf(await post("/v1/embeddings", { input: [[1, 2], [-1]] }), 400, "input[1]");
  },
});

Deno.test({
  name: "token and word routes, tokenize with padding, decode, similarity",
  ignore,
  async fn() {
    const all = await (await post("/embed_all", { inputs: "I love Paris" })).json();
    assertEquals(all[0].length, 5); // [CLS] i love paris [SEP]
    const words = await (await post("/embed/words", { inputs: "Unaffable Paris" })).json();
    assertEquals(words[0].words.map((w: { word: string }) => w.word), ["Unaffable", "Paris"]);
    const tok = await (await post("/tokenize", { inputs: "I love Paris", max_length: 7 })).json();
    assertEquals(tok[0].map((t: { text: string }) => t.text), [
      "[CLS]",
      "i",
      "love",
      "paris",
      "[SEP]",
      "[PAD]",
      "[PAD]",
    ]);
    assertEquals(tok[0].map((t: { id: number }) => t.id), [101, 1045, 2293, 3000, 102, 0, 0]);
    assertEquals(tok[0].map((t: { attention_mask: number }) => t.attention_mask), [
      1,
      1,
      1,
      1,
      1,
      0,
      0,
    ]);
    assertEquals(tok[0][3].start, 7);
    assertEquals(
      await (await post("/decode", { ids: [101, 1045, 2293, 3000, 102] })).json(),
      ["i love paris"], // TEI's DecodeResponse: an array, for one id list too
    );
    assertEquals(await (await post("/decode", { ids: [[1045], [3000]] })).json(), ["i", "paris"]);
    const sim = await (await post("/similarity", {
      inputs: { source_sentence: "I love Paris.", sentences: ["I love Paris.", "Traffic jams."] },
    })).json();
    assert(Math.abs(sim[0] - 1) < 1e-5 && sim[1] < sim[0]);
    // TEI's routes refuse a bad field with TEI's 422 Validation
    await errorOf(await post("/decode", { ids: [-5] }), 422, "ids");
    await errorOf(
      await post("/similarity", { inputs: { sentences: ["a"] } }),
      422,
      "inputs.source_sentence",
    );
    await errorOf(
      await post("/tokenize", { inputs: "x", padding: "max_length" }),
      422,
      "max_length",
    );
  },
});

Deno.test({
  name: "health, info, metrics, openapi, docs, 404, request id, CORS",
  ignore,
  async fn() {
    assertEquals(await (await app!.request("/health")).json(), { status: "ok" });
    const info = await (await app!.request("/info")).json();
    assertEquals(info.dimensions, 32);
    assertEquals(info.max_input_length, 512);
    assertEquals(info.pooling, "mean");
    const metrics = await (await app!.request("/metrics")).text();
    assert(metrics.includes('embedge_requests_total{route="/embed",status="200"}'), metrics);
    assert(metrics.includes("embedge_request_duration_seconds_bucket"));
    const doc = await (await app!.request("/openapi.json")).json();
    assert(doc.paths["/v1/embeddings"] && doc.paths["/embed"]);
    assert((await (await app!.request("/docs")).text()).includes("openapi.json"));
    await errorOf(await app!.request("/nope"), 404);
    await errorOf(await app!.request("/nope/2", { method: "POST" }), 404);
    // counted by the route that answered (its path), or "other": never by a made-up path
    const counted = await (await app!.request("/metrics")).text();
    for (const label of ['route="/metrics",status="200"', 'route="other",status="404"']) {
      assert(counted.includes(`embedge_requests_total{${label}}`), `${label}\n${counted}`);
    }
    assert(!counted.includes("/nope"), counted);
    const r = await app!.request("/health", {
      headers: { "x-request-id": "abc-1", origin: "https://x.test" },
    });
    assertEquals(r.headers.get("x-request-id"), "abc-1");
    assertEquals(r.headers.get("access-control-allow-origin"), "*");
    assert((await app!.request("/health")).headers.get("x-request-id")!.length > 10);
  },
});

Deno.test({
  name:
    "API key (401 without it or with a wrong one, any case of Bearer), body limit, bad JSON, wrong types",
  ignore,
  async fn() {
    const secured = createApp(embedder!, { apiKey: "s3cret", log: false, maxBodyBytes: 1000 });
    const p = (body: string, headers: Record<string, string> = {}) =>
      secured.request("/embed", { method: "POST", body, headers });
    await errorOf(await p('{"inputs":"x"}'), 401);
    for (
      const wrong of ["Bearer wrong", "Bearer s3cre", "Bearer s3crett", "Basic s3cret", "s3cret"]
    ) {
      await errorOf(await p('{"inputs":"x"}', { authorization: wrong }), 401);
    }
    for (const right of ["Bearer s3cret", "bearer s3cret", "BEARER  s3cret"]) {
      assertEquals((await p('{"inputs":"x"}', { authorization: right })).status, 200, right);
    }
    // the comparison's results (its timing is not observable from a unit test: it has no
    // early exit by construction, see constantTimeEqual)
    for (
      const [a, b, equal] of [["abc", "abc", true], ["abc", "abd", false], ["abc", "ab", false], [
        "",
        "",
        true,
      ], ["é", "e", false]] as [string, string, boolean][]
    ) assertEquals(constantTimeEqual(a, b), equal, `${a} vs ${b}`);
    assertEquals((await secured.request("/health")).status, 200);
    await errorOf(
      await p(JSON.stringify({ inputs: "x".repeat(2000) }), { authorization: "Bearer s3cret" }),
      413,
      "body",
    );
    // TEI's statuses on /embed: 422 Validation for a bad body or field, 400 Empty for an
    // empty input, 413 Validation for a batch over the limit; OpenAI's 400s on its route
    await errorOf(await post("/embed", "{not json"), 422, "body");
    await errorOf(await post("/embed", "[1,2]"), 422, "body");
    await errorOf(await post("/embed", { inputs: 5 }), 422, "inputs");
    assertEquals(
      (await errorOf(await post("/embed", { inputs: [] }), 400, "inputs")).type,
      "Empty",
    );
    await errorOf(await post("/embed", { inputs: ["ok", ""] }), 400, "inputs[1]");
    await errorOf(await post("/embed", { inputs: "x", normalize: "yes" }), 422, "normalize");
    await errorOf(await post("/embed", { inputs: "x", pooling: "median" }), 422, "pooling");
    const batch = await errorOf(
      await post("/embed", { inputs: Array(300).fill("x") }),
      413,
      "inputs",
    );
    assertEquals(batch.type, "Validation");
    await errorOf(await post("/v1/embeddings", { input: Array(300).fill("x") }), 400, "input");
    await errorOf(await post("/v1/embeddings", { input: [] }), 400, "input");
    await errorOf(await post("/v1/embeddings", "{not json"), 400, "body");
  },
});

Deno.test({
  name: "dynamic batching groups concurrent requests; a full queue answers 429 with Retry-After",
  ignore,
  async fn() {
    const batched = createApp(embedder!, {
      log: false,
      batching: { maxWaitMs: 20, maxBatchInputs: 1000 },
    });
    const texts = Array.from({ length: 12 }, (_, i) => `sentence number ${i} about Paris`);
    const results = await Promise.all(texts.map(async (t) => {
      const res = await batched.request("/embed", {
        method: "POST",
        body: JSON.stringify({ inputs: t }),
      });
      return await res.json();
    }));
    const lib = await embedder!.embed(texts);
    results.forEach((r, i) =>
      r[0].forEach((x: number, k: number) => assert(Math.abs(x - lib.data[i * 32 + k]) < 1e-6))
    );
    const m = await (await batched.request("/metrics")).text();
    const count = Number(m.match(/^embedge_batch_inputs_count (\d+)/m)![1]);
    assert(count < texts.length, `expected fewer batches than requests, got ${count}`);
    const tiny = createApp(embedder!, { log: false, batching: { maxQueue: 4, maxWaitMs: 50 } });
    const burst = await Promise.all(
      Array.from({ length: 10 }, async () =>
        await tiny.request("/embed", {
          method: "POST",
          body: JSON.stringify({ inputs: "x y z" }),
        })),
    );
    // TEI's answer to a full queue: 429 Overloaded
    const refused = burst.filter((r) => r.status === 429);
    assert(refused.length > 0 && burst.some((r) => r.status === 200));
    assertEquals(refused[0].headers.get("retry-after"), "1");
    assertEquals((await refused[0].json()).error_type, "Overloaded");
  },
});

Deno.test({
  name: "requests past the timeout answer 503 JSON and leave the queue, which empties",
  ignore,
  async fn() {
    // a batch wait well past the timeout: the requests give up while grouped
    const hasty = createApp(embedder!, { log: false, timeoutMs: 1, batching: { maxWaitMs: 50 } });
    const { timeouts } = await timeoutBurst((path, init) => hasty.request(path, init), 16);
    assert(timeouts > 0, "no request timed out");
  },
});

Deno.test({
  name: "a request whose client goes away leaves its batch; the others in it are answered",
  ignore,
  async fn() {
    const batched = createApp(embedder!, { log: false, batching: { maxWaitMs: 100 } });
    const request = (inputs: string, signal?: AbortSignal) =>
      batched.request("/embed", { method: "POST", body: JSON.stringify({ inputs }), signal });
    const gone = new AbortController();
    const a = request("I am leaving.", gone.signal);
    const b = request("I love Paris.");
    await new Promise((r) => setTimeout(r, 10));
    gone.abort();
    assertEquals((await errorOf(await a, 499)).message, "the client closed the request");
    const lib = await embedder!.embed(["I love Paris."], { normalize: true });
    assertEquals((await (await b).json())[0], Array.from(lib.data));
    const m = await (await batched.request("/metrics")).text();
    assert(/^embedge_batch_inputs_sum 1$/m.test(m), m); // only b's input ran
    assert(/^embedge_queue_depth 0$/m.test(m), m);
  },
});

Deno.test({
  name:
    "fuzz: 10,000 malformed requests: nearly all 4xx, never 5xx, errors always JSON, and the server still answers right",
  ignore,
  async fn() {
    const r = rng(99);
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
    const junk = () =>
      pick<unknown>([
        null,
        true,
        -1,
        1e308,
        "",
        "\ud800",
        "\u0000\u0001",
        "x".repeat(200_000),
        [],
        [null],
        [[]],
        [[-1]],
        [1.5],
        {},
        { a: 1 },
        Array(500).fill("a"),
        "ok",
      ]);
    const paths = [
      "/embed",
      "/v1/embeddings",
      "/embed_all",
      "/embed/words",
      "/tokenize",
      "/decode",
      "/similarity",
    ];
    const fields = [
      "inputs",
      "input",
      "ids",
      "normalize",
      "truncate",
      "pooling",
      "dimensions",
      "encoding_format",
      "max_length",
      "padding",
      "aggregate",
    ];
    let fivexx = 0, nonJson = 0, fourxx = 0;
    const statuses = new Map<number, number>();
    const huge = '{"inputs":"' + "x".repeat(10 * 1024 * 1024) + '"}'; // 10 MB body
    for (let i = 0; i < 10_000; i++) {
      // 1 % truncated prefixes of a 10 MB body, else broken JSON or random field values
      const kind = r() < 0.01 ? 1 : r() < 0.3 ? 0 : 2;
      let body: string;
      if (kind === 0) body = pick(["", "{", "nul", '{"inputs":', "\u0000", "[]", "42", '"str"']);
      else if (kind === 1) body = huge.slice(0, Math.floor(r() * huge.length));
      else {
        const o: Record<string, unknown> = {};
        for (let k = 0; k < 1 + Math.floor(r() * 3); k++) o[pick(fields)] = junk();
        body = JSON.stringify(o);
      }
      const res = await app!.request(pick(paths), { method: "POST", body });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500) fivexx++;
      if (res.status >= 400 && res.status < 500) fourxx++;
      if (res.status >= 400 && !res.headers.get("content-type")?.includes("application/json")) {
        nonJson++;
      }
      await res.body?.cancel();
    }
    assertEquals(fivexx, 0);
    assertEquals(nonJson, 0);
    // a few random combinations are valid requests (e.g. {"inputs":"ok"}) and answer 200
    assert(fourxx >= 9_500, `only ${fourxx} 4xx: ${JSON.stringify([...statuses])}`);
    const after = await (await post("/embed", { inputs: "I love Paris.", normalize: false }))
      .json();
    const lib = await embedder!.embed(["I love Paris."], { normalize: false });
    after[0].forEach((x: number, k: number) => assert(Math.abs(x - lib.data[k]) < 1e-6));
  },
});

Deno.test({
  name:
    "layers and layer_mix on /embed, /embed_all, /embed/words and /v1/embeddings equal the library's",
  ignore,
  async fn() {
    const text = "I love Paris";
    const near = (a: number[], b: ArrayLike<number>) => {
      assertEquals(a.length, b.length);
      a.forEach((v, i) => assert(Math.abs(v - b[i]) < 1e-6, `index ${i}: ${v} vs ${b[i]}`));
    };
    const lib = await embedder!.embed([text], { layers: [0, -1], layerMix: "concat" });
    const tei = await (await post("/embed", { inputs: text, layers: [0, -1], layer_mix: "concat" }))
      .json();
    near(tei[0], lib.data);
    assertEquals(tei[0].length, 2 * embedder!.info.hiddenSize);
    const first = await embedder!.embed([text], { layers: [0] });
    const teiFirst = await (await post("/embed", { inputs: text, layers: [0] })).json();
    near(teiFirst[0], first.data);
    // the embeddings' output differs from the last layer's: the field is not ignored
    const last = await (await post("/embed", { inputs: text })).json();
    assert(last[0].some((v: number, i: number) => Math.abs(v - teiFirst[0][i]) > 1e-3));

    const [tokens] = await embedder!.embedTokens([text], { layers: [-2] });
    const all = await (await post("/embed_all", { inputs: text, layers: [-2] })).json();
    near(all[0].flat(), tokens.vectors);
    const [words] = await embedder!.embedWords([text], { layers: [-2, -1] });
    const wr = await (await post("/embed/words", { inputs: text, layers: [-2, -1] })).json();
    near(wr[0].words.flatMap((w: { vector: number[] }) => w.vector), words.vectors);

    const v1 = await (await post("/v1/embeddings", {
      input: [text],
      layers: [-2, -1],
      layer_mix: "concat",
      dimensions: 3,
    })).json();
    const libV1 = await embedder!.embed([text], {
      layers: [-2, -1],
      layerMix: "concat",
      normalize: true,
    });
    assertEquals(libV1.dims[1], 2 * embedder!.info.hiddenSize);
    const cut = Array.from(libV1.data.subarray(0, 3));
    const norm = Math.hypot(...cut);
    near(v1.data[0].embedding, cut.map((x) => x / norm));

    const info = await (await app!.request("/info")).json();
    assertEquals(info.layers, model!.weights.layers);
    assertEquals(info.layer_selection, true);

    for (
      const [path, body, param] of [
        ["/embed", { inputs: text, layers: [2] }, "layers[0]"],
        ["/embed", { inputs: text, layers: [] }, "layers"],
        ["/embed", { inputs: text, layers: "-1" }, "layers"],
        ["/embed", { inputs: text, layers: [-1, -1] }, "layers"],
        ["/embed_all", { inputs: text, layers: [0.5] }, "layers[0]"],
        ["/embed/words", { inputs: text, layers: [-3] }, "layers[0]"],
        ["/embed", { inputs: text, layers: [-2, -1], layer_mix: "sum" }, "layer_mix"],
        ["/v1/embeddings", { input: text, layers: [5] }, "layers[0]"],
        ["/embed", { inputs: text, layers: [0], pooling: "pooler" }, "pooling"],
      ] as [string, unknown, string][]
    ) await errorOf(await post(path, body), badField(path), param);
  },
});

Deno.test({
  name: "every API field works or is refused by name; wrong methods are 405 with Allow",
  ignore,
  async fn() {
    const text = "I love Paris";
    // dimensions on /embed: the first n values, re-normalized (as /v1/embeddings)
    const full = await (await post("/embed", { inputs: text })).json();
    const cut = await (await post("/embed", { inputs: text, dimensions: 4 })).json();
    const head = full[0].slice(0, 4), norm = Math.hypot(...head);
    assertEquals(cut[0].length, 4);
    cut[0].forEach((v: number, i: number) => assert(Math.abs(v - head[i] / norm) < 1e-6));
    const raw = await (await post("/embed", { inputs: text, normalize: false, dimensions: 4 }))
      .json();
    const rawFull = await (await post("/embed", { inputs: text, normalize: false })).json();
    assertEquals(raw[0], rawFull[0].slice(0, 4));
    // truncation_direction: Right is TEI's default, Left is accepted (tei_compat_test checks
    // its cut), anything else is refused
    assertEquals(
      (await post("/embed", { inputs: text, truncation_direction: "Right" })).status,
      200,
    );
    // pooling on /v1/embeddings (an extension) equals /embed's
    const v1 = await (await post("/v1/embeddings", { input: text, pooling: "cls" })).json();
    const tei = await (await post("/embed", { inputs: text, pooling: "cls" })).json();
    v1.data[0].embedding.forEach((v: number, i: number) => assert(Math.abs(v - tei[0][i]) < 1e-6));
    // OpenAI refuses an input longer than the context; truncate: true cuts it
    const long = "word ".repeat(2000);
    await errorOf(await post("/v1/embeddings", { input: ["ok", long] }), 413, "input[1]");
    assertEquals((await post("/v1/embeddings", { input: long, truncate: true })).status, 200);
    for (
      const [path, b, param] of [
        ["/embed", { inputs: text, truncation_direction: "Middle" }, "truncation_direction"],
        ["/embed", { inputs: text, truncation_direction: 1 }, "truncation_direction"],
        // an unknown prompt name is TEI's 413 (tests/tei_prompts_test.ts); a number is a 422
        ["/embed", { inputs: text, prompt_name: 7 }, "prompt_name"],
        ["/embed", { inputs: text, dimensions: 0 }, "dimensions"],
        ["/embed", { inputs: text, dimensions: 1e6 }, "dimensions"],
        ["/embed_all", { inputs: text, normalize: true }, "normalize"],
        ["/embed_all", { inputs: text, pooling: "cls" }, "pooling"],
        ["/embed/words", { inputs: text, dimensions: 3 }, "dimensions"],
        ["/v1/embeddings", { input: text, pooling: "median" }, "pooling"],
        ["/v1/embeddings", { input: text, truncate: "yes" }, "truncate"],
        // misspelt fields are refused by name, not answered with the defaults
        ["/embed", { inputs: text, normalise: false }, "normalise"],
        ["/embed", { inputs: text, poolling: "cls" }, "poolling"],
        ["/v1/embeddings", { input: text, encoding: "base64" }, "encoding"],
        ["/tokenize", { inputs: text, add_special_token: false }, "add_special_token"],
        // layer_mix mixes the states layers names: alone, it is refused, not ignored
        ["/embed", { inputs: text, layer_mix: "concat" }, "layer_mix"],
        ["/embed_all", { inputs: text, layer_mix: "concat" }, "layer_mix"],
        ["/embed/words", { inputs: text, layer_mix: "mean" }, "layer_mix"],
        ["/v1/embeddings", { input: text, layer_mix: "concat" }, "layer_mix"],
      ] as [string, unknown, string][]
    ) await errorOf(await post(path, b), badField(path), param);
    const misspelt = await errorOf(await post("/embed", { inputs: text, normalise: false }), 422);
    assert(misspelt.message.includes("did you mean normalize?"), misspelt.message);
    // OpenAI's fields (its client sends them) are known, even those embedge ignores
    assertEquals(
      (await post("/v1/embeddings", { input: text, model: "m", user: "u", dimensions: 8 })).status,
      200,
    );
    // a route with another method: 405 and the methods it has
    for (
      const [method, path, allow] of [["GET", "/v1/embeddings", "POST"], [
        "DELETE",
        "/embed",
        "POST",
      ], ["POST", "/health", "GET"]]
    ) {
      const res = await app!.request(path, { method });
      await errorOf(res.clone(), 405);
      assertEquals(res.headers.get("allow"), allow);
    }
    await errorOf(await app!.request("/nope"), 404);
  },
});

Deno.test({
  name:
    "the queue bound holds on every model route; a request larger than it is a 413, not a 503 forever",
  ignore,
  async fn() {
    const small = createApp(embedder!, { log: false, batching: { maxQueue: 2, maxWaitMs: 30 } });
    const req = (path: string, inputs: string[]) =>
      small.request(path, { method: "POST", body: JSON.stringify({ inputs }) });
    // three inputs can never fit a queue of two: 413 naming inputs, on every model route
    for (const path of ["/embed", "/embed_all", "/embed/words"]) {
      await errorOf(await req(path, ["a", "b", "c"]), 413, "inputs");
    }
    // ten concurrent requests of two inputs each: the bound holds for token routes too
    for (const path of ["/embed_all", "/embed/words"]) {
      const statuses = await Promise.all(
        Array.from({ length: 10 }, async () => (await req(path, ["a b", "c d"])).status),
      );
      assert(statuses.includes(429), `${path}: ${statuses}`); // TEI's Overloaded
      assert(statuses.includes(200), `${path}: ${statuses}`);
    }
    const metrics = await (await small.request("/metrics")).text();
    assert(/^embedge_queue_depth 0$/m.test(metrics), metrics);
  },
});

Deno.test({
  name: "one request's bad input never changes another's answer, in the same batch or not",
  ignore,
  async fn() {
    const batched = createApp(embedder!, { log: false, batching: { maxWaitMs: 50 } });
    const call = (b: unknown) =>
      batched.request("/v1/embeddings", { method: "POST", body: JSON.stringify(b) });
    const alone = await (await call({ input: "I love Paris." })).json();
    for (
      const bad of [
        { input: [1.5, 2] }, // a flat token array with a non-integer
        { input: [1, 2, 99_999_999] }, // an id outside the vocabulary
        { input: [-1] },
        { input: [[1, 2], [0.5]] },
      ]
    ) {
      const [good, wrong] = await Promise.all([call({ input: "I love Paris." }), call(bad)]);
      assertEquals(good.status, 200, JSON.stringify(bad));
      assertEquals((await good.json()).data[0].embedding, alone.data[0].embedding);
      const e = await errorOf(wrong, 400);
      assert(String(e.param).startsWith("input"), JSON.stringify(e));
    }
    // the batcher itself: a member that fails inside the model run fails alone
    const { Batcher } = await import("../edge/batching/batcher.ts");
    const batcher = new Batcher(embedder!, { maxWaitMs: 30 });
    const [ok, broken] = await Promise.allSettled([
      batcher.embed(["I love Paris."], { normalize: false }),
      batcher.embed([[1.5]], { normalize: false }),
    ]);
    assertEquals(ok.status, "fulfilled");
    const lib = await embedder!.embed(["I love Paris."], { normalize: false });
    assertEquals(
      Array.from((ok as PromiseFulfilledResult<{ data: Float32Array }>).value.data),
      Array.from(lib.data),
    );
    assertEquals(broken.status, "rejected");
    assertEquals((broken as PromiseRejectedResult).reason.param, "inputs[0]");
  },
});

Deno.test({
  name: "admission tokenizes every input once per request, on every model route",
  ignore,
  async fn() {
    const texts = ["I love Paris.", "I hate traffic.", "Unbelievable weather in Paris."];
    const X = (await embedder!.embed(texts)).data;
    const clf = train(X, Int32Array.of(1, 0, 1), embedder!.dimensions(), ["neg", "pos"], {
      embedding: {
        modelId: "test-bert",
        pooling: embedder!.info.pooling,
        normalize: embedder!.info.normalize,
      },
    });
    const counted = createApp(embedder!, { log: false, classifiers: { sentiment: clf } });
    const tokenizer = embedder!.tokenizer;
    const encode = tokenizer.encode;
    let calls = 0;
    tokenizer.encode = (...a: Parameters<typeof encode>) => {
      calls++;
      return encode.apply(tokenizer, a);
    };
    try {
      const cases: [string, unknown, number][] = [
        ["/embed", { inputs: texts }, 3],
        ["/embed", { inputs: texts, truncate: true }, 3],
        ["/v1/embeddings", { input: texts }, 3],
        ["/v1/embeddings", { input: texts, truncate: true }, 3],
        ["/embed_all", { inputs: texts }, 3],
        ["/embed/words", { inputs: texts }, 3],
        ["/similarity", { inputs: { source_sentence: texts[0], sentences: texts.slice(1) } }, 3],
        ["/classify", { inputs: texts }, 3],
        ["/v1/embeddings", { input: [[1045, 2293, 3000]] }, 0], // token ids: no tokenizing
      ];
      for (const [path, body, expected] of cases) {
        calls = 0;
        const res = await counted.request(path, { method: "POST", body: JSON.stringify(body) });
        assertEquals(res.status, 200, `${path}: ${await res.clone().text()}`);
        await res.arrayBuffer();
        assertEquals(calls, expected, `${path} ${JSON.stringify(body).slice(0, 60)}`);
      }
    } finally {
      tokenizer.encode = encode;
    }
  },
});

Deno.test({
  name: "/embed_all and /embed/words: a response-size budget, decided before the model runs (413)",
  ignore,
  async fn() {
    // "I love Paris." is 6 tokens; the test model's vectors have 32 numbers: 192 per input
    const small = createApp(embedder!, { log: false, maxOutputFloats: 400 });
    let runs = 0;
    const run = embedder!.session.run.bind(embedder!.session);
    embedder!.session.run = (...a) => {
      runs++;
      return run(...a);
    };
    try {
      for (const path of ["/embed_all", "/embed/words"]) {
        const ok = await small.request(path, {
          method: "POST",
          body: JSON.stringify({ inputs: ["I love Paris.", "I love Paris."] }),
        });
        assertEquals(ok.status, 200, await ok.clone().text());
        runs = 0;
        const res = await small.request(path, {
          method: "POST",
          body: JSON.stringify({ inputs: ["I love Paris.", "I love Paris.", "I love Paris."] }),
        });
        const e = await errorOf(res, 413, "inputs");
        assert(e.message.includes("576"), e.message);
        assertEquals(runs, 0, "the model ran for a request refused for its answer's size");
      }
      const info = await (await small.request("/info")).json();
      assertEquals(info.limits.max_output_floats, 400);
    } finally {
      embedder!.session.run = run;
    }
  },
});

Deno.test({
  name:
    "an unexpected error in a route: one path, a 500 whose body and log line carry the request id",
  ignore,
  async fn() {
    const logged = createApp(embedder!, { log: true });
    const decode = embedder!.tokenizer.decode;
    const lines: string[] = [];
    const { log, error } = console;
    console.log = console.error = (line: string) => lines.push(String(line));
    embedder!.tokenizer.decode = () => {
      throw new Error("a bug in the tokenizer");
    };
    try {
      const res = await logged.request("/decode", {
        method: "POST",
        body: JSON.stringify({ ids: [101, 102] }),
        headers: { "x-request-id": "req-500" },
      });
      // TEI's shape on /decode: its types have no internal error, Backend is the nearest
      const e = await errorOf(res, 500, null);
      assertEquals([e.type, e.message, e.request_id], [
        "Backend",
        "internal error",
        "req-500",
      ]);
      assertEquals(res.headers.get("x-request-id"), "req-500");
      assert(!JSON.stringify(e).includes("a bug"), "the error's details reached the client");
      const records = lines.map((l) => JSON.parse(l));
      const fault = records.find((r) => r.level === "error");
      assertEquals(fault?.requestId, "req-500", lines.join("\n"));
      assert(String(fault?.error).includes("a bug in the tokenizer"), lines.join("\n"));
      const access = records.find((r) => r.level === "info");
      assertEquals([access?.requestId, access?.status], ["req-500", 500], lines.join("\n"));
      // a 4xx from the middleware (auth) and from a route carry the id the same way
      const keyed = createApp(embedder!, { log: false, apiKey: "k" });
      const denied = await keyed.request("/info", { headers: { "x-request-id": "req-401" } });
      assertEquals((await errorOf(denied, 401)).request_id, "req-401");
      const bad = await post("/embed", { inputs: 7 }, { "x-request-id": "req-400" });
      assertEquals((await errorOf(bad, 422, "inputs")).request_id, "req-400");
    } finally {
      console.log = log;
      console.error = error;
      embedder!.tokenizer.decode = decode;
    }
  },
});

Deno.test({
  name: "big answers are written in chunks: /health and a 400 answer while they are being written",
  ignore,
  async fn() {
    // 3 answers of 16 inputs × 402 tokens × 32 numbers (about 2 MB of JSON, 30 chunks each)
    const roomy = createApp(embedder!, { log: false, maxOutputFloats: 1e8 });
    const inputs = Array.from({ length: 16 }, (_, i) => `${i} ` + "word ".repeat(399));
    // The small requests arrive as network requests do, in a later turn of the event loop,
    // scheduled the moment the first model run ends, that is just as its answer begins to be
    // written. An answer written in one piece has every chunk written before that turn comes.
    let answered = 0;
    let small: Promise<Response>[] = [];
    const sendSmall = () => {
      small = [
        roomy.request("/health"),
        roomy.request("/embed", { method: "POST", body: JSON.stringify({ inputs: 7 }) }),
      ].map((p) => Promise.resolve(p).then((res) => (answered++, res)));
    };
    const embedTokens = embedder!.embedTokens;
    let runs = 0;
    embedder!.embedTokens = async (...a: Parameters<typeof embedTokens>) => {
      const out = await embedTokens.apply(embedder, a);
      if (runs++ === 0) setTimeout(sendSmall, 0);
      return out;
    };
    const decoder = new TextDecoder();
    let chunksAfter: number[] = [], texts: string[] = [];
    try {
      const answers = await Promise.all(Array.from({ length: 3 }, async () => {
        const res = await roomy.request("/embed_all", {
          method: "POST",
          body: JSON.stringify({ inputs }),
        });
        assertEquals(res.status, 200);
        let after = 0, text = "";
        for (const reader = res.body!.getReader();;) {
          const { done, value } = await reader.read();
          if (done) return { after, text };
          if (answered === 2) after++;
          text += decoder.decode(value, { stream: true });
        }
      }));
      chunksAfter = answers.map((a) => a.after);
      texts = answers.map((a) => a.text);
    } finally {
      embedder!.embedTokens = embedTokens;
    }
    const [health, bad] = await Promise.all(small);
    assertEquals(health.status, 200);
    await errorOf(bad, 422, "inputs");
    // Every answer still had chunks to write once both small ones were answered: the first
    // had begun to be written, the others waited for their model runs. An answer written in
    // one piece (one JSON.stringify) is read as a single chunk, so it has at most 1 here, and
    // the first has 0 (seen: [0, 1, 1]; in chunks: about 60 each).
    assert(chunksAfter.every((n) => n > 1), `chunks read after the small answers: ${chunksAfter}`);
    // and the chunks make the same JSON as one JSON.stringify would
    const lib = await embedder!.embedTokens(inputs);
    const expected = JSON.stringify(
      lib.map((t) =>
        t.tokens.map((_, k) =>
          Array.from(t.vectors.subarray(k * t.hiddenSize, (k + 1) * t.hiddenSize))
        )
      ),
    );
    for (const text of texts) assert(text === expected, "the streamed JSON differs");
  },
});

Deno.test({
  name: "jsonParts joins to JSON.stringify's text for nested answers",
  async fn() {
    const { jsonParts } = await import("../edge/json_stream.ts");
    const random = rng(3);
    const value = (depth: number): unknown => {
      const r = random();
      if (depth > 3 || r < 0.3) {
        return [1.5e-7, -0, 'a"é\n', null, true, undefined, NaN, 42][Math.floor(random() * 8)];
      }
      const n = Math.floor(random() * 4);
      if (r < 0.65) return Array.from({ length: n }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: n }, (_, i) => [`k"${i}`, value(depth + 1)]));
    };
    for (let i = 0; i < 500; i++) {
      const v = { data: value(0) };
      assertEquals([...jsonParts(v)].join(""), JSON.stringify(v));
    }
  },
});

Deno.test({
  name: "/embed, /v1/embeddings and /tokenize have an answer budget too (413 naming the inputs)",
  ignore,
  async fn() {
    // 400 numbers: 12 vectors of 32 fit, 13 do not; /tokenize counts 8 per token (50 tokens)
    const small = createApp(embedder!, { log: false, maxOutputFloats: 400 });
    let runs = 0;
    const run = embedder!.session.run.bind(embedder!.session);
    embedder!.session.run = (...a) => {
      runs++;
      return run(...a);
    };
    const send = (path: string, body: unknown) =>
      small.request(path, { method: "POST", body: JSON.stringify(body) });
    try {
      const list = (n: number) => Array.from({ length: n }, (_, i) => `word ${i}`);
      assertEquals((await send("/embed", { inputs: list(12) })).status, 200);
      assertEquals((await send("/v1/embeddings", { input: list(12) })).status, 200);
      runs = 0;
      const e = await errorOf(await send("/embed", { inputs: list(13) }), 413, "inputs");
      assert(e.message.includes("416"), e.message);
      // dimensions shrink the answer: 13 vectors of 16 fit
      assertEquals((await send("/embed", { inputs: list(13), dimensions: 16 })).status, 200);
      runs = 0;
      await errorOf(await send("/v1/embeddings", { input: list(13) }), 413, "input");
      assertEquals(runs, 0, "the model ran for a request refused for its answer's size");
      // "word 1" is 4 tokens with [CLS] and [SEP]: 12 inputs are 48 tokens, 13 are 52
      assertEquals((await send("/tokenize", { inputs: list(12) })).status, 200);
      const t = await errorOf(await send("/tokenize", { inputs: list(13) }), 413, "inputs");
      assert(t.message.includes("52 tokens"), t.message);
      await errorOf(
        await send("/tokenize", { inputs: "a", max_length: 51, padding: "max_length" }),
        413,
        "inputs",
      );
    } finally {
      embedder!.session.run = run;
    }
  },
});
