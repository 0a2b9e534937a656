/**
 * An ONNX graph read just far enough to rewrite it: its nodes (inputs, outputs, op type,
 * integer and float attributes) and its initializers (name, shape, data type, where the
 * bytes live), each with the field's span in the graph message so that a rewrite copies
 * everything it does not change byte for byte. Field numbers are onnx.proto3's.
 *
 * @example
 * ```ts
 * import { readGraph } from "./graph.ts";
 * import { encodeModel } from "./writer.ts";
 * const model = encodeModel({
 *   opset: 17,
 *   nodes: [{ op: "MatMul", inputs: ["x", "w"], outputs: ["y"] }],
 *   initializers: [{ name: "w", dims: [2, 1], data: Float32Array.of(1, 2) }],
 *   inputs: [{ name: "x", type: "float", dims: ["n", 2] }],
 *   outputs: [{ name: "y", type: "float", dims: ["n", 1] }],
 * });
 * const graph = readGraph(model);
 * console.log(graph.nodes[0].op, graph.initializers[0].dims, graph.opset); // MatMul [ 2, 1 ] 17
 * ```
 * @module
 */
import { ModelLoadError } from "../../errors.ts";
import { allFields, fields, integers, strings } from "./protobuf.ts";

// ModelProto.graph / .opset_import; GraphProto.node / .initializer / .input / .output;
// OperatorSetIdProto.domain / .version
const MODEL_GRAPH = 7, MODEL_OPSET = 8, OPSET_DOMAIN = 1, OPSET_VERSION = 2;
const GRAPH_NODE = 1, GRAPH_INITIALIZER = 5, GRAPH_INPUT = 11, GRAPH_OUTPUT = 12;
// NodeProto.input / .output / .op_type / .attribute / .domain
const NODE_INPUT = 1, NODE_OUTPUT = 2, NODE_OP = 4, NODE_ATTRIBUTE = 5, NODE_DOMAIN = 7;
// AttributeProto.name / .f (fixed32) / .i (varint) / .t (a tensor) / .g (a subgraph)
const ATTR_NAME = 1, ATTR_FLOAT = 2, ATTR_INT = 3, ATTR_TENSOR = 5, ATTR_GRAPH = 6;
// TensorProto.dims / .data_type / .float_data / .name / .raw_data / .external_data /
// .data_location; StringStringEntryProto.key / .value
const TENSOR_DIMS = 1, TENSOR_TYPE = 2, TENSOR_FLOATS = 4, TENSOR_INT64S = 7, TENSOR_NAME = 8;
const TENSOR_RAW = 9, TENSOR_EXTERNAL = 13, TENSOR_LOCATION = 14, EXTERNAL = 1;

/** TensorProto.DataType.FLOAT */
export const FLOAT = 1;

/** A span `[start, end)` of the graph message: one whole field, tag included. */
export type Span = [start: number, end: number];

/** One node. `attributes` holds the integer and float ones (`transB`, `alpha`, `axis`…). */
export interface GraphNode {
  op: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, number>;
  /** Whether an attribute holds a subgraph (If, Loop, Scan): rewriters leave such graphs. */
  hasSubgraph: boolean;
  /** A `Constant` node's `value` tensor (its span is inside the node, not the graph). */
  value?: GraphTensor;
  span: Span;
}

/** Where an initializer's bytes are stored outside the model file. */
export interface ExternalData {
  location: string;
  offset: number;
  length: number;
}

/** One initializer. `raw` is its inline raw_data (a view of the model), if any. */
export interface GraphTensor {
  name: string;
  dims: number[];
  dataType: number;
  raw?: Uint8Array;
  /** Packed float_data (the other inline form of float tensors). */
  floats?: Uint8Array;
  /** int64_data (how some exporters write small integer constants), when present. */
  int64s?: number[];
  external?: ExternalData;
  span: Span;
}

/** A model's graph, read. `graph` is the graph message; spans index into it. */
export interface Graph {
  graph: Uint8Array;
  /** The graph field's span in the model (to splice a rewritten graph back in). */
  graphSpan: Span;
  /** The default domain's opset version (0 when the model names none). */
  opset: number;
  nodes: GraphNode[];
  initializers: GraphTensor[];
  /** Graph inputs by name, with their spans (initializers are listed here by old IRs). */
  inputs: Map<string, Span>;
  outputs: Set<string>;
}

const decoder = new TextDecoder();

function attributesOf(
  node: Uint8Array,
): [Map<string, number>, boolean, GraphTensor | undefined] {
  const out = new Map<string, number>();
  let subgraph = false;
  let tensor: GraphTensor | undefined;
  for (const [number, payload] of fields(node)) {
    if (number !== NODE_ATTRIBUTE) continue;
    let name = "", value: number | undefined, t: GraphTensor | undefined;
    for (const [n, wire, v] of allFields(payload)) {
      if (n === ATTR_NAME && wire === 2) name = decoder.decode(v as Uint8Array);
      else if (n === ATTR_FLOAT && wire === 5) {
        const b = v as Uint8Array;
        value = new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);
      } else if (n === ATTR_INT && wire === 0) value = v as number;
      else if (n === ATTR_TENSOR && wire === 2) {
        const b = v as Uint8Array;
        t = tensorOf(b, [0, b.length]);
      } else if (n === ATTR_GRAPH) subgraph = true;
    }
    if (value !== undefined) out.set(name, value);
    if (t && name === "value") tensor = t;
  }
  return [out, subgraph, tensor];
}

function tensorOf(bytes: Uint8Array, span: Span): GraphTensor {
  const t: GraphTensor = { name: "", dims: integers(bytes, TENSOR_DIMS), dataType: 0, span };
  const entries = new Map<string, string>();
  let location = 0;
  for (const [n, wire, v] of allFields(bytes)) {
    if (n === TENSOR_TYPE && wire === 0) t.dataType = v as number;
    else if (n === TENSOR_LOCATION && wire === 0) location = v as number;
    else if (wire !== 2) continue;
    else if (n === TENSOR_NAME) t.name = decoder.decode(v as Uint8Array);
    else if (n === TENSOR_RAW) t.raw = v as Uint8Array;
    else if (n === TENSOR_FLOATS) t.floats = v as Uint8Array;
    else if (n === TENSOR_EXTERNAL) {
      const [key] = strings(v as Uint8Array, 1), [value] = strings(v as Uint8Array, 2);
      entries.set(key ?? "", value ?? "");
    }
  }
  const int64s = integers(bytes, TENSOR_INT64S);
  if (int64s.length) t.int64s = int64s;
  if (location === EXTERNAL) {
    t.external = {
      location: entries.get("location") ?? "",
      offset: Number(entries.get("offset") ?? 0),
      length: Number(entries.get("length") ?? -1),
    };
  }
  return t;
}

/** Reads a model's graph (throws ModelLoadError on bytes that are not an ONNX model). */
export function readGraph(model: Uint8Array): Graph {
  try {
    let found: [Uint8Array, Span] | undefined;
    let opset = 0;
    for (const [number, payload, start, end] of fields(model)) {
      if (number === MODEL_GRAPH) found = [payload, [start, end]];
      if (number === MODEL_OPSET) {
        const domain = strings(payload, OPSET_DOMAIN)[0] ?? "";
        if (domain === "" || domain === "ai.onnx") {
          opset = integers(payload, OPSET_VERSION)[0] ?? 0;
        }
      }
    }
    if (!found) throw new ModelLoadError("the ONNX file has no graph", "onnx");
    const [graph, graphSpan] = found;
    const out: Graph = {
      graph,
      graphSpan,
      opset,
      nodes: [],
      initializers: [],
      inputs: new Map(),
      outputs: new Set(),
    };
    for (const [number, payload, start, end] of fields(graph)) {
      if (number === GRAPH_NODE) {
        const [attributes, hasSubgraph, value] = attributesOf(payload);
        out.nodes.push({
          op: strings(payload, NODE_OP)[0] ?? "",
          domain: strings(payload, NODE_DOMAIN)[0] ?? "",
          inputs: strings(payload, NODE_INPUT),
          outputs: strings(payload, NODE_OUTPUT),
          attributes,
          hasSubgraph,
          ...(value ? { value } : {}),
          span: [start, end],
        });
      } else if (number === GRAPH_INITIALIZER) {
        out.initializers.push(tensorOf(payload, [start, end]));
      } else if (number === GRAPH_INPUT) {
        out.inputs.set(strings(payload, 1)[0] ?? "", [start, end]);
      } else if (number === GRAPH_OUTPUT) {
        out.outputs.add(strings(payload, 1)[0] ?? "");
      }
    }
    return out;
  } catch (cause) {
    if (cause instanceof ModelLoadError) throw cause;
    throw new ModelLoadError(`the ONNX file is not a valid protobuf: ${cause}`, "onnx", { cause });
  }
}

/**
 * The stored bytes of an initializer, as a view: its raw_data, packed float_data, or its
 * range of the external data file `readExternal(location)` returns. Throws
 * ModelLoadError when an external range lies past the end of its file.
 */
export function tensorBytes(
  t: GraphTensor,
  readExternal: (location: string) => Uint8Array,
): Uint8Array {
  if (!t.external) return t.raw ?? t.floats ?? new Uint8Array(0);
  const file = readExternal(t.external.location);
  const { offset, length } = t.external;
  const end = length < 0 ? file.length : offset + length;
  if (end > file.length) {
    throw new ModelLoadError(
      `${t.name}: external data ${t.external.location} ends at byte ${file.length}, ` +
        `the tensor needs ${end}`,
      "onnx",
    );
  }
  return file.subarray(offset, end);
}

/**
 * The float32 values of an initializer, copied (see `tensorBytes`). Throws ModelLoadError
 * when the bytes do not match the shape.
 */
export function tensorFloats(
  t: GraphTensor,
  readExternal: (location: string) => Uint8Array,
): Float32Array {
  const count = t.dims.reduce((a, b) => a * b, 1);
  const bytes = tensorBytes(t, readExternal);
  if (bytes.length !== count * 4) {
    throw new ModelLoadError(
      `${t.name}: ${bytes.length} bytes of data for ${count} float32 values`,
      "onnx",
    );
  }
  return new Float32Array(bytes.slice().buffer);
}
