/**
 * TEI's `POST /predict` over a `TextClassifier` (a sequence-classification model), with
 * TEI's contract (docs/openapi.json of text-embeddings-inference: `PredictRequest`,
 * `PredictResponse`, `ErrorResponse`):
 *
 * - request `{ inputs, raw_scores?, truncate?, truncation_direction? }`, where `inputs` is a
 *   text, a pair `["a", "b"]`, or a batch `[["a"], ["b", "c"]]` of singles and pairs;
 * - response: for a text or a pair its labels `[{ label, score }]` by descending score
 *   (softmax over the logits, or the logits themselves with `raw_scores`); for a batch one
 *   such list per item;
 * - errors `{ error, error_type }`: 422 `Validation` for a malformed request or input (too
 *   long with `truncate` off — TEI's default —, or needing a cut on the left, which embedge's
 *   tokenizer cannot make), 413 `Validation` for a batch over `maxInputs`, 424 `Backend` when
 *   the model fails.
 *
 * It answers its own errors, so the app's error handler (OpenAI's shape) never sees them.
 *
 * @example
 * ```ts
 * import { Hono } from "../../src/deps/hono.ts";
 * import { mountPredict } from "./predict.ts";
 * import { TextClassifier } from "../../src/model/classify/text_classifier.ts";
 * const app = new Hono();
 * mountPredict(app, await TextClassifier.load("../shared/models/embedge-mini-sst2"));
 * const res = await app.request("/predict", {
 *   method: "POST",
 *   body: JSON.stringify({ inputs: "i love paris ." }),
 * });
 * console.log(res.status, (await res.json())[0].label); // 200 positive
 * ```
 * @module
 */
import type { Env, Hono } from "../../src/deps/hono.ts";
import { EmbedgeError } from "../../src/errors.ts";
import type { ClassifyInput, TextClassifier } from "../../src/model/classify/text_classifier.ts";

/** Options of the route. */
export interface PredictRouteOptions {
  /** Most items in a batch request (default 32, TEI's `max_client_batch_size` default). */
  maxInputs?: number;
}

/** A refusal with TEI's error type and status. */
class PredictError extends Error {
  constructor(message: string, readonly status = 422, readonly type = "Validation") {
    super(message);
  }
}

const FIELDS = new Set(["inputs", "raw_scores", "truncate", "truncation_direction"]);

/** A batch item: `["a"]` (a single) or `["a", "b"]` (a pair), strings only. */
function batchItem(item: unknown, i: number): ClassifyInput {
  const ok = Array.isArray(item) && (item.length === 1 || item.length === 2) &&
    item.every((t) => typeof t === "string");
  if (!ok) {
    throw new PredictError(
      `inputs[${i}] must be ["text"] or a pair ["text", "text"] (a batch holds arrays)`,
    );
  }
  return item.length === 1 ? item[0] : [item[0], item[1]];
}

/** The request's inputs and whether it was a batch (TEI answers a batch with a list of lists). */
function parseInputs(
  inputs: unknown,
  maxInputs: number,
): { items: ClassifyInput[]; batch: boolean } {
  if (typeof inputs === "string") return { items: [inputs], batch: false };
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new PredictError("inputs must be a text, a pair [text, text] or a non-empty batch");
  }
  if (inputs.every((t) => typeof t === "string")) {
    if (inputs.length !== 2) {
      throw new PredictError(
        `inputs as a list of texts must be a pair of two, got ${inputs.length}; a batch is [["a"], ["b"]]`,
      );
    }
    return { items: [[inputs[0], inputs[1]]], batch: false };
  }
  if (inputs.length > maxInputs) {
    throw new PredictError(`batch size ${inputs.length} > maximum allowed ${maxInputs}`, 413);
  }
  return { items: inputs.map(batchItem), batch: true };
}

/** The request's options, checked. */
function parseOptions(body: Record<string, unknown>) {
  const unknown = Object.keys(body).filter((k) => !FIELDS.has(k));
  if (unknown.length) throw new PredictError(`unknown field ${unknown[0]}`);
  const flag = (name: string) => {
    const v = body[name];
    if (v === undefined || v === null) return false;
    if (typeof v !== "boolean") throw new PredictError(`${name} must be true or false`);
    return v;
  };
  const direction = body.truncation_direction ?? "Right";
  if (typeof direction !== "string" || !["right", "left"].includes(direction.toLowerCase())) {
    throw new PredictError("truncation_direction must be Right or Left");
  }
  return {
    raw: flag("raw_scores"),
    truncate: flag("truncate"),
    direction: direction.toLowerCase() as "right" | "left",
  };
}

/** TEI's error body. */
function teiError(e: unknown): Response {
  let status = 424, type = "Backend", message = "inference failed";
  if (e instanceof PredictError) [status, type, message] = [e.status, e.type, e.message];
  else if (
    e instanceof EmbedgeError && (e.code === "invalid_input" || e.code === "input_too_long")
  ) {
    [status, type, message] = [422, "Validation", e.message];
  } else console.error(JSON.stringify({ level: "error", route: "/predict", error: String(e) }));
  return Response.json({ error: message, error_type: type }, { status });
}

/** Mounts `POST /predict` on `app`, answered by `classifier`. */
export function mountPredict<E extends Env>(
  app: Hono<E>,
  classifier: TextClassifier,
  options: PredictRouteOptions = {},
): void {
  const maxInputs = options.maxInputs ?? 32;
  app.post("/predict", async (c) => {
    try {
      const body = await c.req.json().catch(() => {
        throw new PredictError("the body must be a JSON object");
      });
      if (typeof body !== "object" || body === null || Array.isArray(body)) {
        throw new PredictError("the body must be a JSON object");
      }
      if (!("inputs" in body)) throw new PredictError("missing field inputs");
      const { items, batch } = parseInputs(body.inputs, maxInputs);
      const o = parseOptions(body);
      const ranked = await classifier.classify(items, {
        ...(o.raw ? { function: "none" as const } : {}),
        truncate: o.truncate,
        truncationDirection: o.direction,
      });
      return c.json(batch ? ranked : ranked[0]);
    } catch (e) {
      return teiError(e);
    }
  });
}
