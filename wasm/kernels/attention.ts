// Self-attention for the BERT kernels (bert.ts): per head, the products on `linear`, the
// keys and values packed for it, and the masked softmax.
import { linear, PANEL } from "./linear";
import { exp4, sum4 } from "./math";

/** Floats of scratch `attention` needs for sequences of S tokens and heads of `headSize`. */
export function attentionScratch(S: i32, headSize: i32): i32 {
  const keys = (S + PANEL - 1) / PANEL * PANEL, width = (headSize + PANEL - 1) / PANEL * PANEL;
  // query, keys packed, values packed, scores, one head's context, a zero bias
  return S * headSize + headSize * keys + S * width + S * S + S * headSize + max(keys, width);
}

/**
 * Self-attention of every head: context [B·S, H] from qkv [B·S, 3H] (each row: query | key |
 * value, heads side by side in each), mask i32 [B, S] (0 = padding: its key gets −10000
 * before the softmax, as BERT's extended mask does), `scratch` of attentionScratch(S,
 * headSize) floats. Both products run on `linear`: per head, the scaled queries are copied
 * out, the keys packed as the panels of Kᵀ and the values as panels of V, so that scores
 * = Q·Kᵀ and context = softmax(scores)·V are matrix products at full speed.
 */
export function attention(
  qkv: usize, mask: usize, context: usize, scratch: usize,
  B: i32, S: i32, heads: i32, headSize: i32, scale: f32,
): void {
  const H = heads * headSize;
  const row = <usize>(3 * H) << 2;
  const keys = (S + PANEL - 1) / PANEL * PANEL, width = (headSize + PANEL - 1) / PANEL * PANEL;
  const query = scratch;
  const packedKeys = query + (<usize>(S * headSize) << 2);
  const packedValues = packedKeys + (<usize>(headSize * keys) << 2);
  const scores = packedValues + (<usize>(S * width) << 2);
  const headContext = scores + (<usize>(S * S) << 2);
  const zero = headContext + (<usize>(S * headSize) << 2);
  memory.fill(zero, 0, <usize>max(keys, width) << 2);
  const scaleV = f32x4.splat(scale);
  for (let b = 0; b < B; b++) {
    const base = qkv + <usize>b * S * row;
    const maskRow = mask + (<usize>(b * S) << 2);
    for (let h = 0; h < heads; h++) {
      const qo = base + (<usize>(h * headSize) << 2);
      const ko = qo + (<usize>H << 2), vo = ko + (<usize>H << 2);
      // queries, scaled, contiguous
      for (let i = 0; i < S; i++) {
        const from = qo + <usize>i * row, to = query + (<usize>(i * headSize) << 2);
        for (let d: usize = 0; d < (<usize>headSize << 2); d += 16) {
          v128.store(to + d, f32x4.mul(v128.load(from + d), scaleV));
        }
      }
      packKeys(ko, row, zero, packedKeys, S, headSize);
      packValues(vo, row, packedValues, S, headSize);
      linear(query, packedKeys, zero, scores, S, headSize, S);
      for (let i = 0; i < S; i++) softmaxRow(scores + (<usize>(i * S) << 2), maskRow, S);
      linear(scores, packedValues, zero, headContext, S, S, headSize);
      for (let i = 0; i < S; i++) {
        memory.copy(
          context + ((<usize>(b * S + i) * <usize>H + <usize>(h * headSize)) << 2),
          headContext + (<usize>(i * headSize) << 2),
          <usize>headSize << 2,
        );
      }
    }
  }
}

/**
 * Kᵀ [headSize, S] in panels of 16 keys (panel p, row d = keys p…p+15 at dimension d; keys
 * past S are 0), 4 keys × 4 dimensions at a time: four rows' vectors transposed by shuffles
 * (a float at a time was ~4 instructions each). Keys past S read `zero` (≥ headSize zeros).
 */
function packKeys(ko: usize, row: usize, zero: usize, out: usize, S: i32, headSize: i32): void {
  const panelBytes = <usize>headSize * PANEL * 4;
  for (let p = 0; p < S; p += PANEL) {
    const panel = out + <usize>(p / PANEL) * panelBytes;
    for (let j = 0; j < PANEL; j += 4) {
      const key = p + j;
      const k0 = key < S ? ko + <usize>key * row : zero;
      const k1 = key + 1 < S ? ko + <usize>(key + 1) * row : zero;
      const k2 = key + 2 < S ? ko + <usize>(key + 2) * row : zero;
      const k3 = key + 3 < S ? ko + <usize>(key + 3) * row : zero;
      let to = panel + (<usize>j << 2);
      for (let d: usize = 0; d < (<usize>headSize << 2); d += 16) {
        const r0 = v128.load(k0 + d), r1 = v128.load(k1 + d);
        const r2 = v128.load(k2 + d), r3 = v128.load(k3 + d);
        const t0 = v128.shuffle<i32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<i32>(r2, r3, 0, 4, 1, 5);
        const t2 = v128.shuffle<i32>(r0, r1, 2, 6, 3, 7), t3 = v128.shuffle<i32>(r2, r3, 2, 6, 3, 7);
        v128.store(to, v128.shuffle<i32>(t0, t1, 0, 1, 4, 5));
        v128.store(to, v128.shuffle<i32>(t0, t1, 2, 3, 6, 7), PANEL * 4);
        v128.store(to, v128.shuffle<i32>(t2, t3, 0, 1, 4, 5), PANEL * 8);
        v128.store(to, v128.shuffle<i32>(t2, t3, 2, 3, 6, 7), PANEL * 12);
        to += PANEL * 16;
      }
    }
  }
}

/** V [S, headSize] in panels of 16 dimensions (past headSize: 0), a vector at a time. */
function packValues(vo: usize, row: usize, out: usize, S: i32, headSize: i32): void {
  const zeros = f32x4.splat(0);
  for (let p = 0; p < headSize; p += PANEL) {
    const width = <usize>(min(PANEL, headSize - p) << 2); // bytes, a multiple of 16
    for (let j = 0; j < S; j++) {
      const from = vo + <usize>j * row + (<usize>p << 2);
      for (let c: usize = 0; c < <usize>(PANEL * 4); c += 16) {
        v128.store(out + c, c < width ? v128.load(from + c) : zeros);
      }
      out += PANEL * 4;
    }
  }
}

/** One row of scores → probabilities: padding keys −10000, minus the row's max, exp, / sum. */
function softmaxRow(scores: usize, maskRow: usize, S: i32): void {
  let max: f32 = -Infinity;
  for (let j = 0; j < S; j++) {
    const at = scores + (<usize>j << 2);
    let s = load<f32>(at);
    if (load<i32>(maskRow + (<usize>j << 2)) == 0) {
      s += <f32>-10000;
      store<f32>(at, s);
    }
    if (s > max) max = s;
  }
  const maxV = f32x4.splat(max);
  let total = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= S; j += 4) {
    const at = scores + (<usize>j << 2);
    const e = exp4(f32x4.sub(v128.load(at), maxV));
    v128.store(at, e);
    total = f32x4.add(total, e);
  }
  let sum = sum4(total);
  for (; j < S; j++) {
    const at = scores + (<usize>j << 2);
    const e = Mathf.exp(load<f32>(at) - max);
    store<f32>(at, e);
    sum += e;
  }
  const inv = f32x4.splat(<f32>1 / sum);
  j = 0;
  for (; j + 4 <= S; j += 4) {
    const at = scores + (<usize>j << 2);
    v128.store(at, f32x4.mul(v128.load(at), inv));
  }
  for (; j < S; j++) {
    const at = scores + (<usize>j << 2);
    store<f32>(at, load<f32>(at) * f32x4.extract_lane(inv, 0));
  }
}
