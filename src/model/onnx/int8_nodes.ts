/**
 * What one node of an fp32 BERT graph becomes in int8 (quantize.ts has the forms and the
 * reasons): a `MatMul` or `Gemm` with a stored float weight, per-column int8 behind
 * `DynamicQuantizeLinear` and `MatMulInteger`; the `Gather` of the word embeddings, a
 * per-row int8 table and its scales. Each rewrite records its new weights and nodes in a
 * shared `Int8Rewrite`, so a weight two nodes read is quantized once.
 *
 * @example
 * ```ts
 * import { int8Rewrite, rewriteProjection } from "./int8_nodes.ts";
 * import { readGraph } from "./graph.ts";
 * import { encodeModel } from "./writer.ts";
 * const graph = readGraph(encodeModel({
 *   opset: 17,
 *   nodes: [{ op: "MatMul", inputs: ["x", "w"], outputs: ["y"] }],
 *   initializers: [{ name: "w", dims: [3, 1], data: Float32Array.of(0.5, -1, 0.25) }],
 *   inputs: [{ name: "x", type: "float", dims: ["n", 3] }],
 *   outputs: [{ name: "y", type: "float", dims: ["n", 1] }],
 * }));
 * const rewrite = int8Rewrite(graph.initializers, () => new Uint8Array(0), 127);
 * rewriteProjection(graph.nodes[0], 0, rewrite);
 * console.log(rewrite.report.projections, rewrite.rewritten.get(0)!.map((n) => n.op).join(" "));
 * // 1 DynamicQuantizeLinear MatMulInteger Cast Mul Mul
 * ```
 * @module
 */
import { FLOAT, type GraphNode, type GraphTensor, tensorFloats } from "./graph.ts";
import type { NodeSpec, TensorSpec } from "./writer.ts";

/** TensorProto.DataType.FLOAT, as Cast's `to`. */
const TO_FLOAT = 1;

/** What the rewrites of one graph gather, and the counts of what they did. */
export interface Int8Rewrite {
  /** The graph's initializers by name. */
  tensors: Map<string, GraphTensor>;
  readExternal: (location: string) => Uint8Array;
  /** 127, or 63 with `reduceRange`. */
  limit: number;
  report: {
    projections: number;
    embeddingTables: number;
    quantizedParameters: number;
    skipped: string[];
  };
  /** The int8 weights and scales to append. */
  added: TensorSpec[];
  /** Node index → the nodes that replace it. */
  rewritten: Map<number, NodeSpec[]>;
  /** Weight (ᵀ when transposed) → its int8 and scale names. */
  columns: Map<string, [string, string]>;
  /** Embedding table → its int8 and scale names. */
  rows: Map<string, [string, string]>;
  /** Counts one more rewritten node reading `name`. */
  useOf(name: string): void;
  /** How many rewritten nodes read each name. */
  replacedUses: Map<string, number>;
}

/** An empty rewrite of a graph whose initializers are `initializers`. */
export function int8Rewrite(
  initializers: GraphTensor[],
  readExternal: (location: string) => Uint8Array,
  limit: number,
  report: Int8Rewrite["report"] = {
    projections: 0,
    embeddingTables: 0,
    quantizedParameters: 0,
    skipped: [],
  },
): Int8Rewrite {
  const replacedUses = new Map<string, number>();
  return {
    tensors: new Map(initializers.map((t) => [t.name, t])),
    readExternal,
    limit,
    report,
    added: [],
    rewritten: new Map(),
    columns: new Map(),
    rows: new Map(),
    replacedUses,
    useOf: (name) => replacedUses.set(name, (replacedUses.get(name) ?? 0) + 1),
  };
}

/** Per-column symmetric int8 of W [K, N] (or of Wᵀ when `transposed`, W being [N, K]). */
function quantizeColumns(
  w: Float32Array,
  k: number,
  n: number,
  transposed: boolean,
  limit: number,
): { q: Int8Array; scales: Float32Array } {
  const at = transposed ? (r: number, c: number) => c * k + r : (r: number, c: number) => r * n + c;
  const q = new Int8Array(k * n), scales = new Float32Array(n);
  for (let c = 0; c < n; c++) {
    let max = 0;
    for (let r = 0; r < k; r++) max = Math.max(max, Math.abs(w[at(r, c)]));
    const scale = max > 0 ? max / limit : 1;
    scales[c] = scale;
    for (let r = 0; r < k; r++) {
      q[r * n + c] = Math.max(-limit, Math.min(limit, Math.round(w[at(r, c)] / scale)));
    }
  }
  return { q, scales };
}

/** Per-row symmetric int8 of a table T [V, H]; scales come as [V, 1]. */
function quantizeRows(
  t: Float32Array,
  v: number,
  h: number,
): { q: Int8Array; scales: Float32Array } {
  const q = new Int8Array(v * h), scales = new Float32Array(v);
  for (let r = 0; r < v; r++) {
    let max = 0;
    for (let c = 0; c < h; c++) max = Math.max(max, Math.abs(t[r * h + c]));
    const scale = max > 0 ? max / 127 : 1;
    scales[r] = scale;
    for (let c = 0; c < h; c++) {
      q[r * h + c] = Math.max(-127, Math.min(127, Math.round(t[r * h + c] / scale)));
    }
  }
  return { q, scales };
}

/** Why a projection node stays float, or undefined when it can be quantized. */
function projectionProblem(node: GraphNode, weight: GraphTensor | undefined): string | undefined {
  if (!weight) return "its weight is computed, not stored";
  if (weight.dataType !== FLOAT) return `its weight ${weight.name} is not float32`;
  if (weight.dims.length !== 2) return `its weight ${weight.name} is not a matrix`;
  if (node.hasSubgraph || node.domain !== "") return "not a standard node";
  if (node.op === "Gemm") {
    const a = node.attributes;
    if ((a.get("alpha") ?? 1) !== 1 || (a.get("beta") ?? 1) !== 1) return "Gemm alpha/beta ≠ 1";
    if ((a.get("transA") ?? 0) !== 0) return "Gemm with transA";
  }
  return undefined;
}

/**
 * Rewrites the `MatMul` or `Gemm` at `index` into its int8 form, or records in the report
 * why it stays float.
 */
export function rewriteProjection(node: GraphNode, index: number, rewrite: Int8Rewrite): void {
  const { tensors, readExternal, limit, report, added, rewritten, columns, useOf } = rewrite;
  const prefix = `embedge_int8/${index}`;
  const weight = tensors.get(node.inputs[1]);
  const problem = projectionProblem(node, weight);
  if (problem) {
    // attention's score and context products multiply two activations: expected
    if (weight || tensors.has(node.inputs[0])) {
      report.skipped.push(`${node.op} ${node.outputs[0]}: ${problem}`);
    }
    return;
  }
  const w = weight!;
  const transposed = node.op === "Gemm" && (node.attributes.get("transB") ?? 0) === 1;
  const [k, n] = transposed ? [w.dims[1], w.dims[0]] : [w.dims[0], w.dims[1]];
  const key = `${w.name}${transposed ? "ᵀ" : ""}`;
  if (!columns.has(key)) {
    const { q, scales } = quantizeColumns(
      tensorFloats(w, readExternal),
      k,
      n,
      transposed,
      limit,
    );
    const names: [string, string] = [`${key}_int8`, `${key}_scale`];
    added.push({ name: names[0], dims: [k, n], data: q });
    added.push({ name: names[1], dims: [n], data: scales });
    columns.set(key, names);
    report.quantizedParameters += k * n;
  }
  const [wq, ws] = columns.get(key)!;
  const bias = node.op === "Gemm" ? node.inputs[2] : undefined;
  const y = node.outputs[0], product = bias ? `${prefix}/product` : y;
  const nodes: NodeSpec[] = [
    {
      op: "DynamicQuantizeLinear",
      inputs: [node.inputs[0]],
      outputs: [`${prefix}/x`, `${prefix}/x_scale`, `${prefix}/x_zero`],
    },
    {
      op: "MatMulInteger",
      inputs: [`${prefix}/x`, wq, `${prefix}/x_zero`],
      outputs: [`${prefix}/integer`],
    },
    {
      op: "Cast",
      inputs: [`${prefix}/integer`],
      outputs: [`${prefix}/float`],
      attributes: { to: { i: TO_FLOAT } },
    },
    { op: "Mul", inputs: [`${prefix}/x_scale`, ws], outputs: [`${prefix}/scale`] },
    { op: "Mul", inputs: [`${prefix}/float`, `${prefix}/scale`], outputs: [product] },
  ];
  if (bias) nodes.push({ op: "Add", inputs: [product, bias], outputs: [y] });
  rewritten.set(index, nodes);
  useOf(w.name);
  report.projections++;
}

/**
 * Whether the node reads the word embeddings: a `Gather` of a stored float matrix by the
 * graph input `input_ids` (the table it reads, else undefined).
 */
export function wordEmbeddingTable(
  node: GraphNode,
  rewrite: Int8Rewrite,
  graphInputs: Set<string>,
): GraphTensor | undefined {
  const table = rewrite.tensors.get(node.inputs[0]);
  return node.op === "Gather" && node.inputs[1] === "input_ids" &&
      graphInputs.has("input_ids") && table?.dataType === FLOAT && table.dims.length === 2 &&
      (node.attributes.get("axis") ?? 0) === 0 && node.domain === ""
    ? table
    : undefined;
}

/** Rewrites the word-embedding `Gather` at `index` to read an int8 table and its scales. */
export function rewriteEmbedding(
  node: GraphNode,
  index: number,
  table: GraphTensor,
  rewrite: Int8Rewrite,
): void {
  const { readExternal, report, added, rewritten, rows, useOf } = rewrite;
  const prefix = `embedge_int8/${index}`;
  const [v, h] = table.dims;
  if (!rows.has(table.name)) {
    const { q, scales } = quantizeRows(tensorFloats(table, readExternal), v, h);
    const names: [string, string] = [`${table.name}_int8`, `${table.name}_scale`];
    added.push({ name: names[0], dims: [v, h], data: q });
    added.push({ name: names[1], dims: [v, 1], data: scales });
    rows.set(table.name, names);
    report.quantizedParameters += v * h;
    report.embeddingTables++;
  }
  const [tq, ts] = rows.get(table.name)!;
  rewritten.set(index, [
    { op: "Gather", inputs: [tq, "input_ids"], outputs: [`${prefix}/rows`] },
    { op: "Gather", inputs: [ts, "input_ids"], outputs: [`${prefix}/row_scale`] },
    {
      op: "Cast",
      inputs: [`${prefix}/rows`],
      outputs: [`${prefix}/rows_float`],
      attributes: { to: { i: TO_FLOAT } },
    },
    {
      op: "Mul",
      inputs: [`${prefix}/rows_float`, `${prefix}/row_scale`],
      outputs: node.outputs.slice(0, 1),
    },
  ]);
  useOf(table.name);
}
