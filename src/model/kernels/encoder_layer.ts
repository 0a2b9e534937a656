/**
 * One encoder layer's weights, from its input `x` to its output `y` (bert_graph.ts): the
 * self-attention (attention.ts), then
 *
 * | part | found as |
 * | --- | --- |
 * | attention output | the first constant-weight projection after the context (through `Transpose`/`Reshape`), with its bias |
 * | attention LayerNorm | the LayerNorm (layer_norm.ts) of the residual sum x + that output, read back from the next projection's input |
 * | feed-forward | the next constant-weight projection (in: the attention's LayerNorm), then, through exact gelu (`Div`, `Erf`, `Add`, `Mul`, whose constants are checked by evaluating it: bert_checks.ts), the one back to the hidden size |
 * | output LayerNorm | the LayerNorm producing y, of the residual sum of its input and the feed-forward's |
 *
 * @example
 * ```ts
 * import { encoderLayer } from "./encoder_layer.ts";
 * import { GraphIndex } from "./graph_index.ts";
 * import { readGraph } from "../onnx/graph.ts";
 * import { bertOnnx, bertWeights } from "../fixtures/generated_bert.ts";
 * import { encoderLayerStates } from "../onnx/layers.ts";
 * const model = bertOnnx(bertWeights({ vocabSize: 50, hidden: 8, layers: 2, heads: 2, intermediate: 16 }));
 * const index = new GraphIndex(readGraph(model), () => new Uint8Array(0));
 * const [x, y] = encoderLayerStates(model);
 * const layer = encoderLayer(index, x, y, { hidden: 8, heads: 2, masked: true }, "layer 0");
 * console.log(layer.intermediateBias.length, layer.outputNorm.gamma.length); // 16 8
 * ```
 * @module
 */
import { check, checkGelu } from "./bert_checks.ts";
import type { GraphIndex } from "./graph_index.ts";
import { type AttentionSizes, selfAttention } from "./attention.ts";
import { normOf } from "./layer_norm.ts";
import { biasOf, projection } from "./projections.ts";
import type { LayerWeights } from "./weights.ts";

/** Ops of exact gelu, x/2 · (1 + erf(x/√2)), between the feed-forward's two products. */
const GELU_OPS = new Set(["Div", "Erf", "Add", "Mul"]);
/** Ops of a LayerNorm, decomposed or not, between the attention output and the next product. */
const NORM_OPS = new Set([
  "LayerNormalization",
  "ReduceMean",
  "Sub",
  "Pow",
  "Add",
  "Sqrt",
  "Div",
  "Mul",
  "Cast",
]);

/** What the layer is checked against: the attention's sizes, and the config's ε. */
export interface LayerSizes extends AttentionSizes {
  epsilon?: number;
}

/** The weights of the layer from `x` to `y` (`where` names it in reasons). */
export function encoderLayer(
  g: GraphIndex,
  x: string,
  y: string,
  sizes: LayerSizes,
  where: string,
): LayerWeights {
  const { hidden, epsilon } = sizes;
  const { query, key, value, context } = selfAttention(g, x, sizes, where);
  const out = g.forward(
    context.outputs[0],
    new Set(["Transpose", "Reshape"]),
    (n, from) => projection(g, n, from, hidden),
  );
  check(out && out.width === hidden, `${where}: no attention output projection`);
  const [outputBias, attended] = biasOf(g, out.output, hidden);
  const up = g.forward(attended, NORM_OPS, (n, from) => projection(g, n, from, hidden));
  check(up, `${where}: no feed-forward projection`);
  const [attentionNorm, attentionSum] = normOf(g, up.input, hidden, epsilon);
  check(
    g.isSum(attentionSum, x, attended),
    `${where}: attention LayerNorm is not of the residual sum`,
  );
  const intermediate = up.width;
  const [intermediateBias, raised] = biasOf(g, up.output, intermediate);
  const ops = new Set<string>();
  const down = g.forward(raised, GELU_OPS, (n, from) => {
    const p = projection(g, n, from, intermediate);
    if (!p) ops.add(n.op);
    return p;
  });
  check(down && down.width === hidden, `${where}: no feed-forward output projection`);
  check(
    ops.has("Erf") && [...ops].every((o) => GELU_OPS.has(o)),
    `${where}: the activation is not exact gelu (${[...ops]})`,
  );
  checkGelu(g.view, raised, down.input, where);
  const [downBias, lowered] = biasOf(g, down.output, hidden);
  const [outputNorm, outputSum] = normOf(g, y, hidden, epsilon);
  check(
    g.isSum(outputSum, up.input, lowered),
    `${where}: output LayerNorm is not of the residual sum`,
  );
  return {
    query: query.weight,
    queryBias: query.bias,
    key: key.weight,
    keyBias: key.bias,
    value: value.weight,
    valueBias: value.bias,
    output: out.weight,
    outputBias,
    attentionNorm,
    intermediate: up.weight,
    intermediateBias,
    down: down.weight,
    downBias,
    outputNorm,
  };
}
