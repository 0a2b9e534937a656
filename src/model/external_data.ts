/**
 * Reads the external data an ONNX file references (large Hub exports keep their weights
 * beside the graph, e.g. `onnx/model.onnx_data`), from the same source as the graph: what
 * `TextClassifier` and `SparseEncoder` pass to their sessions.
 *
 * @example
 * ```ts
 * import { readExternalData } from "./external_data.ts";
 * import { readModelFiles } from "./files.ts";
 * const dir = "../shared/models/embedge-mini-sst2";
 * const files = await readModelFiles(dir, ["onnx/model.onnx"]);
 * console.log((await readExternalData(dir, files, "onnx/model.onnx")).length); // 0
 * ```
 * @module
 */
import { ModelLoadError } from "../errors.ts";
import { type ModelFiles, type ModelSource, readModelFiles } from "./files.ts";
import { externalDataLocations } from "./onnx/external.ts";

/**
 * Each external data file of `onnxFile` (already read into `files`), by the name the graph
 * gives it; one that cannot be read is a ModelLoadError naming it.
 */
export async function readExternalData(
  source: ModelSource,
  files: ModelFiles,
  onnxFile: string,
): Promise<{ path: string; data: Uint8Array }[]> {
  const onnxDir = onnxFile.includes("/") ? onnxFile.slice(0, onnxFile.lastIndexOf("/") + 1) : "";
  const found = [];
  for (const location of externalDataLocations(files.get(onnxFile)!)) {
    const path = onnxDir + location;
    const data = await readModelFiles(source, [path]).then((f) => f.get(path), () => undefined);
    if (!data) {
      throw new ModelLoadError(
        `${files.name}: ${onnxFile} needs its external data ${path}`,
        "onnx",
      );
    }
    found.push({ path: location, data });
  }
  return found;
}
