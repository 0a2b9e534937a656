/**
 * LayerNorms, read backwards from their outputs (bert_graph.ts): a `LayerNormalization`
 * node over the last axis, or the decomposed form exporters write at older opsets,
 *
 * ```text
 * Add(Mul(Div(Sub(x, ReduceMean(x)), Sqrt(Add(ReduceMean(Pow(Sub(…), 2)), ε))), gamma), beta)
 * ```
 *
 * with gamma and beta constants; ε is the graph's constant where it is one, else the
 * config's `layer_norm_eps`, else 1e-12. What each one normalises (x) is returned too: the
 * reader checks it is the residual sum it expects.
 *
 * @example
 * ```ts
 * import { normOf } from "./layer_norm.ts";
 * import { GraphIndex } from "./graph_index.ts";
 * import { readGraph } from "../onnx/graph.ts";
 * import { encodeModel } from "../onnx/writer.ts";
 * const graph = readGraph(encodeModel({
 *   opset: 17,
 *   nodes: [{
 *     op: "LayerNormalization",
 *     inputs: ["x", "gamma", "beta"],
 *     outputs: ["y"],
 *     attributes: { epsilon: { f: 1e-5 } },
 *   }],
 *   initializers: [
 *     { name: "gamma", dims: [2], data: Float32Array.of(1, 1) },
 *     { name: "beta", dims: [2], data: Float32Array.of(0, 0) },
 *   ],
 *   inputs: [{ name: "x", type: "float", dims: ["n", 2] }],
 *   outputs: [{ name: "y", type: "float", dims: ["n", 2] }],
 * }));
 * const [norm, input] = normOf(new GraphIndex(graph, () => new Uint8Array(0)), "y", 2);
 * console.log(norm.gamma.length, norm.epsilon.toPrecision(2), input); // 2 0.000010 x (ε is stored as float32)
 * ```
 * @module
 */
import { check } from "./bert_checks.ts";
import { floatConstant, scalar } from "./constants.ts";
import type { GraphIndex } from "./graph_index.ts";
import type { Norm } from "./weights.ts";

/**
 * The LayerNorm producing `y`: its parameters and input. `width` 0: its width is not
 * checked (the embeddings' LayerNorm gives the hidden size); `epsilon`: the config's ε,
 * for a decomposed LayerNorm whose ε is computed.
 */
export function normOf(g: GraphIndex, y: string, width: number, epsilon?: number): [Norm, string] {
  let node = g.producer.get(y);
  while (node?.op === "Identity") node = g.producer.get(node.inputs[0]);
  check(node, `${y} has no producer`);
  if (node.op === "LayerNormalization") {
    const gamma = floatConstant(g, node.inputs[1]), beta = floatConstant(g, node.inputs[2]);
    check(gamma && beta, `LayerNorm ${y} has no constant scale and bias`);
    const axis = node.attributes.get("axis") ?? -1;
    check(
      axis === -1 || axis === 2 || axis === 2 ** 64 - 1,
      `LayerNorm ${y} is not over the last axis`,
    );
    return [
      { gamma: gamma[0], beta: beta[0], epsilon: node.attributes.get("epsilon") ?? 1e-5 },
      node.inputs[0],
    ];
  }
  // decomposed: Add(Mul(Div(Sub(x, mean), sqrt(var + eps)), gamma), beta)
  check(node.op === "Add", `${y} is not a LayerNorm output (${node.op})`);
  const [betaName, scaled] = g.constants.has(node.inputs[1])
    ? [node.inputs[1], node.inputs[0]]
    : [node.inputs[0], node.inputs[1]];
  const mul = g.producer.get(scaled);
  check(mul?.op === "Mul", `${y} is not a LayerNorm output (no scale)`);
  const [gammaName, normed] = g.constants.has(mul.inputs[1])
    ? [mul.inputs[1], mul.inputs[0]]
    : [mul.inputs[0], mul.inputs[1]];
  const div = g.producer.get(normed), sub = div && g.producer.get(div.inputs[0]);
  check(div?.op === "Div" && sub?.op === "Sub", `${y} is not a LayerNorm output (no Sub/Div)`);
  const mean = g.producer.get(sub.inputs[1]);
  check(
    mean?.op === "ReduceMean" && mean.inputs[0] === sub.inputs[0],
    `${y} is not a LayerNorm output (no mean)`,
  );
  const gamma = floatConstant(g, gammaName), beta = floatConstant(g, betaName);
  check(gamma && beta, `LayerNorm ${y} has no constant scale and bias`);
  check(
    !width || (gamma[0].length === width && beta[0].length === width),
    `LayerNorm ${y} width`,
  );
  // the denominator: Sqrt(Add(ReduceMean(Pow(Sub, 2)), epsilon))
  const sqrt = g.producer.get(div.inputs[1]);
  const plus = sqrt?.op === "Sqrt" ? g.producer.get(sqrt.inputs[0]) : undefined;
  check(plus?.op === "Add", `${y} is not a LayerNorm output (no √(variance + ε))`);
  const [epsilonName, varianceName] = scalar(g, plus.inputs[1]) !== undefined
    ? [plus.inputs[1], plus.inputs[0]]
    : [plus.inputs[0], plus.inputs[1]];
  const variance = g.producer.get(varianceName);
  const square = variance?.op === "ReduceMean" ? g.producer.get(variance.inputs[0]) : undefined;
  check(
    square?.op === "Pow" && square.inputs[0] === div.inputs[0] &&
      scalar(g, square.inputs[1]) === 2,
    `${y} is not a LayerNorm output (no variance)`,
  );
  return [
    { gamma: gamma[0], beta: beta[0], epsilon: scalar(g, epsilonName) ?? epsilon ?? 1e-12 },
    sub.inputs[0],
  ];
}
