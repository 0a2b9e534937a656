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
 * @module
 */
import { InputError, ModelLoadError } from "../../errors.ts";
import {
  FLOAT,
  type Graph,
  type GraphNode,
  type GraphTensor,
  readGraph,
  tensorBytes,
  tensorFloats,
} from "./graph.ts";
import { hostFiles } from "../../host.ts";
import { externalDataLocations } from "./external.ts";
import { encodeNode, encodeTensor, type NodeSpec, type TensorSpec } from "./writer.ts";
import { allFields, concat, field, varint } from "./protobuf.ts";
import { checkFiniteWeights } from "./finite_weights.ts";

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

/** TensorProto.DataType.FLOAT, as Cast's `to`. */
const TO_FLOAT = 1;
const GRAPH_NODE = 1, GRAPH_INITIALIZER = 5, MODEL_GRAPH = 7;
const TENSOR_RAW = 9, TENSOR_EXTERNAL = 13, TENSOR_LOCATION = 14;

/** Per-column symmetric int8 of W [K, N] (or of Wᵀ when `transposed`, W being [N, K]). */
function quantizeColumns(
  w: Float32Array,
  k: number,
  n: number,
  transposed: boolean,
  limit: number,
): { q: Int8Array; scales: Float32Array } {
  const at = transposed ? (r: number, c: number) => c * k + r : (r: number, c: number) => r * n + c;
  const q = new Int8Array(k * n), scales = new Float32Array(n);
  for (let c = 0; c < n; c++) {
    let max = 0;
    for (let r = 0; r < k; r++) max = Math.max(max, Math.abs(w[at(r, c)]));
    const scale = max > 0 ? max / limit : 1;
    scales[c] = scale;
    for (let r = 0; r < k; r++) {
      q[r * n + c] = Math.max(-limit, Math.min(limit, Math.round(w[at(r, c)] / scale)));
    }
  }
  return { q, scales };
}

/** Per-row symmetric int8 of a table T [V, H]; scales come as [V, 1]. */
function quantizeRows(
  t: Float32Array,
  v: number,
  h: number,
): { q: Int8Array; scales: Float32Array } {
  const q = new Int8Array(v * h), scales = new Float32Array(v);
  for (let r = 0; r < v; r++) {
    let max = 0;
    for (let c = 0; c < h; c++) max = Math.max(max, Math.abs(t[r * h + c]));
    const scale = max > 0 ? max / 127 : 1;
    scales[r] = scale;
    for (let c = 0; c < h; c++) {
      q[r * h + c] = Math.max(-127, Math.min(127, Math.round(t[r * h + c] / scale)));
    }
  }
  return { q, scales };
}

/** Why a projection node stays float, or undefined when it can be quantized. */
function projectionProblem(node: GraphNode, weight: GraphTensor | undefined): string | undefined {
  if (!weight) return "its weight is computed, not stored";
  if (weight.dataType !== FLOAT) return `its weight ${weight.name} is not float32`;
  if (weight.dims.length !== 2) return `its weight ${weight.name} is not a matrix`;
  if (node.hasSubgraph || node.domain !== "") return "not a standard node";
  if (node.op === "Gemm") {
    const a = node.attributes;
    if ((a.get("alpha") ?? 1) !== 1 || (a.get("beta") ?? 1) !== 1) return "Gemm alpha/beta ≠ 1";
    if ((a.get("transA") ?? 0) !== 0) return "Gemm with transA";
  }
  return undefined;
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
  const tensors = new Map(graph.initializers.map((t) => [t.name, t]));
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
  const added: TensorSpec[] = [];
  const rewritten = new Map<number, NodeSpec[]>(); // node index → its replacement
  const replacedUses = new Map<string, number>();
  const columns = new Map<string, [string, string]>(); // weight (transposed?) → int8, scales
  const rows = new Map<string, [string, string]>();
  const useOf = (name: string) => replacedUses.set(name, (replacedUses.get(name) ?? 0) + 1);

  graph.nodes.forEach((node, index) => {
    const prefix = `embedge_int8/${index}`;
    if (node.op === "MatMul" || node.op === "Gemm") {
      const weight = tensors.get(node.inputs[1]);
      const problem = projectionProblem(node, weight);
      if (problem) {
        // attention's score and context products multiply two activations: expected
        if (weight || tensors.has(node.inputs[0])) {
          report.skipped.push(`${node.op} ${node.outputs[0]}: ${problem}`);
        }
        return;
      }
      const w = weight!;
      const transposed = node.op === "Gemm" && (node.attributes.get("transB") ?? 0) === 1;
      const [k, n] = transposed ? [w.dims[1], w.dims[0]] : [w.dims[0], w.dims[1]];
      const key = `${w.name}${transposed ? "ᵀ" : ""}`;
      if (!columns.has(key)) {
        const { q, scales } = quantizeColumns(
          tensorFloats(w, readExternal),
          k,
          n,
          transposed,
          limit,
        );
        const names: [string, string] = [`${key}_int8`, `${key}_scale`];
        added.push({ name: names[0], dims: [k, n], data: q });
        added.push({ name: names[1], dims: [n], data: scales });
        columns.set(key, names);
        report.quantizedParameters += k * n;
      }
      const [wq, ws] = columns.get(key)!;
      const bias = node.op === "Gemm" ? node.inputs[2] : undefined;
      const y = node.outputs[0], product = bias ? `${prefix}/product` : y;
      const nodes: NodeSpec[] = [
        {
          op: "DynamicQuantizeLinear",
          inputs: [node.inputs[0]],
          outputs: [`${prefix}/x`, `${prefix}/x_scale`, `${prefix}/x_zero`],
        },
        {
          op: "MatMulInteger",
          inputs: [`${prefix}/x`, wq, `${prefix}/x_zero`],
          outputs: [`${prefix}/integer`],
        },
        {
          op: "Cast",
          inputs: [`${prefix}/integer`],
          outputs: [`${prefix}/float`],
          attributes: { to: { i: TO_FLOAT } },
        },
        { op: "Mul", inputs: [`${prefix}/x_scale`, ws], outputs: [`${prefix}/scale`] },
        { op: "Mul", inputs: [`${prefix}/float`, `${prefix}/scale`], outputs: [product] },
      ];
      if (bias) nodes.push({ op: "Add", inputs: [product, bias], outputs: [y] });
      rewritten.set(index, nodes);
      useOf(w.name);
      report.projections++;
      return;
    }
    const table = tensors.get(node.inputs[0]);
    if (
      options.embeddings !== false && node.op === "Gather" && node.inputs[1] === "input_ids" &&
      graphInputs.has("input_ids") && table?.dataType === FLOAT && table.dims.length === 2 &&
      (node.attributes.get("axis") ?? 0) === 0 && node.domain === ""
    ) {
      const [v, h] = table.dims;
      if (!rows.has(table.name)) {
        const { q, scales } = quantizeRows(tensorFloats(table, readExternal), v, h);
        const names: [string, string] = [`${table.name}_int8`, `${table.name}_scale`];
        added.push({ name: names[0], dims: [v, h], data: q });
        added.push({ name: names[1], dims: [v, 1], data: scales });
        rows.set(table.name, names);
        report.quantizedParameters += v * h;
        report.embeddingTables++;
      }
      const [tq, ts] = rows.get(table.name)!;
      rewritten.set(index, [
        { op: "Gather", inputs: [tq, "input_ids"], outputs: [`${prefix}/rows`] },
        { op: "Gather", inputs: [ts, "input_ids"], outputs: [`${prefix}/row_scale`] },
        {
          op: "Cast",
          inputs: [`${prefix}/rows`],
          outputs: [`${prefix}/rows_float`],
          attributes: { to: { i: TO_FLOAT } },
        },
        {
          op: "Mul",
          inputs: [`${prefix}/rows_float`, `${prefix}/row_scale`],
          outputs: node.outputs.slice(0, 1),
        },
      ]);
      useOf(table.name);
    }
  });
  if (report.projections === 0) {
    throw new InputError("the model has no MatMul or Gemm with a stored float weight", "model");
  }

  // a weight goes when every node that read it was rewritten and nothing else names it
  const dropped = new Set(
    [...replacedUses].filter(([name, n]) => n === uses.get(name) && !graph.outputs.has(name))
      .map(([name]) => name),
  );
  const out = rewriteGraph(graph, rewritten, dropped, added, readExternal);
  const bytes = spliceGraph(model, graph, out);
  report.bytesBefore += [...files.values()].reduce((n, f) => n + f.length, 0);
  report.bytesAfter = bytes.length;
  return { model: bytes, report };
}

/**
 * The graph message with rewritten nodes in place (keeping graph order topological),
 * dropped weights removed (from the initializers and, for old IRs, the inputs), external
 * tensors made inline and the new int8 weights appended. Every other field is copied.
 */
function rewriteGraph(
  graph: Graph,
  rewritten: Map<number, NodeSpec[]>,
  dropped: Set<string>,
  added: TensorSpec[],
  readExternal: (location: string) => Uint8Array,
): Uint8Array {
  const nodeAt = new Map(graph.nodes.map((n, i) => [n.span[0], i]));
  const tensorAt = new Map(graph.initializers.map((t) => [t.span[0], t]));
  const droppedInputs = new Set(
    [...graph.inputs].filter(([name]) => dropped.has(name)).map(([, span]) => span[0]),
  );
  const parts: Uint8Array[] = [];
  for (const [number, , payload, start, end] of allFields(graph.graph)) {
    const copy = graph.graph.subarray(start, end);
    if (number === GRAPH_NODE && rewritten.has(nodeAt.get(start)!)) {
      for (const spec of rewritten.get(nodeAt.get(start)!)!) parts.push(field(1, encodeNode(spec)));
    } else if (number === GRAPH_INITIALIZER) {
      const t = tensorAt.get(start)!;
      if (dropped.has(t.name)) continue;
      parts.push(
        t.external
          ? field(GRAPH_INITIALIZER, inlined(t, payload as Uint8Array, readExternal))
          : copy,
      );
    } else if (!droppedInputs.has(start)) parts.push(copy);
  }
  for (const t of added) parts.push(field(GRAPH_INITIALIZER, encodeTensor(t)));
  return concat(parts);
}

/** An external tensor's TensorProto with its bytes as raw_data (any data type). */
function inlined(
  t: GraphTensor,
  body: Uint8Array,
  readExternal: (location: string) => Uint8Array,
): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [number, , , start, end] of allFields(body)) {
    if (number !== TENSOR_EXTERNAL && number !== TENSOR_LOCATION) {
      parts.push(body.subarray(start, end));
    }
  }
  parts.push(field(TENSOR_RAW, tensorBytes(t, readExternal)));
  return concat(parts);
}

/** The model with its graph field replaced by `graph` (every other field copied). */
function spliceGraph(model: Uint8Array, old: Graph, graph: Uint8Array): Uint8Array {
  const [start, end] = old.graphSpan;
  return concat([
    model.subarray(0, start),
    Uint8Array.from([...varint(MODEL_GRAPH * 8 + 2), ...varint(graph.length)]),
    graph,
    model.subarray(end),
  ]);
}

/**
 * The model with every external-data tensor stored inline (one self-contained file; the
 * protobuf limit of 2 GB applies). `readExternal(location)` gives a data file's bytes.
 *
 * @example
 * ```ts
 * import { inlineExternalData } from "./quantize.ts";
 * import { encodeModel } from "./writer.ts";
 * const model = encodeModel({ opset: 17, nodes: [], initializers: [], inputs: [], outputs: [] });
 * console.log(inlineExternalData(model, () => new Uint8Array(0)).length === model.length); // true
 * ```
 */
export function inlineExternalData(
  model: Uint8Array,
  readExternal: (location: string) => Uint8Array,
): Uint8Array {
  const graph = readGraph(model);
  return spliceGraph(model, graph, rewriteGraph(graph, new Map(), new Set(), [], readExternal));
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
