/**
 * A layer's self-attention, found from the layer's input (bert_graph.ts): the three
 * projections reading it, told apart by where they go, and the arithmetic between them
 * checked against what the kernels compute (scores scaled by 1/√head, BERT's padding
 * mask added, a Softmax over the keys, nothing else).
 *
 * - query, key, value: the three constant-weight projections (projections.ts) of the
 *   input, each with its bias `Add`; followed through `Reshape`/`Transpose`/`Mul`/`Div`,
 *   two meet in the scores `MatMul` (query = its first input), the third (value) in the
 *   `MatMul` after the `Softmax`;
 * - the scale: the scalar `Mul`/`Div`s on the query and key paths and between the scores
 *   and the Softmax multiply to 1/√head (so the config's head count must be the graph's);
 * - the mask: anything added to the scores is computed from `attention_mask` and small
 *   constants only, and adds 0 for mask 1 and ≤ −10⁴ for mask 0 (bert_checks.ts evaluates
 *   the sub-graph on both).
 *
 * Worked example (the all-MiniLM-L6-v2 export, opset 18): `layer_norm` is read by
 * `MatMul(layer_norm, val_62)`, `(…, val_70)` and `(…, val_78)`; their `Add`s feed `view`,
 * `view_1`, `view_2`; the first two reach `MatMul(val_110, val_112)` at inputs 0 and 1
 * (query `val_62`, key `val_70`), the third reaches `MatMul(val_115, transpose_2)` (value
 * `val_78`).
 *
 * @example
 * ```ts
 * import { selfAttention } from "./attention.ts";
 * import { GraphIndex } from "./graph_index.ts";
 * import { readGraph } from "../onnx/graph.ts";
 * import { bertOnnx, bertWeights } from "../fixtures/generated_bert.ts";
 * import { encoderLayerStates } from "../onnx/layers.ts";
 * const model = bertOnnx(bertWeights({ vocabSize: 50, hidden: 8, layers: 1, heads: 2, intermediate: 16 }));
 * const index = new GraphIndex(readGraph(model), () => new Uint8Array(0));
 * const [x] = encoderLayerStates(model);
 * const found = selfAttention(index, x, { hidden: 8, heads: 2, masked: true }, "layer 0");
 * console.log(found.query.weight instanceof Float32Array, found.value.bias.length); // true 8
 * ```
 * @module
 */
import type { GraphNode } from "../onnx/graph.ts";
import { check, checkMask, maskValues } from "./bert_checks.ts";
import { scalarFactor } from "./constants.ts";
import { type GraphIndex, SHAPE_ONLY } from "./graph_index.ts";
import { biasOf, projection } from "./projections.ts";
import type { Matrix } from "./weights.ts";

/** Ops a projection's sum passes through on its way to the attention's products. */
const PASS_THROUGH = new Set(["Reshape", "Transpose", "Mul", "Div", "Squeeze", "Unsqueeze"]);

/** A projection's weight and bias. */
export interface Projected {
  weight: Matrix;
  bias: Float32Array;
}

/** What a layer's attention holds, and the node whose output is its context. */
export interface SelfAttention {
  query: Projected;
  key: Projected;
  value: Projected;
  /** The `MatMul` of the Softmax's probabilities and the values. */
  context: GraphNode;
}

/** The sizes the attention is checked against. */
export interface AttentionSizes {
  hidden: number;
  heads: number;
  /** Whether the graph has an `attention_mask` input (without one nothing may be added). */
  masked: boolean;
}

/** The self-attention reading `x`, checked (`where` names the layer in reasons). */
export function selfAttention(
  g: GraphIndex,
  x: string,
  sizes: AttentionSizes,
  where: string,
): SelfAttention {
  const { hidden } = sizes;
  const projections = (g.consumers.get(x) ?? [])
    .map((n) => projection(g, n, x, hidden))
    .filter((p) => p !== undefined);
  check(projections.length === 3, `${where}: ${projections.length} projections of ${x}`);
  const heads = projections.map((p) => {
    check(p.width === hidden, `${where}: a projection of width ${p.width}`);
    const [bias, sum] = biasOf(g, p.output, hidden);
    const reached = g.forward(
      sum,
      PASS_THROUGH,
      (n, from) =>
        (n.op === "MatMul" || n.op === "FusedMatMul")
          ? { node: n, index: n.inputs.indexOf(from) }
          : undefined,
    );
    check(reached, `${where}: ${sum} reaches no attention product`);
    return { ...p, bias, sum, reached };
  });
  const scores = heads.filter((h) =>
    heads.some((o) => o !== h && o.reached.node === h.reached.node)
  );
  const value = heads.find((h) => !scores.includes(h));
  check(scores.length === 2 && value, `${where}: query and key not found`);
  const [query, key] = scores[0].reached.index === 0 ? scores : [scores[1], scores[0]];
  check(query.reached.index === 0 && key.reached.index === 1, `${where}: scores operand order`);
  const context = value.reached.node;
  check(value.reached.index === 1, `${where}: value is not the second operand`);
  check(
    g.producer.get(context.inputs[0])?.op === "Softmax",
    `${where}: no softmax before the context`,
  );
  const product = query.reached.node;
  check(
    product.op === "MatMul" && product.domain === "",
    `${where}: scores are a ${product.op}`,
  );
  // the kernels scale scores by 1/√head and add BERT's padding mask, nothing else
  const [afterScores, masked] = scaleToSoftmax(g, product.outputs[0], context.inputs[0]);
  const scale = scaleBack(g, product.inputs[0], query.sum) *
    scaleBack(g, product.inputs[1], key.sum) * afterScores;
  const headSize = hidden / sizes.heads;
  check(
    Math.abs(scale * Math.sqrt(headSize) - 1) < 1e-3,
    `${where}: attention scale ${scale} is not 1/√${headSize}`,
  );
  // without an attention_mask input the kernels mask nothing, and the graph adds nothing
  if (sizes.masked) checkMask(masked, where);
  const weights = (h: Projected): Projected => ({ weight: h.weight, bias: h.bias });
  return { query: weights(query), key: weights(key), value: weights(value), context };
}

/** The scalar factor `Mul`/`Div` nodes apply from `from` back to `to` (through reshapes). */
function scaleBack(g: GraphIndex, from: string, to: string): number {
  let factor = 1;
  for (let t = from; t !== to;) {
    const n = g.producer.get(t);
    check(n, `${t} does not lead back to ${to}`);
    if (SHAPE_ONLY.has(n.op)) t = n.inputs[0];
    else if (n.op === "Mul" || n.op === "Div") {
      const [f, data] = scalarFactor(g, n);
      factor *= f;
      t = data;
    } else check(false, `a ${n.op} between a projection and the scores`);
  }
  return factor;
}

/** Whether `t` is computed from the attention_mask input and small constants only. */
function fromMask(g: GraphIndex, t: string): boolean {
  let mask = false;
  const seen = new Set<string>(), queue = [t];
  while (queue.length) {
    const x = queue.pop()!;
    if (seen.has(x)) continue;
    seen.add(x);
    if (x === "attention_mask") mask = true;
    else if (x === "input_ids") continue; // its shape, at most
    const c = g.constants.get(x);
    if (c) {
      if (c.dims.reduce((a, b) => a * b, 1) > 64) return false;
      continue;
    }
    const n = g.producer.get(x);
    if (!n) continue;
    // learned numbers (a product, a looked-up table) make it a bias, not a mask
    if (n.op === "MatMul" || n.op === "Gemm") return false;
    const table = n.op === "Gather" ? g.constants.get(n.inputs[0]) : undefined;
    if (table && table.dims.reduce((a, b) => a * b, 1) > 64) return false;
    queue.push(...n.inputs.filter((i) => i !== ""));
  }
  return mask;
}

/**
 * The scalar factors between the scores and their Softmax (whose output is `softmax`), and
 * what is added to the scores on the way for a real token and for padding (later factors
 * scale it too).
 */
function scaleToSoftmax(
  g: GraphIndex,
  scores: string,
  softmax: string,
): [number, [number, number]] {
  let factor = 1;
  const added: [number, number] = [0, 0];
  for (let t = scores, steps = 0; steps < 8; steps++) {
    const next = g.consumers.get(t) ?? [];
    check(next.length === 1, `scores ${t} are read by ${next.length} nodes`);
    const n = next[0];
    const other = n.inputs[0] === t ? n.inputs[1] : n.inputs[0];
    if (n.op === "Softmax") {
      const axis = n.attributes.get("axis") ?? -1;
      check(n.outputs[0] === softmax, "the scores reach another Softmax");
      check(axis === -1 || axis === 3 || axis >= 2 ** 63, "the Softmax is not over the keys");
      return [factor, added];
    } else if (n.op === "Mul" || (n.op === "Div" && n.inputs[0] === t)) {
      const [f, data] = scalarFactor(g, n);
      check(data === t, `${n.op} ${n.outputs[0]} is not by a constant`);
      factor *= f;
      added[0] *= f;
      added[1] *= f;
    } else if (n.op === "Add") {
      check(fromMask(g, other), `the scores get ${other} added, which is not the padding mask`);
      const [real, padding] = maskValues(g.view, other);
      added[0] += real;
      added[1] += padding;
    } else check(false, `a ${n.op} between the scores and the Softmax`);
    t = n.outputs[0];
  }
  check(false, "no Softmax after the scores");
  return [factor, added];
}
