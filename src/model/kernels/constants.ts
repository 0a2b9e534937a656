/**
 * The numbers a graph holds as constants, read for the reader (bert_graph.ts): float
 * weights (as views of the model's bytes where they can be), and small constants' values
 * (initializers, `Constant` nodes, `ConstantOfShape`) seen through shape-only ops and
 * casts, as the reader's checks compare them (a scale of 1/√head, a 0 start, an ε).
 *
 * Worked example (the all-MiniLM-L6-v2 export, opset 18, head size 32): the query and the
 * key each reach the scores through `Mul(…, val_109)`, val_109 a float initializer of one
 * value, 0.4204 (32^−¼): `scalar` gives 0.4204, `scalarFactor` of `Mul(transpose, val_109)`
 * gives [0.4204, `transpose`], and the two together scale the scores by 1/√32.
 *
 * @example
 * ```ts
 * import { GraphIndex } from "./graph_index.ts";
 * import { floatConstant, scalar, scalarFactor } from "./constants.ts";
 * import { readGraph } from "../onnx/graph.ts";
 * import { encodeModel } from "../onnx/writer.ts";
 * const graph = readGraph(encodeModel({
 *   opset: 17,
 *   nodes: [{ op: "Div", inputs: ["x", "four"], outputs: ["y"] }],
 *   initializers: [
 *     { name: "four", dims: [], data: Float32Array.of(4) },
 *     { name: "w", dims: [1, 2], data: Float32Array.of(1, 2) },
 *   ],
 *   inputs: [{ name: "x", type: "float", dims: ["n"] }],
 *   outputs: [{ name: "y", type: "float", dims: ["n"] }],
 * }));
 * const index = new GraphIndex(graph, () => new Uint8Array(0));
 * console.log(scalar(index, "four"), scalarFactor(index, graph.nodes[0])); // 4 [ 0.25, "x" ]
 * console.log(floatConstant(index, "w")?.[1]); // [ 1, 2 ]
 * ```
 * @module
 */
import { type GraphNode, type GraphTensor, tensorBytes, tensorFloats } from "../onnx/graph.ts";
import { check } from "./bert_checks.ts";
import { type GraphIndex, SHAPE_ONLY } from "./graph_index.ts";

/** TensorProto.DataType values the reader reads numbers of. */
const FLOAT32 = 1, INT32 = 6, INT64 = 7, FLOAT64 = 11;

/** A float initializer's values and dims (not an initializer: undefined). */
export function floatConstant(
  g: GraphIndex,
  name: string,
): [Float32Array, number[]] | undefined {
  const t = g.constants.get(name);
  if (!t) return undefined;
  check(t.dataType === FLOAT32, `${name} is not float32`);
  // a view of the model's (or external file's) bytes where they are aligned: the kernels
  // copy each weight into their own memory once, so a copy here would only double the peak
  const bytes = tensorBytes(t, g.readExternal);
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (!t.floats && bytes.byteOffset % 4 === 0 && bytes.length === count * 4) {
    return [new Float32Array(bytes.buffer, bytes.byteOffset, count), t.dims];
  }
  return [tensorFloats(t, g.readExternal), t.dims];
}

/** A tensor's values as numbers (float32, float64, int32 or int64), copied. */
function tensorNumbers(g: GraphIndex, t: GraphTensor): number[] | undefined {
  if (t.int64s) return t.int64s;
  const bytes = t.floats ?? tensorBytes(t, g.readExternal);
  const view = (T: { new (b: ArrayBuffer): ArrayLike<number | bigint> }) =>
    Array.from(new T(bytes.slice().buffer), Number);
  if (t.floats || t.dataType === FLOAT32) return view(Float32Array);
  if (t.dataType === INT64) return view(BigInt64Array);
  if (t.dataType === INT32) return view(Int32Array);
  if (t.dataType === FLOAT64) return view(Float64Array);
  return undefined;
}

/**
 * The values of a constant (initializer, Constant node, ConstantOfShape's one value),
 * through shape-only ops and casts; undefined for a computed tensor.
 */
export function numbers(g: GraphIndex, name: string): number[] | undefined {
  const t = g.constants.get(name);
  if (t) return tensorNumbers(g, t);
  const n = g.producer.get(name);
  if (n?.op === "Constant") return n.value ? tensorNumbers(g, n.value) : undefined;
  if (n?.op === "ConstantOfShape") return n.value ? tensorNumbers(g, n.value) : [0];
  if (n && (SHAPE_ONLY.has(n.op) || n.op === "Cast")) return numbers(g, n.inputs[0]);
  return undefined;
}

/** A constant's one value (undefined: computed, or more than one value). */
export function scalar(g: GraphIndex, name: string): number | undefined {
  const v = numbers(g, name);
  return v?.length === 1 ? v[0] : undefined;
}

/**
 * What a `Mul` or `Div` by a scalar constant does to its other operand: [the factor, that
 * operand]. A `Mul`'s constant may be either input, a `Div`'s only the divisor.
 */
export function scalarFactor(g: GraphIndex, n: GraphNode): [number, string] {
  const divisor = scalar(g, n.inputs[1]);
  const [c, data] = divisor !== undefined
    ? [divisor, n.inputs[0]]
    : [n.op === "Mul" ? scalar(g, n.inputs[0]) : undefined, n.inputs[1]];
  check(c !== undefined, `${n.op} ${n.outputs[0]} is not by a constant`);
  return [n.op === "Mul" ? c : 1 / c, data];
}
