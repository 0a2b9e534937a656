/**
 * The float64 reference forward pass of the generated BERT (src/model/fixtures/generated_bert.ts):
 * what the tests compare onnxruntime's output with, every layer's state included, and a
 * helper that renames a graph input (for models whose inputs are not BERT's).
 *
 * @example
 * ```ts
 * import { referenceForward } from "./bert_reference.ts";
 * import { bertWeights } from "../../src/model/fixtures/generated_bert.ts";
 * const w = bertWeights({ vocabSize: 100, hidden: 8, layers: 1, heads: 2, intermediate: 16 });
 * const out = referenceForward(w, [[1, 5, 2]], [[1, 1, 1]], [[0, 0, 0]]);
 * console.log(out.hidden[0].length, out.states.length); // 3 2
 * ```
 * @module
 */
import onnxProto from "onnx-proto";
import type { BertWeights } from "../../src/model/fixtures/generated_bert.ts";

// onnx-proto is CommonJS: its default export is the protobuf root holding `onnx`.
const { onnx } = onnxProto;

const LN_EPS = 1e-12;
const MASK_MIN = -10000;

/** Output of the reference forward pass, float64, nested arrays [B][S][H] and [B][H]. */
export interface ReferenceOutput {
  hidden: number[][][];
  pooler: number[][];
  /** `[layer][B][S][H]`: 0 the embeddings' output, then each encoder layer's output. */
  states: number[][][][];
}

/** LayerNorm over one vector (BERT's epsilon). */
function ln(x: number[], g: Float32Array, b: Float32Array): number[] {
  const n = x.length;
  const mean = x.reduce((a, v) => a + v, 0) / n;
  const vari = x.reduce((a, v) => a + (v - mean) ** 2, 0) / n;
  const d = Math.sqrt(vari + LN_EPS);
  return x.map((v, i) => ((v - mean) / d) * g[i] + b[i]);
}

/** `x · m + b` with `m` row-major `[nIn, nOut]`. */
function lin(x: number[], m: Float32Array, b: Float32Array, nIn: number, nOut: number): number[] {
  const out = Array.from(b, Number);
  for (let i = 0; i < nIn; i++) {
    const xi = x[i];
    for (let j = 0; j < nOut; j++) out[j] += xi * m[i * nOut + j];
  }
  return out;
}

/** erf, by erfc's Chebyshev fit (Numerical Recipes): fractional error below 1.2e-7. */
function erf(x: number): number {
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const y = 1 - t * Math.exp(
        -x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
                      t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
                                      t * (-0.82215223 + t * 0.17087277)))))))),
      );
  return x >= 0 ? y : -y;
}

/** BERT's erf GELU. */
const gelu = (a: number) => 0.5 * a * (1 + erf(a / Math.SQRT2));

/** Float64 forward pass of the same model (the check on onnxruntime). */
export function referenceForward(
  w: BertWeights,
  ids: number[][],
  mask: number[][],
  types: number[][],
): ReferenceOutput {
  const H = w.hidden, nh = w.heads, hd = H / nh, I = w.intermediate;
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
        const h = lin(r, L.w1, L.b1, H, I).map(gelu);
        return ln(lin(h, L.w2, L.b2, I, H).map((a, j) => a + r[j]), L.ln2G, L.ln2B);
      });
      states[l + 1].push(x);
    }
    hidden.push(x);
    pooler.push(lin(x[0], w.poolW, w.poolB, H, H).map(Math.tanh));
  }
  return { hidden, pooler, states };
}

/**
 * The sequence-classification head's logits `[B][labels]`: the classifier on the pooler's
 * output (BertForSequenceClassification).
 */
export function referenceClassifierLogits(w: BertWeights, out: ReferenceOutput): number[][] {
  const head = w.classifier;
  if (!head) throw new Error("the weights have no sequence-classification head");
  return out.pooler.map((p) => lin(p, head.weight, head.bias, w.hidden, w.labels));
}

/**
 * The masked-LM head's logits `[B][S][V]` (BertForMaskedLM): dense → GELU → LayerNorm,
 * then the word-embedding matrix transposed (tied) plus the decoder's bias.
 */
export function referenceMaskedLmLogits(w: BertWeights, out: ReferenceOutput): number[][][] {
  const head = w.maskedLm;
  if (!head) throw new Error("the weights have no masked-LM head");
  const H = w.hidden, V = w.vocabSize;
  return out.hidden.map((tokens) =>
    tokens.map((x) => {
      const t = ln(lin(x, head.denseWeight, head.denseBias, H, H).map(gelu), head.lnG, head.lnB);
      const logits = new Array<number>(V);
      for (let v = 0; v < V; v++) {
        let sum = head.decoderBias[v];
        for (let h = 0; h < H; h++) sum += t[h] * w.wordEmb[v * H + h];
        logits[v] = sum;
      }
      return logits;
    })
  );
}

/**
 * SPLADE's sparse vector of each input from reference MLM logits: per vocabulary entry
 * the max over real tokens (mask 1) of log(1 + relu(logit)), non-zero entries by index.
 */
export function referenceSplade(
  logits: number[][][],
  mask: number[][],
): { index: number; value: number }[][] {
  return logits.map((tokens, b) => {
    const V = tokens[0].length;
    const entries = [];
    for (let v = 0; v < V; v++) {
      let best = 0;
      tokens.forEach((row, s) => {
        if (mask[b][s]) best = Math.max(best, Math.log1p(Math.max(0, row[v])));
      });
      if (best > 0) entries.push({ index: v, value: best });
    }
    return entries;
  });
}

/** The model with an input renamed (for testing models whose inputs are not BERT's). */
export function renameInput(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  for (const i of model.graph!.input!) if (i.name === from) i.name = to;
  for (const n of model.graph!.node!) n.input = n.input!.map((x) => (x === from ? to : x));
  return onnx.ModelProto.encode(model).finish();
}
