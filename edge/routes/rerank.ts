/**
 * TEI's `POST /rerank` over the app's `TextClassifier`: `{ query, texts, raw_scores?,
 * return_text?, truncate?, truncation_direction? }` → `[{ index, score, text? }]`, best
 * first, each text scored with the query as a pair by a one-label model (a cross-encoder:
 * the sigmoid of its logit, or the logit with `raw_scores`). A classifier with several
 * labels is not a reranker: TEI's 424, as TEI answers it, unless `label` (an embedge
 * extension) names the label whose logit scores relevance.
 *
 * @module
 */
import { Hono } from "../../src/deps/hono.ts";
import { readFields } from "../body.ts";
import { answer } from "../contract/route.ts";
import { HttpError } from "../errors.ts";
import type { Env, Server } from "../server.ts";
import { loadedClassifier } from "./predict.ts";

/** The `/rerank` route of `server`, at `also` too (the dispatching routes, app.ts). */
export function rerankRoutes(server: Server, also: string[] = []): Hono<Env> {
  const route = server.routes["/rerank"];
  const app = new Hono<Env>();
  app.on("POST", ["/rerank", ...also], async (c) => {
    // the body first, as TEI reads it (its JSON extractor and empty-texts check) before the
    // model's type; TEI checks the number of texts after it, embedge with the body
    const b = await readFields(c, server.limits, route);
    const classifier = loadedClassifier(server, "/rerank");
    const labels = classifier.info.labels;
    if (labels.length !== 1 && b.label === undefined) {
      throw new HttpError(
        424,
        `${classifier.info.modelId} is not a reranker (it has ${labels.length} labels: ${
          labels.join(", ")
        }); name the one that scores relevance with label`,
        "server_error",
        "label",
      );
    }
    if (b.label !== undefined && !labels.includes(b.label)) {
      throw new HttpError(400, `label must be one of ${labels.join(", ")}`, undefined, "label");
    }
    const ranks = await classifier.rerank(b.query, b.texts, {
      rawScores: b.raw_scores,
      returnText: b.return_text,
      truncate: b.truncate,
      truncationDirection: b.truncation_direction === "Left" ? "left" : "right",
      ...(b.label !== undefined ? { label: b.label } : {}),
    });
    return c.json(answer(route, ranks));
  });
  return app;
}
