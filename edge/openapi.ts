/**
 * The OpenAPI 3.1 document of the API, printed from the route contract (contract.ts: the
 * same fields that check requests, the schemas that type the answers), and a
 * self-contained docs page that renders it (no CDN: the page works offline).
 *
 * @example
 * ```ts
 * import { openApiDocument } from "./openapi.ts";
 * import { apiContract } from "./contract.ts";
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
import { errorSchema, type Route } from "./contract.ts";
import { bodySchema } from "./schema.ts";

const error = {
  description: "error",
  content: { "application/json": { schema: errorSchema.json } },
};
// what a POST route can answer besides 200 (app.ts and errors.ts)
const POST_ERRORS: Record<string, string> = {
  "400": "a field is missing or invalid (param names it)",
  "401": "missing or wrong API key",
  "404": "nothing to serve (e.g. no classifier is loaded)",
  "408": "the request body did not arrive in time",
  "413": "body, input or answer larger than the server accepts",
  "499": "the client closed the request",
  "503": "server busy or the request took too long",
};

/** The OpenAPI document: the routes' own fields and response schemas (contract.ts). */
export function openApiDocument(info: ModelInfo, routes: Record<string, Route>) {
  const paths: Record<string, unknown> = {};
  for (const [path, route] of Object.entries(routes)) {
    const ok = {
      description: "ok",
      content: { [route.contentType ?? "application/json"]: { schema: route.response.json } },
    };
    paths[path] = {
      [route.method]: route.method === "post"
        ? {
          summary: route.summary,
          requestBody: {
            required: true,
            content: { "application/json": { schema: bodySchema(route.fields) } },
          },
          responses: {
            "200": ok,
            ...Object.fromEntries(
              Object.entries(POST_ERRORS).map((
                [code, why],
              ) => [code, { ...error, description: why }]),
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
      version: "0.1.0",
      description:
        `BERT embeddings at the edge. Model: ${info.modelId}, max ${info.maxLength} tokens.`,
    },
    components: { schemas: { Error: errorSchema.json } },
    paths,
  };
}

/** A docs page that renders /openapi.json. */
export function docsPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>embedge API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
code,pre{background:#f4f4f4;padding:.1rem .3rem}h2{margin-top:2rem}.m{font-weight:bold;color:#06c}</style>
</head><body><h1>embedge API</h1><p id="d"></p><div id="p"></div>
<script>
fetch("openapi.json").then(r=>r.json()).then(doc=>{
  document.getElementById("d").textContent=doc.info.description;
  const root=document.getElementById("p");
  for(const [path,ops] of Object.entries(doc.paths)) for(const [m,op] of Object.entries(ops)){
    const h=document.createElement("h2");
    h.innerHTML='<span class="m">'+m.toUpperCase()+'</span> <code></code>';
    h.querySelector("code").textContent=path;
    const p=document.createElement("p"); p.textContent=op.summary;
    root.append(h,p);
    const s=op.requestBody?.content["application/json"].schema;
    const show=(title,v)=>{const h3=document.createElement("h3");h3.textContent=title;const pre=document.createElement("pre");pre.textContent=JSON.stringify(v,null,2);root.append(h3,pre);};
    if(s)show("request",s.properties);
    const ok=op.responses["200"]?.content;
    if(ok)for(const [type,m] of Object.entries(ok))show("200 "+type,m.schema);
  }
});
</script></body></html>`;
}
