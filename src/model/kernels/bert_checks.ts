/**
 * What bert_graph.ts checks about the arithmetic between the weights it finds, where the
 * structure alone would let a look-alike through: the feed-forward activation is exact gelu
 * (its constants, not only its ops), the padding mask adds 0 to real tokens and ≤ −10⁴ to
 * padding, and the pooler reads token 0 of the last hidden state. The kernels compute BERT's
 * arithmetic whatever the graph says, so a graph that says otherwise is refused (and runs on
 * onnxruntime-web): on such edited graphs the kernels were off by 0.18 (gelu's x/1 for
 * x/√2), 1.57 (x·1 for x·0.5), 1.70 and 2.77 (a mask scaled by −1 or +10000) and 1.36 (a
 * pooler of token 1).
 *
 * The activation and the mask are checked by folding: the sub-graph from one input (the
 * activation's x, the `attention_mask` input) is evaluated on single numbers, every other
 * leaf being a constant of one value, so any arrangement of the same arithmetic passes and
 * any other arithmetic does not.
 *
 * @example
 * ```ts
 * import { foldScalar } from "./bert_checks.ts";
 * import type { GraphNode } from "../onnx/graph.ts";
 * // y = (x + 1) · 3, with the constants as a graph's numbers
 * const node = (op: string, inputs: string[], output: string): GraphNode =>
 *   ({ op, domain: "", inputs, outputs: [output], attributes: new Map(), hasSubgraph: false, span: [0, 0] });
 * const nodes = [node("Add", ["x", "one"], "s"), node("Mul", ["s", "three"], "y")];
 * const view = {
 *   producer: new Map(nodes.map((n) => [n.outputs[0], n])),
 *   numbers: (name: string) => ({ one: [1], three: [3] } as Record<string, number[]>)[name],
 * };
 * console.log(foldScalar(view, "y", "x", 2)); // 9
 * ```
 * @module
 */
import type { GraphNode } from "../onnx/graph.ts";

/** Thrown inside the graph reader with the reason the graph is not recognised. */
export class Unrecognized extends Error {}

/** Refuses the graph with `reason` unless `condition` holds. */
export function check(condition: unknown, reason: string): asserts condition {
  if (!condition) throw new Unrecognized(reason);
}

/** What the checks read of a graph (bert_graph.ts gives them its maps). */
export interface GraphView {
  producer: ReadonlyMap<string, GraphNode>;
  /** A constant's values (through shape-only ops and casts), undefined for computed ones. */
  numbers(name: string): number[] | undefined;
}

/** Ops that move values without changing them: on one number, their data input. */
const MOVES = new Set(["Identity", "Reshape", "Unsqueeze", "Squeeze", "Expand", "Transpose"]);
/** Most nodes a fold visits: activations and masks take ≤ 10; more is not one of them. */
const FOLD_NODES = 64;

/** erf by its Taylor series (|x| ≤ 4: ≤ 1e-9 off in float64), ±1 beyond (1 − erf(4) < 2e-8). */
export function erf(x: number): number {
  if (Math.abs(x) > 4) return Math.sign(x);
  let term = x, sum = x;
  for (let n = 1; n < 80 && Math.abs(term) > 1e-17; n++) {
    term *= -x * x / n;
    sum += term / (2 * n + 1);
  }
  return sum * 2 / Math.sqrt(Math.PI);
}

/** An elementwise op on numbers (Cast by its `to`), or undefined when not one folded here. */
function apply(node: GraphNode, v: number[]): number | undefined {
  const [a, b] = v;
  switch (node.op) {
    case "Add":
      return a + b;
    case "Sub":
      return a - b;
    case "Mul":
      return a * b;
    case "Div":
      return a / b;
    case "Pow":
      return a ** b;
    case "Sqrt":
      return Math.sqrt(a);
    case "Neg":
      return -a;
    case "Erf":
      return erf(a);
    case "Where":
      return a ? b : v[2];
    case "Not":
      return a ? 0 : 1;
    case "Equal":
      return a === b ? 1 : 0;
    case "Less":
      return a < b ? 1 : 0;
    case "Greater":
      return a > b ? 1 : 0;
    case "Cast": {
      const to = node.attributes.get("to");
      if (to === 9) return a ? 1 : 0; // bool
      if (to === 1 || to === 10 || to === 11) return a; // float32, float16, float64
      if (to !== undefined && [2, 3, 4, 5, 6, 7, 12, 13].includes(to)) return Math.trunc(a);
      return undefined;
    }
  }
  return undefined;
}

/**
 * The value of tensor `t` when `leaf` holds `value` everywhere: the sub-graph between them
 * evaluated on one number (float64). Every other leaf must be a constant of one value, every
 * op elementwise (or one that only moves values); else the graph is refused.
 */
export function foldScalar(view: GraphView, t: string, leaf: string, value: number): number {
  const known = new Map<string, number>();
  const visit = (name: string): number => {
    if (name === leaf) return value;
    const seen = known.get(name);
    if (seen !== undefined) return seen;
    check(known.size < FOLD_NODES, `${t} is more than ${FOLD_NODES} steps from ${leaf}`);
    const constant = view.numbers(name);
    let result: number | undefined;
    if (constant) {
      check(
        constant.length > 0 && constant.every((c) => c === constant[0]),
        `${name} (on the way from ${leaf} to ${t}) is not a single value`,
      );
      result = constant[0];
    } else {
      const node = view.producer.get(name);
      check(node, `${t} depends on ${name}, not only on ${leaf}`);
      result = MOVES.has(node.op)
        ? visit(node.inputs[0])
        : apply(node, node.inputs.map((i) => visit(i)));
      check(result !== undefined, `a ${node.op} between ${leaf} and ${t}`);
    }
    known.set(name, result);
    return result;
  };
  return visit(t);
}

/** Where exact gelu, x/2 · (1 + erf(x/√2)), is checked: both signs, flat and steep parts. */
const GELU_POINTS = [-3, -1.5, -0.5, 0.25, 1, 2, 3];
/**
 * How far a graph's gelu may be from the float64 one: its constants are float32 (√2 stored
 * is 1.41421354, 2e-8 off, which moves gelu by < 1e-8 here); look-alikes are ≥ 0.01 off.
 */
const GELU_TOLERANCE = 1e-6;

/** Refuses unless `output` is exact gelu of `input` (the kernels compute nothing else). */
export function checkGelu(view: GraphView, input: string, output: string, where: string): void {
  for (const x of GELU_POINTS) {
    const y = foldScalar(view, output, input, x);
    const exact = x / 2 * (1 + erf(x / Math.SQRT2));
    check(
      Math.abs(y - exact) <= GELU_TOLERANCE,
      `${where}: the activation is not exact gelu (${y} at ${x}, gelu is ${exact})`,
    );
  }
}

/**
 * Least the mask may add to a padding key's score: the kernels add −10000, and leave it out
 * in effect (e^−10000 is 0 in float32), so a graph whose mask adds less would let padding
 * in where the kernels do not.
 */
export const MASK_LEAST = -1e4;

/** What the scores get added for a real token (mask 1) and a padding token (mask 0). */
export function maskValues(view: GraphView, added: string): [real: number, padding: number] {
  return [
    foldScalar(view, added, "attention_mask", 1),
    foldScalar(view, added, "attention_mask", 0),
  ];
}

/** Refuses unless the scores get 0 for real tokens and ≤ −10⁴ for padding. */
export function checkMask([real, padding]: [number, number], where: string): void {
  check(real === 0, `${where}: the padding mask adds ${real} to real tokens' scores, not 0`);
  check(
    padding <= MASK_LEAST,
    `${where}: the padding mask adds ${padding} to padding's scores, not ≤ ${MASK_LEAST}`,
  );
}

/**
 * Refuses unless `x` (the pooler's dense input) is token 0 of `hidden`: a `Gather` along
 * axis 1 at index 0, or a `Slice` of 0…1 along axis 1, then shape-only ops.
 */
export function checkPoolerToken(view: GraphView, x: string, hidden: string): void {
  let node = view.producer.get(x);
  while (node && (node.op === "Reshape" || node.op === "Squeeze" || node.op === "Identity")) {
    node = view.producer.get(node.inputs[0]);
  }
  check(node?.op === "Gather" || node?.op === "Slice", "the pooler reads no token of the output");
  check(node.inputs[0] === hidden, `the pooler reads ${node.inputs[0]}, not ${hidden}`);
  const one = (name: string | undefined) => {
    const v = name ? view.numbers(name) : undefined;
    return v?.length === 1 ? v[0] : undefined;
  };
  if (node.op === "Gather") {
    const index = one(node.inputs[1]);
    check(node.attributes.get("axis") === 1, "the pooler gathers along another axis than tokens");
    check(index === 0, `the pooler reads token ${index ?? "(computed)"}, not token 0`);
  } else {
    const [starts, ends, axes, steps] = node.inputs.slice(1, 5).map(one);
    check(
      starts === 0 && ends === 1 && axes === 1 && (steps ?? 1) === 1,
      "the pooler slices something other than token 0",
    );
  }
}
