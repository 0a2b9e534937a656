/**
 * The reader's projections (bert_graph.ts): a tensor multiplied by a constant weight,
 * `MatMul(x, W)` or quantize.ts's int8 form of it (int8.ts), and the bias `Add` after it.
 * Query, key, value, the attention output, both feed-forward products and the pooler's
 * dense layer are all found this way.
 *
 * Worked example (the all-MiniLM-L6-v2 export, opset 18): `layer_norm` is read by
 * `MatMul(layer_norm, val_62)` (W [384, 384]: a projection of width 384), whose product
 * is read by the bias `Add`: `biasOf` gives that bias and the sum, `view`'s input.
 *
 * @example
 * ```ts
 * import { GraphIndex } from "./graph_index.ts";
 * import { biasOf, projection } from "./projections.ts";
 * import { readGraph } from "../onnx/graph.ts";
 * import { encodeModel } from "../onnx/writer.ts";
 * const graph = readGraph(encodeModel({
 *   opset: 17,
 *   nodes: [
 *     { op: "MatMul", inputs: ["x", "w"], outputs: ["xw"] },
 *     { op: "Add", inputs: ["xw", "b"], outputs: ["y"] },
 *   ],
 *   initializers: [
 *     { name: "w", dims: [2, 3], data: new Float32Array(6) },
 *     { name: "b", dims: [3], data: Float32Array.of(1, 2, 3) },
 *   ],
 *   inputs: [{ name: "x", type: "float", dims: ["n", 2] }],
 *   outputs: [{ name: "y", type: "float", dims: ["n", 3] }],
 * }));
 * const index = new GraphIndex(graph, () => new Uint8Array(0));
 * const p = projection(index, graph.nodes[0], "x", 2);
 * console.log(p?.output, p?.width, biasOf(index, "xw", 3)); // xw 3 [ Float32Array(3) [ 1, 2, 3 ], "y" ]
 * ```
 * @module
 */
import type { GraphNode } from "../onnx/graph.ts";
import { check } from "./bert_checks.ts";
import { floatConstant } from "./constants.ts";
import type { GraphIndex } from "./graph_index.ts";
import { int8Projection } from "./int8.ts";
import type { Matrix } from "./weights.ts";

/** A projection found: its input (x), output (the product, before any bias) and weight. */
export interface Projection {
  input: string;
  output: string;
  weight: Matrix;
  /** The weight's columns (the product's width). */
  width: number;
}

/**
 * A projection of `x` by a constant W of `rows` rows starting at `node`: `MatMul(x, W)`, or
 * its int8 form (int8.ts) starting at the `DynamicQuantizeLinear` of x; undefined when
 * `node` starts neither.
 */
export function projection(
  g: GraphIndex,
  node: GraphNode,
  x: string,
  rows: number,
): Projection | undefined {
  if (node.domain !== "" || node.inputs[0] !== x) return undefined;
  if (node.op === "DynamicQuantizeLinear") return int8Projection(g, node, rows);
  if (node.op !== "MatMul") return undefined;
  const w = floatConstant(g, node.inputs[1]);
  if (!w || w[1].length !== 2 || w[1][0] !== rows) return undefined;
  return { input: x, output: node.outputs[0], weight: w[0], width: w[1][1] };
}

/** `Add(x, bias)` after a projection: the bias (a constant of `width`) and the sum. */
export function biasOf(g: GraphIndex, x: string, width: number): [Float32Array, string] {
  const add = g.only(
    (g.consumers.get(x) ?? []).filter((n) => n.op === "Add"),
    `bias Add of ${x}`,
  );
  const other = add.inputs[0] === x ? add.inputs[1] : add.inputs[0];
  const bias = floatConstant(g, other);
  check(bias && bias[1].length === 1 && bias[1][0] === width, `${add.outputs[0]} adds no bias`);
  return [bias[0], add.outputs[0]];
}
