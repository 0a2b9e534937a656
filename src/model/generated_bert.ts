/**
 * The project's own BERT: the real architecture (word + position + token-type
 * embeddings, LayerNorm, N encoder layers of masked multi-head self-attention and an
 * erf-GELU feed-forward block with residuals and LayerNorm, optional pooler) with seeded
 * weights, written as an ONNX graph (onnx_writer.ts). The CLI and server fall back to it
 * when a model directory has no weights; the tests check onnxruntime's output on it
 * against a float64 reference forward pass (tests/support/bert_reference.ts).
 *
 * It can carry a task head, exported as Hugging Face exports one (the graph's only output
 * is then `logits`): `sequence-classification` (BertForSequenceClassification: pooler →
 * linear → `[batch, labels]`; one label is a cross-encoder, a reranker) or `masked-lm`
 * (BertForMaskedLM: dense → GELU → LayerNorm → the word-embedding matrix transposed, tied
 * as in BERT, plus a bias → `[batch, tokens, vocab]`; what SPLADE reads).
 *
 * @example
 * ```ts
 * import { bertOnnx, bertWeights } from "./generated_bert.ts";
 * import { createSession } from "./session.ts";
 * const w = bertWeights({ vocabSize: 100, hidden: 8, layers: 2, heads: 2, intermediate: 16 });
 * const session = await createSession(bertOnnx(w), { layers: 2 });
 * console.log(session.hiddenOutput, session.poolerOutput, session.stateOutputs.length); // last_hidden_state pooler_output 3
 * ```
 * @module
 */
import { rng } from "../random.ts";
import {
  type AttributeValue,
  encodeModel,
  type NodeSpec,
  type TensorSpec,
  type ValueSpec,
} from "./onnx_writer.ts";

/** Shape of the generated model. */
export interface BertShape {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  maxPositions?: number;
  typeVocabSize?: number;
  /** Export `token_type_ids` as an input (real exports sometimes omit it). */
  tokenTypeInput?: boolean;
  /** Add the BERT pooler and its `pooler_output`. */
  pooler?: boolean;
  /** A task head (default `none`: the encoder's outputs); see the module's description. */
  head?: BertHead;
  /** Logits of the `sequence-classification` head (default 2; 1: a reranker's score). */
  labels?: number;
  seed?: number;
}

/** The task heads the generated BERT can carry. */
export type BertHead = "none" | "sequence-classification" | "masked-lm";

/** BertForSequenceClassification's `classifier`, on the pooler's output. */
export interface ClassifierHeadWeights {
  weight: Float32Array; // [H, labels]
  bias: Float32Array; // [labels]
}

/** BertForMaskedLM's `cls.predictions`: the transform, then the tied decoder's bias. */
export interface MaskedLmHeadWeights {
  denseWeight: Float32Array; // [H, H]
  denseBias: Float32Array;
  lnG: Float32Array;
  lnB: Float32Array;
  /** The decoder's weight is `wordEmb` transposed (tied); this is its bias, [V]. */
  decoderBias: Float32Array;
}

/** Weights, row-major float32. */
export interface BertWeights extends Required<BertShape> {
  wordEmb: Float32Array; // [V, H]
  posEmb: Float32Array; // [P, H]
  typeEmb: Float32Array; // [T, H]
  embLnG: Float32Array;
  embLnB: Float32Array;
  layer: LayerWeights[];
  poolW: Float32Array; // [H, H]
  poolB: Float32Array;
  /** Present when `head` is `sequence-classification`. */
  classifier?: ClassifierHeadWeights;
  /** Present when `head` is `masked-lm`. */
  maskedLm?: MaskedLmHeadWeights;
}

interface LayerWeights {
  wq: Float32Array;
  bq: Float32Array;
  wk: Float32Array;
  bk: Float32Array;
  wv: Float32Array;
  bv: Float32Array;
  wo: Float32Array;
  bo: Float32Array;
  ln1G: Float32Array;
  ln1B: Float32Array;
  w1: Float32Array; // [H, I]
  b1: Float32Array;
  w2: Float32Array; // [I, H]
  b2: Float32Array;
  ln2G: Float32Array;
  ln2B: Float32Array;
}

const LN_EPS = 1e-12;
const MASK_MIN = -10000;

/** Seeded weights for a shape. */
export function bertWeights(shape: BertShape): BertWeights {
  const s: Required<BertShape> = {
    maxPositions: 512,
    typeVocabSize: 2,
    tokenTypeInput: true,
    pooler: true,
    head: "none",
    labels: 2,
    seed: 42,
    ...shape,
  };
  if (s.hidden % s.heads !== 0) throw new Error("hidden must be a multiple of heads");
  if (s.head === "sequence-classification" && !s.pooler) {
    throw new Error("the sequence-classification head reads the pooler: pooler must be on");
  }
  if (!(Number.isInteger(s.labels) && s.labels >= 1)) {
    throw new Error("labels must be a positive integer");
  }
  const r = rng(s.seed);
  const normal = () => {
    const u = Math.max(r(), 1e-12), v = r();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const mat = (n: number, scale: number) =>
    Float32Array.from({ length: n }, () => normal() * scale);
  const around = (n: number, center: number, scale: number) =>
    Float32Array.from({ length: n }, () => center + normal() * scale);
  const H = s.hidden, I = s.intermediate;
  const w = 1 / Math.sqrt(H);
  const encoder = {
    ...s,
    wordEmb: mat(s.vocabSize * H, 0.5),
    posEmb: mat(s.maxPositions * H, 0.2),
    typeEmb: mat(s.typeVocabSize * H, 0.2),
    embLnG: around(H, 1, 0.1),
    embLnB: mat(H, 0.1),
    layer: Array.from({ length: s.layers }, () => ({
      wq: mat(H * H, w),
      bq: mat(H, 0.1),
      wk: mat(H * H, w),
      bk: mat(H, 0.1),
      wv: mat(H * H, w),
      bv: mat(H, 0.1),
      wo: mat(H * H, w),
      bo: mat(H, 0.1),
      ln1G: around(H, 1, 0.1),
      ln1B: mat(H, 0.1),
      w1: mat(H * I, w),
      b1: mat(I, 0.1),
      w2: mat(I * H, 1 / Math.sqrt(I)),
      b2: mat(H, 0.1),
      ln2G: around(H, 1, 0.1),
      ln2B: mat(H, 0.1),
    })),
    poolW: mat(H * H, w),
    poolB: mat(H, 0.1),
  };
  // the head's weights are drawn last, so a model with a head has the same encoder as
  // the one without at the same seed
  if (s.head === "sequence-classification") {
    return { ...encoder, classifier: { weight: mat(H * s.labels, w), bias: mat(s.labels, 0.1) } };
  }
  if (s.head === "masked-lm") {
    return {
      ...encoder,
      maskedLm: {
        denseWeight: mat(H * H, w),
        denseBias: mat(H, 0.1),
        lnG: around(H, 1, 0.1),
        lnB: mat(H, 0.1),
        // centred well below zero, as trained MLM biases are for most tokens: SPLADE's
        // log(1 + relu(logit)) then keeps a few hundred entries of a 30,522-token
        // vocabulary per text (centred at 0 it kept about 19,000)
        decoderBias: around(s.vocabSize, -8, 0.5),
      },
    };
  }
  return encoder;
}

/** The graph being written: its initializers and nodes, and helpers that add them. */
function graphBuilder() {
  const inits: TensorSpec[] = [];
  const nodes: NodeSpec[] = [];
  let counter = 0;
  const init = (name: string, data: Float32Array, dims: number[]) => {
    inits.push({ name, dims, data });
    return name;
  };
  const initI64 = (name: string, values: number[]) => {
    inits.push({ name, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
    return name;
  };
  const scalar = (name: string, v: number) => {
    inits.push({ name, dims: [], data: Float32Array.of(v) });
    return name;
  };
  const node = (
    op: string,
    inputs: string[],
    attributes: Record<string, AttributeValue> = {},
    out = `t${counter++}`,
  ) => {
    nodes.push({ op, inputs, outputs: [out], attributes, name: `${op}_${counter}` });
    return out;
  };
  const layerNorm = (x: string, g: string, b: string, out?: string) =>
    node("LayerNormalization", [x, g, b], { axis: { i: -1 }, epsilon: { f: LN_EPS } }, out);
  const linear = (x: string, wName: string, bName: string) =>
    node("Add", [node("MatMul", [x, wName]), bName]);
  // erf GELU, written out as exports write it; its constants are added with the mask's
  const gelu = (h: string) =>
    node("Mul", [
      node("Mul", [h, "half"]),
      node("Add", [node("Erf", [node("Div", [h, "sqrt2"])]), "one_f"]),
    ]);
  return { inits, nodes, init, initI64, scalar, node, layerNorm, linear, gelu };
}

type Graph = ReturnType<typeof graphBuilder>;

/** Word + position + token-type embeddings, then LayerNorm; returns the output's name. */
function embeddingNodes(g: Graph, w: BertWeights): string {
  const { node, init, initI64 } = g;
  const H = w.hidden;
  const word = node("Gather", ["word_embeddings", "input_ids"]);
  init("word_embeddings", w.wordEmb, [w.vocabSize, H]);
  const seqLen = node("Gather", [node("Shape", ["input_ids"]), initI64("one_index", [1])]);
  const positions = node("Range", [
    node("Squeeze", [initI64("zero_scalar", [0])]),
    node("Squeeze", [seqLen]),
    node("Squeeze", [initI64("one_scalar", [1])]),
  ]);
  const pos = node("Gather", [
    init("position_embeddings", w.posEmb, [w.maxPositions, H]),
    positions,
  ]);
  let emb = node("Add", [word, pos]);
  init("token_type_embeddings", w.typeEmb, [w.typeVocabSize, H]);
  if (w.tokenTypeInput) {
    emb = node("Add", [emb, node("Gather", ["token_type_embeddings", "token_type_ids"])]);
  } else {
    // as exports without token_type_ids do: type 0 everywhere
    emb = node("Add", [
      emb,
      node("Gather", ["token_type_embeddings", node("Squeeze", [initI64("type_zero", [0])])]),
    ]);
  }
  return g.layerNorm(emb, init("emb_ln_g", w.embLnG, [H]), init("emb_ln_b", w.embLnB, [H]));
}

/** The additive attention mask `[B, 1, 1, S]` and the constants the layers share. */
function layerConstants(g: Graph, w: BertWeights) {
  const { node, scalar, initI64 } = g;
  const hd = w.hidden / w.heads;
  const maskF = node("Cast", ["attention_mask"], { to: { i: 1 } });
  const maskAdd = node("Unsqueeze", [
    node("Mul", [node("Sub", [scalar("one_f", 1), maskF]), scalar("mask_min", MASK_MIN)]),
    initI64("mask_axes", [1, 2]),
  ]);
  const headsShape = initI64("heads_shape", [0, 0, w.heads, hd]);
  const mergeShape = initI64("merge_shape", [0, 0, w.hidden]);
  const scale = scalar("attn_scale", 1 / Math.sqrt(hd));
  scalar("sqrt2", Math.SQRT2);
  scalar("half", 0.5);
  return { maskAdd, headsShape, mergeShape, scale };
}

/** One encoder layer on `x`; returns its output's name (`out` when given). */
function encoderLayerNodes(
  g: Graph,
  w: BertWeights,
  l: number,
  x: string,
  c: ReturnType<typeof layerConstants>,
  out?: string,
): string {
  const { node, init, linear, layerNorm } = g;
  const H = w.hidden, L = w.layer[l];
  const p = (n: string) => `l${l}_${n}`;
  const project = (name: string, weight: Float32Array, bias: Float32Array, perm: number[]) =>
    node("Transpose", [
      node("Reshape", [
        linear(x, init(p(`w${name}`), weight, [H, H]), init(p(`b${name}`), bias, [H])),
        c.headsShape,
      ]),
    ], { perm: { ints: perm } });
  const q = project("q", L.wq, L.bq, [0, 2, 1, 3]);
  const k = project("k", L.wk, L.bk, [0, 2, 3, 1]);
  const v = project("v", L.wv, L.bv, [0, 2, 1, 3]);
  const scores = node("Add", [node("Mul", [node("MatMul", [q, k]), c.scale]), c.maskAdd]);
  const probs = node("Softmax", [scores], { axis: { i: -1 } });
  const ctx = node("Reshape", [
    node("Transpose", [node("MatMul", [probs, v])], { perm: { ints: [0, 2, 1, 3] } }),
    c.mergeShape,
  ]);
  const attn = linear(ctx, init(p("wo"), L.wo, [H, H]), init(p("bo"), L.bo, [H]));
  const x1 = layerNorm(
    node("Add", [attn, x]),
    init(p("ln1_g"), L.ln1G, [H]),
    init(p("ln1_b"), L.ln1B, [H]),
  );
  const h = linear(
    x1,
    init(p("w1"), L.w1, [H, w.intermediate]),
    init(p("b1"), L.b1, [w.intermediate]),
  );
  const ff = linear(g.gelu(h), init(p("w2"), L.w2, [w.intermediate, H]), init(p("b2"), L.b2, [H]));
  return layerNorm(
    node("Add", [ff, x1]),
    init(p("ln2_g"), L.ln2G, [H]),
    init(p("ln2_b"), L.ln2B, [H]),
    out,
  );
}

/** The pooler on the first token: `pooler_output`. */
function poolerNodes(g: Graph, w: BertWeights, x: string): void {
  const { node, init, initI64 } = g;
  const H = w.hidden;
  const cls = node("Gather", [x, initI64("cls_index", [0])], { axis: { i: 1 } }); // [B, 1, H]
  const flat = node("Reshape", [cls, initI64("pool_shape", [0, H])]);
  node(
    "Tanh",
    [g.linear(flat, init("pool_w", w.poolW, [H, H]), init("pool_b", w.poolB, [H]))],
    {},
    "pooler_output",
  );
}

/** The masked-LM head on the last hidden state: `logits` `[B, S, V]`. */
function maskedLmNodes(g: Graph, w: BertWeights, m: MaskedLmHeadWeights, x: string): void {
  const { node, init } = g;
  const H = w.hidden;
  const dense = g.linear(
    x,
    init("mlm_dense_w", m.denseWeight, [H, H]),
    init("mlm_dense_b", m.denseBias, [H]),
  );
  const transformed = g.layerNorm(
    g.gelu(dense),
    init("mlm_ln_g", m.lnG, [H]),
    init("mlm_ln_b", m.lnB, [H]),
  );
  // the decoder is tied to the word embeddings: the same initializer, transposed
  const decoder = node("Transpose", ["word_embeddings"], { perm: { ints: [1, 0] } });
  node(
    "Add",
    [
      node("MatMul", [transformed, decoder]),
      init("mlm_decoder_bias", m.decoderBias, [w.vocabSize]),
    ],
    {},
    "logits",
  );
}

/** Writes the model as ONNX (opset 17) bytes. */
export function bertOnnx(w: BertWeights): Uint8Array {
  const H = w.hidden;
  const g = graphBuilder();
  let x = embeddingNodes(g, w);
  const constants = layerConstants(g, w);
  for (let l = 0; l < w.layers; l++) {
    x = encoderLayerNodes(
      g,
      w,
      l,
      x,
      constants,
      l === w.layers - 1 ? "last_hidden_state" : undefined,
    );
  }
  if (w.layers === 0) x = g.node("Identity", [x], {}, "last_hidden_state");

  const outputs: ValueSpec[] = [
    { name: "last_hidden_state", type: "float", dims: ["batch", "sequence", H] },
  ];
  if (w.pooler) {
    poolerNodes(g, w, x);
    outputs.push({ name: "pooler_output", type: "float", dims: ["batch", H] });
  }
  // with a head, Hugging Face's export keeps the head's output only
  if (w.classifier) {
    g.node(
      "Add",
      [
        g.node("MatMul", [
          "pooler_output",
          g.init("classifier_w", w.classifier.weight, [H, w.labels]),
        ]),
        g.init("classifier_b", w.classifier.bias, [w.labels]),
      ],
      {},
      "logits",
    );
    outputs.splice(0, outputs.length, { name: "logits", type: "float", dims: ["batch", w.labels] });
  }
  if (w.maskedLm) {
    maskedLmNodes(g, w, w.maskedLm, x);
    outputs.splice(0, outputs.length, {
      name: "logits",
      type: "float",
      dims: ["batch", "sequence", w.vocabSize],
    });
  }
  const inputs = ["input_ids", "attention_mask", ...(w.tokenTypeInput ? ["token_type_ids"] : [])]
    .map((name) => ({ name, type: "int64" as const, dims: ["batch", "sequence"] }));
  return encodeModel({
    opset: 17,
    producer: "embedge-generated-bert",
    nodes: g.nodes,
    initializers: g.inits,
    inputs,
    outputs,
  });
}
