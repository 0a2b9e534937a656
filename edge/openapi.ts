/**
 * The OpenAPI 3.1 document of the API, printed from the route contract (contract/: the
 * same fields that check requests, the schemas that type the answers), with an example
 * request and answer per route (examples.ts); docs.ts renders it at `/docs`.
 *
 * @example
 * ```ts
 * import { openApiDocument } from "./openapi.ts";
 * import { apiContract } from "./contract/table.ts";
 * import { Embedder } from "../src/model/embedder.ts";
 * const embedder = await Embedder.load("../shared/models/embedge-mini-mlm");
 * const routes = apiContract(embedder, { maxInputs: 256, maxInputChars: 100_000 }, []);
 * const doc = openApiDocument(embedder.info, routes);
 * console.log(Object.keys(doc.paths).includes("/v1/embeddings")); // true
 * await embedder.close();
 * ```
 * @module
 */
import type { ModelInfo } from "../src/model/embedder.ts";
import { errorSchema, teiErrorSchema } from "./contract/error_bodies.ts";
import type { Route } from "./contract/route.ts";
import type { ErrorFamily } from "./errors.ts";
import { bodySchema } from "./schema.ts";
import { EMBEDGE_VERSION } from "./server.ts";
import { ROUTE_EXAMPLES } from "./examples.ts";

// what a POST route can answer besides 200, by its family (app.ts and errors.ts)
const POST_ERRORS: Record<ErrorFamily, Record<string, string>> = {
  openai: {
    "400": "a field is missing or invalid (param names it)",
    "401": "missing or wrong API key",
    "404": "nothing to serve (e.g. no classifier is loaded)",
    "408": "the request body did not arrive in time",
    "413": "body, input or answer larger than the server accepts",
    "499": "the client closed the request",
    "503": "server busy or the request took too long",
  },
  tei: {
    "400": "Empty: an input is empty (param names it)",
    "401": "Validation: missing or wrong API key",
    "404": "Validation: nothing to serve (e.g. no classifier is loaded)",
    "408": "Validation: the request body did not arrive in time",
    "413": "Validation: too many inputs, or body, input or answer larger than the server accepts",
    "422": "Validation: a field is missing or invalid (param names it)",
    "424":
      "Backend: the model failed, did not answer in time, or is not of the kind the route needs",
    "429": "Overloaded: the queue is full (Retry-After)",
    "499": "Validation: the client closed the request",
  },
};
const ERROR_SCHEMAS = { openai: errorSchema, tei: teiErrorSchema };

/** The OpenAPI document: the routes' own fields and response schemas (contract/). */
export function openApiDocument(info: ModelInfo, routes: Record<string, Route>) {
  const paths: Record<string, unknown> = {};
  for (const [key, route] of Object.entries(routes)) {
    const path = route.path ?? key;
    const example = ROUTE_EXAMPLES[route.exampleOf ?? key];
    const ok = {
      description: "ok",
      content: {
        [route.contentType ?? "application/json"]: {
          schema: route.response.json,
          ...(example ? { example: example.response } : {}),
        },
      },
    };
    paths[path] = {
      ...(paths[path] as object | undefined),
      [route.method]: route.method === "post"
        ? {
          summary: route.summary,
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: bodySchema(route.fields),
                ...(example?.request ? { example: example.request } : {}),
              },
            },
          },
          responses: {
            "200": ok,
            ...Object.fromEntries(
              Object.entries(POST_ERRORS[route.family]).map(([code, why]) => [code, {
                description: why,
                content: { "application/json": { schema: ERROR_SCHEMAS[route.family].json } },
              }]),
            ),
          },
        }
        : { summary: route.summary, responses: { "200": ok } },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "embedge",
      version: EMBEDGE_VERSION,
      description:
        `BERT embeddings at the edge. Model: ${info.modelId}, max ${info.maxLength} tokens.`,
    },
    // OpenAI's error body, and TEI's under TEI's name for it
    components: { schemas: { Error: errorSchema.json, ErrorResponse: teiErrorSchema.json } },
    paths,
  };
}
