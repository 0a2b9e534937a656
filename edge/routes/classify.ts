/**
 * `POST /classify`: a logistic-regression head on sentence embeddings (TEI's `/predict`,
 * with several heads by name); each input's labels by descending score. Each head embeds
 * as it was trained (its pooling, normalization, length and layers).
 *
 * @module
 */
import { Hono } from "../../src/deps/hono.ts";
import type { Pooling } from "../../src/model/pooling.ts";
import { predictProba } from "../../src/classifier/logistic.ts";
import { admit } from "../admission.ts";
import { readFields } from "../body.ts";
import { answer } from "../contract/route.ts";
import { HttpError } from "../errors.ts";
import { jsonResponse } from "../json_stream.ts";
import type { Env, Server } from "../server.ts";

/** The classifier route of `server` (a 404 when no head is loaded). */
export function classifyRoutes(server: Server): Hono<Env> {
  const { embedder, batcher, limits, classifiers } = server;
  const route = server.routes["/classify"];
  const app = new Hono<Env>();
  app.post("/classify", async (c) => {
    if (!Object.keys(classifiers).length) {
      throw new HttpError(404, "no classifier is loaded", "not_found", "classifier");
    }
    const b = await readFields(c, limits, route);
    // own keys only (the field's check): a name such as "constructor" never reaches here
    const clf = classifiers[b.classifier];
    const admitted = admit(embedder, b.inputs, true, "inputs", clf.embedding.maxLength);
    const out = await batcher.embed(admitted, {
      pooling: clf.embedding.pooling as Pooling,
      normalize: clf.embedding.normalize,
      truncate: true,
      maxLength: clf.embedding.maxLength,
      layers: clf.embedding.layers,
      layerMix: clf.embedding.layerMix,
    }, c.get("turn"));
    const probs = predictProba(clf, out.data);
    const k = clf.labels.length;
    return jsonResponse(answer(
      route,
      b.inputs.map((_, i) =>
        clf.labels.map((label, j) => ({ label, score: probs[i * k + j] })).sort((x, y) =>
          y.score - x.score
        )
      ),
    ));
  });
  return app;
}
