/**
 * text-embeddings-inference (TEI) conformance of a running server, whatever runs it: the
 * suite takes a `fetch`-like client (a base URL's, or an app's `request`), so the same
 * cases run against the Deno server and the Cloudflare Worker. Written from TEI's OpenAPI
 * document (tei_schemas.ts) and its router: every request shape the document gives each
 * route is sent (each request checked against TEI's request schema first), every answer is
 * checked against TEI's answer schema and every error against TEI's `ErrorResponse` with
 * the status TEI's router gives it. A route whose model is not loaded (`/predict` and
 * `/rerank` without a classifier, `/embed_sparse` without a SPLADE model) answers TEI's 424
 * `Backend` to every valid request, as TEI answers it for a model of another type.
 *
 * Where embedge knowingly differs from TEI, the case says so and checks embedge's answer
 * (`KNOWN`), so that the difference stays visible and a change to it is seen.
 *
 * @example
 * ```ts ignore
 * import { clientOf, teiConformance } from "./tei_conformance.ts";
 * const report = await teiConformance(clientOf("http://127.0.0.1:8080"), {});
 * console.log(report.failures); // []
 * ```
 * @module
 */
import { violations } from "./json_schema.ts";
import { TEI, TEI_ROUTES, TEI_STATUS } from "./tei_schemas.ts";
import { type Case, dispatchedRoute, errorCases, validCases } from "./tei_cases.ts";

/** A `fetch` relative to a server: `path` starts with `/`. */
export type Client = (path: string, init?: RequestInit) => Promise<Response>;

/** The client of a server at `url` (e.g. `http://127.0.0.1:8080`). */
export const clientOf = (url: string): Client => (path, init) => fetch(url + path, init);

/** Which models the server holds besides its embedding model. */
export interface Served {
  /** The sequence-classification model's labels (`/predict`; one label: a reranker). */
  labels?: string[];
  /** A SPLADE model serves `/embed_sparse`. */
  sparse?: boolean;
}

/** What a run checked, and what did not conform (empty when all did). */
export interface Report {
  answers: number;
  errors: number;
  failures: string[];
}

/** The `model_type` TEI's `/info` gives for the model `POST /` answers with. */
export function expectedModelType(served: Served, pooling: string): unknown {
  const { labels } = served;
  if (labels) {
    const model = {
      id2label: Object.fromEntries(labels.map((label, i) => [String(i), label])),
      label2id: Object.fromEntries(labels.map((label, i) => [label, i])),
    };
    return labels.length === 1 ? { reranker: model } : { classifier: model };
  }
  return { embedding: { pooling: served.sparse ? "splade" : pooling } };
}

/** Sends every case to `client` and checks each answer; resolves with what failed. */
export async function teiConformance(client: Client, served: Served): Promise<Report> {
  const report: Report = { answers: 0, errors: 0, failures: [] };
  const fail = (what: string) => report.failures.push(what);
  const schemaCheck = (what: string, value: unknown, schema: string) => {
    const found = violations(value, TEI[schema]);
    if (found.length) fail(`${what}: not TEI's ${schema}: ${found.slice(0, 4).join("; ")}`);
    return found.length === 0;
  };

  // GET routes: /info first, its limits shape the other cases
  const infoResponse = await client("/info");
  const info = await infoResponse.json();
  if (infoResponse.status !== 200) fail(`GET /info: ${infoResponse.status}`);
  schemaCheck("GET /info", info, "Info");
  const modelType = expectedModelType(served, info.pooling);
  if (JSON.stringify(info.model_type) !== JSON.stringify(modelType)) {
    fail(
      `GET /info model_type ${JSON.stringify(info.model_type)}, TEI's ${JSON.stringify(modelType)}`,
    );
  }
  report.answers++;
  for (const path of ["/health", "/ping", "/"]) {
    const res = await client(path);
    await res.body?.cancel();
    if (res.status !== 200) fail(`GET ${path}: ${res.status}`);
    report.answers++;
  }
  const metrics = await client("/metrics");
  const text = await metrics.text();
  if (metrics.status !== 200 || !metrics.headers.get("content-type")?.startsWith("text/plain")) {
    fail(`GET /metrics: ${metrics.status} ${metrics.headers.get("content-type")}`);
  }
  if (!text.includes("# TYPE")) fail(`GET /metrics is not Prometheus text: ${text.slice(0, 80)}`);
  report.answers++;

  const limits = {
    maxInputLength: info.max_input_length as number,
    maxClientBatchSize: info.max_client_batch_size as number,
  };
  const root = dispatchedRoute(served);
  const cases = [
    ...validCases(served),
    // POST / and /invocations: the dispatched route's requests and answers (TEI's routing);
    // their schemas only: a classifier's root answers a single text as a batch of one
    // (tei_cases.ts, known differences), which TEI's PredictResponse admits too
    ...validCases(served).filter((c) => c.path === root).flatMap((c) =>
      ["/", "/invocations"].map((path) => ({ ...c, path, route: root, answer: undefined }))
    ),
    ...errorCases(served, limits),
  ];
  for (const c of cases) await check(client, c, schemaCheck, fail, report);
  return report;
}

/** Sends one case and checks its answer (or error) against TEI's schemas and statuses. */
async function check(
  client: Client,
  c: Case,
  schemaCheck: (what: string, value: unknown, schema: string) => boolean,
  fail: (what: string) => void,
  report: Report,
): Promise<void> {
  const route = c.route ?? c.path;
  const label = `POST ${c.path} ${JSON.stringify(c.body).slice(0, 100)}`;
  const schemas = TEI_ROUTES[route];
  // the suite's own request must be one TEI documents (unless the case is an error on purpose)
  if (!c.invalid) schemaCheck(`${label} (the request)`, c.body, schemas.request);
  const res = await client(c.path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(c.body),
  });
  const body = await res.json().catch(() => undefined);
  if (res.status !== c.status) {
    fail(`${label}: ${res.status}, expected ${c.status}: ${JSON.stringify(body).slice(0, 200)}`);
    return;
  }
  if (c.status === 200) {
    if (schemaCheck(label, body, schemas.response)) c.answer?.(body, fail, label);
    report.answers++;
    return;
  }
  report.errors++;
  if (!schemaCheck(label, body, "ErrorResponse")) return;
  if (c.errorType && body.error_type !== c.errorType) {
    fail(`${label}: error_type ${body.error_type}, expected ${c.errorType}`);
  }
  // TEI's router gives each of its error types one status; embedge's 422 Validation is the
  // exception it shares with TEI's JSON extractor (a malformed body: see errors.ts)
  const teiStatus = TEI_STATUS[body.error_type];
  if (res.status !== teiStatus && !(res.status === 422 && body.error_type === "Validation")) {
    fail(`${label}: ${body.error_type} with ${res.status}; TEI answers it with ${teiStatus}`);
  }
}
