/**
 * The embedding tables, found in the sum the first LayerNorm normalises (bert_graph.ts):
 * `Gather`s of constant [rows, hidden] tables (or int8.ts's int8 word lookup), told apart
 * by their indices.
 *
 * | table | indexed by |
 * | --- | --- |
 * | words | `input_ids` (the only table that may be int8: quantize.ts leaves the others float) |
 * | token types | `token_type_ids`; a graph without that input looks up zeros (then the table is the smaller of the other two, and its indices must be all zeros) |
 * | positions | the other (the larger): 0, 1, 2, … — a `Range` from 0 by 1, or an arange constant sliced from 0 |
 *
 * Worked example (the all-MiniLM-L6-v2 export, opset 18, no token_type_ids input): the sum
 * holds three lookups, `input_ids` into a [30522, 384] table (words), and two others, of
 * 512 rows (positions: `slice_2`, a slice of the arange buffer `embeddings.position_ids`)
 * and of 2 rows (types: `expand`, expanded from a slice of the zeros buffer
 * `embeddings.token_type_ids`).
 *
 * @example
 * ```ts
 * import { embeddingTables } from "./embeddings.ts";
 * import { GraphIndex } from "./graph_index.ts";
 * import { normOf } from "./layer_norm.ts";
 * import { readGraph } from "../onnx/graph.ts";
 * import { bertOnnx, bertWeights } from "../fixtures/generated_bert.ts";
 * import { encoderLayerStates } from "../onnx/layers.ts";
 * const model = bertOnnx(bertWeights({ vocabSize: 50, hidden: 8, layers: 1, heads: 2, intermediate: 16 }));
 * const index = new GraphIndex(readGraph(model), () => new Uint8Array(0));
 * const [, sum] = normOf(index, encoderLayerStates(model)[0], 0);
 * const tables = embeddingTables(index, sum, 8, ["input_ids", "attention_mask", "token_type_ids"]);
 * console.log(tables.words.rows, tables.types?.rows); // 50 2
 * ```
 * @module
 */
import { check } from "./bert_checks.ts";
import { floatConstant, numbers, scalar } from "./constants.ts";
import { type GraphIndex, SHAPE_ONLY } from "./graph_index.ts";
import { int8Lookup, type Lookup } from "./int8.ts";

/** The tables an embedding sum adds. */
export interface EmbeddingTables {
  words: Lookup;
  positions: Lookup & { table: Float32Array };
  types?: Lookup & { table: Float32Array };
}

/** The lookups summed into `sum` (an `Add` tree of `Gather`s), checked as BERT's three. */
export function embeddingTables(
  g: GraphIndex,
  sum: string,
  hidden: number,
  inputs: readonly string[],
): EmbeddingTables {
  const gathers: Lookup[] = [];
  const collect = (t: string) => {
    const n = g.producer.get(t);
    check(
      n && (n.op === "Add" || n.op === "Gather" || n.op === "Mul"),
      `embedding sum has a ${n?.op ?? "graph input"}`,
    );
    if (n.op === "Add") return n.inputs.forEach(collect);
    if (n.op === "Mul") return gathers.push(int8Lookup(g, n, hidden));
    const table = floatConstant(g, n.inputs[0]);
    check(
      table && table[1].length === 2 && table[1][1] === hidden,
      `${t} is not an embedding lookup`,
    );
    check((n.attributes.get("axis") ?? 0) === 0, `${t} gathers along another axis`);
    gathers.push({ table: table[0], rows: table[1][0], indices: n.inputs[1] });
  };
  collect(sum);
  // only the word table may be int8 (quantize.ts leaves positions and types float)
  for (const lookup of gathers) {
    check(
      lookup.indices === "input_ids" || lookup.table instanceof Float32Array,
      "an int8 embedding table other than the words'",
    );
  }
  const words = g.only(gathers.filter((l) => l.indices === "input_ids"), "word embedding");
  const typed = gathers.filter((l) => l.indices === "token_type_ids");
  const rest = gathers.filter((l) => l !== words && !typed.includes(l))
    .sort((a, b) => b.rows - a.rows);
  check(
    rest.length >= 1 && rest.length + typed.length <= 2,
    "embeddings are not words + positions + types",
  );
  const positions = rest[0] as Lookup & { table: Float32Array };
  check(countsFromZero(g, positions.indices), "position ids are not 0, 1, 2, …");
  // a graph without a token_type_ids input adds the type table's row 0 (rows of zeros ids)
  const types = (typed[0] ?? rest[1]) as (Lookup & { table: Float32Array }) | undefined;
  check(!types || typed.length > 0 || !inputs.includes("token_type_ids"), "token types unused");
  check(!types || typed.length > 0 || allZero(g, types.indices), "token type ids are not zeros");
  return { words, positions, ...(types ? { types } : {}) };
}

/** `t` holds 0, 1, 2, … (positions): a Range from 0 by 1, or such a constant, sliced from 0. */
function countsFromZero(g: GraphIndex, t: string): boolean {
  const n = g.producer.get(t);
  if (g.constants.has(t) || n?.op === "Constant") {
    return !!numbers(g, t)?.every((v, i) => v === i);
  }
  if (!n) return false;
  if (n.op === "Range") return scalar(g, n.inputs[0]) === 0 && scalar(g, n.inputs[2]) === 1;
  if (n.op === "Slice") {
    const starts = numbers(g, n.inputs[1]), steps = n.inputs[4] ? numbers(g, n.inputs[4]) : [1];
    return !!starts?.every((v) => v === 0) && !!steps?.every((v) => v === 1) &&
      countsFromZero(g, n.inputs[0]);
  }
  if (SHAPE_ONLY.has(n.op) || n.op === "Cast" || n.op === "Expand") {
    return countsFromZero(g, n.inputs[0]);
  }
  return false;
}

/** `t` holds zeros only (the token types of a graph without a token_type_ids input). */
function allZero(g: GraphIndex, t: string): boolean {
  const n = g.producer.get(t);
  const c = numbers(g, t);
  if (c) return c.every((v) => v === 0);
  if (n && (SHAPE_ONLY.has(n.op) || n.op === "Cast" || n.op === "Expand" || n.op === "Slice")) {
    return allZero(g, n.inputs[0]);
  }
  return false;
}
