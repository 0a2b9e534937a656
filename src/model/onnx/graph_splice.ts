/**
 * Writes a changed graph back into its model, on the protobuf: nodes replaced by their
 * rewrites (in place, so the graph stays topologically ordered), weights dropped or
 * appended, external-data tensors made inline; every other field is copied byte for byte.
 * quantize.ts writes its int8 graph with it; `inlineExternalData` makes one self-contained
 * file of a model that keeps its weights beside it.
 *
 * @example
 * ```ts
 * import { inlineExternalData } from "./graph_splice.ts";
 * import { encodeModel } from "./writer.ts";
 * const model = encodeModel({ opset: 17, nodes: [], initializers: [], inputs: [], outputs: [] });
 * console.log(inlineExternalData(model, () => new Uint8Array(0)).length === model.length); // true
 * ```
 * @module
 */
import { type Graph, type GraphTensor, readGraph, tensorBytes } from "./graph.ts";
import { encodeNode, encodeTensor, type NodeSpec, type TensorSpec } from "./writer.ts";
import { allFields, concat, field, varint } from "./protobuf.ts";

const GRAPH_NODE = 1, GRAPH_INITIALIZER = 5, MODEL_GRAPH = 7;
const TENSOR_RAW = 9, TENSOR_EXTERNAL = 13, TENSOR_LOCATION = 14;

/**
 * The graph message with rewritten nodes in place (keeping graph order topological),
 * dropped weights removed (from the initializers and, for old IRs, the inputs), external
 * tensors made inline and the new int8 weights appended. Every other field is copied.
 */
export function rewriteGraph(
  graph: Graph,
  rewritten: Map<number, NodeSpec[]>,
  dropped: Set<string>,
  added: TensorSpec[],
  readExternal: (location: string) => Uint8Array,
): Uint8Array {
  const nodeAt = new Map(graph.nodes.map((n, i) => [n.span[0], i]));
  const tensorAt = new Map(graph.initializers.map((t) => [t.span[0], t]));
  const droppedInputs = new Set(
    [...graph.inputs].filter(([name]) => dropped.has(name)).map(([, span]) => span[0]),
  );
  const parts: Uint8Array[] = [];
  for (const [number, , payload, start, end] of allFields(graph.graph)) {
    const copy = graph.graph.subarray(start, end);
    if (number === GRAPH_NODE && rewritten.has(nodeAt.get(start)!)) {
      for (const spec of rewritten.get(nodeAt.get(start)!)!) parts.push(field(1, encodeNode(spec)));
    } else if (number === GRAPH_INITIALIZER) {
      const t = tensorAt.get(start)!;
      if (dropped.has(t.name)) continue;
      parts.push(
        t.external
          ? field(GRAPH_INITIALIZER, inlined(t, payload as Uint8Array, readExternal))
          : copy,
      );
    } else if (!droppedInputs.has(start)) parts.push(copy);
  }
  for (const t of added) parts.push(field(GRAPH_INITIALIZER, encodeTensor(t)));
  return concat(parts);
}

/** An external tensor's TensorProto with its bytes as raw_data (any data type). */
function inlined(
  t: GraphTensor,
  body: Uint8Array,
  readExternal: (location: string) => Uint8Array,
): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [number, , , start, end] of allFields(body)) {
    if (number !== TENSOR_EXTERNAL && number !== TENSOR_LOCATION) {
      parts.push(body.subarray(start, end));
    }
  }
  parts.push(field(TENSOR_RAW, tensorBytes(t, readExternal)));
  return concat(parts);
}

/** The model with its graph field replaced by `graph` (every other field copied). */
export function spliceGraph(model: Uint8Array, old: Graph, graph: Uint8Array): Uint8Array {
  const [start, end] = old.graphSpan;
  return concat([
    model.subarray(0, start),
    Uint8Array.from([...varint(MODEL_GRAPH * 8 + 2), ...varint(graph.length)]),
    graph,
    model.subarray(end),
  ]);
}

/**
 * The model with every external-data tensor stored inline (one self-contained file; the
 * protobuf limit of 2 GB applies). `readExternal(location)` gives a data file's bytes.
 *
 * @example
 * ```ts
 * import { inlineExternalData } from "./graph_splice.ts";
 * import { encodeModel } from "./writer.ts";
 * const model = encodeModel({ opset: 17, nodes: [], initializers: [], inputs: [], outputs: [] });
 * console.log(inlineExternalData(model, () => new Uint8Array(0)).length === model.length); // true
 * ```
 */
export function inlineExternalData(
  model: Uint8Array,
  readExternal: (location: string) => Uint8Array,
): Uint8Array {
  const graph = readGraph(model);
  return spliceGraph(model, graph, rewriteGraph(graph, new Map(), new Set(), [], readExternal));
}
