/**
 * A graph's nodes indexed for the reader (bert_graph.ts): who produces each tensor, who
 * reads it, which tensors are initializers, and the few walks every part of the reader
 * makes (the one node of a kind reading a tensor, following a tensor forwards through
 * ops that do not change what it stands for, an `Add` of two given tensors).
 *
 * A graph whose nodes hold subgraphs (If, Loop, Scan) is refused when indexed: the
 * reader follows tensors by name, and a subgraph's names would escape it.
 *
 * @example
 * ```ts
 * import { GraphIndex } from "./graph_index.ts";
 * import { readGraph } from "../onnx/graph.ts";
 * import { encodeModel } from "../onnx/writer.ts";
 * // x → Reshape → MatMul(·, w): the MatMul is found by following x through the Reshape
 * const graph = readGraph(encodeModel({
 *   opset: 17,
 *   nodes: [
 *     { op: "Reshape", inputs: ["x", "shape"], outputs: ["r"] },
 *     { op: "MatMul", inputs: ["r", "w"], outputs: ["y"] },
 *   ],
 *   initializers: [{ name: "w", dims: [2, 1], data: Float32Array.of(1, 2) }],
 *   inputs: [{ name: "x", type: "float", dims: ["n", 2] }],
 *   outputs: [{ name: "y", type: "float", dims: ["n", 1] }],
 * }));
 * const index = new GraphIndex(graph, () => new Uint8Array(0));
 * const found = index.forward("x", new Set(["Reshape"]), (n) => n.op === "MatMul" ? n : undefined);
 * console.log(found?.outputs, index.constants.has("w")); // [ "y" ] true
 * ```
 * @module
 */
import type { Graph, GraphNode, GraphTensor } from "../onnx/graph.ts";
import { check, type GraphView } from "./bert_checks.ts";
import { numbers } from "./constants.ts";

/** Ops that only move or reshape values: a constant seen through them is still that constant. */
export const SHAPE_ONLY = new Set(["Reshape", "Transpose", "Squeeze", "Unsqueeze", "Identity"]);

/** A graph's producers, consumers and initializers by tensor name. */
export class GraphIndex {
  /** Initializers by name. */
  readonly constants: Map<string, GraphTensor>;
  /** The node writing each tensor. */
  readonly producer = new Map<string, GraphNode>();
  /** The nodes reading each tensor, each once, in graph order. */
  readonly consumers = new Map<string, GraphNode[]>();
  /** What bert_checks.ts reads: producers, and constants' values (constants.ts). */
  readonly view: GraphView;

  constructor(
    graph: Graph,
    /** The bytes of an external data file by the name the graph uses. */
    readonly readExternal: (location: string) => Uint8Array,
  ) {
    this.constants = new Map(graph.initializers.map((t) => [t.name, t]));
    for (const node of graph.nodes) {
      check(!node.hasSubgraph, `node ${node.op} has a subgraph`);
      for (const o of node.outputs) this.producer.set(o, node);
      for (const i of node.inputs) {
        const list = this.consumers.get(i) ?? [];
        if (!list.includes(node)) list.push(node);
        this.consumers.set(i, list);
      }
    }
    this.view = { producer: this.producer, numbers: (name) => numbers(this, name) };
  }

  /** The one item of `items` (else the graph is refused, naming `what`). */
  only<T>(items: T[], what: string): T {
    check(items.length === 1, `expected one ${what}, found ${items.length}`);
    return items[0];
  }

  /** The one consumer of `t` that is a standard `op` node (else the graph is refused). */
  oneConsumer(t: string, op: string): GraphNode {
    const found = (this.consumers.get(t) ?? []).filter((n) => n.op === op && n.domain === "");
    check(found.length === 1, `${t} is read by ${found.length} ${op} nodes, not one`);
    return found[0];
  }

  /**
   * Follows `x` forwards, breadth first, through `through` ops to the first node `stop`
   * accepts (`from`: the tensor it was reached by); what `stop` returned, else undefined.
   */
  forward<T>(
    x: string,
    through: ReadonlySet<string>,
    stop: (n: GraphNode, from: string) => T | undefined,
  ): T | undefined {
    const seen = new Set<string>();
    const queue = [x];
    while (queue.length) {
      const t = queue.shift()!;
      if (seen.has(t)) continue;
      seen.add(t);
      for (const n of this.consumers.get(t) ?? []) {
        const found = stop(n, t);
        if (found) return found;
        if (through.has(n.op)) queue.push(...n.outputs);
      }
    }
    return undefined;
  }

  /** Whether `s` is `Add(a, b)` in either order (a residual sum). */
  isSum(s: string, a: string, b: string): boolean {
    const n = this.producer.get(s);
    return n?.op === "Add" &&
      ((n.inputs[0] === a && n.inputs[1] === b) || (n.inputs[0] === b && n.inputs[1] === a));
  }
}
