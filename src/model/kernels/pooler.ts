/**
 * The pooler (bert_graph.ts): the `Tanh` of a dense layer producing the graph's pooler
 * output, applied to token 0 of the hidden output (a `Gather` or `Slice` along axis 1:
 * bert_checks.ts). The dense layer is a `Gemm` (its bias optional, `transB` allowed), or
 * a `MatMul` + `Add`, or the int8 form of either (int8.ts: its product is a `Mul`, and a
 * `Gemm` without a bias has no `Add` after it).
 *
 * @example
 * ```ts
 * import { poolerWeights } from "./pooler.ts";
 * import { GraphIndex } from "./graph_index.ts";
 * import { readGraph } from "../onnx/graph.ts";
 * import { bertOnnx, bertWeights } from "../fixtures/generated_bert.ts";
 * const model = bertOnnx(bertWeights({ vocabSize: 50, hidden: 8, layers: 1, heads: 2, intermediate: 16 }));
 * const index = new GraphIndex(readGraph(model), () => new Uint8Array(0));
 * const pooler = poolerWeights(index, "pooler_output", "last_hidden_state", 8);
 * console.log(pooler.bias.length); // 8
 * ```
 * @module
 */
import { check, checkPoolerToken } from "./bert_checks.ts";
import { floatConstant } from "./constants.ts";
import type { GraphIndex } from "./graph_index.ts";
import { int8Start } from "./int8.ts";
import { biasOf, projection } from "./projections.ts";
import type { BertGraphWeights } from "./weights.ts";

/** The dense layer under the `Tanh` producing `poolerOutput`, read from `hiddenOutput`. */
export function poolerWeights(
  g: GraphIndex,
  poolerOutput: string,
  hiddenOutput: string,
  hidden: number,
): NonNullable<BertGraphWeights["pooler"]> {
  const tanh = g.producer.get(poolerOutput);
  check(tanh?.op === "Tanh", `${poolerOutput} is not a Tanh`);
  const dense = g.producer.get(tanh.inputs[0]);
  if (dense?.op === "Gemm") {
    checkPoolerToken(g.view, dense.inputs[0], hiddenOutput);
    // Gemm's bias (C) is optional: absent, the product is the output
    const w = floatConstant(g, dense.inputs[1]);
    const b: [Float32Array, number[]] | undefined = dense.inputs[2]
      ? floatConstant(g, dense.inputs[2])
      : [new Float32Array(hidden), [hidden]];
    check(w && b && w[1][0] === hidden && w[1][1] === hidden, "pooler Gemm weights");
    check(b[0].length === hidden, "pooler Gemm bias");
    check(
      !dense.attributes.get("transA") && (dense.attributes.get("alpha") ?? 1) === 1 &&
        (dense.attributes.get("beta") ?? 1) === 1,
      "pooler Gemm attributes",
    );
    return {
      weight: dense.attributes.get("transB") ? transpose(w[0], hidden, hidden) : w[0],
      bias: b[0],
    };
  }
  // MatMul + Add, or the int8 form of either pooler (its product is a Mul, and a Gemm
  // without C has no Add after it)
  check(dense?.op === "Add" || dense?.op === "Mul", "pooler has no dense layer");
  const start = [dense, ...dense.inputs.map((i) => g.producer.get(i))]
    .map((n) => n?.op === "MatMul" ? n : int8Start(g, n))
    .find((n) => n !== undefined);
  check(start, "pooler has no MatMul");
  checkPoolerToken(g.view, start.inputs[0], hiddenOutput);
  const p = projection(g, start, start.inputs[0], hidden);
  check(p && p.width === hidden, "pooler weights");
  const bias = p.output === tanh.inputs[0]
    ? new Float32Array(hidden)
    : biasOf(g, p.output, hidden)[0];
  return { weight: p.weight, bias };
}

/** w [rows, cols] as [cols, rows] (a `Gemm` with `transB` stores its weight transposed). */
function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}
