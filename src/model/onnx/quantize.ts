/**
 * Dynamic int8 quantization of a BERT graph, written on the ONNX protobuf: the weights of
 * every `MatMul` and `Gemm` become int8 with one scale per output column, activations are
 * quantized per batch at run time, and the word-embedding table becomes int8 with one
 * scale per row. The result is the Hub's `onnx/model_int8.onnx`, beside the fp32 model,
 * self-contained (external data is read and inlined).
 *
 * What a projection becomes (the form onnxruntime's own `quantize_dynamic` writes, which
 * onnxruntime-node's optimizer fuses into `DynamicQuantizeMatMul` and
 * `MatMulIntegerToFloat`; checked on the optimized all-MiniLM-L6-v2 graph):
 *
 * ```
 * Y = MatMul(X, W)            W: float [K, N]
 *   ⇒ Xq, Xs, Xz = DynamicQuantizeLinear(X)         uint8, per tensor, per call
 *     Yi = MatMulInteger(Xq, Wq, Xz)                Wq: int8 [K, N], zero point 0
 *     Y  = Cast(Yi, float) · (Xs · Ws)              Ws: float [N], max|W[:, n]| / 127
 * ```
 *
 * A `Gemm` (alpha = beta = 1, A not transposed) is the same with its B transposed to
 * [K, N] when `transB` is set, and `+ C` after. The word embeddings (the `Gather` that
 * reads `input_ids`):
 *
 * ```
 * E = Gather(T, ids)          T: float [V, H]
 *   ⇒ E = Cast(Gather(Tq, ids), float) · Gather(Ts, ids)    Tq: int8 [V, H], Ts: [V, 1]
 * ```
 *
 * Costs, for all-MiniLM-L6-v2: 90.9 MB → 23.5 MB (26 %); 96 % of the parameters are in
 * the projections and the word embeddings. LayerNorm, biases, position and token-type
 * embeddings stay float. Worked numbers: a column `[0.5, −1.0, 0.25]` gets scale
 * 1.0 / 127 and values `[64, −127, 32]`, which read back as `[0.504, −1.0, 0.252]`.
 *
 * `reduceRange` keeps weights within ±63 (7 bits): x86 CPUs with AVX2 but without VNNI
 * multiply uint8 × int8 pairs with a saturating 16-bit add, which can overflow with full
 * 8-bit weights; onnxruntime's quantizer has the same option for the same reason.
 *
 * @example
 * ```ts
 * import { quantizeModel } from "./quantize.ts";
 * import { encodeModel } from "./writer.ts";
 * const fp32 = encodeModel({
 *   opset: 17,
 *   nodes: [{ op: "MatMul", inputs: ["x", "w"], outputs: ["y"] }],
 *   initializers: [{ name: "w", dims: [3, 1], data: Float32Array.of(0.5, -1, 0.25) }],
 *   inputs: [{ name: "x", type: "float", dims: ["n", 3] }],
 *   outputs: [{ name: "y", type: "float", dims: ["n", 1] }],
 * });
 * const { report } = quantizeModel(fp32);
 * console.log(report.projections, report.embeddingTables); // 1 0
 * ```
 * What a node becomes is int8_nodes.ts; writing the graph back, graph_splice.ts.
 *
 * @module
 */
import { InputError, ModelLoadError } from "../../errors.ts";
import { readGraph } from "./graph.ts";
import { hostFiles } from "../../host.ts";
import { externalDataLocations } from "./external.ts";
import { checkFiniteWeights } from "./finite_weights.ts";
import {
  int8Rewrite,
  rewriteEmbedding,
  rewriteProjection,
  wordEmbeddingTable,
} from "./int8_nodes.ts";
import { rewriteGraph, spliceGraph } from "./graph_splice.ts";

export { inlineExternalData } from "./graph_splice.ts";

/** How to quantize. */
export interface QuantizeOptions {
  /** Make the word-embedding table int8 too (default true: half of a small BERT's bytes). */
  embeddings?: boolean;
  /** Weights within ±63 instead of ±127 (for AVX2 CPUs without VNNI; default false). */
  reduceRange?: boolean;
  /** Bytes of the external data file a tensor names (relative to the model file). */
  readExternal?: (location: string) => Uint8Array;
}

/** What a quantization did. */
export interface QuantizeReport {
  /** MatMul and Gemm nodes rewritten. */
  projections: number;
  /** Embedding tables made int8. */
  embeddingTables: number;
  /** Float parameters now stored as int8. */
  quantizedParameters: number;
  /** Projections left in float, each with the reason. */
  skipped: string[];
  /** Size of the model before (graph plus external data it used) and after, in bytes. */
  bytesBefore: number;
  bytesAfter: number;
}

/**
 * The int8 model of an fp32 ONNX BERT, and what was done. Throws ModelLoadError for bytes
 * that are not a model, and InputError for a model that has nothing to quantize or an
 * opset below 10 (MatMulInteger's first).
 */
export function quantizeModel(
  model: Uint8Array,
  options: QuantizeOptions = {},
): { model: Uint8Array; report: QuantizeReport } {
  const graph = readGraph(model);
  if (graph.opset > 0 && graph.opset < 10) {
    throw new InputError(`opset ${graph.opset} has no MatMulInteger (needs ≥ 10)`, "model");
  }
  const limit = options.reduceRange ? 63 : 127;
  const files = new Map<string, Uint8Array>();
  const readExternal = (location: string) => {
    if (!options.readExternal) {
      throw new ModelLoadError(`the model keeps weights in ${location}; no reader given`, "onnx");
    }
    if (!files.has(location)) files.set(location, options.readExternal(location));
    return files.get(location)!;
  };
  // an int8 model of NaN weights would answer NaN vectors, 4x smaller: refuse it by name
  checkFiniteWeights(graph, readExternal, "the model to quantize");
  const graphInputs = new Set(graph.inputs.keys());
  const uses = new Map<string, number>();
  for (const node of graph.nodes) {
    for (const input of node.inputs) uses.set(input, (uses.get(input) ?? 0) + 1);
  }

  const report: QuantizeReport = {
    projections: 0,
    embeddingTables: 0,
    quantizedParameters: 0,
    skipped: [],
    bytesBefore: model.length,
    bytesAfter: 0,
  };
  const rewrite = int8Rewrite(graph.initializers, readExternal, limit, report);
  graph.nodes.forEach((node, index) => {
    if (node.op === "MatMul" || node.op === "Gemm") return rewriteProjection(node, index, rewrite);
    const table = options.embeddings !== false
      ? wordEmbeddingTable(node, rewrite, graphInputs)
      : undefined;
    if (table) rewriteEmbedding(node, index, table, rewrite);
  });
  if (report.projections === 0) {
    throw new InputError("the model has no MatMul or Gemm with a stored float weight", "model");
  }

  // a weight goes when every node that read it was rewritten and nothing else names it
  const dropped = new Set(
    [...rewrite.replacedUses].filter(([name, n]) =>
      n === uses.get(name) && !graph.outputs.has(name)
    )
      .map(([name]) => name),
  );
  const out = rewriteGraph(graph, rewrite.rewritten, dropped, rewrite.added, readExternal);
  const bytes = spliceGraph(model, graph, out);
  report.bytesBefore += [...files.values()].reduce((n, f) => n + f.length, 0);
  report.bytesAfter = bytes.length;
  return { model: bytes, report };
}

/** File name of the int8 variant beside a model's `onnx/model.onnx` (the Hub's name). */
export const INT8_FILE = "onnx/model_int8.onnx";

/**
 * Quantizes the fp32 model of a model directory (Hub layout) and writes the result beside
 * it as `onnx/model_int8.onnx` (or `output`), atomically. External data files are read from
 * the model's folder; a location that leaves the folder is refused. Deno and Node.
 *
 * @example
 * ```ts
 * import { quantize } from "./quantize.ts";
 * import { writeGeneratedModel } from "../fixtures/demo_model.ts";
 * const dir = await Deno.makeTempDir();
 * await writeGeneratedModel(dir, "../shared/models/all-MiniLM-L6-v2");
 * const report = await quantize(dir);
 * console.log(report.file.endsWith("onnx/model_int8.onnx"), report.bytesAfter < report.bytesBefore);
 * // true true
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function quantize(
  modelDir: string,
  options: Omit<QuantizeOptions, "readExternal"> & { input?: string; output?: string } = {},
): Promise<QuantizeReport & { file: string }> {
  const input = `${modelDir}/${options.input ?? "onnx/model.onnx"}`;
  const folder = input.slice(0, input.lastIndexOf("/"));
  const fs = await hostFiles();
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(input);
  } catch (cause) {
    throw new ModelLoadError(`cannot read ${input}: ${(cause as Error).message}`, "model", {
      cause,
    });
  }
  // the weights kept beside the graph, read up front (quantizeModel reads synchronously)
  const external = new Map<string, Uint8Array>();
  for (const location of externalDataLocations(bytes)) {
    if (location === "" || location.startsWith("/") || location.split("/").includes("..")) {
      throw new ModelLoadError(`external data location "${location}" leaves ${folder}`, "onnx");
    }
    try {
      external.set(location, await fs.readFile(`${folder}/${location}`));
    } catch (cause) {
      throw new ModelLoadError(`cannot read external data ${folder}/${location}`, "onnx", {
        cause,
      });
    }
  }
  const { model, report } = quantizeModel(bytes, {
    ...options,
    readExternal: (location) => {
      const data = external.get(location);
      if (!data) throw new ModelLoadError(`external data ${location} was not read`, "onnx");
      return data;
    },
  });
  const file = options.output ?? `${modelDir}/${INT8_FILE}`;
  const temporary = `${file}.${crypto.randomUUID()}.partial`;
  await fs.writeFile(temporary, model);
  await fs.rename(temporary, file);
  return { ...report, file };
}
