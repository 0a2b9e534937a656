/**
 * TEI's `prompt_name` request field (`/embed`, `/embed_all`, `/embed_sparse`, `/tokenize`,
 * `/similarity`'s `parameters`): the name of a prompt of the model
 * (`config_sentence_transformers.json`), whose text goes before each input. The field
 * itself is a string or null; the name is checked by the route against the model that runs
 * it (the SPLADE model's prompts are its own), and an unknown one is refused as TEI refuses
 * it: a 413 `Validation` error (TEI's status for a failed validation), here naming the
 * field and listing the model's prompts.
 *
 * Without a name the model's default prompt (`default_prompt_name`) applies, as
 * sentence-transformers applies it; TEI applies a default only when started with
 * `--default-prompt-name` or `--default-prompt`. `/info` tells both.
 *
 * @example
 * ```ts
 * import { checkPromptName } from "./prompt_name.ts";
 * const model = { prompts: { query: "query: " }, includePrompt: true };
 * console.log(checkPromptName(model, "query", "prompt_name")); // query
 * try {
 *   checkPromptName(model, "passage", "prompt_name");
 * } catch (e) {
 *   console.log((e as { status: number }).status, (e as Error).message);
 *   // 413 prompt_name "passage" is not a prompt of this model; its prompts are query
 * }
 * ```
 * @module
 */
import { type ModelPrompts, unknownPrompt } from "../src/model/prompts.ts";
import { HttpError } from "./errors.ts";
import { type Field, field, invalid } from "./schema.ts";

/**
 * The `prompt_name` field; `model` (the embedding model's prompts) names them in the
 * document, with one as the example.
 */
export function promptNameField(model?: ModelPrompts): Field<string | undefined> {
  const names = model ? Object.keys(model.prompts) : [];
  const which = !model
    ? "one of the model's prompts"
    : names.length
    ? `one of this model's prompts (${names.join(", ")})`
    : "this model has none, so any name is refused";
  const fallback = model?.defaultPromptName
    ? `its default prompt, ${model.defaultPromptName}`
    : "the model's default prompt, if it has one";
  return field<string | undefined>({
    type: ["string", "null"],
    description:
      `the prompt put before each input, by name (config_sentence_transformers.json): ${which}; when absent, ${fallback}`,
    examples: [names[0] ?? "query"],
  }, (v, name) => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw invalid(`${name} must be a string`, name);
    return v;
  });
}

/** `name` when `model` has such a prompt (or no name), else TEI's 413 naming `field`. */
export function checkPromptName(
  model: ModelPrompts,
  name: string | undefined,
  field: string,
): string | undefined {
  if (name !== undefined && !Object.hasOwn(model.prompts, name)) {
    throw new HttpError(
      413,
      unknownPrompt(model, name, field),
      "invalid_request_error",
      field,
      {},
      "Validation",
    );
  }
  return name;
}
