/**
 * Which model the CLIs, the Deno server and the examples load when none is named, and the
 * one loader they share. Real weights come first; the generated demo BERT (seeded random
 * weights) runs only when asked for by name, and then says so.
 *
 * The order:
 * 1. the model named by the caller (`--model`, `EMBEDGE_MODEL`): it must have weights;
 * 2. sentence-transformers/all-MiniLM-L6-v2: the shared copy (`../shared/models`) when it has
 *    `onnx/model.onnx`, else a copy in the Hub download cache (`defaultCacheDir()`);
 * 3. `../shared/models/embedge-mini-simcse`, a small sentence encoder trained here, with a
 *    one-line note saying why.
 *
 * No download is attempted for the default: on a machine without network a silent attempt
 * would only add a wait. `--model sentence-transformers/all-MiniLM-L6-v2` downloads it into
 * the cache (src/model/hub.ts), after which step 2 finds it.
 *
 * Deno and Node (file system).
 *
 * @example
 * ```ts
 * import { chooseModel } from "./default_model.ts";
 * const choice = await chooseModel();
 * console.log(choice.source, choice.note ?? "");
 * ```
 * @module
 */
import { DTYPE_FILES, Embedder, type LoadOptions } from "./embedder.ts";
import { DEMO_MODEL_ID, ensureDemoModel } from "./fixtures/demo_model.ts";
import { ModelLoadError } from "../errors.ts";
import { env, hostFiles } from "../host.ts";
import { defaultCacheDir, isHubId } from "./hub.ts";

/** The model every tool means when none is named. */
export const DEFAULT_HUB_MODEL = "sentence-transformers/all-MiniLM-L6-v2";

/** Where a chosen model is, and what to tell the user about the choice. */
export interface ModelChoice {
  /** A directory, or a Hub id that Embedder.load resolves. */
  source: string;
  /** The name answers carry (when not the directory's own name). */
  modelId?: string;
  /** One line for stderr explaining a fallback, when there was one. */
  note?: string;
  /** The generated model with random weights: its vectors mean nothing. */
  demo?: boolean;
}

/** The shared data beside the checkout (`EMBEDGE_SHARED`, default `../shared`). */
export function sharedDir(): string {
  const shared = env("EMBEDGE_SHARED") ?? new URL("../../../shared", import.meta.url).pathname;
  return shared.replace(/\/$/, "");
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await (await hostFiles()).stat(path)) !== undefined;
  } catch {
    return false; // a name too long or otherwise unreadable is no model either
  }
}

/**
 * Checks that a named model can be loaded with real weights: a Hub id is left to the
 * loader (cache or download); a path must be a directory with `onnx/model.onnx` (or the
 * variant `onnxFile`). Throws a one-line `ModelLoadError` otherwise.
 */
export async function requireWeights(source: string, onnxFile?: string): Promise<void> {
  if (isHubId(source) && !(await exists(source))) return;
  if (source.length > 1024) {
    throw new ModelLoadError(
      `no model directory at ${source.slice(0, 60)}… (a path of ${source.length} characters)`,
      "model",
    );
  }
  const fs = await hostFiles();
  const stat = await fs.stat(source).catch(() => undefined);
  if (!stat?.isDirectory) throw new ModelLoadError(`no model directory at ${source}`, "model");
  // any variant counts here; the loader names the exact file a dtype needs when it is missing
  const graphs = onnxFile ? [onnxFile] : Object.values(DTYPE_FILES).flat();
  for (const graph of graphs) if (await exists(`${source}/${graph}`)) return;
  throw new ModelLoadError(
    `${source} has no ${graphs[0]} (no weights): name a model with weights, or pass ` +
      `--demo-model for embedge's generated model with random weights`,
    "model",
  );
}

/**
 * The model to load: `named` (a flag), else `EMBEDGE_MODEL`, else the default order of
 * this module. Throws `ModelLoadError` when no model with weights is found.
 */
export async function chooseModel(named?: string): Promise<ModelChoice> {
  const explicit = named ?? env("EMBEDGE_MODEL");
  if (explicit !== undefined) {
    if (explicit.trim() === "") throw new ModelLoadError("the model name is empty", "model");
    return { source: explicit };
  }
  const shared = sharedDir();
  const minilm = `${shared}/models/all-MiniLM-L6-v2`;
  if (await exists(`${minilm}/onnx/model.onnx`)) return { source: minilm };
  const cached = `${defaultCacheDir()}/${DEFAULT_HUB_MODEL.replace("/", "--")}/main`;
  if (await exists(`${cached}/onnx/model.onnx`)) {
    return { source: cached, modelId: DEFAULT_HUB_MODEL };
  }
  const simcse = `${shared}/models/embedge-mini-simcse`;
  if (await exists(`${simcse}/onnx/model.onnx`)) {
    return {
      source: simcse,
      note: "model: embedge-mini-simcse (real weights trained here for sentence similarity; " +
        `all-MiniLM-L6-v2 has no weights in ${shared}, nor in the Hub cache ${defaultCacheDir()})`,
    };
  }
  throw new ModelLoadError(
    `no model with weights found (all-MiniLM-L6-v2 in ${shared}/models or the Hub cache ` +
      `${defaultCacheDir()}, embedge-mini-simcse in ${shared}/models): pass --model DIR, ` +
      `or --demo-model for random vectors`,
    "model",
  );
}

/**
 * The generated demo model (random weights) around the tokenizer of `tokenizerDir`
 * (default: the shared all-MiniLM-L6-v2 files, which have a tokenizer but no weights).
 */
export async function chooseDemoModel(tokenizerDir?: string): Promise<ModelChoice> {
  const dir = tokenizerDir ?? `${sharedDir()}/models/all-MiniLM-L6-v2`;
  if (!(await exists(dir))) throw new ModelLoadError(`no model directory at ${dir}`, "model");
  return {
    source: await ensureDemoModel(dir),
    modelId: DEMO_MODEL_ID,
    demo: true,
    note: `note: --demo-model: embedge's generated BERT with seeded random weights and the ` +
      `tokenizer of ${dir}: the steps are real, the vectors are random and mean nothing`,
  };
}

/** Loads a chosen model, refusing a named directory without weights (one-line error). */
export async function loadChoice(choice: ModelChoice, options: LoadOptions = {}) {
  if (!choice.demo) await requireWeights(choice.source, options.onnxFile);
  return await Embedder.load(choice.source, {
    ...options,
    ...(choice.modelId && !options.modelId ? { modelId: choice.modelId } : {}),
  });
}
