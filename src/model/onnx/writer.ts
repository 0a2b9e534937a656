/**
 * Just enough of ONNX's protobuf schema to write a model: nodes with int, ints and float
 * attributes, float32/int64/int8 initializers as raw data, typed inputs and outputs. Used by
 * the generated BERT (generated_bert.ts) so that writing the demo model needs no
 * protobuf library. Field numbers are onnx.proto3's (ModelProto.graph = 7, …).
 *
 * @example
 * ```ts
 * import { encodeModel } from "./writer.ts";
 * import { encoderLayerStates } from "./layers.ts";
 * const bytes = encodeModel({
 *   opset: 17,
 *   nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }],
 *   initializers: [],
 *   inputs: [{ name: "x", type: "float", dims: ["n"] }],
 *   outputs: [{ name: "y", type: "float", dims: ["n"] }],
 * });
 * console.log(bytes.length > 0, encoderLayerStates(bytes)); // true []
 * ```
 * @module
 */
import { concat, field, varint } from "./protobuf.ts";

/** An attribute value: an integer, a list of integers, or a float. */
export type AttributeValue = { i: number } | { ints: number[] } | { f: number };

/** One graph node. */
export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attributes?: Record<string, AttributeValue>;
}

/** A weight: float32, int64 or int8 values with their shape. */
export interface TensorSpec {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array | Int8Array;
}

/** A graph input or output: element type and shape (numbers or named dimensions). */
export interface ValueSpec {
  name: string;
  type: "float" | "int64";
  dims: (number | string)[];
}

/** A whole model. */
export interface ModelSpec {
  opset: number;
  producer?: string;
  nodes: NodeSpec[];
  initializers: TensorSpec[];
  inputs: ValueSpec[];
  outputs: ValueSpec[];
}

/** TensorProto.DataType of each array kind written here. */
const FLOAT = 1, INT8 = 3, INT64 = 7;
// AttributeProto.AttributeType
const ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_INTS = 7;

/** Varint of a signed 64-bit integer (negative numbers take ten bytes, two's complement). */
function int64(value: number): number[] {
  if (value >= 0) return varint(value);
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

const tag = (number: number, wire: number) => varint(number * 8 + wire);
const intField = (number: number, value: number) => [...tag(number, 0), ...int64(value)];

function attribute(name: string, value: AttributeValue): Uint8Array {
  const parts: (Uint8Array | number[])[] = [field(1, name)];
  if ("f" in value) {
    const f = new Uint8Array(Float32Array.of(value.f).buffer);
    parts.push([...tag(2, 5), ...f], intField(20, ATTR_FLOAT));
  } else if ("i" in value) {
    parts.push(intField(3, value.i), intField(20, ATTR_INT));
  } else {
    for (const v of value.ints) parts.push(intField(8, v));
    parts.push(intField(20, ATTR_INTS));
  }
  return concat(parts);
}

/** NodeProto bytes (without the GraphProto field tag). */
export function encodeNode(n: NodeSpec): Uint8Array {
  return concat([
    ...n.inputs.map((i) => field(1, i)),
    ...n.outputs.map((o) => field(2, o)),
    field(3, n.name ?? `${n.op}_${n.outputs[0]}`),
    field(4, n.op),
    ...Object.entries(n.attributes ?? {}).map(([k, v]) => field(5, attribute(k, v))),
  ]);
}

/** TensorProto bytes (without the GraphProto field tag), data inline as raw_data. */
export function encodeTensor(t: TensorSpec): Uint8Array {
  const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const type = t.data instanceof Float32Array ? FLOAT : t.data instanceof Int8Array ? INT8 : INT64;
  return concat([
    ...t.dims.map((d) => intField(1, d)),
    intField(2, type),
    field(8, t.name),
    field(9, raw),
  ]);
}

function valueInfo(v: ValueSpec): Uint8Array {
  const dims = v.dims.map((d) => field(1, typeof d === "number" ? intField(1, d) : field(2, d)));
  const tensorType = concat([
    intField(1, v.type === "float" ? FLOAT : INT64),
    field(2, concat(dims)),
  ]);
  return concat([field(1, v.name), field(2, field(1, tensorType))]);
}

/** The model's bytes (IR version 8). */
export function encodeModel(m: ModelSpec): Uint8Array {
  const graph = concat([
    ...m.nodes.map((n) => field(1, encodeNode(n))),
    field(2, "graph"),
    ...m.initializers.map((t) => field(5, encodeTensor(t))),
    ...m.inputs.map((v) => field(11, valueInfo(v))),
    ...m.outputs.map((v) => field(12, valueInfo(v))),
  ]);
  return concat([
    intField(1, 8),
    field(2, m.producer ?? "embedge"),
    field(7, graph),
    field(8, concat([field(1, ""), intField(2, m.opset)])),
  ]);
}
