/**
 * Reading a classifier head file for use: the file read and parsed, every field checked
 * (`checkClassifier`), and the head matched to the model that will run it (model id,
 * normalization, and the width of the sentence vectors it expects), so that a broken or
 * foreign head is refused at start, by name, instead of failing each request later.
 * Deno and Node (file system).
 *
 * @example
 * ```ts ignore
 * import { readClassifier, fitClassifier } from "./load.ts";
 * const clf = await readClassifier(".cache/sst2.json");
 * fitClassifier(clf, embedder); // throws InputError naming what does not fit
 * ```
 * @module
 */
import { checkClassifier, type Classifier, predictProba } from "./logistic.ts";
import { setupOptions } from "./cache.ts";
import { InputError } from "../errors.ts";
import { hostFiles } from "../host.ts";
import type { Embedder } from "../model/embedder.ts";

/** Reads and checks a classifier file; every failure is one `InputError` naming the file. */
export async function readClassifier(path: string): Promise<Classifier> {
  let text: string;
  try {
    text = await (await hostFiles()).readTextFile(path);
  } catch (cause) {
    const reason = (cause as Error).message?.split("\n")[0] ?? String(cause);
    throw new InputError(`cannot read ${path}: ${reason}`, "classifier");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new InputError(`${path} is not JSON (${(cause as Error).message})`, "classifier");
  }
  try {
    return checkClassifier(value);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${path}: ${e.message}`, "classifier");
    throw e;
  }
}

/**
 * Checks a head against the model that will run it (throws `InputError`): the model id and
 * normalization it was trained with, then one probe sentence through its whole setup
 * (pooling, layers, length), whose vector must be as wide as the head and whose scores must
 * be finite. What would fail every request fails here, once.
 */
export async function fitClassifier(clf: Classifier, embedder: Embedder): Promise<Classifier> {
  const info = embedder.info;
  const checked = checkClassifier(clf, {
    modelId: info.modelId,
    pooling: clf.embedding.pooling,
    normalize: info.normalize,
    layers: clf.embedding.layers,
    layerMix: clf.embedding.layerMix,
  });
  let probe;
  try {
    probe = await embedder.embed(["I love Paris."], setupOptions(clf.embedding));
  } catch (e) {
    throw new InputError(
      `the classifier's setup does not run on ${info.modelId}: ${(e as Error).message}`,
      "classifier",
    );
  }
  if (probe.dims[1] !== clf.dim) {
    throw new InputError(
      `the classifier expects ${clf.dim}-wide sentence vectors; ${info.modelId} gives ` +
        `${probe.dims[1]} with pooling ${clf.embedding.pooling}`,
      "classifier",
    );
  }
  if (!predictProba(clf, probe.data).every(Number.isFinite)) {
    throw new InputError("the classifier's scores are not finite numbers", "classifier");
  }
  return checked;
}
