/**
 * The weights of a BERT encoder, found in its ONNX graph by structure (never by names, which
 * differ between exporters), for the WASM kernels (kernel_session.ts). A graph this reader
 * does not recognise gives a reason instead, and the model runs on onnxruntime-web as before.
 *
 * How each part is found (every step checks what it assumes, and the first failed check is
 * the reason returned):
 *
 * | part | found as |
 * | --- | --- |
 * | layer boundaries | onnx/layers.ts: tensors read by three projections, then the hidden output |
 * | query, key, value | the three `MatMul`s (constant weight) reading a boundary, each with its bias `Add`; followed through `Reshape`/`Transpose`/`Mul`/`Div`, two meet in the scores `MatMul` (query = its first input), the third (value) in the `MatMul` after the `Softmax` |
 * | attention output | the first constant-weight `MatMul` after the context, with its bias |
 * | feed-forward | the next constant-weight `MatMul` (in: the attention's LayerNorm), then, through exact gelu (`Div`, `Erf`, `Add`, `Mul`, whose constants are checked by evaluating it: kernels/bert_checks.ts), the one back to the hidden size |
 * | LayerNorms | read backwards from their outputs: a `LayerNormalization` node, or the decomposed form ending in `Mul(…, gamma)` then `Add(…, beta)`; each one's input must be the residual sum |
 * | embeddings | the `Gather`s of constant tables summed into the first LayerNorm: the one indexed by `input_ids` (words), by `token_type_ids` (types), the other (positions, 0 … S−1) |
 * | pooler | the `Tanh` of a `Gemm` (or `MatMul` + `Add`) producing a pooler output, applied to token 0 of the hidden output (a `Gather` or `Slice` along axis 1) |
 * | attention arithmetic | the scalar `Mul`/`Div`s on the query and key paths and between the scores and the `Softmax` (over the last axis) multiply to 1/√head (so the config's head count must be the graph's); anything added to the scores is computed from `attention_mask` and small constants only, and adds 0 for mask 1 and ≤ −10⁴ for mask 0 (the sub-graph evaluated on both) |
 * | positions, token types | position ids are 0, 1, 2, … (a `Range` from 0 by 1, or an arange constant sliced from 0); a graph without a `token_type_ids` input looks up zeros |
 * | int8 (quantize.ts) | a projection may be `DynamicQuantizeLinear(x)` → `MatMulInteger(xq, Wq int8 [in, out], x_zero)` (weight zero point absent or 0) → `Cast` to float → `Mul` by `Mul(x_scale, Ws [out])`, in place of `MatMul(x, W)`; the word table may be `Mul(Cast(Gather(Tq int8, ids)), Gather(Ts [V, 1], ids))`. Any other arrangement of int8 ops is refused with the step that differs |
 *
 * Worked example (the all-MiniLM-L6-v2 export, opset 18): boundary `layer_norm` is read by
 * `MatMul(layer_norm, val_62)`, `(…, val_70)` and `(…, val_78)`; their `Add`s feed `view`,
 * `view_1`, `view_2`; the first two reach `MatMul(val_110, val_112)` at inputs 0 and 1
 * (query `val_62`, key `val_70`), the third reaches `MatMul(val_115, transpose_2)` (value
 * `val_78`).
 *
 * @example
 * ```ts
 * import { bertGraphWeights } from "./bert_graph.ts";
 * import { bertOnnx, bertWeights } from "../fixtures/generated_bert.ts";
 * const model = bertOnnx(bertWeights({ vocabSize: 50, hidden: 8, layers: 2, heads: 2, intermediate: 16 }));
 * const found = bertGraphWeights(model, { heads: 2 });
 * if (typeof found === "string") throw new Error(found);
 * console.log(found.layers.length, found.hidden, found.intermediate, found.pooler !== undefined); // 2 8 16 true
 * ```
 * @module
 */
import {
  type GraphNode,
  type GraphTensor,
  readGraph,
  tensorBytes,
  tensorFloats,
} from "../onnx/graph.ts";
import { encoderLayerStates } from "../onnx/layers.ts";
import {
  check,
  checkGelu,
  checkMask,
  checkPoolerToken,
  type GraphView,
  maskValues,
  Unrecognized,
} from "./bert_checks.ts";

/** A LayerNorm's parameters. */
export interface Norm {
  gamma: Float32Array;
  beta: Float32Array;
  epsilon: number;
}

/**
 * An int8 matrix as quantize.ts writes it: `q` [rows, cols] row-major, one float scale per
 * column (a projection's output column) or per row (the word-embedding table); a value
 * reads back as q × its scale.
 */
export interface Int8Matrix {
  q: Int8Array;
  scales: Float32Array;
}

/** A projection's weight: float32 [in, out], or int8 with one scale per output column. */
export type Matrix = Float32Array | Int8Matrix;

/**
 * One encoder layer: matrices as [in, out], row-major. Arrays may be views of the model's
 * bytes (read them, do not keep them past the model).
 */
export interface LayerWeights {
  query: Matrix;
  queryBias: Float32Array;
  key: Matrix;
  keyBias: Float32Array;
  value: Matrix;
  valueBias: Float32Array;
  output: Matrix;
  outputBias: Float32Array;
  attentionNorm: Norm;
  intermediate: Matrix;
  intermediateBias: Float32Array;
  down: Matrix;
  downBias: Float32Array;
  outputNorm: Norm;
}

/** What the kernels need to run a BERT graph, and the graph's tensor names they stand for. */
export interface BertGraphWeights {
  hidden: number;
  heads: number;
  intermediate: number;
  /**
   * [rows, hidden] each; `types` absent when the graph adds no token-type table. `words` is
   * int8 (one scale per row) in quantize.ts's int8 graphs.
   */
  words: Float32Array | Int8Matrix;
  wordRows: number;
  positions: Float32Array;
  positionRows: number;
  types?: Float32Array;
  typeRows: number;
  embeddingNorm: Norm;
  layers: LayerWeights[];
  pooler?: { weight: Matrix; bias: Float32Array };
  /** The graph's inputs (`input_ids`, and `attention_mask` / `token_type_ids` when present). */
  inputs: string[];
  /** Output names: the hidden output, the pooler output, the layer boundaries (0 … N−1). */
  hiddenOutput: string;
  poolerOutput?: string;
  states: string[];
}

/** Where a graph's numbers come from, and what its config says. */
export interface GraphReadOptions {
  /** `num_attention_heads` (the graph's reshapes hold it too, but not in one form). */
  heads: number;
  /**
   * `layer_norm_eps`, for LayerNorms written out as `ReduceMean`… whose ε the graph computes
   * (it is read from the graph when it is a constant; default 1e-12).
   */
  epsilon?: number;
  /** External data files by the name the graph uses. */
  readExternal?: (location: string) => Uint8Array;
  /** The graph's layer boundaries, when the caller has found them (onnx/layers.ts). */
  states?: string[];
}

/** Output names taken as the hidden states and the pooler output, in order of preference. */
export const HIDDEN_NAMES = ["last_hidden_state", "token_embeddings", "hidden_states", "output_0"];
export const POOLER_NAMES = ["pooler_output", "pooled_output", "tanh", "sentence_embedding"];

const SHAPE_ONLY = new Set(["Reshape", "Transpose", "Squeeze", "Unsqueeze", "Identity"]);
const PASS_THROUGH = new Set(["Reshape", "Transpose", "Mul", "Div", "Squeeze", "Unsqueeze"]);
/** TensorProto.DataType.INT8. */
const INT8 = 3;
const GELU_OPS = new Set(["Div", "Erf", "Add", "Mul"]);
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

/** The weights of a BERT graph, or why the graph is not one the kernels can run. */
export function bertGraphWeights(
  model: Uint8Array,
  options: GraphReadOptions,
): BertGraphWeights | string {
  try {
    return read(model, options);
  } catch (e) {
    if (e instanceof Unrecognized) return e.message;
    return `the graph could not be read: ${e instanceof Error ? e.message : e}`;
  }
}

function read(model: Uint8Array, options: GraphReadOptions): BertGraphWeights {
  const graph = readGraph(model);
  const readExternal = options.readExternal ??
    ((location: string): Uint8Array => {
      throw new Unrecognized(`external data ${location} was not given`);
    });
  const constants = new Map(graph.initializers.map((t) => [t.name, t]));
  const producer = new Map<string, GraphNode>();
  const consumers = new Map<string, GraphNode[]>();
  for (const node of graph.nodes) {
    check(!node.hasSubgraph, `node ${node.op} has a subgraph`);
    for (const o of node.outputs) producer.set(o, node);
    for (const i of node.inputs) {
      const list = consumers.get(i) ?? [];
      if (!list.includes(node)) list.push(node);
      consumers.set(i, list);
    }
  }
  const inputs = [...graph.inputs.keys()].filter((n) => !constants.has(n));
  for (const name of inputs) {
    check(
      ["input_ids", "attention_mask", "token_type_ids"].includes(name),
      `unexpected graph input ${name}`,
    );
  }
  check(inputs.includes("input_ids"), "the graph has no input_ids");
  const hiddenOutput = HIDDEN_NAMES.find((n) => graph.outputs.has(n)) ?? [...graph.outputs][0];
  const poolerOutput = POOLER_NAMES.find((n) => graph.outputs.has(n) && n !== hiddenOutput);
  for (const name of graph.outputs) {
    check(name === hiddenOutput || name === poolerOutput, `unexpected graph output ${name}`);
  }

  /** A float initializer's values and dims (not a constant: undefined). */
  const constant = (name: string): [Float32Array, number[]] | undefined => {
    const t: GraphTensor | undefined = constants.get(name);
    if (!t) return undefined;
    check(t.dataType === 1, `${name} is not float32`);
    // a view of the model's (or external file's) bytes where they are aligned: the kernels
    // copy each weight into their own memory once, so a copy here would only double the peak
    const bytes = tensorBytes(t, readExternal);
    const count = t.dims.reduce((a, b) => a * b, 1);
    if (!t.floats && bytes.byteOffset % 4 === 0 && bytes.length === count * 4) {
      return [new Float32Array(bytes.buffer, bytes.byteOffset, count), t.dims];
    }
    return [tensorFloats(t, readExternal), t.dims];
  };
  const only = <T>(items: T[], what: string): T => {
    check(items.length === 1, `expected one ${what}, found ${items.length}`);
    return items[0];
  };
  /** `Add(x, bias)` after a projection: the bias and the sum. */
  const biasOf = (x: string, width: number): [Float32Array, string] => {
    const add = only((consumers.get(x) ?? []).filter((n) => n.op === "Add"), `bias Add of ${x}`);
    const other = add.inputs[0] === x ? add.inputs[1] : add.inputs[0];
    const bias = constant(other);
    check(bias && bias[1].length === 1 && bias[1][0] === width, `${add.outputs[0]} adds no bias`);
    return [bias[0], add.outputs[0]];
  };
  /**
   * A projection of `x` by a constant W of `rows` rows: `MatMul(x, W)`, or its int8 form
   * (int8Projection) starting at the `DynamicQuantizeLinear` of x. Its input (x), output
   * (the product, before any bias) and weight; undefined when `node` starts neither.
   */
  const projection = (
    node: GraphNode,
    x: string,
    rows: number,
  ): { input: string; output: string; weight: Matrix; width: number } | undefined => {
    if (node.domain !== "" || node.inputs[0] !== x) return undefined;
    if (node.op === "DynamicQuantizeLinear") return int8Projection(node, rows);
    if (node.op !== "MatMul") return undefined;
    const w = constant(node.inputs[1]);
    if (!w || w[1].length !== 2 || w[1][0] !== rows) return undefined;
    return { input: x, output: node.outputs[0], weight: w[0], width: w[1][1] };
  };
  /** The `DynamicQuantizeLinear` an int8 projection's last `Mul` comes from, if it is one. */
  const int8Start = (mul: GraphNode | undefined): GraphNode | undefined => {
    if (mul?.op !== "Mul") return undefined;
    const cast = mul.inputs.map((i) => producer.get(i)).find((n) => n?.op === "Cast");
    const mm = cast && producer.get(cast.inputs[0]);
    const dq = mm?.op === "MatMulInteger" ? producer.get(mm.inputs[0]) : undefined;
    return dq?.op === "DynamicQuantizeLinear" ? dq : undefined;
  };
  /** The one consumer of `t` that is a standard `op` node (else the graph is refused). */
  const oneConsumer = (t: string, op: string): GraphNode => {
    const found = (consumers.get(t) ?? []).filter((n) => n.op === op && n.domain === "");
    check(found.length === 1, `${t} is read by ${found.length} ${op} nodes, not one`);
    return found[0];
  };
  /**
   * quantize.ts's int8 projection from its `DynamicQuantizeLinear` (`dq`) of x: exactly
   * `Mul(Cast(MatMulInteger(xq, Wq, x_zero), float), Mul(x_scale, Ws))`, Wq a constant int8
   * [rows, N] with zero point 0 (absent or zeros), Ws a constant float [N]. The kernels
   * compute that arithmetic (kernel_session.ts); any other use of the quantized x is refused.
   */
  const int8Projection = (dq: GraphNode, rows: number) => {
    const [xq, xScale, xZero] = dq.outputs;
    const mm = oneConsumer(xq, "MatMulInteger");
    check(
      mm.inputs[0] === xq && mm.inputs[2] === xZero,
      `${mm.outputs[0]} does not read ${xq} with its zero point`,
    );
    const zero = mm.inputs[3] ? numbers(mm.inputs[3]) : [0];
    check(zero?.every((z) => z === 0), `${mm.outputs[0]}: the weight's zero point is not 0`);
    const t = constants.get(mm.inputs[1]);
    check(t?.dataType === INT8 && t.dims.length === 2, `${mm.inputs[1]} is not an int8 matrix`);
    const [k, n] = t.dims;
    if (k !== rows) return undefined;
    const bytes = tensorBytes(t, readExternal);
    check(bytes.length === k * n, `${t.name}: ${bytes.length} bytes for ${k} × ${n}`);
    const cast = oneConsumer(mm.outputs[0], "Cast");
    check(cast.attributes.get("to") === 1, `${cast.outputs[0]} is not a cast to float`);
    const mul = oneConsumer(cast.outputs[0], "Mul");
    const factor = producer.get(mul.inputs[0] === cast.outputs[0] ? mul.inputs[1] : mul.inputs[0]);
    check(
      factor?.op === "Mul" && factor.inputs.includes(xScale),
      `${mul.outputs[0]} is not scaled by ${xScale} times the weight's scales`,
    );
    const scales = constant(factor.inputs[0] === xScale ? factor.inputs[1] : factor.inputs[0]);
    check(
      scales && scales[1].length === 1 && scales[1][0] === n,
      `${factor.outputs[0]}: the weight's scales are not a constant of ${n}`,
    );
    const q = new Int8Array(bytes.buffer, bytes.byteOffset, k * n);
    return {
      input: dq.inputs[0],
      output: mul.outputs[0],
      weight: { q, scales: scales[0] },
      width: n,
    };
  };
  /** Follows `x` forwards through `through` ops to the first node `stop` accepts. */
  const forward = <T>(x: string, through: Set<string>, stop: (n: GraphNode, from: string) => T) => {
    const seen = new Set<string>();
    const queue = [x];
    while (queue.length) {
      const t = queue.shift()!;
      if (seen.has(t)) continue;
      seen.add(t);
      for (const n of consumers.get(t) ?? []) {
        const found = stop(n, t);
        if (found) return found;
        if (through.has(n.op)) queue.push(...n.outputs);
      }
    }
    return undefined;
  };
  /** The LayerNorm producing `y`: its parameters and input (`width` 0: not checked). */
  const normOf = (y: string, width: number): [Norm, string] => {
    let node = producer.get(y);
    while (node?.op === "Identity") node = producer.get(node.inputs[0]);
    check(node, `${y} has no producer`);
    if (node.op === "LayerNormalization") {
      const gamma = constant(node.inputs[1]), beta = constant(node.inputs[2]);
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
    const [betaName, scaled] = constants.has(node.inputs[1])
      ? [node.inputs[1], node.inputs[0]]
      : [node.inputs[0], node.inputs[1]];
    const mul = producer.get(scaled);
    check(mul?.op === "Mul", `${y} is not a LayerNorm output (no scale)`);
    const [gammaName, normed] = constants.has(mul.inputs[1])
      ? [mul.inputs[1], mul.inputs[0]]
      : [mul.inputs[0], mul.inputs[1]];
    const div = producer.get(normed), sub = div && producer.get(div.inputs[0]);
    check(div?.op === "Div" && sub?.op === "Sub", `${y} is not a LayerNorm output (no Sub/Div)`);
    const mean = producer.get(sub.inputs[1]);
    check(
      mean?.op === "ReduceMean" && mean.inputs[0] === sub.inputs[0],
      `${y} is not a LayerNorm output (no mean)`,
    );
    const gamma = constant(gammaName), beta = constant(betaName);
    check(gamma && beta, `LayerNorm ${y} has no constant scale and bias`);
    check(
      !width || (gamma[0].length === width && beta[0].length === width),
      `LayerNorm ${y} width`,
    );
    // the denominator: Sqrt(Add(ReduceMean(Pow(Sub, 2)), epsilon))
    const sqrt = producer.get(div.inputs[1]);
    const plus = sqrt?.op === "Sqrt" ? producer.get(sqrt.inputs[0]) : undefined;
    check(plus?.op === "Add", `${y} is not a LayerNorm output (no √(variance + ε))`);
    const [epsilonName, varianceName] = scalar(plus.inputs[1]) !== undefined
      ? [plus.inputs[1], plus.inputs[0]]
      : [plus.inputs[0], plus.inputs[1]];
    const variance = producer.get(varianceName);
    const square = variance?.op === "ReduceMean" ? producer.get(variance.inputs[0]) : undefined;
    check(
      square?.op === "Pow" && square.inputs[0] === div.inputs[0] && scalar(square.inputs[1]) === 2,
      `${y} is not a LayerNorm output (no variance)`,
    );
    const epsilon = scalar(epsilonName) ?? options.epsilon ?? 1e-12;
    return [{ gamma: gamma[0], beta: beta[0], epsilon }, sub.inputs[0]];
  };
  /** `s` is `Add(a, b)` in either order. */
  const isSum = (s: string, a: string, b: string) => {
    const n = producer.get(s);
    return n?.op === "Add" &&
      ((n.inputs[0] === a && n.inputs[1] === b) || (n.inputs[0] === b && n.inputs[1] === a));
  };

  /** A tensor's values as numbers (float32, float64, int32 or int64). */
  const tensorNumbers = (t: GraphTensor): number[] | undefined => {
    if (t.int64s) return t.int64s;
    const bytes = t.floats ?? tensorBytes(t, readExternal);
    const view = (T: { new (b: ArrayBuffer): ArrayLike<number | bigint> }) =>
      Array.from(new T(bytes.slice().buffer), Number);
    if (t.floats || t.dataType === 1) return view(Float32Array);
    if (t.dataType === 7) return view(BigInt64Array);
    if (t.dataType === 6) return view(Int32Array);
    if (t.dataType === 11) return view(Float64Array);
    return undefined;
  };
  /**
   * The values of a constant (initializer, Constant node, ConstantOfShape's one value),
   * through shape-only ops and casts; undefined for a computed tensor.
   */
  const numbers = (name: string): number[] | undefined => {
    const t = constants.get(name);
    if (t) return tensorNumbers(t);
    const n = producer.get(name);
    if (n?.op === "Constant") return n.value ? tensorNumbers(n.value) : undefined;
    if (n?.op === "ConstantOfShape") return n.value ? tensorNumbers(n.value) : [0];
    if (n && (SHAPE_ONLY.has(n.op) || n.op === "Cast")) return numbers(n.inputs[0]);
    return undefined;
  };
  const view: GraphView = { producer, numbers };
  const scalar = (name: string) => {
    const v = numbers(name);
    return v?.length === 1 ? v[0] : undefined;
  };
  /**
   * What a `Mul` or `Div` by a scalar constant does to its other operand: [the factor, that
   * operand]. A `Mul`'s constant may be either input, a `Div`'s only the divisor.
   */
  const scalarFactor = (n: GraphNode): [number, string] => {
    const divisor = scalar(n.inputs[1]);
    const [c, data] = divisor !== undefined
      ? [divisor, n.inputs[0]]
      : [n.op === "Mul" ? scalar(n.inputs[0]) : undefined, n.inputs[1]];
    check(c !== undefined, `${n.op} ${n.outputs[0]} is not by a constant`);
    return [n.op === "Mul" ? c : 1 / c, data];
  };
  /** The scalar factor `Mul`/`Div` nodes apply from `from` back to `to` (through reshapes). */
  const scaleBack = (from: string, to: string): number => {
    let factor = 1;
    for (let t = from; t !== to;) {
      const n = producer.get(t);
      check(n, `${t} does not lead back to ${to}`);
      if (SHAPE_ONLY.has(n.op)) t = n.inputs[0];
      else if (n.op === "Mul" || n.op === "Div") {
        const [f, data] = scalarFactor(n);
        factor *= f;
        t = data;
      } else check(false, `a ${n.op} between a projection and the scores`);
    }
    return factor;
  };
  /** Whether `t` is computed from the attention_mask input and small constants only. */
  const fromMask = (t: string): boolean => {
    let mask = false;
    const seen = new Set<string>(), queue = [t];
    while (queue.length) {
      const x = queue.pop()!;
      if (seen.has(x)) continue;
      seen.add(x);
      if (x === "attention_mask") mask = true;
      else if (x === "input_ids") continue; // its shape, at most
      const c = constants.get(x);
      if (c) {
        if (c.dims.reduce((a, b) => a * b, 1) > 64) return false;
        continue;
      }
      const n = producer.get(x);
      if (!n) continue;
      // learned numbers (a product, a looked-up table) make it a bias, not a mask
      if (n.op === "MatMul" || n.op === "Gemm") return false;
      const table = n.op === "Gather" ? constants.get(n.inputs[0]) : undefined;
      if (table && table.dims.reduce((a, b) => a * b, 1) > 64) return false;
      queue.push(...n.inputs.filter((i) => i !== ""));
    }
    return mask;
  };
  /**
   * The scalar factors between the scores and their Softmax (whose output is `softmax`), and
   * what is added to the scores on the way for a real token and for padding (later factors
   * scale it too).
   */
  const scaleToSoftmax = (scores: string, softmax: string): [number, [number, number]] => {
    let factor = 1;
    const added: [number, number] = [0, 0];
    for (let t = scores, steps = 0; steps < 8; steps++) {
      const next = consumers.get(t) ?? [];
      check(next.length === 1, `scores ${t} are read by ${next.length} nodes`);
      const n = next[0];
      const other = n.inputs[0] === t ? n.inputs[1] : n.inputs[0];
      if (n.op === "Softmax") {
        const axis = n.attributes.get("axis") ?? -1;
        check(n.outputs[0] === softmax, "the scores reach another Softmax");
        check(axis === -1 || axis === 3 || axis >= 2 ** 63, "the Softmax is not over the keys");
        return [factor, added];
      } else if (n.op === "Mul" || (n.op === "Div" && n.inputs[0] === t)) {
        const [f, data] = scalarFactor(n);
        check(data === t, `${n.op} ${n.outputs[0]} is not by a constant`);
        factor *= f;
        added[0] *= f;
        added[1] *= f;
      } else if (n.op === "Add") {
        check(fromMask(other), `the scores get ${other} added, which is not the padding mask`);
        const [real, padding] = maskValues(view, other);
        added[0] += real;
        added[1] += padding;
      } else check(false, `a ${n.op} between the scores and the Softmax`);
      t = n.outputs[0];
    }
    check(false, "no Softmax after the scores");
    return [factor, added];
  };
  /** `t` holds 0, 1, 2, … (positions): a Range from 0 by 1, or such a constant, sliced from 0. */
  const countsFromZero = (t: string): boolean => {
    const n = producer.get(t);
    if (constants.has(t) || n?.op === "Constant") {
      return !!numbers(t)?.every((v, i) => v === i);
    }
    if (!n) return false;
    if (n.op === "Range") return scalar(n.inputs[0]) === 0 && scalar(n.inputs[2]) === 1;
    if (n.op === "Slice") {
      const starts = numbers(n.inputs[1]), steps = n.inputs[4] ? numbers(n.inputs[4]) : [1];
      return !!starts?.every((v) => v === 0) && !!steps?.every((v) => v === 1) &&
        countsFromZero(n.inputs[0]);
    }
    if (SHAPE_ONLY.has(n.op) || n.op === "Cast" || n.op === "Expand") {
      return countsFromZero(n.inputs[0]);
    }
    return false;
  };
  /** `t` holds zeros only (the token types of a graph without a token_type_ids input). */
  const allZero = (t: string): boolean => {
    const n = producer.get(t);
    const c = numbers(t);
    if (c) return c.every((v) => v === 0);
    if (n && (SHAPE_ONLY.has(n.op) || n.op === "Cast" || n.op === "Expand" || n.op === "Slice")) {
      return allZero(n.inputs[0]);
    }
    return false;
  };

  const states = options.states ?? encoderLayerStates(model);
  check(states.length > 0, "no encoder layer boundaries");
  const boundaries = [...states, hiddenOutput];

  // embeddings: LayerNorm(Σ Gather(table, indices))
  const [embeddingNorm, embeddingSum] = normOf(states[0], 0);
  const hidden = embeddingNorm.gamma.length;
  check(
    options.heads > 0 && hidden % options.heads === 0,
    `hidden ${hidden} is not divisible by ${options.heads} heads`,
  );
  const headSize = hidden / options.heads;
  check(embeddingNorm.beta.length === hidden, "embedding LayerNorm widths differ");
  const gathers: { table: Float32Array | Int8Matrix; rows: number; indices: string }[] = [];
  const collect = (t: string) => {
    const n = producer.get(t);
    check(
      n && (n.op === "Add" || n.op === "Gather" || n.op === "Mul"),
      `embedding sum has a ${n?.op ?? "graph input"}`,
    );
    if (n.op === "Add") return n.inputs.forEach(collect);
    if (n.op === "Mul") return gathers.push(int8Lookup(n));
    const table = constant(n.inputs[0]);
    check(
      table && table[1].length === 2 && table[1][1] === hidden,
      `${t} is not an embedding lookup`,
    );
    check((n.attributes.get("axis") ?? 0) === 0, `${t} gathers along another axis`);
    gathers.push({ table: table[0], rows: table[1][0], indices: n.inputs[1] });
  };
  /**
   * quantize.ts's int8 lookup, `Mul(Cast(Gather(Tq, ids), float), Gather(Ts, ids))`: Tq a
   * constant int8 [V, hidden], Ts a constant float [V, 1] (one scale per row).
   */
  const int8Lookup = (mul: NonNullable<ReturnType<typeof producer.get>>) => {
    const [cast, scaleGather] = producer.get(mul.inputs[0])?.op === "Cast"
      ? [producer.get(mul.inputs[0]), producer.get(mul.inputs[1])]
      : [producer.get(mul.inputs[1]), producer.get(mul.inputs[0])];
    check(
      cast?.op === "Cast" && cast.attributes.get("to") === 1,
      `${mul.outputs[0]}: the int8 rows are not cast to float`,
    );
    const rowGather = producer.get(cast.inputs[0]);
    check(
      rowGather?.op === "Gather" && scaleGather?.op === "Gather" &&
        rowGather.inputs[1] === scaleGather.inputs[1] &&
        (rowGather.attributes.get("axis") ?? 0) === 0 &&
        (scaleGather.attributes.get("axis") ?? 0) === 0,
      `${mul.outputs[0]} is not an int8 embedding lookup`,
    );
    const t = constants.get(rowGather.inputs[0]);
    check(
      t?.dataType === INT8 && t.dims.length === 2 && t.dims[1] === hidden,
      `${rowGather.inputs[0]} is not an int8 table of width ${hidden}`,
    );
    const [v] = t.dims;
    const scales = constant(scaleGather.inputs[0]);
    check(
      scales && scales[0].length === v && scales[1][0] === v,
      `${scaleGather.inputs[0]} is not one scale per row of ${t.name}`,
    );
    const bytes = tensorBytes(t, readExternal);
    check(bytes.length === v * hidden, `${t.name}: ${bytes.length} bytes for ${v} × ${hidden}`);
    const q = new Int8Array(bytes.buffer, bytes.byteOffset, v * hidden);
    return { table: { q, scales: scales[0] }, rows: v, indices: rowGather.inputs[1] };
  };
  collect(embeddingSum);
  // only the word table may be int8 (quantize.ts leaves positions and types float)
  for (const g of gathers) {
    check(
      g.indices === "input_ids" || g.table instanceof Float32Array,
      "an int8 embedding table other than the words'",
    );
  }
  const words = only(gathers.filter((g) => g.indices === "input_ids"), "word embedding");
  const typed = gathers.filter((g) => g.indices === "token_type_ids");
  const rest = gathers.filter((g) => g !== words && !typed.includes(g))
    .sort((a, b) => b.rows - a.rows);
  check(
    rest.length >= 1 && rest.length + typed.length <= 2,
    "embeddings are not words + positions + types",
  );
  const positions = rest[0] as { table: Float32Array; rows: number; indices: string };
  check(countsFromZero(positions.indices), "position ids are not 0, 1, 2, …");
  // a graph without a token_type_ids input adds the type table's row 0 (rows of zeros ids)
  const types = typed[0] ?? rest[1];
  check(!types || typed.length > 0 || !inputs.includes("token_type_ids"), "token types unused");
  check(!types || typed.length > 0 || allZero(types.indices), "token type ids are not zeros");

  const layers: LayerWeights[] = [];
  let intermediate = 0;
  for (let l = 0; l < states.length; l++) {
    const x = boundaries[l], y = boundaries[l + 1];
    const projections = (consumers.get(x) ?? [])
      .map((n) => projection(n, x, hidden))
      .filter((p) => p !== undefined);
    check(projections.length === 3, `layer ${l}: ${projections.length} projections of ${x}`);
    const heads = projections.map((p) => {
      check(p.width === hidden, `layer ${l}: a projection of width ${p.width}`);
      const [bias, sum] = biasOf(p.output, hidden);
      const reached = forward(
        sum,
        PASS_THROUGH,
        (n, from) =>
          (n.op === "MatMul" || n.op === "FusedMatMul")
            ? { node: n, index: n.inputs.indexOf(from) }
            : undefined,
      );
      check(reached, `layer ${l}: ${sum} reaches no attention product`);
      return { ...p, bias, sum, reached };
    });
    const scores = heads.filter((h) =>
      heads.some((o) => o !== h && o.reached.node === h.reached.node)
    );
    const value = heads.find((h) => !scores.includes(h));
    check(scores.length === 2 && value, `layer ${l}: query and key not found`);
    const [query, key] = scores[0].reached.index === 0 ? scores : [scores[1], scores[0]];
    check(query.reached.index === 0 && key.reached.index === 1, `layer ${l}: scores operand order`);
    const context = value.reached.node;
    check(value.reached.index === 1, `layer ${l}: value is not the second operand`);
    check(
      producer.get(context.inputs[0])?.op === "Softmax",
      `layer ${l}: no softmax before the context`,
    );
    const product = query.reached.node;
    check(
      product.op === "MatMul" && product.domain === "",
      `layer ${l}: scores are a ${product.op}`,
    );
    // the kernels scale scores by 1/√head and add BERT's padding mask, nothing else
    const [afterScores, masked] = scaleToSoftmax(product.outputs[0], context.inputs[0]);
    const scale = scaleBack(product.inputs[0], query.sum) * scaleBack(product.inputs[1], key.sum) *
      afterScores;
    check(
      Math.abs(scale * Math.sqrt(headSize) - 1) < 1e-3,
      `layer ${l}: attention scale ${scale} is not 1/√${headSize}`,
    );
    // without an attention_mask input the kernels mask nothing, and the graph adds nothing
    if (inputs.includes("attention_mask")) checkMask(masked, `layer ${l}`);
    const out = forward(
      context.outputs[0],
      new Set(["Transpose", "Reshape"]),
      (n, from) => projection(n, from, hidden),
    );
    check(out && out.width === hidden, `layer ${l}: no attention output projection`);
    const [outputBias, attended] = biasOf(out.output, hidden);
    const up = forward(attended, NORM_OPS, (n, from) => projection(n, from, hidden));
    check(up, `layer ${l}: no feed-forward projection`);
    const [attentionNorm, attentionSum] = normOf(up.input, hidden);
    check(
      isSum(attentionSum, x, attended),
      `layer ${l}: attention LayerNorm is not of the residual sum`,
    );
    intermediate = up.width;
    const [intermediateBias, raised] = biasOf(up.output, intermediate);
    const ops = new Set<string>();
    const down = forward(raised, GELU_OPS, (n, from) => {
      const p = projection(n, from, intermediate);
      if (!p) ops.add(n.op);
      return p;
    });
    check(down && down.width === hidden, `layer ${l}: no feed-forward output projection`);
    check(
      ops.has("Erf") && [...ops].every((o) => GELU_OPS.has(o)),
      `layer ${l}: the activation is not exact gelu (${[...ops]})`,
    );
    checkGelu(view, raised, down.input, `layer ${l}`);
    const [downBias, lowered] = biasOf(down.output, hidden);
    const [outputNorm, outputSum] = normOf(y, hidden);
    check(
      isSum(outputSum, up.input, lowered),
      `layer ${l}: output LayerNorm is not of the residual sum`,
    );
    layers.push({
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
    });
  }

  let pooler: BertGraphWeights["pooler"];
  if (poolerOutput) {
    const tanh = producer.get(poolerOutput);
    check(tanh?.op === "Tanh", `${poolerOutput} is not a Tanh`);
    const dense = producer.get(tanh.inputs[0]);
    if (dense?.op === "Gemm") {
      checkPoolerToken(view, dense.inputs[0], hiddenOutput);
      // Gemm's bias (C) is optional: absent, the product is the output
      const w = constant(dense.inputs[1]);
      const b: [Float32Array, number[]] | undefined = dense.inputs[2]
        ? constant(dense.inputs[2])
        : [new Float32Array(hidden), [hidden]];
      check(w && b && w[1][0] === hidden && w[1][1] === hidden, "pooler Gemm weights");
      check(b[0].length === hidden, "pooler Gemm bias");
      check(
        !dense.attributes.get("transA") && (dense.attributes.get("alpha") ?? 1) === 1 &&
          (dense.attributes.get("beta") ?? 1) === 1,
        "pooler Gemm attributes",
      );
      pooler = {
        weight: dense.attributes.get("transB") ? transpose(w[0], hidden, hidden) : w[0],
        bias: b[0],
      };
    } else {
      // MatMul + Add, or the int8 form of either pooler (its product is a Mul, and a Gemm
      // without C has no Add after it)
      check(dense?.op === "Add" || dense?.op === "Mul", "pooler has no dense layer");
      const start = [dense, ...dense.inputs.map((i) => producer.get(i))]
        .map((n) => n?.op === "MatMul" ? n : int8Start(n))
        .find((n) => n !== undefined);
      check(start, "pooler has no MatMul");
      checkPoolerToken(view, start.inputs[0], hiddenOutput);
      const p = projection(start, start.inputs[0], hidden);
      check(p && p.width === hidden, "pooler weights");
      const bias = p.output === tanh.inputs[0]
        ? new Float32Array(hidden)
        : biasOf(p.output, hidden)[0];
      pooler = { weight: p.weight, bias };
    }
  }
  return {
    hidden,
    heads: options.heads,
    intermediate,
    words: words.table,
    wordRows: words.rows,
    positions: positions.table,
    positionRows: positions.rows,
    ...(types ? { types: types.table as Float32Array } : {}),
    typeRows: types?.rows ?? 0,
    embeddingNorm,
    layers,
    ...(pooler ? { pooler } : {}),
    inputs,
    hiddenOutput,
    ...(poolerOutput ? { poolerOutput } : {}),
    states,
  };
}

function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}
