/**
 * The weights of a BERT encoder, found in its ONNX graph by structure (never by names, which
 * differ between exporters), for the WASM kernels (kernel_session.ts). A graph this reader
 * does not recognise gives a reason instead, and the model runs on onnxruntime-web as before.
 *
 * How each part is found (every step checks what it assumes, and the first failed check is
 * the reason returned):
 *
 * | part | found as | in |
 * | --- | --- | --- |
 * | layer boundaries | onnx/layers.ts: tensors read by three projections, then the hidden output | onnx/layers.ts |
 * | query, key, value | the three `MatMul`s (constant weight) reading a boundary, each with its bias `Add`; followed through `Reshape`/`Transpose`/`Mul`/`Div`, two meet in the scores `MatMul` (query = its first input), the third (value) in the `MatMul` after the `Softmax` | attention.ts |
 * | attention output | the first constant-weight `MatMul` after the context, with its bias | encoder_layer.ts |
 * | feed-forward | the next constant-weight `MatMul` (in: the attention's LayerNorm), then, through exact gelu (`Div`, `Erf`, `Add`, `Mul`, whose constants are checked by evaluating it: kernels/bert_checks.ts), the one back to the hidden size | encoder_layer.ts |
 * | LayerNorms | read backwards from their outputs: a `LayerNormalization` node, or the decomposed form ending in `Mul(…, gamma)` then `Add(…, beta)`; each one's input must be the residual sum | layer_norm.ts |
 * | embeddings | the `Gather`s of constant tables summed into the first LayerNorm: the one indexed by `input_ids` (words), by `token_type_ids` (types), the other (positions, 0 … S−1) | embeddings.ts |
 * | pooler | the `Tanh` of a `Gemm` (or `MatMul` + `Add`) producing a pooler output, applied to token 0 of the hidden output (a `Gather` or `Slice` along axis 1) | pooler.ts |
 * | attention arithmetic | the scalar `Mul`/`Div`s on the query and key paths and between the scores and the `Softmax` (over the last axis) multiply to 1/√head (so the config's head count must be the graph's); anything added to the scores is computed from `attention_mask` and small constants only, and adds 0 for mask 1 and ≤ −10⁴ for mask 0 (the sub-graph evaluated on both) | attention.ts |
 * | positions, token types | position ids are 0, 1, 2, … (a `Range` from 0 by 1, or an arange constant sliced from 0); a graph without a `token_type_ids` input looks up zeros | embeddings.ts |
 * | int8 (quantize.ts) | a projection may be `DynamicQuantizeLinear(x)` → `MatMulInteger(xq, Wq int8 [in, out], x_zero)` (weight zero point absent or 0) → `Cast` to float → `Mul` by `Mul(x_scale, Ws [out])`, in place of `MatMul(x, W)`; the word table may be `Mul(Cast(Gather(Tq int8, ids)), Gather(Ts [V, 1], ids))`. Any other arrangement of int8 ops is refused with the step that differs | int8.ts |
 *
 * The parts read the graph through one index (graph_index.ts: producers, consumers,
 * initializers) and its constants (constants.ts). Weights are views of the model's bytes
 * where they can be (the kernels copy each into their memory once).
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
import { readGraph } from "../onnx/graph.ts";
import { encoderLayerStates } from "../onnx/layers.ts";
import { check, Unrecognized } from "./bert_checks.ts";
import { embeddingTables } from "./embeddings.ts";
import { encoderLayer } from "./encoder_layer.ts";
import { GraphIndex } from "./graph_index.ts";
import { normOf } from "./layer_norm.ts";
import { poolerWeights } from "./pooler.ts";
import type { BertGraphWeights, GraphReadOptions, LayerWeights } from "./weights.ts";

export type {
  BertGraphWeights,
  GraphReadOptions,
  Int8Matrix,
  LayerWeights,
  Matrix,
  Norm,
} from "./weights.ts";

/** Output names taken as the hidden states and the pooler output, in order of preference. */
export const HIDDEN_NAMES = ["last_hidden_state", "token_embeddings", "hidden_states", "output_0"];
export const POOLER_NAMES = ["pooler_output", "pooled_output", "tanh", "sentence_embedding"];

/** The inputs embedge feeds; a graph asking for another is not BERT as the kernels run it. */
const KNOWN_INPUTS = ["input_ids", "attention_mask", "token_type_ids"];

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

/** Every part, in the order of the checks (the first failed one is the reason). */
function read(model: Uint8Array, options: GraphReadOptions): BertGraphWeights {
  const graph = readGraph(model);
  const readExternal = options.readExternal ??
    ((location: string): Uint8Array => {
      throw new Unrecognized(`external data ${location} was not given`);
    });
  const g = new GraphIndex(graph, readExternal);
  const inputs = [...graph.inputs.keys()].filter((n) => !g.constants.has(n));
  for (const name of inputs) check(KNOWN_INPUTS.includes(name), `unexpected graph input ${name}`);
  check(inputs.includes("input_ids"), "the graph has no input_ids");
  const hiddenOutput = HIDDEN_NAMES.find((n) => graph.outputs.has(n)) ?? [...graph.outputs][0];
  const poolerOutput = POOLER_NAMES.find((n) => graph.outputs.has(n) && n !== hiddenOutput);
  for (const name of graph.outputs) {
    check(name === hiddenOutput || name === poolerOutput, `unexpected graph output ${name}`);
  }

  const states = options.states ?? encoderLayerStates(model);
  check(states.length > 0, "no encoder layer boundaries");
  const boundaries = [...states, hiddenOutput];

  // embeddings: LayerNorm(Σ Gather(table, indices)); its width is the hidden size
  const [embeddingNorm, embeddingSum] = normOf(g, states[0], 0, options.epsilon);
  const hidden = embeddingNorm.gamma.length;
  check(
    options.heads > 0 && hidden % options.heads === 0,
    `hidden ${hidden} is not divisible by ${options.heads} heads`,
  );
  check(embeddingNorm.beta.length === hidden, "embedding LayerNorm widths differ");
  const { words, positions, types } = embeddingTables(g, embeddingSum, hidden, inputs);

  const sizes = {
    hidden,
    heads: options.heads,
    masked: inputs.includes("attention_mask"),
    ...(options.epsilon !== undefined ? { epsilon: options.epsilon } : {}),
  };
  const layers: LayerWeights[] = states.map((x, l) =>
    encoderLayer(g, x, boundaries[l + 1], sizes, `layer ${l}`)
  );
  const pooler = poolerOutput ? poolerWeights(g, poolerOutput, hiddenOutput, hidden) : undefined;
  return {
    hidden,
    heads: options.heads,
    // each layer's feed-forward width (its bias checked against it); the last one's, as before
    intermediate: layers[layers.length - 1].intermediateBias.length,
    words: words.table,
    wordRows: words.rows,
    positions: positions.table,
    positionRows: positions.rows,
    ...(types ? { types: types.table } : {}),
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
