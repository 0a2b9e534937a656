/**
 * The OpenAPI document is the API: every route the app serves is in it, every answer of
 * every route conforms to the document's response schema (checked with
 * tests/support/json_schema.ts), every error body to its family's error schema (OpenAI's
 * on OpenAI's routes, TEI's `ErrorResponse` on the others), and every constraint the
 * document states on a request field is one the route enforces (a value outside it gets a
 * 400/413 naming that field on OpenAI's routes, TEI's 422/413/400 on TEI's).
 */
import { assert, assertEquals } from "./support/assert.ts";
import { hasShared } from "./support/paths.ts";
import { makeTestModel } from "./support/test_model.ts";
import { violations } from "./support/json_schema.ts";
import { Embedder } from "../src/model/embedder.ts";
import { createApp } from "../edge/app.ts";
import { train } from "../src/classifier/logistic.ts";
import { TextClassifier } from "../src/model/classify/text_classifier.ts";
import { SparseEncoder } from "../src/model/sparse/sparse_encoder.ts";

const ignore = !hasShared("models/all-MiniLM-L6-v2/tokenizer.json");
type Json = Record<string, unknown>;

/** The routes that answer errors in OpenAI's shape; every other route uses TEI's. */
const OPENAI_ROUTES = new Set(["/v1/embeddings", "/embeddings"]);
/** The statuses a refused field gets, by family (TEI: 422 Validation, 413, 400 Empty). */
const FIELD_STATUSES = { openai: [400, 413], tei: [422, 413, 400] };
/** The field an error names, in either shape. */
const paramOf = (body: Json) =>
  typeof body.error === "string" ? body.param : (body.error as Json | undefined)?.param;

/** A valid request per POST route (the test fails for a documented route without one). */
const EXAMPLES: Record<string, Json[]> = {
  "/v1/embeddings": [
    { input: "I love Paris." },
    // every field of OpenAI's request is known (its clients send them), even where ignored
    {
      input: ["I love Paris.", "Paris"],
      encoding_format: "base64",
      dimensions: 8,
      model: "text-embedding-3-small",
      user: "user-1",
    },
    { input: [[1045, 2293, 3000]], pooling: "cls", layers: [-2] },
  ],
  "/embed": [
    { inputs: "I love Paris." },
    { inputs: ["a", "b"], normalize: false, pooling: "mean_max", dimensions: 4 },
    { inputs: ["a"], layers: [-1, -2], layer_mix: "concat", truncate: true },
    // TEI's Input: token ids, one list or several, mixed with texts
    { inputs: [1045, 2293, 3000] },
    { inputs: [[1045, 2293], "Paris"], truncate: true, truncation_direction: "Left" },
  ],
  "/embeddings": [{ input: "I love Paris." }, { input: [[1045, 2293, 3000]] }],
  "/embed_all": [{ inputs: ["I love Paris.", "Unaffable"] }, { inputs: [[1045, 2293], "x"] }],
  "/embed/words": [{ inputs: "Unaffable Paris", aggregate: "first" }, { inputs: ["a b"] }],
  "/tokenize": [
    { inputs: "I love Paris." },
    { inputs: ["I love Paris."], max_length: 8, padding: "max_length" },
    { inputs: "I love Paris.", add_special_tokens: false, prompt_name: null },
  ],
  "/decode": [{ ids: [101, 1045, 102] }, { ids: [[1045], [2293, 3000]] }],
  "/similarity": [
    { inputs: { source_sentence: "I love Paris.", sentences: ["Paris", "rain"] } },
    {
      inputs: { source_sentence: "I love Paris.", sentences: ["Paris"] },
      parameters: { truncate: true, truncation_direction: "Left", prompt_name: null },
    },
  ],
  "/predict": [
    { inputs: ["I love Paris.", "Paris is in France."] },
    { inputs: [["I love Paris."], ["a", "b"]], raw_scores: true, truncate: true },
  ],
  "/rerank": [{ query: "Paris", texts: "France", raw_scores: true }],
  "/embed_sparse": [{ inputs: ["I love Paris.", "rain"], truncate: true }],
  "/classify": [{ inputs: ["I love Paris.", "I hate traffic."] }, {
    inputs: "x",
    classifier: "sentiment",
  }],
};

/** A value that breaks a field's documented constraint, or undefined when none is stated. */
function breaking(schema: Json): unknown {
  if (schema.enum) return "no-such-value";
  if (schema.type === "boolean") return "yes";
  if (schema.type === "null") return "a name";
  if (schema.type === "integer" && typeof schema.minimum === "number") return schema.minimum - 1;
  if (schema.type === "integer" && typeof schema.maximum === "number") return schema.maximum + 1;
  if (schema.type === "string") return 7;
  // a nullable text (`["string", "null"]`): a number is neither
  if (Array.isArray(schema.type) && schema.type.join() === "string,null") return 7;
  if (schema.type === "array") return "not an array";
  if (schema.type === "object") return ["not an object"];
  if (schema.oneOf) return { not: "any of them" };
  return undefined;
}

Deno.test({
  name:
    "OpenAPI contract: every route documented, every answer and error conforms, every stated field constraint enforced",
  ignore,
  async fn() {
    const model = await makeTestModel({ seed: 5, layers: 2 });
    const embedder = await Embedder.load(model.dir, { modelId: "test-bert" });
    const closers: (() => Promise<void>)[] = [];
    try {
      const texts = ["I love Paris.", "I hate traffic.", "Unbelievable weather in Paris."];
      const clf = train(
        (await embedder.embed(texts)).data,
        Int32Array.of(1, 0, 1),
        embedder.dimensions(),
        ["neg", "pos"],
        { embedding: { modelId: "test-bert", pooling: "mean", normalize: true } },
      );
      // TEI's other model types: a one-label cross-encoder (/predict, /rerank, and POST /
      // and /invocations dispatch to /rerank) and a SPLADE model (/embed_sparse)
      const reranker = await TextClassifier.load(
        (await makeTestModel({ head: "sequence-classification", labels: 1 })).dir,
        { backend: "native" },
      );
      const splade = await SparseEncoder.load(
        (await makeTestModel({ head: "masked-lm" })).dir,
        { backend: "native" },
      );
      closers.push(() => reranker.close(), () => splade.close());
      const app = createApp(embedder, {
        log: false,
        classifiers: { sentiment: clf },
        textClassifier: reranker,
        sparseEncoder: splade,
      });
      const doc = await (await app.request("/openapi.json")).json();
      const paths = doc.paths as Record<string, Record<string, Json>>;
      const errorSchemas = {
        openai: doc.components.schemas.Error as Json,
        tei: doc.components.schemas.ErrorResponse as Json,
      };
      // TEI's ErrorResponse, as its document requires it: error and error_type
      assertEquals(errorSchemas.tei.required, ["error", "error_type"]);

      // every route the app serves is documented, with its method
      const served = app.routes.filter((r) => r.method !== "ALL");
      for (const r of served) {
        assert(paths[r.path]?.[r.method.toLowerCase()], `${r.method} ${r.path} is not documented`);
      }
      assertEquals(Object.keys(paths).length, new Set(served.map((r) => r.path)).size);

      let answers = 0, errors = 0, constraints = 0, unknowns = 0;
      const check = (what: string, body: unknown, schema: Json) => {
        const v = violations(body, schema);
        assertEquals(v, [], `${what}: ${v.slice(0, 5).join("; ")}`);
      };
      for (const [path, ops] of Object.entries(paths)) {
        // a path with both methods (GET / and POST /) is checked for each
        if (ops.get && ops.post) {
          const res = await app.request(path);
          assertEquals(res.status, 200, `GET ${path}`);
          type Ok = { content: Record<string, { schema: Json }> };
          const ok = (ops.get.responses as Record<string, Ok>)["200"];
          check(`GET ${path}`, await res.json(), Object.values(ok.content)[0].schema);
          answers++;
        } else if (ops.get) {
          const res = await app.request(path);
          assertEquals(res.status, 200, path);
          type Ok = { content: Record<string, { schema: Json }> };
          const ok = (ops.get.responses as Record<string, Ok>)["200"];
          const [type, media] = Object.entries(ok.content)[0];
          assert(res.headers.get("content-type")?.startsWith(type), `${path}: ${type}`);
          check(
            `GET ${path}`,
            type === "application/json" ? await res.json() : await res.text(),
            media.schema,
          );
          answers++;
          continue;
        }
        const op = ops.post as {
          requestBody: { content: { "application/json": { schema: Json; example?: Json } } };
          responses: Record<
            string,
            { content: { "application/json": { schema: Json; example?: unknown } } }
          >;
        };
        // the document's own example request is sent like the others (it must answer 200),
        // and its example answer must fit the answer's schema
        const documented = op.requestBody.content["application/json"].example;
        assert(documented, `no example request in the document for ${path}`);
        const answerExample = op.responses["200"].content["application/json"];
        assert("example" in answerExample, `no example answer in the document for ${path}`);
        check(`example answer of ${path}`, answerExample.example, answerExample.schema);
        const examples = [...(EXAMPLES[path] ?? []), documented];
        const family = OPENAI_ROUTES.has(path) ? "openai" : "tei";
        const errorSchema = errorSchemas[family];
        const request = op.requestBody.content["application/json"].schema;
        const send = (body: Json) =>
          app.request(path, { method: "POST", body: JSON.stringify(body) });
        for (const example of examples) {
          check(`request example for ${path}`, example, request);
          const res = await send(example);
          const body = await res.json();
          assertEquals(
            res.status,
            200,
            `${path} ${JSON.stringify(example)}: ${JSON.stringify(body)}`,
          );
          check(
            `POST ${path} ${JSON.stringify(example)}`,
            body,
            op.responses["200"].content["application/json"].schema,
          );
          answers++;
        }
        // each stated constraint of each field, broken alone, is refused naming the field
        const properties = request.properties as Record<string, Json>;
        for (const [name, schema] of Object.entries(properties)) {
          const bad = breaking(schema);
          assert(
            bad !== undefined,
            `${path}.${name}: no constraint to test in ${JSON.stringify(schema)}`,
          );
          const res = await send({ ...examples[0], [name]: bad });
          const body = await res.json();
          assert(
            FIELD_STATUSES[family].includes(res.status),
            `${path} ${name}=${JSON.stringify(bad)} answered ${res.status}`,
          );
          assert(
            String(paramOf(body)).startsWith(name),
            `${path} ${name}=${JSON.stringify(bad)} named ${paramOf(body)}`,
          );
          check(`error of ${path}`, body, errorSchema);
          check(
            `documented ${res.status} of ${path}`,
            body,
            op.responses[res.status].content["application/json"].schema,
          );
          constraints++;
          errors++;
        }
        // a field the route does not have is refused by name (misspelt or not), and the
        // document says so; one case per route
        assertEquals(request.additionalProperties, false, `${path}: additionalProperties`);
        for (const unknown of ["normalise", "poolling", "no_such_field"]) {
          if (unknown in properties) continue;
          const res = await send({ ...examples[0], [unknown]: false });
          const body = await res.json();
          assertEquals(
            [res.status, paramOf(body)],
            [family === "tei" ? 422 : 400, unknown],
            `${path} with ${unknown}: ${JSON.stringify(body)}`,
          );
          check(`error of ${path}`, body, errorSchema);
          unknowns++;
        }
        // the required fields are required
        for (const name of (request.required ?? []) as string[]) {
          const { [name]: _, ...rest } = examples[0];
          const res = await send(rest);
          assertEquals(res.status, family === "tei" ? 422 : 400, `${path} without ${name}`);
          const body = await res.json();
          assertEquals(paramOf(body), name);
          check(`error of ${path} without ${name}`, body, errorSchema);
          errors++;
        }
      }
      // counted, so that a document that lost its routes cannot pass by checking nothing
      assert(
        answers >= 21 && constraints >= 40 && unknowns >= 3 * 8,
        `${answers} answers, ${constraints} constraints, ${unknowns} unknown fields`,
      );
      console.log(
        `${answers} answers, ${constraints} field constraints, ${unknowns} unknown fields, ${errors} error bodies checked`,
      );
    } finally {
      for (const close of closers) await close();
      await embedder.close();
    }
  },
});
