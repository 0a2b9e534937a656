/**
 * TEI's `POST /predict` over the app's `TextClassifier` (a sequence-classification model),
 * with TEI's contract (text-embeddings-inference's `PredictRequest`, `PredictResponse`):
 *
 * - request `{ inputs, raw_scores?, truncate?, truncation_direction? }`, where `inputs` is a
 *   text, a pair `["a", "b"]`, or a batch `[["a"], ["b", "c"]]` of singles and pairs
 *   (contract/models.ts checks them);
 * - answer: for a text or a pair its labels `[{ label, score }]` by descending score
 *   (the model's function over the logits, or the logits themselves with `raw_scores`); for
 *   a batch one such list per item;
 * - errors through the app's one error path in TEI's shape (errors.ts): 424 `Backend` when
 *   no classifier is loaded (TEI: "Model is not a classifier model"; for a request that is
 *   valid, as TEI checks the body first), 422 `Validation` for a
 *   malformed input or one needing a cut on the left (the classifier's tokenizer cuts on
 *   the right only), 413 for too long an input with truncate off or too big a batch.
 *
 * @module
 */
import { type Context, Hono } from "../../src/deps/hono.ts";
import type { TextClassifier } from "../../src/model/classify/text_classifier.ts";
import { readFields } from "../body.ts";
import { answer } from "../contract/route.ts";
import { HttpError } from "../errors.ts";
import type { Env, Server } from "../server.ts";

/** The classifier, or TEI's 424 when the server has none (`what` names the route's need). */
export function loadedClassifier(server: Server, what: string): TextClassifier {
  if (!server.textClassifier) {
    throw new HttpError(
      424,
      `${what}: no sequence-classification model is loaded (--predict-model, EMBEDGE_PREDICT_MODEL)`,
      "server_error",
    );
  }
  return server.textClassifier;
}

/**
 * The `/predict` route of `server`, at `also` too (`POST /` and `/invocations` for a
 * classifier, app.ts). There a single text or pair is answered as a batch of one,
 * `[[{ label, score }]]`: the Inference API's text-classification shape, which Hugging
 * Face's clients (`@huggingface/inference`'s `textClassification`) read from the root;
 * `/predict` itself answers TEI's shape.
 */
export function predictRoutes(server: Server, also: string[] = []): Hono<Env> {
  const route = server.routes["/predict"];
  const app = new Hono<Env>();
  const predict = (perInput: boolean) => async (c: Context<Env>) => {
    // the body first, as TEI reads it (axum's JSON extractor, then its batch-size check)
    // before the model's type: a malformed request is a 422 or 413 whatever is loaded
    const b = await readFields(c, server.limits, route);
    const classifier = loadedClassifier(server, "/predict");
    const ranked = await classifier.classify(b.inputs.items, {
      ...(b.raw_scores ? { function: "none" as const } : {}),
      truncate: b.truncate,
      truncationDirection: b.truncation_direction === "Left" ? "left" : "right",
    });
    return c.json(answer(route, b.inputs.batch || perInput ? ranked : ranked[0]));
  };
  app.post("/predict", predict(false));
  if (also.length) app.on("POST", also, predict(true));
  return app;
}
