/**
 * quantize.ts's int8 forms, as the reader (bert_graph.ts) accepts them, exactly: any other
 * arrangement of int8 ops is refused with the step that differs, since the kernels compute
 * this arithmetic and nothing else (kernel_session.ts).
 *
 * | form | graph |
 * | --- | --- |
 * | projection | `DynamicQuantizeLinear(x)` → `MatMulInteger(xq, Wq int8 [in, out], x_zero)` (weight zero point absent or 0) → `Cast` to float → `Mul` by `Mul(x_scale, Ws [out])`, in place of `MatMul(x, W)` |
 * | word table | `Mul(Cast(Gather(Tq int8 [V, hidden], ids), float), Gather(Ts float [V, 1], ids))`: one scale per row |
 *
 * The int8 arrays returned are views of the model's bytes (Int8Array needs no alignment).
 *
 * @example
 * ```ts
 * import { int8Start } from "./int8.ts";
 * import { GraphIndex } from "./graph_index.ts";
 * import { readGraph } from "../onnx/graph.ts";
 * import { encodeModel } from "../onnx/writer.ts";
 * // a float graph has no int8 projection: no Mul here comes from a DynamicQuantizeLinear
 * const graph = readGraph(encodeModel({
 *   opset: 17,
 *   nodes: [{ op: "Mul", inputs: ["x", "x"], outputs: ["y"] }],
 *   initializers: [],
 *   inputs: [{ name: "x", type: "float", dims: ["n"] }],
 *   outputs: [{ name: "y", type: "float", dims: ["n"] }],
 * }));
 * console.log(int8Start(new GraphIndex(graph, () => new Uint8Array(0)), graph.nodes[0])); // undefined
 * ```
 * @module
 */
import { type GraphNode, type GraphTensor, tensorBytes } from "../onnx/graph.ts";
import { check } from "./bert_checks.ts";
import { floatConstant, numbers } from "./constants.ts";
import type { GraphIndex } from "./graph_index.ts";
import type { Projection } from "./projections.ts";
import type { Int8Matrix } from "./weights.ts";

/** TensorProto.DataType.INT8. */
const INT8 = 3;

/** An int8 initializer [rows, cols] as a view of its bytes (its size checked). */
function int8Values(g: GraphIndex, t: GraphTensor, rows: number, cols: number): Int8Array {
  const bytes = tensorBytes(t, g.readExternal);
  check(bytes.length === rows * cols, `${t.name}: ${bytes.length} bytes for ${rows} × ${cols}`);
  return new Int8Array(bytes.buffer, bytes.byteOffset, rows * cols);
}

/**
 * The int8 projection starting at `dq`, the `DynamicQuantizeLinear` of x: exactly
 * `Mul(Cast(MatMulInteger(xq, Wq, x_zero), float), Mul(x_scale, Ws))`, Wq a constant int8
 * [rows, N] with zero point 0 (absent or zeros), Ws a constant float [N]. Undefined when Wq
 * has other than `rows` rows (not a projection of this width); any other use of the
 * quantized x is refused.
 */
export function int8Projection(g: GraphIndex, dq: GraphNode, rows: number): Projection | undefined {
  const [xq, xScale, xZero] = dq.outputs;
  const mm = g.oneConsumer(xq, "MatMulInteger");
  check(
    mm.inputs[0] === xq && mm.inputs[2] === xZero,
    `${mm.outputs[0]} does not read ${xq} with its zero point`,
  );
  const zero = mm.inputs[3] ? numbers(g, mm.inputs[3]) : [0];
  check(zero?.every((z) => z === 0), `${mm.outputs[0]}: the weight's zero point is not 0`);
  const t = g.constants.get(mm.inputs[1]);
  check(t?.dataType === INT8 && t.dims.length === 2, `${mm.inputs[1]} is not an int8 matrix`);
  const [k, n] = t.dims;
  if (k !== rows) return undefined;
  const q = int8Values(g, t, k, n);
  const cast = g.oneConsumer(mm.outputs[0], "Cast");
  check(cast.attributes.get("to") === 1, `${cast.outputs[0]} is not a cast to float`);
  const mul = g.oneConsumer(cast.outputs[0], "Mul");
  const factor = g.producer.get(
    mul.inputs[0] === cast.outputs[0] ? mul.inputs[1] : mul.inputs[0],
  );
  check(
    factor?.op === "Mul" && factor.inputs.includes(xScale),
    `${mul.outputs[0]} is not scaled by ${xScale} times the weight's scales`,
  );
  const scales = floatConstant(
    g,
    factor.inputs[0] === xScale ? factor.inputs[1] : factor.inputs[0],
  );
  check(
    scales && scales[1].length === 1 && scales[1][0] === n,
    `${factor.outputs[0]}: the weight's scales are not a constant of ${n}`,
  );
  return {
    input: dq.inputs[0],
    output: mul.outputs[0],
    weight: { q, scales: scales[0] },
    width: n,
  };
}

/**
 * The `DynamicQuantizeLinear` an int8 projection's last `Mul` comes from, if `mul` is one
 * (found backwards: the pooler is read from its output).
 */
export function int8Start(g: GraphIndex, mul: GraphNode | undefined): GraphNode | undefined {
  if (mul?.op !== "Mul") return undefined;
  const cast = mul.inputs.map((i) => g.producer.get(i)).find((n) => n?.op === "Cast");
  const mm = cast && g.producer.get(cast.inputs[0]);
  const dq = mm?.op === "MatMulInteger" ? g.producer.get(mm.inputs[0]) : undefined;
  return dq?.op === "DynamicQuantizeLinear" ? dq : undefined;
}

/** An embedding lookup: a table of `rows` rows, read at `indices`. */
export interface Lookup {
  table: Float32Array | Int8Matrix;
  rows: number;
  indices: string;
}

/**
 * The int8 lookup `mul` ends, `Mul(Cast(Gather(Tq, ids), float), Gather(Ts, ids))`: Tq a
 * constant int8 [V, hidden], Ts a constant float [V, 1] (one scale per row).
 */
export function int8Lookup(g: GraphIndex, mul: GraphNode, hidden: number): Lookup {
  const [cast, scaleGather] = g.producer.get(mul.inputs[0])?.op === "Cast"
    ? [g.producer.get(mul.inputs[0]), g.producer.get(mul.inputs[1])]
    : [g.producer.get(mul.inputs[1]), g.producer.get(mul.inputs[0])];
  check(
    cast?.op === "Cast" && cast.attributes.get("to") === 1,
    `${mul.outputs[0]}: the int8 rows are not cast to float`,
  );
  const rowGather = g.producer.get(cast.inputs[0]);
  check(
    rowGather?.op === "Gather" && scaleGather?.op === "Gather" &&
      rowGather.inputs[1] === scaleGather.inputs[1] &&
      (rowGather.attributes.get("axis") ?? 0) === 0 &&
      (scaleGather.attributes.get("axis") ?? 0) === 0,
    `${mul.outputs[0]} is not an int8 embedding lookup`,
  );
  const t = g.constants.get(rowGather.inputs[0]);
  check(
    t?.dataType === INT8 && t.dims.length === 2 && t.dims[1] === hidden,
    `${rowGather.inputs[0]} is not an int8 table of width ${hidden}`,
  );
  const [v] = t.dims;
  const scales = floatConstant(g, scaleGather.inputs[0]);
  check(
    scales && scales[0].length === v && scales[1][0] === v,
    `${scaleGather.inputs[0]} is not one scale per row of ${t.name}`,
  );
  const q = int8Values(g, t, v, hidden);
  return { table: { q, scales: scales[0] }, rows: v, indices: rowGather.inputs[1] };
}
