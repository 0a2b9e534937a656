/**
 * Lists the external-data files an ONNX model references (initializers whose bytes live
 * outside the graph, as in large Hub exports), by walking the protobuf just far enough:
 * ModelProto.graph (7) → GraphProto.initializer (5) → TensorProto.external_data (13) →
 * StringStringEntryProto key (1) = "location", value (2).
 *
 * @example
 * ```ts
 * import { externalDataLocations } from "./external.ts";
 * console.log(externalDataLocations(new Uint8Array(0))); // []
 * ```
 * @module
 */
import { ModelLoadError } from "../../errors.ts";
import { fields } from "./protobuf.ts";

/** External data file names referenced by the model (deduplicated). */
export function externalDataLocations(model: Uint8Array): string[] {
  const found = new Set<string>();
  try {
    for (const [field, graph] of fields(model)) {
      if (field !== 7) continue;
      for (const [gf, tensor] of fields(graph)) {
        if (gf !== 5) continue;
        for (const [tf, entry] of fields(tensor)) {
          if (tf !== 13) continue;
          let key = "", value = "";
          for (const [ef, bytes] of fields(entry)) {
            if (ef === 1) key = new TextDecoder().decode(bytes);
            if (ef === 2) value = new TextDecoder().decode(bytes);
          }
          if (key === "location" && value) found.add(value);
        }
      }
    }
  } catch (cause) {
    throw new ModelLoadError(`the ONNX file is not a valid protobuf: ${cause}`, "onnx", { cause });
  }
  return [...found];
}
