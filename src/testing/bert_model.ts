/**
 * The project's own BERT: the real architecture (word + position + token-type
 * embeddings, LayerNorm, N encoder layers of masked multi-head self-attention and an
 * erf-GELU feed-forward block with residuals and LayerNorm, optional pooler) with seeded
 * weights, written as an ONNX graph with `onnx-proto`, and a float64 reference forward
 * pass that tests compare onnxruntime's output with.
 *
 * @example
 * ```ts
 * import { bertOnnx, bertWeights, referenceForward } from "./bert_model.ts";
 * const w = bertWeights({ vocabSize: 100, hidden: 8, layers: 1, heads: 2, intermediate: 16 });
 * const bytes = bertOnnx(w); // Uint8Array of a model.onnx
 * const out = referenceForward(w, [[1, 5, 2]], [[1, 1, 1]], [[0, 0, 0]]);
 * console.log(bytes.length > 0, out.hidden[0].length); // true 3
 * ```
 * @module
 */
import onnxProto from "onnx-proto";
import type { onnx as Onnx } from "onnx-proto";
import { rng } from "../random.ts";

// onnx-proto is CommonJS: its default export is the protobuf root holding `onnx`.
const { onnx } = onnxProto;

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
  seed?: number;
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
    seed: 42,
    ...shape,
  };
  if (s.hidden % s.heads !== 0) throw new Error("hidden must be a multiple of heads");
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
  return {
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
}

/** Writes the model as ONNX (opset 17) bytes. */
export function bertOnnx(w: BertWeights): Uint8Array {
  const H = w.hidden, nh = w.heads, hd = H / nh;
  const inits: Onnx.ITensorProto[] = [];
  const nodes: Onnx.INodeProto[] = [];
  let counter = 0;
  const F = onnx.TensorProto.DataType.FLOAT, I64 = onnx.TensorProto.DataType.INT64;
  const init = (name: string, data: Float32Array, dims: number[]) => {
    inits.push({ name, dataType: F, dims, rawData: new Uint8Array(data.buffer.slice(0)) });
    return name;
  };
  const initI64 = (name: string, values: number[]) => {
    inits.push({
      name,
      dataType: I64,
      dims: [values.length],
      rawData: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer),
    });
    return name;
  };
  const scalar = (name: string, v: number) => {
    inits.push({ name, dataType: F, dims: [], rawData: new Uint8Array(Float32Array.of(v).buffer) });
    return name;
  };
  const node = (
    op: string,
    inputs: string[],
    attrs: Onnx.IAttributeProto[] = [],
    out = `t${counter++}`,
  ) => {
    nodes.push({
      opType: op,
      input: inputs,
      output: [out],
      attribute: attrs,
      name: `${op}_${counter}`,
    });
    return out;
  };
  const ints = (name: string, v: number[]): Onnx.IAttributeProto => ({
    name,
    ints: v,
    type: onnx.AttributeProto.AttributeType.INTS,
  });
  const int = (name: string, v: number): Onnx.IAttributeProto => ({
    name,
    i: v,
    type: onnx.AttributeProto.AttributeType.INT,
  });
  const float = (name: string, v: number): Onnx.IAttributeProto => ({
    name,
    f: v,
    type: onnx.AttributeProto.AttributeType.FLOAT,
  });
  const layerNorm = (x: string, g: string, b: string, out?: string) =>
    node("LayerNormalization", [x, g, b], [int("axis", -1), float("epsilon", LN_EPS)], out);
  const linear = (x: string, wName: string, bName: string) =>
    node("Add", [node("MatMul", [x, wName]), bName]);

  // embeddings
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
  let x = layerNorm(emb, init("emb_ln_g", w.embLnG, [H]), init("emb_ln_b", w.embLnB, [H]));

  // additive attention mask [B, 1, 1, S]
  const maskF = node("Cast", ["attention_mask"], [int("to", F)]);
  const maskAdd = node("Unsqueeze", [
    node("Mul", [node("Sub", [scalar("one_f", 1), maskF]), scalar("mask_min", MASK_MIN)]),
    initI64("mask_axes", [1, 2]),
  ]);
  const headsShape = initI64("heads_shape", [0, 0, nh, hd]);
  const mergeShape = initI64("merge_shape", [0, 0, H]);
  const scale = scalar("attn_scale", 1 / Math.sqrt(hd));
  const sqrt2 = scalar("sqrt2", Math.SQRT2);
  const half = scalar("half", 0.5);
  const one = "one_f";

  w.layer.forEach((L, l) => {
    const p = (n: string) => `l${l}_${n}`;
    const q = node("Transpose", [
      node("Reshape", [
        linear(x, init(p("wq"), L.wq, [H, H]), init(p("bq"), L.bq, [H])),
        headsShape,
      ]),
    ], [ints("perm", [0, 2, 1, 3])]);
    const k = node("Transpose", [
      node("Reshape", [
        linear(x, init(p("wk"), L.wk, [H, H]), init(p("bk"), L.bk, [H])),
        headsShape,
      ]),
    ], [ints("perm", [0, 2, 3, 1])]);
    const v = node("Transpose", [
      node("Reshape", [
        linear(x, init(p("wv"), L.wv, [H, H]), init(p("bv"), L.bv, [H])),
        headsShape,
      ]),
    ], [ints("perm", [0, 2, 1, 3])]);
    const scores = node("Add", [node("Mul", [node("MatMul", [q, k]), scale]), maskAdd]);
    const probs = node("Softmax", [scores], [int("axis", -1)]);
    const ctx = node("Reshape", [
      node("Transpose", [node("MatMul", [probs, v])], [ints("perm", [0, 2, 1, 3])]),
      mergeShape,
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
    const gelu = node("Mul", [
      node("Mul", [h, half]),
      node("Add", [node("Erf", [node("Div", [h, sqrt2])]), one]),
    ]);
    const ff = linear(gelu, init(p("w2"), L.w2, [w.intermediate, H]), init(p("b2"), L.b2, [H]));
    const last = l === w.layers - 1;
    x = layerNorm(
      node("Add", [ff, x1]),
      init(p("ln2_g"), L.ln2G, [H]),
      init(p("ln2_b"), L.ln2B, [H]),
      last ? "last_hidden_state" : undefined,
    );
  });
  if (w.layers === 0) x = node("Identity", [x], [], "last_hidden_state");

  const outputs: Onnx.IValueInfoProto[] = [
    valueInfo("last_hidden_state", F, ["batch", "sequence", H]),
  ];
  if (w.pooler) {
    const cls = node("Gather", [x, initI64("cls_index", [0])], [int("axis", 1)]); // [B, 1, H]
    const flat = node("Reshape", [cls, initI64("pool_shape", [0, H])]);
    node(
      "Tanh",
      [linear(flat, init("pool_w", w.poolW, [H, H]), init("pool_b", w.poolB, [H]))],
      [],
      "pooler_output",
    );
    outputs.push(valueInfo("pooler_output", F, ["batch", H]));
  }
  const inputs = [
    valueInfo("input_ids", I64, ["batch", "sequence"]),
    valueInfo("attention_mask", I64, ["batch", "sequence"]),
  ];
  if (w.tokenTypeInput) inputs.push(valueInfo("token_type_ids", I64, ["batch", "sequence"]));
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "embedge-test-bert",
    opsetImport: [{ domain: "", version: 17 }],
    graph: { name: "bert", node: nodes, initializer: inits, input: inputs, output: outputs },
  });
  return onnx.ModelProto.encode(model).finish();
}

function valueInfo(
  name: string,
  elemType: number,
  dims: (string | number)[],
): Onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })),
        },
      },
    },
  };
}

/** Output of the reference forward pass, float64, nested arrays [B][S][H] and [B][H]. */
export interface ReferenceOutput {
  hidden: number[][][];
  pooler: number[][];
  /** `[layer][B][S][H]`: 0 the embeddings' output, then each encoder layer's output. */
  states: number[][][][];
}

/** Float64 forward pass of the same model (the check on onnxruntime). */
export function referenceForward(
  w: BertWeights,
  ids: number[][],
  mask: number[][],
  types: number[][],
): ReferenceOutput {
  const H = w.hidden, nh = w.heads, hd = H / nh, I = w.intermediate;
  const ln = (x: number[], g: Float32Array, b: Float32Array) => {
    const mean = x.reduce((a, v) => a + v, 0) / H;
    const vari = x.reduce((a, v) => a + (v - mean) ** 2, 0) / H;
    const d = Math.sqrt(vari + LN_EPS);
    return x.map((v, i) => ((v - mean) / d) * g[i] + b[i]);
  };
  const lin = (x: number[], m: Float32Array, b: Float32Array, nIn: number, nOut: number) => {
    const out = Array.from(b, Number);
    for (let i = 0; i < nIn; i++) {
      const xi = x[i];
      for (let j = 0; j < nOut; j++) out[j] += xi * m[i * nOut + j];
    }
    return out;
  };
  const erf = (x: number) => {
    // erfc by Chebyshev fitting (Numerical Recipes), fractional error below 1.2e-7
    const t = 1 / (1 + 0.5 * Math.abs(x));
    const y = 1 - t * Math.exp(
          -x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
                        t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
                                        t * (-0.82215223 + t * 0.17087277)))))))),
        );
    return x >= 0 ? y : -y;
  };
  const hidden: number[][][] = [];
  const pooler: number[][] = [];
  const states: number[][][][] = Array.from({ length: w.layers + 1 }, () => []);
  for (let b = 0; b < ids.length; b++) {
    const S = ids[b].length;
    const typesB = w.tokenTypeInput ? types[b] : new Array(S).fill(0);
    let x = ids[b].map((id, s) =>
      ln(
        Array.from({ length: H }, (_, h) =>
          w.wordEmb[id * H + h] + w.posEmb[s * H + h] + w.typeEmb[typesB[s] * H + h]),
        w.embLnG,
        w.embLnB,
      )
    );
    states[0].push(x);
    for (const [l, L] of w.layer.entries()) {
      const q = x.map((r) => lin(r, L.wq, L.bq, H, H));
      const k = x.map((r) => lin(r, L.wk, L.bk, H, H));
      const v = x.map((r) => lin(r, L.wv, L.bv, H, H));
      const ctx = x.map(() => new Array(H).fill(0));
      for (let head = 0; head < nh; head++) {
        for (let i = 0; i < S; i++) {
          const scores = new Array(S);
          for (let j = 0; j < S; j++) {
            let dot = 0;
            for (let d = 0; d < hd; d++) dot += q[i][head * hd + d] * k[j][head * hd + d];
            scores[j] = dot / Math.sqrt(hd) + (1 - mask[b][j]) * MASK_MIN;
          }
          const m = Math.max(...scores);
          const e = scores.map((s) => Math.exp(s - m));
          const z = e.reduce((a, c) => a + c, 0);
          for (let j = 0; j < S; j++) {
            const p = e[j] / z;
            for (let d = 0; d < hd; d++) ctx[i][head * hd + d] += p * v[j][head * hd + d];
          }
        }
      }
      const x1 = x.map((r, i) =>
        ln(lin(ctx[i], L.wo, L.bo, H, H).map((a, h) => a + r[h]), L.ln1G, L.ln1B)
      );
      x = x1.map((r) => {
        const h = lin(r, L.w1, L.b1, H, I).map((a) => 0.5 * a * (1 + erf(a / Math.SQRT2)));
        return ln(lin(h, L.w2, L.b2, I, H).map((a, j) => a + r[j]), L.ln2G, L.ln2B);
      });
      states[l + 1].push(x);
    }
    hidden.push(x);
    pooler.push(lin(x[0], w.poolW, w.poolB, H, H).map(Math.tanh));
  }
  return { hidden, pooler, states };
}

/** The model with an input renamed (for testing models whose inputs are not BERT's). */
export function renameInput(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  for (const i of model.graph!.input!) if (i.name === from) i.name = to;
  for (const n of model.graph!.node!) n.input = n.input!.map((x) => (x === from ? to : x));
  return onnx.ModelProto.encode(model).finish();
}
