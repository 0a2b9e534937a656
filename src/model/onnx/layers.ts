/**
 * Hidden states of every encoder layer, from an exported BERT graph that only outputs the
 * last one: find where each layer starts and make those tensors extra graph outputs.
 *
 * How a layer's boundary is found, without relying on exporter-specific names: an encoder
 * layer begins with three projections of the same tensor (query, key and value: three
 * `MatMul`s, or `Gemm`s, reading it). Inside a layer no other tensor is read by three
 * projections (the feed-forward block reads the attention output once), so the tensors
 * read by ≥ 3 projections (a node reading one twice counts once) are, in graph order, the embeddings' output and the output of
 * layers 1 … N−1; the graph's own hidden output is layer N. Worked examples, all checked
 * by tests:
 *
 * | graph | tensors read by 3 projections | layers |
 * | --- | --- | --- |
 * | PyTorch export, opset 14 (LayerNorm decomposed) | `/ln/Add_1_output_0`, `/layers.0/ln2/Add_1_output_0`, … | 4 |
 * | all-MiniLM-L6-v2 export, opset 18 | `layer_norm`, `layer_norm_2`, … `layer_norm_10` | 6 |
 * | embedge's generated BERT | the LayerNormalization outputs `t…` | any |
 * | any of these quantized to int8 (quantize.ts) | the same: each `MatMulInteger` reads the `DynamicQuantizeLinear` of the tensor | same |
 *
 * A fused graph (one `Attention` node per layer, or a packed QKV projection) has no such
 * tensors; `encoderLayerStates` then finds fewer states than the config's
 * `num_hidden_layers` and the caller refuses layer selection for that model.
 *
 * @example
 * ```ts
 * import { encoderLayerStates, withOutputs } from "./layers.ts";
 * import { field } from "./protobuf.ts";
 * // a graph whose input x is read by three MatMuls (one "layer" boundary)
 * const node = (op: string, input: string, output: string) =>
 *   field(1, [...field(1, input), ...field(1, "w"), ...field(2, output), ...field(4, op)]);
 * const graph = [node("MatMul", "x", "q"), node("MatMul", "x", "k"), node("MatMul", "x", "v")];
 * const model = field(7, graph.flatMap((n) => [...n]));
 * console.log(encoderLayerStates(model)); // ["x"]
 * console.log(encoderLayerStates(withOutputs(model, ["q"]))); // ["x"]: outputs change no node
 * ```
 * @module
 */
import { ModelLoadError } from "../../errors.ts";
import { field, fields, integers, strings, varint, varintField } from "./protobuf.ts";

const PROJECTIONS = new Set(["MatMul", "Gemm", "MatMulInteger"]);
const QUANTIZE = "DynamicQuantizeLinear";
// ModelProto.graph, GraphProto.node / .output, NodeProto.input / .output / .op_type
const MODEL_GRAPH = 7, GRAPH_NODE = 1, GRAPH_OUTPUT = 12;
const NODE_INPUT = 1, NODE_OUTPUT = 2, NODE_OP = 4;
const GRAPH_INITIALIZER = 5, TENSOR_DIMS = 1, TENSOR_NAME = 8;
const FLOAT = 1;

/** The graph message of a model (throws ModelLoadError when there is none). */
function graphOf(model: Uint8Array): Uint8Array {
  try {
    for (const [number, payload] of fields(model)) if (number === MODEL_GRAPH) return payload;
  } catch (cause) {
    throw new ModelLoadError(`the ONNX file is not a valid protobuf: ${cause}`, "onnx", { cause });
  }
  throw new ModelLoadError("the ONNX file has no graph", "onnx");
}

/**
 * The tensors that start each encoder layer, in graph order: the embeddings' output, then
 * the outputs of layers 1 … N−1 (the last layer's output is the graph's hidden output).
 */
export function encoderLayerStates(model: Uint8Array): string[] {
  const reads = new Map<string, number>();
  const order: string[] = [];
  // an int8 graph quantizes a projection's input first: the MatMulInteger reads the
  // outputs of a DynamicQuantizeLinear, which stand for that node's float input
  const quantized = new Map<string, string>();
  for (const [number, node] of fields(graphOf(model))) {
    if (number !== GRAPH_NODE) continue;
    const op = strings(node, NODE_OP)[0];
    const outputs = strings(node, NODE_OUTPUT);
    order.push(...outputs);
    if (op === QUANTIZE) {
      const [input] = strings(node, NODE_INPUT);
      for (const output of outputs) quantized.set(output, input);
    }
    if (!PROJECTIONS.has(op)) continue;
    const inputs = new Set(strings(node, NODE_INPUT).map((i) => quantized.get(i) ?? i));
    for (const input of inputs) reads.set(input, (reads.get(input) ?? 0) + 1);
  }
  // node outputs in graph order (topological), so the states come out layer by layer
  return order.filter((name) => (reads.get(name) ?? 0) >= 3);
}

/**
 * The model with `names` added as float graph outputs (nodes and weights untouched). The
 * graph field is rewritten with the new length; every other field is copied as it is.
 */
export function withOutputs(model: Uint8Array, names: readonly string[]): Uint8Array {
  if (names.length === 0) return model;
  let graphField: [Uint8Array, number, number] | undefined;
  for (const [number, payload, start, end] of fields(model)) {
    if (number === MODEL_GRAPH) graphField = [payload, start, end];
  }
  if (!graphField) throw new ModelLoadError("the ONNX file has no graph", "onnx");
  const [graph, start, end] = graphField;
  // ValueInfoProto { name (1), type (2): TypeProto { tensor_type (1): { elem_type (1) } } }
  const extra = names.map((name) =>
    field(GRAPH_OUTPUT, [
      ...field(1, name),
      ...field(2, [...field(1, varintField(1, FLOAT))]),
    ])
  );
  // one copy of the (possibly large) model: head, new graph tag and length, old graph
  // body, the extra outputs, tail
  const extraLength = extra.reduce((n, e) => n + e.length, 0);
  const head = Uint8Array.from([
    ...varint(MODEL_GRAPH * 8 + 2),
    ...varint(graph.length + extraLength),
  ]);
  const out = new Uint8Array(
    start + head.length + graph.length + extraLength + (model.length - end),
  );
  let at = 0;
  for (const part of [model.subarray(0, start), head, graph, ...extra, model.subarray(end)]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Rows of the word-embedding table: the initializer a `Gather` reads with `input_ids` as
 * its indices (undefined when the graph has no such node, e.g. a fused embedding layer).
 */
export function wordEmbeddingRows(model: Uint8Array): number | undefined {
  const graph = graphOf(model);
  let table: string | undefined;
  for (const [number, node] of fields(graph)) {
    if (number !== GRAPH_NODE || strings(node, NODE_OP)[0] !== "Gather") continue;
    const inputs = strings(node, NODE_INPUT);
    if (inputs[1] === "input_ids") table = inputs[0];
  }
  if (table === undefined) return undefined;
  for (const [number, tensor] of fields(graph)) {
    if (number !== GRAPH_INITIALIZER || strings(tensor, TENSOR_NAME)[0] !== table) continue;
    return integers(tensor, TENSOR_DIMS)[0]; // TensorProto.dims: repeated int64
  }
  return undefined;
}
