/**
 * The OpenAPI 3.1 document of the API and a self-contained docs page that renders it
 * (no CDN: the page works offline).
 *
 * @example
 * ```ts
 * import { openApiDocument } from "./openapi.ts";
 * const doc = openApiDocument({ modelId: "m", maxLength: 512 } as never);
 * console.log(Object.keys(doc.paths).includes("/v1/embeddings")); // true
 * ```
 * @module
 */
import type { ModelInfo } from "../src/model/embedder.ts";

const text = { type: "string", minLength: 1 };
const texts = { oneOf: [text, { type: "array", items: text, minItems: 1 }] };
const error = {
  description: "error",
  content: {
    "application/json": {
      schema: {
        type: "object",
        properties: {
          error: {
            type: "object",
            properties: {
              message: { type: "string" },
              type: { type: "string" },
              param: { type: ["string", "null"] },
            },
          },
        },
      },
    },
  },
};
const post = (
  summary: string,
  properties: Record<string, unknown>,
  required: string[],
  result: unknown,
) => ({
  post: {
    summary,
    requestBody: {
      required: true,
      content: { "application/json": { schema: { type: "object", properties, required } } },
    },
    responses: {
      "200": { description: "ok", content: { "application/json": { schema: result } } },
      "400": error,
      "401": error,
      "413": error,
      "503": error,
    },
  },
});
const get = (summary: string, type = "application/json") => ({
  get: { summary, responses: { "200": { description: "ok", content: { [type]: {} } } } },
});
const vector = { type: "array", items: { type: "number" } };
const pooling = { type: "string", enum: ["cls", "mean", "max", "mean_max", "pooler"] };
const layerFields = {
  layers: {
    type: "array",
    items: { type: "integer" },
    minItems: 1,
    default: [-1],
    description:
      "hidden states to read: 0 the embeddings, N the last of N layers, -1 the last, -2 the one before",
  },
  layer_mix: { type: "string", enum: ["mean", "concat"], default: "mean" },
};

/** The OpenAPI document for a loaded model. */
export function openApiDocument(info: ModelInfo) {
  // token and word vectors take the fields that choose tokens and layers; sentence
  // vectors add normalize, pooling and dimensions (app.ts refuses them elsewhere)
  const tokenBody = {
    inputs: texts,
    truncate: { type: "boolean", default: false },
    truncation_direction: { type: "string", enum: ["Right"], default: "Right" },
    ...layerFields,
  };
  const teiBody = {
    ...tokenBody,
    normalize: { type: "boolean", default: true },
    pooling,
    dimensions: { type: "integer", minimum: 1 },
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "embedge",
      version: "0.1.0",
      description:
        `BERT embeddings at the edge. Model: ${info.modelId}, max ${info.maxLength} tokens.`,
    },
    paths: {
      "/v1/embeddings": post(
        "OpenAI-compatible embeddings",
        {
          input: {
            oneOf: [texts, { type: "array", items: { type: "integer" } }, {
              type: "array",
              items: { type: "array", items: { type: "integer" } },
            }],
          },
          model: { type: "string" },
          encoding_format: { type: "string", enum: ["float", "base64"] },
          dimensions: { type: "integer", minimum: 1 },
          // embedge extensions
          pooling,
          truncate: { type: "boolean", default: false },
          ...layerFields,
        },
        ["input"],
        { type: "object" },
      ),
      "/embed": post("TEI-compatible sentence embeddings", teiBody, ["inputs"], {
        type: "array",
        items: vector,
      }),
      "/embed_all": post("Token embeddings (last_hidden_state per token)", tokenBody, ["inputs"], {
        type: "array",
        items: { type: "array", items: vector },
      }),
      "/embed/words": post(
        "Word embeddings (subwords aggregated per word)",
        { ...tokenBody, aggregate: { type: "string", enum: ["mean", "first"] } },
        ["inputs"],
        { type: "array" },
      ),
      "/tokenize": post(
        "Tokens, ids, offsets, attention mask (optionally padded to max_length)",
        {
          inputs: texts,
          add_special_tokens: { type: "boolean", default: true },
          max_length: { type: "integer" },
          padding: { enum: ["max_length", false] },
        },
        ["inputs"],
        { type: "array" },
      ),
      "/decode": post(
        "Token ids to text",
        { ids: { type: "array" }, skip_special_tokens: { type: "boolean", default: true } },
        ["ids"],
        {},
      ),
      "/similarity": post(
        "Cosine similarity of a source sentence to candidates",
        {
          inputs: {
            type: "object",
            properties: { source_sentence: text, sentences: { type: "array", items: text } },
          },
        },
        ["inputs"],
        { type: "array", items: { type: "number" } },
      ),
      "/classify": post(
        "Classifier head on sentence embeddings (TEI /predict-like)",
        { inputs: texts, classifier: { type: "string" } },
        ["inputs"],
        { type: "array", items: { type: "array", items: { type: "object" } } },
      ),
      "/health": get("Liveness"),
      "/info": get("Model, dimensions, limits"),
      "/metrics": get("Prometheus metrics", "text/plain"),
      "/openapi.json": get("This document"),
      "/docs": get("API docs page", "text/html"),
    },
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
    if(s){const pre=document.createElement("pre");pre.textContent=JSON.stringify(s.properties,null,2);root.append(pre);}
  }
});
</script></body></html>`;
}
