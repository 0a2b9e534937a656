/**
 * The contract of `/classify` (routes/classify.ts): embedge's classifier heads on sentence
 * embeddings, picked by name among the heads loaded.
 *
 * @module
 */
import { array, choice, type Field, field, number, object, string } from "../schema.ts";
import { post } from "./route.ts";

/** The `/classify` entry, with `classifiers` by name (the first is the default). */
export function classifyContract(texts: Field<string[]>, classifiers: string[]) {
  const labelScores = array(object({ label: string(), score: number() }));
  return {
    "/classify": post(
      "Classifier head on sentence embeddings (TEI /predict-like); labels by descending score",
      {
        inputs: texts,
        classifier: classifiers.length
          ? choice(classifiers, classifiers[0])
          : field<string>({ type: "string", description: "no classifier is loaded" }, () => ""),
      },
      array(labelScores),
    ),
  };
}
