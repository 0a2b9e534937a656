/**
 * The API contract: every route's request fields (each a check and its schema, schema.ts)
 * and the schema of its answer. The fields are all a route knows: any other is a 400
 * naming it (parseFields), on every route. app.ts parses requests with these fields and types its
 * answers by these schemas; openapi.ts prints them. One table, so the document says
 * exactly what the routes accept and return (a test checks real answers against it).
 *
 * The table is assembled here from one part per family of routes, each in the file named
 * after the routes it describes (openai.ts, tei.ts, classify.ts, ops.ts, and models.ts for
 * predict, rerank and sparse), on the fields they share (fields.ts) and the entry builders
 * (route.ts). The parts live here, beside each other, and not in edge/routes/ next to their
 * handlers: the contract is a value of its own that openapi.ts, server.ts and the tests
 * read without the handlers (and Hono) in tow, and routes/ would import it through
 * server.ts's `Server` and back again; each family's fields are one folder away from the
 * others, where a field two families share is easy to see.
 *
 * @example
 * ```ts
 * import { apiContract } from "./table.ts";
 * import { Embedder } from "../../src/model/embedder.ts";
 * const embedder = await Embedder.load("../shared/models/embedge-mini-mlm");
 * const routes = apiContract(embedder, { maxInputs: 4, maxInputChars: 100 }, []);
 * const embed = routes["/embed"];
 * console.log(embed.method, Object.keys(embed.fields).slice(0, 3)); // post [ "inputs", "truncate", "truncation_direction" ]
 * try {
 *   embed.fields.inputs.parse(["a", "b", "c", "d", "e"], "inputs");
 * } catch (e) {
 *   console.log((e as Error).message); // inputs has 5 items; the limit is 4
 * }
 * await embedder.close();
 * ```
 * @module
 */
import type { Embedder } from "../../src/model/embedder.ts";
import { classifyContract } from "./classify.ts";
import { sharedFields } from "./fields.ts";
import { modelContract } from "./models.ts";
import { openaiContract } from "./openai.ts";
import { opsContract } from "./ops.ts";
import type { ContractLimits, Dispatch } from "./route.ts";
import { teiContract } from "./tei.ts";
import { promptNameField } from "../prompt_name.ts";

/** The routes of an app around `embedder`, with `classifiers` by name. */
export function apiContract(
  embedder: Embedder,
  limits: ContractLimits,
  classifiers: string[],
  dispatch: Dispatch = "/embed",
) {
  const shared = sharedFields(embedder, limits);
  const { texts, truncate, truncationDirection } = shared;
  // in the order the document lists them
  const table = {
    ...openaiContract(shared),
    ...teiContract(shared),
    ...classifyContract(texts, classifiers),
    ...opsContract(),
    // the second models' prompts are their own: the field names none of the embedder's
    ...modelContract(limits, texts, truncate, truncationDirection, promptNameField()),
  };
  // TEI's routes outside its document: the loaded model's route (its fields and answers)
  // at the root and at SageMaker's /invocations, as TEI dispatches them by its model
  const dispatched = {
    ...table[dispatch],
    summary: `The loaded model's route, ${dispatch} (as TEI serves it)`,
    exampleOf: dispatch,
  };
  return {
    ...table,
    "/invocations": dispatched,
    "POST /": { ...dispatched, path: "/" },
  };
}

/** The routes' table type. */
export type Contract = ReturnType<typeof apiContract>;
