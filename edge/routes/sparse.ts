/**
 * TEI's `POST /embed_sparse` over the app's `SparseEncoder` (a SPLADE model): `{ inputs,
 * truncate?, truncation_direction?, prompt_name? }` → one `[{ index, value }]` per input (non-zero
 * entries by ascending token id). No SPLADE model loaded: TEI's 424. The encoder's
 * tokenizer cuts on the right only, so `Left` is refused (422 naming it) when an input
 * would need a cut, and works when none does.
 *
 * @module
 */
import { Hono } from "../../src/deps/hono.ts";
import type { SparseEncoder } from "../../src/model/sparse/sparse_encoder.ts";
import { readFields } from "../body.ts";
import { answer } from "../contract/route.ts";
import { HttpError } from "../errors.ts";
import { invalid } from "../schema.ts";
import { checkPromptName } from "../prompt_name.ts";
import { promptText } from "../../src/model/prompts.ts";
import type { Env, Server } from "../server.ts";

/** The SPLADE model, or TEI's 424 when the server has none. */
function loadedEncoder(server: Server): SparseEncoder {
  if (!server.sparseEncoder) {
    throw new HttpError(
      424,
      "/embed_sparse: no SPLADE model is loaded (a masked-LM model loaded as a SparseEncoder)",
      "server_error",
    );
  }
  return server.sparseEncoder;
}

/** The `/embed_sparse` route of `server`, at `also` too (the dispatching routes, app.ts). */
export function sparseRoutes(server: Server, also: string[] = []): Hono<Env> {
  const route = server.routes["/embed_sparse"];
  const app = new Hono<Env>();
  app.on("POST", ["/embed_sparse", ...also], async (c) => {
    // the model before the body, unlike /predict and /rerank: TEI's Input takes token ids
    // here too, which this route does not, so a valid TEI body with ids on a server without
    // a SPLADE model gets TEI's 424 rather than a 422 about the ids
    const encoder = loadedEncoder(server);
    const b = await readFields(c, server.limits, route);
    const promptName = checkPromptName(encoder.info, b.prompt_name, "prompt_name");
    if (b.truncate && b.truncation_direction === "Left") {
      const max = encoder.info.maxLength;
      const prompt = promptText(encoder.info, { promptName }, "prompt_name");
      b.inputs.forEach((text, i) => {
        if (encoder.tokenizer.encode(prompt + text).ids.length > max) {
          throw invalid(
            `inputs[${i}] needs a cut and this model's tokenizer cuts on the right only: use Right`,
            "truncation_direction",
          );
        }
      });
    }
    const vectors = await encoder.embedSparse(b.inputs, { truncate: b.truncate, promptName });
    return c.json(answer(route, vectors));
  });
  return app;
}
