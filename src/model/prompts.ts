/**
 * Prompts, as sentence-transformers keeps and applies them: `config_sentence_transformers.json`
 * names prompt texts (`prompts`, e.g. E5's `{ "query": "query: ", "passage": "passage: " }`)
 * and may name one applied by default (`default_prompt_name`). A call's prompt is a name
 * (`promptName`), a literal text (`prompt`, which wins over the default; `""` turns it off),
 * else the default; its text is put before each text input (string concatenation), so its
 * tokens count toward `maxLength` and a right cut keeps it. Token-id inputs get no prompt.
 *
 * sentence-transformers pools over the prompt's tokens too unless the pooling config says
 * `include_prompt: false` (INSTRUCTOR-style models): embedge does not mask them out, so such
 * a model is refused at load when it has a default prompt, and a prompt on it is refused.
 *
 * @example
 * ```ts
 * import { promptsOf, promptText } from "./prompts.ts";
 * const prompts = promptsOf({ prompts: { query: "query: ", passage: "passage: " }, default_prompt_name: "passage" }, undefined, "e5");
 * console.log(promptText(prompts, {}), "|", promptText(prompts, { promptName: "query" })); // passage:  | query:
 * try {
 *   promptText(prompts, { promptName: "question" });
 * } catch (e) {
 *   console.log((e as Error).message); // promptName "question" is not a prompt of this model; its prompts are query, passage
 * }
 * ```
 * @module
 */
import { InputError, ModelLoadError } from "../errors.ts";

/** The prompts of a model, from `config_sentence_transformers.json`. */
export interface ModelPrompts {
  /** Prompt texts by name (empty when the model has none). */
  prompts: Readonly<Record<string, string>>;
  /** The prompt applied when a call names none (absent: no prompt by default). */
  defaultPromptName?: string;
  /**
   * Whether pooling reads the prompt's tokens (`1_Pooling/config.json`'s `include_prompt`,
   * default true). When false, prompts are refused (see the module's notes).
   */
  includePrompt: boolean;
}

/** What a call says about its prompt. */
export interface PromptChoice {
  /** A prompt of the model by name (`info.prompts`); not together with `prompt`. */
  promptName?: string;
  /** A prompt text to put before each text input; `""` applies none (not even the default). */
  prompt?: string;
}

// deno-lint-ignore no-explicit-any
type Json = any;

/**
 * Reads `config_sentence_transformers.json` (`stConfig`) and the pooling config
 * (`poolingConfig`, for `include_prompt`); `name` names the model in errors. A default
 * prompt name that is not a prompt is refused as sentence-transformers refuses it, and so
 * is a default prompt on a model whose pooling leaves the prompt out (see the module).
 */
export function promptsOf(stConfig: Json, poolingConfig: Json, name: string): ModelPrompts {
  const file = "config_sentence_transformers.json";
  const raw = stConfig?.prompts ?? {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new ModelLoadError(`${name}: ${file}'s prompts must be an object of texts`, file);
  }
  for (const [key, text] of Object.entries(raw)) {
    if (typeof text !== "string") {
      throw new ModelLoadError(`${name}: ${file}'s prompts.${key} must be a text`, file);
    }
  }
  const prompts = Object.freeze({ ...raw as Record<string, string> });
  const includePrompt = poolingConfig?.include_prompt !== false;
  const defaultName = stConfig?.default_prompt_name ?? undefined;
  if (defaultName === undefined) return { prompts, includePrompt };
  return withDefaultPrompt(
    { prompts, includePrompt },
    defaultName,
    `${file}'s default_prompt_name`,
    name,
    file,
  );
}

/**
 * `model` with `defaultPromptName` set to `name` (a name of its prompts), or to none
 * (`null`): TEI's `--default-prompt-name`, where sentence-transformers takes the one in
 * `config_sentence_transformers.json` (promptsOf checks that one here too). A name the model
 * does not have is a ModelLoadError naming `option` (its param: `param`) and listing the
 * model's prompts; a prompt on a model whose pooling leaves prompts out (include_prompt:
 * false) is refused too.
 *
 * @example
 * ```ts
 * import { promptsOf, withDefaultPrompt } from "./prompts.ts";
 * const prompts = promptsOf({ prompts: { query: "query: " }, default_prompt_name: "query" }, undefined, "e5");
 * console.log(withDefaultPrompt(prompts, null, "defaultPromptName", "e5").defaultPromptName); // undefined
 * ```
 */
export function withDefaultPrompt(
  model: ModelPrompts,
  name: string | null,
  option: string,
  modelName: string,
  param = option,
): ModelPrompts {
  if (name === null) return { prompts: model.prompts, includePrompt: model.includePrompt };
  if (typeof name !== "string" || !Object.hasOwn(model.prompts, name)) {
    throw new ModelLoadError(`${modelName}: ${unknownPrompt(model, name, option)}`, param);
  }
  if (!model.includePrompt && model.prompts[name] !== "") {
    throw new ModelLoadError(
      `${modelName}: ${option} ${
        JSON.stringify(name)
      } would be applied to every input, and its pooling config leaves the prompt's tokens out (include_prompt: false), which embedge does not do`,
      "1_Pooling/config.json",
    );
  }
  return { ...model, defaultPromptName: name };
}

/**
 * The prompt text a call applies ("" for none): `prompt` as given, else the prompt named
 * `promptName`, else the model's default. An unknown name is an `InputError` naming
 * `field` (default `promptName`) and listing the model's prompts.
 */
export function promptText(
  model: ModelPrompts,
  choice: PromptChoice,
  field = "promptName",
): string {
  const { promptName, prompt } = choice;
  if (prompt !== undefined && promptName !== undefined) {
    throw new InputError("give prompt or promptName, not both", "prompt");
  }
  if (prompt !== undefined && typeof prompt !== "string") {
    throw new InputError("prompt must be a string", "prompt");
  }
  if (promptName !== undefined && !Object.hasOwn(model.prompts, promptName)) {
    throw new InputError(unknownPrompt(model, promptName, field), field);
  }
  const name = promptName ?? model.defaultPromptName;
  const text = prompt ?? (name === undefined ? "" : model.prompts[name]);
  if (text !== "" && !model.includePrompt) {
    throw new InputError(
      "this model's pooling config leaves the prompt's tokens out (include_prompt: false), which embedge does not do: prompts are refused",
      prompt !== undefined ? "prompt" : field,
    );
  }
  return text;
}

/** What an unknown prompt name is told: the model's prompt names, or that it has none. */
export function unknownPrompt(model: ModelPrompts, promptName: unknown, field: string): string {
  const names = Object.keys(model.prompts);
  return `${field} ${JSON.stringify(promptName)} is not a prompt of this model; ${
    names.length
      ? `its prompts are ${names.join(", ")}`
      : "it has none (no prompts in config_sentence_transformers.json)"
  }`;
}
