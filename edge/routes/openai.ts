/**
 * `POST /v1/embeddings`, OpenAI's embeddings API: float or base64 vectors (always
 * normalized, as OpenAI's are), `dimensions`, token-id inputs and usage counts; `pooling`,
 * `truncate`, `layers` and `layer_mix` are embedge's extensions.
 *
 * @module
 */
import { Hono } from "../../src/deps/hono.ts";
import { admit } from "../admission.ts";
import { readFields } from "../body.ts";
import { answer } from "../contract/route.ts";
import { jsonResponse } from "../json_stream.ts";
import type { Env, Server } from "../server.ts";
import { answerWidth, base64, cut, layerChoice } from "./vectors.ts";

/** The OpenAI route of `server` (at `/v1/embeddings` and, as TEI serves it, `/embeddings`). */
export function openaiRoutes(server: Server): Hono<Env> {
  const { embedder, info, batcher, limits } = server;
  const route = server.routes["/v1/embeddings"];
  const app = new Hono<Env>();
  // TEI serves the same route without /v1 (outside its document): clients use both
  app.on("POST", ["/v1/embeddings", "/embeddings"], async (c) => {
    const b = await readFields(c, limits, route);
    const layers = layerChoice(b);
    const admitted = admit(embedder, b.input, b.truncate, "input");
    const full = embedder.dimensions(b.pooling, layers);
    const dims = answerWidth(b.dimensions, full, admitted.length, limits.maxOutputFloats, "input");
    const out = await batcher.embed(
      admitted,
      { normalize: true, truncate: b.truncate, pooling: b.pooling, ...layers },
      c.get("turn"),
    );
    const tokens = out.tokenCounts.reduce((a, v) => a + v, 0);
    return jsonResponse(answer(route, {
      object: "list",
      data: b.input.map((_, i) => {
        const v = cut(out.data.subarray(i * full, (i + 1) * full), dims, true);
        return {
          object: "embedding" as const,
          index: i,
          embedding: b.encoding_format === "base64" ? base64(v) : Array.from(v),
        };
      }),
      model: b.model ?? info.modelId,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    }));
  });
  return app;
}
