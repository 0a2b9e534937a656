// BERT encoder kernels: the arithmetic of one encoder forward pass, in WebAssembly SIMD with
// relaxed fused multiply-add. src/model/kernels/kernel_session.ts drives them (which kernel runs
// when, and where each tensor lives); src/model/kernels/bert_graph.ts finds the weights in an ONNX
// graph. Why they exist: at one sentence per call the model is ~87 % matrix products, and
// onnxruntime-web's single-threaded SGEMM runs at ~14.5 GMAC/s on this machine; `linear`
// below reaches ~20 (17×384 · 384×1536: 497 vs 707 µs), because it accumulates with
// `f32x4.relaxed_madd` (one FMA instead of a multiply and an add) in a 2-row × 16-column
// block that stays in registers.
//
// Every pointer is a byte offset into this module's memory; every tensor is float32,
// row-major, unless it says i32. Requirements (checked by the caller): hidden sizes and head
// sizes are multiples of 4; matrix widths may be anything (the last panel is padded).
//
// Worked example of the packed weight layout (`packB`, K = 2 rows, N = 20 columns):
//   panel 0 = columns 0..15:  [B[0][0..15], B[1][0..15]]            (2 × 16 floats)
//   panel 1 = columns 16..19: [B[0][16..19], 0 × 12, B[1][16..19], 0 × 12]
// so `linear` reads each panel front to back, 16 floats (four vectors) per row of A.

const PANEL: i32 = 16;

/** 1.5 · 2²³: a float in [−2²², 2²²] plus this has its value, rounded half to even, in its low bits. */
const ROUNDER: f32 = 12582912;

// Two builds of this file (wasm/build.ts): `bert_kernels.wasm` with relaxed SIMD, where
// `madd` is one fused multiply-add, and `bert_kernels_simd.wasm` with plain SIMD, where it
// is a multiply then an add (one more rounding, and ~1.4x the instructions in `linear`), for
// runtimes that do not validate relaxed SIMD: Node 20 without a flag, Safari.
// ASC_FEATURE_RELAXED_SIMD is the compiler's constant for `--enable relaxed-simd`.
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** Bytes `packB` writes for a K × N matrix (N rounded up to whole panels). */
export function packedBytes(K: i32, N: i32): i32 {
  return K * ((N + PANEL - 1) / PANEL) * PANEL * 4;
}

/** Packs B [K, N] into panels of 16 columns (layout above); `dst` holds packedBytes(K, N). */
export function packB(src: usize, dst: usize, K: i32, N: i32): void {
  let d = dst;
  for (let p = 0; p < N; p += PANEL) {
    const width = min(PANEL, N - p);
    for (let k = 0; k < K; k++) {
      const s = src + ((<usize>k * N + p) << 2);
      for (let j = 0; j < PANEL; j++) {
        store<f32>(d + (<usize>j << 2), j < width ? load<f32>(s + (<usize>j << 2)) : 0);
      }
      d += PANEL << 2;
    }
  }
}

/**
 * Stores one row of a panel: four vectors, or their first `count` floats when the panel is
 * the matrix's last, partial one (through a 64-byte buffer, so nothing past the row is hit).
 */
@inline function storeRow(out: usize, a: v128, b: v128, c: v128, d: v128, count: i32): void {
  if (count >= PANEL) {
    v128.store(out, a);
    v128.store(out, b, 16);
    v128.store(out, c, 32);
    v128.store(out, d, 48);
    return;
  }
  const lanes = memory.data(64, 16);
  v128.store(lanes, a);
  v128.store(lanes, b, 16);
  v128.store(lanes, c, 32);
  v128.store(lanes, d, 48);
  memory.copy(out, lanes, <usize>count << 2);
}

/**
 * C [M, N] = A [M, K] · B + bias: B packed by packB, bias [N] padded to whole panels (the
 * caller stores it so). Two rows of A at a time: 8 accumulators, 4 weight vectors and 2
 * broadcasts fit the 16 SIMD registers V8 has on x64.
 */
export function linear(a: usize, bp: usize, bias: usize, c: usize, M: i32, K: i32, N: i32): void {
  const rowA = <usize>K << 2, rowC = <usize>N << 2, panel = <usize>K * PANEL * 4;
  let m = 0;
  for (; m + 2 <= M; m += 2) {
    for (let p = 0; p < N; p += PANEL) {
      const bb = bias + (<usize>p << 2);
      let c00 = v128.load(bb), c01 = v128.load(bb, 16), c02 = v128.load(bb, 32), c03 = v128.load(bb, 48);
      let c10 = c00, c11 = c01, c12 = c02, c13 = c03;
      let w = bp + <usize>(p / PANEL) * panel;
      let x = a + <usize>m * rowA;
      const end = x + rowA;
      while (x < end) {
        const b0 = v128.load(w), b1 = v128.load(w, 16), b2 = v128.load(w, 32), b3 = v128.load(w, 48);
        const x0 = v128.load32_splat(x), x1 = v128.load32_splat(x + rowA);
        c00 = madd(x0, b0, c00);
        c01 = madd(x0, b1, c01);
        c02 = madd(x0, b2, c02);
        c03 = madd(x0, b3, c03);
        c10 = madd(x1, b0, c10);
        c11 = madd(x1, b1, c11);
        c12 = madd(x1, b2, c12);
        c13 = madd(x1, b3, c13);
        w += PANEL << 2;
        x += 4;
      }
      const o = c + <usize>m * rowC + (<usize>p << 2);
      storeRow(o, c00, c01, c02, c03, N - p);
      storeRow(o + rowC, c10, c11, c12, c13, N - p);
    }
  }
  if (m < M) {
    for (let p = 0; p < N; p += PANEL) {
      const bb = bias + (<usize>p << 2);
      let c00 = v128.load(bb), c01 = v128.load(bb, 16), c02 = v128.load(bb, 32), c03 = v128.load(bb, 48);
      let w = bp + <usize>(p / PANEL) * panel;
      let x = a + <usize>m * rowA;
      const end = x + rowA;
      while (x < end) {
        const x0 = v128.load32_splat(x);
        c00 = madd(x0, v128.load(w), c00);
        c01 = madd(x0, v128.load(w, 16), c01);
        c02 = madd(x0, v128.load(w, 32), c02);
        c03 = madd(x0, v128.load(w, 48), c03);
        w += PANEL << 2;
        x += 4;
      }
      storeRow(c + <usize>m * rowC + (<usize>p << 2), c00, c01, c02, c03, N - p);
    }
  }
}

@inline function sum4(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) +
    f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/**
 * out [M, H] = LayerNorm(x + residual) · gamma + beta over each row (residual 0: none).
 * `out` may be `x`, not `residual`. Two passes over the row (mean, then variance of the
 * centred values), as onnxruntime's LayerNormalization computes it.
 */
export function addLayerNorm(
  x: usize, residual: usize, gamma: usize, beta: usize, out: usize, M: i32, H: i32, eps: f32,
): void {
  const row = <usize>H << 2;
  for (let m = 0; m < M; m++) {
    const xo = x + <usize>m * row, ro = residual + <usize>m * row, oo = out + <usize>m * row;
    let sum = f32x4.splat(0);
    for (let i: usize = 0; i < row; i += 16) {
      let v = v128.load(xo + i);
      if (residual) v = f32x4.add(v, v128.load(ro + i));
      v128.store(oo + i, v);
      sum = f32x4.add(sum, v);
    }
    const mean = f32x4.splat(sum4(sum) / <f32>H);
    let squares = f32x4.splat(0);
    for (let i: usize = 0; i < row; i += 16) {
      const d = f32x4.sub(v128.load(oo + i), mean);
      squares = f32x4.add(squares, f32x4.mul(d, d));
    }
    const scale = f32x4.splat(<f32>1 / Mathf.sqrt(sum4(squares) / <f32>H + eps));
    for (let i: usize = 0; i < row; i += 16) {
      const d = f32x4.mul(f32x4.sub(v128.load(oo + i), mean), scale);
      v128.store(oo + i, f32x4.add(f32x4.mul(d, v128.load(gamma + i)), v128.load(beta + i)));
    }
  }
}

/**
 * exp, four lanes: e^x = 2^n · e^r with n = round(x / ln 2), |r| ≤ ln 2 / 2, e^r by its Taylor
 * polynomial to r⁶ (relative error < 2e-7 over the float range; below −87 it gives ~1e-38,
 * above 88 it is clamped). Four exps for the cost of a few multiplies instead of four calls.
 */
@inline function exp4(x: v128): v128 {
  // pmin/pmax: one instruction each on x64 where min/max take ~7 (NaN and ±0 rules); the
  // same lanes here (a NaN x stays NaN: pmin(x, c) is x unless c < x)
  const v = f32x4.pmax(f32x4.pmin(x, f32x4.splat(88.0)), f32x4.splat(-87.0));
  // n = round-half-even(v / ln 2) by adding ROUNDER (|v / ln 2| < 2²²), which also leaves n
  // as an integer in the bits: f32x4.nearest and trunc_sat (~8 instructions on x64) give
  // the same n
  const rounded = f32x4.add(f32x4.mul(v, f32x4.splat(1.4426950408889634)), f32x4.splat(ROUNDER));
  const n = f32x4.sub(rounded, f32x4.splat(ROUNDER));
  // r = v − n·ln 2, with ln 2 split in two so that n·ln2_hi is exact
  const r = f32x4.sub(
    f32x4.sub(v, f32x4.mul(n, f32x4.splat(0.693359375))),
    f32x4.mul(n, f32x4.splat(-2.12194440e-4)),
  );
  let p = f32x4.splat(1.0 / 720.0);
  p = madd(p, r, f32x4.splat(1.0 / 120.0));
  p = madd(p, r, f32x4.splat(1.0 / 24.0));
  p = madd(p, r, f32x4.splat(1.0 / 6.0));
  p = madd(p, r, f32x4.splat(0.5));
  p = madd(p, r, f32x4.splat(1.0));
  p = madd(p, r, f32x4.splat(1.0));
  // 2^n: n + 127 in the exponent bits
  const scale = i32x4.shl(i32x4.add(i32x4.sub(rounded, f32x4.splat(ROUNDER)), i32x4.splat(127)), 23);
  return f32x4.mul(p, scale);
}

/**
 * erf, four lanes, by Abramowitz & Stegun 7.1.26: erf(x) = sign(x)·(1 − t·P(t)·exp(−x²)),
 * t = 1 / (1 + 0.3275911·|x|), P of degree 4; absolute error < 1.5e-7 (a gelu value moves by
 * less than |x|·1e-7). Horner steps as fused multiply-adds.
 */
@inline function erf4(x: v128): v128 {
  const z = f32x4.abs(x);
  const t = f32x4.div(f32x4.splat(1), madd(f32x4.splat(0.3275911), z, f32x4.splat(1)));
  let p = f32x4.splat(1.061405429);
  p = madd(p, t, f32x4.splat(-1.453152027));
  p = madd(p, t, f32x4.splat(1.421413741));
  p = madd(p, t, f32x4.splat(-0.284496736));
  p = madd(p, t, f32x4.splat(0.254829592));
  const tail = f32x4.mul(f32x4.mul(p, t), exp4(f32x4.neg(f32x4.mul(z, z))));
  const r = f32x4.sub(f32x4.splat(1), tail);
  return v128.bitselect(f32x4.neg(r), r, f32x4.lt(x, f32x4.splat(0)));
}

@inline function gelu4(v: v128): v128 {
  const erf = erf4(f32x4.mul(v, f32x4.splat(<f32>0.7071067811865476)));
  return f32x4.mul(f32x4.mul(v, f32x4.splat(0.5)), f32x4.add(f32x4.splat(1), erf));
}

/** x [n] = gelu(x) = x/2 · (1 + erf(x/√2)), in place (BERT's exact "gelu"); n % 4 == 0. */
export function gelu(x: usize, n: i32): void {
  const end = x + (<usize>n << 2);
  let p = x;
  for (; p < end; p += 16) v128.store(p, gelu4(v128.load(p)));
}

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

/**
 * out [B·S, H] = word[ids] + position[s] + type[types] (ids, types i32 [B, S]; `type` 0:
 * no token-type table). Positions count from 0 in each row.
 */
export function embed(
  ids: usize, types: usize, word: usize, position: usize, type: usize, out: usize,
  B: i32, S: i32, H: i32,
): void {
  const row = <usize>H << 2;
  for (let t = 0; t < B * S; t++) {
    const w = word + <usize>load<i32>(ids + (<usize>t << 2)) * row;
    const p = position + <usize>(t % S) * row;
    const o = out + <usize>t * row;
    if (type) {
      const y = type + <usize>load<i32>(types + (<usize>t << 2)) * row;
      for (let i: usize = 0; i < row; i += 16) {
        v128.store(o + i, f32x4.add(f32x4.add(v128.load(w + i), v128.load(p + i)), v128.load(y + i)));
      }
    } else {
      for (let i: usize = 0; i < row; i += 16) {
        v128.store(o + i, f32x4.add(v128.load(w + i), v128.load(p + i)));
      }
    }
  }
}

// ---- int8 projections (quantize.ts's graphs) ----
//
// The arithmetic is onnxruntime's for `DynamicQuantizeLinear` → `MatMulInteger` → `Cast` →
// `Mul(·, x_scale · w_scale[n])` (→ bias `Add`), so that the answers equal its int8 answers:
// the activations are quantized per tensor to uint8 (quantizeActivations), the products are
// summed exactly in i32, and only the rescaling rounds, in the same order onnxruntime does.
// Each multiply-add step is `i32x4.dot_i16x8_s`: 8 products of i16 pairs per instruction
// (2 rows of the input for 4 columns), against 4 fused multiply-adds per instruction in
// `linear` above.
//
// Worked example of the packed int8 layout (`packedInt8Bytes`, K = 4 rows, N = 20 columns;
// kernel_session.ts packs it): each panel of 16 columns holds pairs of rows, and for each
// pair the two rows' values of a column sit side by side:
//   panel 0, rows 0–1: [B[0][0], B[1][0], B[0][1], B[1][1], …, B[0][15], B[1][15]]  (32 bytes)
//   panel 0, rows 2–3: [B[2][0], B[3][0], …]
//   panel 1, rows 0–1: [B[0][16], B[1][16], …, B[0][19], B[1][19], 0 × 24]
// so `v128.load8x8_s` of 8 bytes gives the i16 pairs of 4 columns, and a dot product of it
// with the input's pair (x[k], x[k+1]), splatted, adds x[k]·B[k][n] + x[k+1]·B[k+1][n] to
// each of the 4 columns' sums.

/** Rows of the input the int8 products take per pass over the weights (even). */
const ROW_BLOCK: i32 = 32;

/** Bytes the packed int8 layout takes for a K × N matrix (K even; N in whole panels). */
export function packedInt8Bytes(K: i32, N: i32): i32 {
  return K * ((N + PANEL - 1) / PANEL) * PANEL;
}

/** The zero point quantizeActivations found last (quantizeActivationsI8 reads it). */
let lastZeroF: f32 = 0;

/**
 * Quantizes x [n] (n % 4 == 0) as onnxruntime's `DynamicQuantizeLinear` does, and writes
 * q − zero point as i16 to `q` [n]; returns the scale. Range: [min(x, 0), max(x, 0)]; scale
 * = (max − min) / 255 (1 when max = min); zero point = round-half-even(clamp(−min / scale,
 * 0, 255)); q = round-half-even(clamp(x / scale, −zp, 255 − zp)) + zp, which is MLAS's order
 * (divide, clamp, round, add the zero point): the same uint8, so q − zp is what MatMulInteger
 * multiplies. Example: x = [−1, 0, 0.5, 2] → scale 3/255, zp 85, q − zp = [−85, 0, 43, 170].
 */
export function quantizeActivations(x: usize, q: usize, n: i32): f32 {
  const scale = activationScale(x, n);
  const zero = lastZeroF;
  const scaleV = f32x4.splat(scale);
  const low = f32x4.splat(-zero), high = f32x4.splat(<f32>255 - zero);
  const end = x + (<usize>n << 2);
  let o = q, p = x;
  for (; p + 32 <= end; p += 32) {
    const a = roundedSteps(v128.load(p), scaleV, low, high);
    const b = roundedSteps(v128.load(p, 16), scaleV, low, high);
    v128.store(o, i16x8.narrow_i32x4_s(a, b));
    o += 16;
  }
  if (p < end) {
    const a = roundedSteps(v128.load(p), scaleV, low, high);
    v128.store64_lane(o, i16x8.narrow_i32x4_s(a, a), 0);
  }
  return scale;
}

/**
 * DynamicQuantizeLinear's scale of x [n] (returned) and zero point (left in lastZeroF): the
 * range pass quantizeActivations and quantizeActivationsU8 share.
 */
function activationScale(x: usize, n: i32): f32 {
  // pmin/pmax (one instruction each on x64, min/max ~7) skip NaN lanes, so NaN is looked
  // for apart (one compare and one or): any NaN gives min/max's NaN range, as before
  let lo = f32x4.splat(0), hi = f32x4.splat(0), nan = i32x4.splat(0);
  const end = x + (<usize>n << 2);
  for (let p = x; p < end; p += 16) {
    const v = v128.load(p);
    lo = f32x4.pmin(lo, v);
    hi = f32x4.pmax(hi, v);
    nan = v128.or(nan, f32x4.ne(v, v));
  }
  if (v128.any_true(nan)) {
    lo = f32x4.splat(NaN);
    hi = lo;
  }
  const min = Mathf.min(
    Mathf.min(f32x4.extract_lane(lo, 0), f32x4.extract_lane(lo, 1)),
    Mathf.min(f32x4.extract_lane(lo, 2), f32x4.extract_lane(lo, 3)),
  );
  const max = Mathf.max(
    Mathf.max(f32x4.extract_lane(hi, 0), f32x4.extract_lane(hi, 1)),
    Mathf.max(f32x4.extract_lane(hi, 2), f32x4.extract_lane(hi, 3)),
  );
  const scale: f32 = max == min ? 1 : (max - min) / <f32>255;
  const zero: f32 = nearest<f32>(Mathf.max(0, Mathf.min(255, <f32>0 - min / scale)));
  lastZeroF = zero;
  return scale;
}


/**
 * round-half-even(clamp(x / scale, low, high)) as i32, four lanes: the rounding by adding
 * ROUNDER (wasm floats round to nearest even) and reading the bits back, two instructions
 * instead of `f32x4.nearest` and `i32x4.trunc_sat_f32x4_s` (which V8 expands to ~8 on x64).
 */
@inline function roundedSteps(x: v128, scale: v128, low: v128, high: v128): v128 {
  // pmax/pmin: the same lanes as max/min here (a NaN stays NaN; ±0 round to the same q)
  const v = f32x4.pmin(f32x4.pmax(f32x4.div(x, scale), low), high);
  return i32x4.sub(f32x4.add(v, f32x4.splat(ROUNDER)), f32x4.splat(ROUNDER));
}

/**
 * Rescales four columns' i32 sums as onnxruntime does: float(sum) · (x_scale · w_scale[n]),
 * then + bias[n] (two roundings, no fused multiply-add, as its Mul and Add nodes).
 */
@inline function rescale(sum: v128, xs: v128, scales: usize, bias: usize, offset: usize): v128 {
  const factor = f32x4.mul(xs, v128.load(scales + offset));
  return f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(sum), factor), v128.load(bias + offset));
}

/**
 * C [M, N] = rescale(Aq [M, K] · Bq) + bias: Aq i16 from quantizeActivations (its scale
 * `xScale`), Bq int8 packed (layout above), `scales` and `bias` float [N] padded to whole
 * panels. Two rows of A at a time, as `linear`: 8 i32x4 sums, 4 widened weight vectors and
 * 2 splatted input pairs in registers.
 */
export function linearInt8(
  a: usize, bp: usize, scales: usize, bias: usize, xScale: f32, c: usize, M: i32, K: i32, N: i32,
): void {
  const rowA = <usize>K << 1, rowC = <usize>N << 2, panel = <usize>K * PANEL;
  const xs = f32x4.splat(xScale);
  // blocks of ROW_BLOCK rows (48 KiB of input at K = 768), and in each, panels outside and
  // rows inside: a panel (K × 16 bytes) stays in L1 while the block's rows pass it, and the
  // block stays in L2 while the panels pass; rows outside instead streamed the whole matrix
  // through L1 for each pair of rows, panels outside the whole input for each panel
  for (let m0 = 0; m0 < M; m0 += ROW_BLOCK) {
  const mEnd = min(M, m0 + ROW_BLOCK);
  for (let p = 0; p < N; p += PANEL) {
    const wp = bp + <usize>(p / PANEL) * panel, at = <usize>p << 2;
    let m = m0;
    for (; m + 2 <= mEnd; m += 2) {
      let c00 = i32x4.splat(0), c01 = c00, c02 = c00, c03 = c00;
      let c10 = c00, c11 = c00, c12 = c00, c13 = c00;
      let w = wp;
      let x = a + <usize>m * rowA;
      const end = x + rowA;
      while (x < end) {
        const b0 = v128.load8x8_s(w), b1 = v128.load8x8_s(w, 8);
        const b2 = v128.load8x8_s(w, 16), b3 = v128.load8x8_s(w, 24);
        const x0 = v128.load32_splat(x), x1 = v128.load32_splat(x + rowA);
        c00 = i32x4.add(c00, i32x4.dot_i16x8_s(x0, b0));
        c01 = i32x4.add(c01, i32x4.dot_i16x8_s(x0, b1));
        c02 = i32x4.add(c02, i32x4.dot_i16x8_s(x0, b2));
        c03 = i32x4.add(c03, i32x4.dot_i16x8_s(x0, b3));
        c10 = i32x4.add(c10, i32x4.dot_i16x8_s(x1, b0));
        c11 = i32x4.add(c11, i32x4.dot_i16x8_s(x1, b1));
        c12 = i32x4.add(c12, i32x4.dot_i16x8_s(x1, b2));
        c13 = i32x4.add(c13, i32x4.dot_i16x8_s(x1, b3));
        w += PANEL << 1;
        x += 4;
      }
      const o = c + <usize>m * rowC + at;
      storeRow(
        o,
        rescale(c00, xs, scales, bias, at),
        rescale(c01, xs, scales, bias, at + 16),
        rescale(c02, xs, scales, bias, at + 32),
        rescale(c03, xs, scales, bias, at + 48),
        N - p,
      );
      storeRow(
        o + rowC,
        rescale(c10, xs, scales, bias, at),
        rescale(c11, xs, scales, bias, at + 16),
        rescale(c12, xs, scales, bias, at + 32),
        rescale(c13, xs, scales, bias, at + 48),
        N - p,
      );
    }
    if (m < mEnd) {
      let c00 = i32x4.splat(0), c01 = c00, c02 = c00, c03 = c00;
      let w = wp;
      let x = a + <usize>m * rowA;
      const end = x + rowA;
      while (x < end) {
        const x0 = v128.load32_splat(x);
        c00 = i32x4.add(c00, i32x4.dot_i16x8_s(x0, v128.load8x8_s(w)));
        c01 = i32x4.add(c01, i32x4.dot_i16x8_s(x0, v128.load8x8_s(w, 8)));
        c02 = i32x4.add(c02, i32x4.dot_i16x8_s(x0, v128.load8x8_s(w, 16)));
        c03 = i32x4.add(c03, i32x4.dot_i16x8_s(x0, v128.load8x8_s(w, 24)));
        w += PANEL << 1;
        x += 4;
      }
      storeRow(
        c + <usize>m * rowC + at,
        rescale(c00, xs, scales, bias, at),
        rescale(c01, xs, scales, bias, at + 16),
        rescale(c02, xs, scales, bias, at + 32),
        rescale(c03, xs, scales, bias, at + 48),
        N - p,
      );
    }
  }
  }
}

// ---- int8 projections with 7-bit weights (quantize --reduce-range): relaxed dot products ----
//
// `i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c)` adds to each i32 lane the sum of 4 products
// of i8 `a` and 7-bit `b` bytes (16 products per instruction; one `vpdpbusd` where the CPU
// has AVX-VNNI). Its `b` must lie in 0…127 for the answer to be the same everywhere, and
// uint8 activations do not fit i8, so both are shifted: a = q − 128 (i8), b = w + 64 (1…127
// for |w| ≤ 63), and the shifts are taken back exactly in i32:
//   Σ (q − zp)·w = Σ a·b − 64·Σ a + (128 − zp)·Σ w
// (Σ a per input row, computed here; Σ w per column, stored with the weights).
//
// Worked example of the packed layout (`packedInt8Bytes` bytes, K = 8, N = 20): per panel of
// 16 columns, per group of 4 rows, each column's 4 values (+ 64) side by side:
//   panel 0, rows 0–3: [B[0][0]+64, B[1][0]+64, B[2][0]+64, B[3][0]+64, B[0][1]+64, …]  (64 bytes)
//   panel 0, rows 4–7: […]
//   panel 1, rows 0–3: [columns 16…19, then 12 × 4 bytes of 64 (weight 0)]
// so one v128.load holds 4 columns × 4 rows, and the input's 4 bytes, splatted, meet them.

/** Whether this build has relaxed SIMD (the layout above is for it; kernel_session.ts asks). */
export function relaxedBuild(): bool {
  return ASC_FEATURE_RELAXED_SIMD;
}

/** The zero point of the last `quantizeActivationsI8`. */
let lastZero: i32 = 0;

/** The zero point `quantizeActivationsI8` found last. */
export function activationZeroPoint(): i32 {
  return lastZero;
}

/**
 * quantizeActivations' uint8 values, stored as i8 q − 128 [n] (n % 4 == 0) for
 * linearInt8Relaxed; returns the scale (the zero point: activationZeroPoint()).
 */
export function quantizeActivationsI8(x: usize, q: usize, n: i32): f32 {
  const scale = quantizeActivations(x, q, n); // q − zp as i16, in place below
  lastZero = <i32>lastZeroF;
  const shift = i16x8.splat(<i16>(lastZero - 128));
  // i16 → i8 front to back: element i moves from 2i to i, never over one not yet read
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const a = i16x8.add(v128.load(q + (<usize>i << 1)), shift);
    const b = i16x8.add(v128.load(q + (<usize>i << 1), 16), shift);
    v128.store(q + <usize>i, i8x16.narrow_i16x8_s(a, b));
  }
  for (; i < n; i++) {
    store<i8>(q + <usize>i, <i8>(load<i16>(q + (<usize>i << 1)) + <i16>(lastZero - 128)));
  }
  return scale;
}

/** a·b summed in fours onto c: relaxed where built with it, else the same sums in plain SIMD. */
@inline function dot4(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c);
  const lo = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(a), i16x8.extend_low_i8x16_u(b));
  const hi = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(a), i16x8.extend_high_i8x16_u(b));
  const sums = i32x4.add(
    v128.shuffle<i32>(lo, hi, 0, 2, 4, 6),
    v128.shuffle<i32>(lo, hi, 1, 3, 5, 7),
  );
  return i32x4.add(c, sums);
}

/** Σ of a row's K i8 values (K % 4 == 0). */
@inline function rowSum(x: usize, K: i32): i32 {
  let s = 0;
  for (let k = 0; k < K; k++) s += <i32>load<i8>(x + <usize>k);
  return s;
}

/**
 * Four columns' exact Σ (q − zp)·w from the shifted sums (formula above), rescaled as
 * `rescale` does.
 */
@inline function unshift(
  sum: v128, rowTerm: v128, zeroTerm: v128, colSums: usize, xs: v128, scales: usize,
  bias: usize, offset: usize,
): v128 {
  const exact = i32x4.add(i32x4.sub(sum, rowTerm), i32x4.mul(zeroTerm, v128.load(colSums + offset)));
  return rescale(exact, xs, scales, bias, offset);
}

/**
 * C [M, N] = rescale(Σ (q − zp)·w) + bias for 7-bit weights: Aq i8 (q − 128) from
 * quantizeActivationsI8 (scale `xScale`, zero point `zero`; its buffer of M·K·2 bytes, whose
 * second half this overwrites), Bq packed as above, `colSums` i32 [N] (Σ w of each column) and
 * `scales`, `bias` float [N], all padded to whole panels.
 */
export function linearInt8Relaxed(
  a: usize, bp: usize, colSums: usize, scales: usize, bias: usize, xScale: f32, zero: i32,
  c: usize, M: i32, K: i32, N: i32,
): void {
  const rowA = <usize>K, rowC = <usize>N << 2, panel = <usize>K * PANEL;
  const xs = f32x4.splat(xScale), zeroTerm = i32x4.splat(128 - zero);
  // 64 · Σ a of each row, once, after the values (quantizeActivationsI8 leaves them half of
  // an i16 buffer, so M · K bytes are free there)
  const rowTerms = a + <usize>M * rowA; // 4·M bytes ≤ M·K for K ≥ 4 (unaligned: allowed)
  for (let m = 0; m < M; m++) store<i32>(rowTerms + (<usize>m << 2), 64 * rowSum(a + <usize>m * rowA, K));
  // blocks of rows, panels outside and rows inside in each, as linearInt8
  for (let m0 = 0; m0 < M; m0 += ROW_BLOCK) {
  const mEnd = min(M, m0 + ROW_BLOCK);
  for (let p = 0; p < N; p += PANEL) {
    const wp = bp + <usize>(p / PANEL) * panel, at = <usize>p << 2;
    for (let m = m0; m < mEnd; m += 2) {
      const two = m + 1 < mEnd;
      const r0 = v128.load32_splat(rowTerms + (<usize>m << 2));
      const r1 = two ? v128.load32_splat(rowTerms + (<usize>(m + 1) << 2)) : r0;
      // a last single row is read twice (its own row as the second): stored once
      const second = two ? <usize>(m + 1) * rowA : <usize>m * rowA;
      let c00 = i32x4.splat(0), c01 = c00, c02 = c00, c03 = c00;
      let c10 = c00, c11 = c00, c12 = c00, c13 = c00;
      let w = wp;
      let x = a + <usize>m * rowA, y = a + second;
      const end = x + rowA;
      while (x < end) {
        const b0 = v128.load(w), b1 = v128.load(w, 16), b2 = v128.load(w, 32), b3 = v128.load(w, 48);
        const x0 = v128.load32_splat(x), x1 = v128.load32_splat(y);
        c00 = dot4(x0, b0, c00);
        c01 = dot4(x0, b1, c01);
        c02 = dot4(x0, b2, c02);
        c03 = dot4(x0, b3, c03);
        c10 = dot4(x1, b0, c10);
        c11 = dot4(x1, b1, c11);
        c12 = dot4(x1, b2, c12);
        c13 = dot4(x1, b3, c13);
        w += PANEL << 2;
        x += 4;
        y += 4;
      }
      const o = c + <usize>m * rowC + at;
      storeRow(
        o,
        unshift(c00, r0, zeroTerm, colSums, xs, scales, bias, at),
        unshift(c01, r0, zeroTerm, colSums, xs, scales, bias, at + 16),
        unshift(c02, r0, zeroTerm, colSums, xs, scales, bias, at + 32),
        unshift(c03, r0, zeroTerm, colSums, xs, scales, bias, at + 48),
        N - p,
      );
      if (!two) continue;
      storeRow(
        o + rowC,
        unshift(c10, r1, zeroTerm, colSums, xs, scales, bias, at),
        unshift(c11, r1, zeroTerm, colSums, xs, scales, bias, at + 16),
        unshift(c12, r1, zeroTerm, colSums, xs, scales, bias, at + 32),
        unshift(c13, r1, zeroTerm, colSums, xs, scales, bias, at + 48),
        N - p,
      );
    }
  }
  }
}

// ---- int8 projections on unsigned-by-signed dot products (x64 with AVX-VNNI) ----
//
// Where the runtime computes `i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c)` with `b` read
// as unsigned bytes and no intermediate saturation (V8 on x64 with AVX-VNNI lowers it to one
// `vpdpbusd`; `unsignedDotExact` checks it on the spot), the product is exactly
// MatMulInteger's uint8 × int8, 16 products per instruction against `linearInt8`'s 8 per
// `dot_i16x8_s` plus an add: the activations are the uint8 q themselves (no shift) and the
// weights any int8 (full range, no 7-bit limit), with the zero point taken back in i32:
//   Σ (q − zp)·w = Σ q·w − zp·Σ w
// (Σ w per column, stored with the weights). Elsewhere the same instruction rounds
// differently (pmaddubsw saturates pairs of products to i16 on x64 without VNNI; ARM's sdot
// and AVX-VNNI-INT8's vpdpbssd read `b` as signed), so the session uses this path only when
// the check passes. The packed weights are linearInt8Relaxed's layout without the + 64.

/**
 * Whether relaxed dot products here are exact uint8 × int8 sums: every signed byte value
 * against unsigned ones from 0 to 255 (16 distinct pairs in the lanes of each step, so the
 * grouping of bytes into lanes is checked too), against the same sums widened to i16 by
 * plain SIMD. The operands come from the loop, so the compiler cannot fold the instruction
 * away with its own reading of it. 4,096 steps: ~1 ms on the first (baseline-compiled) call.
 */
export function unsignedDotExact(): bool {
  if (!ASC_FEATURE_RELAXED_SIMD) return false;
  const lanes = i8x16(0, 17, 34, 51, 68, 85, 102, 119, -120, -103, -86, -69, -52, -35, -18, -1);
  for (let a = -128; a < 128; a++) {
    const signed = i8x16.add(i8x16.splat(<i8>a), lanes);
    for (let b = 0; b < 256; b += 17) {
      const unsigned = i8x16.sub(i8x16.splat(<i8>b), lanes);
      const start = i32x4.splat(a * 1000 + b);
      const fast = i32x4.relaxed_dot_i8x16_i7x16_add_s(signed, unsigned, start);
      const lo = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(signed), i16x8.extend_low_i8x16_u(unsigned));
      const hi = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(signed), i16x8.extend_high_i8x16_u(unsigned));
      const exact = i32x4.add(start, i32x4.add(
        v128.shuffle<i32>(lo, hi, 0, 2, 4, 6),
        v128.shuffle<i32>(lo, hi, 1, 3, 5, 7),
      ));
      if (!i32x4.all_true(i32x4.eq(fast, exact))) return false;
    }
  }
  return true;
}

/**
 * quantizeActivations' uint8 values q [n] themselves (n % 4 == 0), one byte each, for
 * linearInt8Unsigned; returns the scale (the zero point: activationZeroPoint()). The same
 * arithmetic: round(clamp(x / scale, −zp, 255 − zp)) + zp, the zero point added after the
 * rounding (adding it before would move halves: round-half-even(0.5 + 1) is 2, not 1).
 */
export function quantizeActivationsU8(x: usize, q: usize, n: i32): f32 {
  const scale = activationScale(x, n);
  const zero = lastZeroF;
  lastZero = <i32>zero;
  const scaleV = f32x4.splat(scale), zeroV = i32x4.splat(lastZero);
  const low = f32x4.splat(-zero), high = f32x4.splat(<f32>255 - zero);
  const end = x + (<usize>n << 2);
  let o = q, p = x;
  for (; p + 64 <= end; p += 64) {
    const a = i32x4.add(roundedSteps(v128.load(p), scaleV, low, high), zeroV);
    const b = i32x4.add(roundedSteps(v128.load(p, 16), scaleV, low, high), zeroV);
    const c = i32x4.add(roundedSteps(v128.load(p, 32), scaleV, low, high), zeroV);
    const d = i32x4.add(roundedSteps(v128.load(p, 48), scaleV, low, high), zeroV);
    v128.store(o, i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(a, b), i16x8.narrow_i32x4_s(c, d)));
    o += 16;
  }
  for (; p < end; p += 16) {
    const a = i32x4.add(roundedSteps(v128.load(p), scaleV, low, high), zeroV);
    const bytes = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(a, a), i16x8.narrow_i32x4_s(a, a));
    v128.store32_lane(o, bytes, 0);
    o += 4;
  }
  return scale;
}

/** i32x4.relaxed_dot_i8x16_i7x16_add_s with `b` unsigned: only where unsignedDotExact(). */
@inline function dotUnsigned(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c);
  return c; // never called: unsignedDotExact() is false in the plain build
}

/**
 * C [M, N] = rescale(Σ (q − zp)·w) + bias on unsigned dot products (only where
 * unsignedDotExact()): Aq uint8 [M, K] from quantizeActivationsU8 (scale `xScale`, zero
 * point `zero`), Bq packed as linearInt8Relaxed's layout without the + 64, `colSums` i32 [N]
 * (Σ w of each column), `scales` and `bias` float [N], all padded to whole panels. The sums
 * start at −zp·Σ w, so what the dot products add up to is the exact Σ (q − zp)·w.
 */
export function linearInt8Unsigned(
  a: usize, bp: usize, colSums: usize, scales: usize, bias: usize, xScale: f32, zero: i32,
  c: usize, M: i32, K: i32, N: i32,
): void {
  const rowA = <usize>K, rowC = <usize>N << 2, panel = <usize>K * PANEL;
  const xs = f32x4.splat(xScale), minusZero = i32x4.splat(-zero);
  for (let m0 = 0; m0 < M; m0 += ROW_BLOCK) {
  const mEnd = min(M, m0 + ROW_BLOCK);
  for (let p = 0; p < N; p += PANEL) {
    const wp = bp + <usize>(p / PANEL) * panel, at = <usize>p << 2;
    const s0 = i32x4.mul(minusZero, v128.load(colSums + at));
    const s1 = i32x4.mul(minusZero, v128.load(colSums + at, 16));
    const s2 = i32x4.mul(minusZero, v128.load(colSums + at, 32));
    const s3 = i32x4.mul(minusZero, v128.load(colSums + at, 48));
    let m = m0;
    for (; m + 2 <= mEnd; m += 2) {
      let c00 = s0, c01 = s1, c02 = s2, c03 = s3;
      let c10 = s0, c11 = s1, c12 = s2, c13 = s3;
      let w = wp;
      let x = a + <usize>m * rowA;
      const end = x + rowA;
      while (x < end) {
        const b0 = v128.load(w), b1 = v128.load(w, 16), b2 = v128.load(w, 32), b3 = v128.load(w, 48);
        const x0 = v128.load32_splat(x), x1 = v128.load32_splat(x + rowA);
        c00 = dotUnsigned(b0, x0, c00);
        c01 = dotUnsigned(b1, x0, c01);
        c02 = dotUnsigned(b2, x0, c02);
        c03 = dotUnsigned(b3, x0, c03);
        c10 = dotUnsigned(b0, x1, c10);
        c11 = dotUnsigned(b1, x1, c11);
        c12 = dotUnsigned(b2, x1, c12);
        c13 = dotUnsigned(b3, x1, c13);
        w += PANEL << 2;
        x += 4;
      }
      const o = c + <usize>m * rowC + at;
      storeRow(
        o,
        rescale(c00, xs, scales, bias, at),
        rescale(c01, xs, scales, bias, at + 16),
        rescale(c02, xs, scales, bias, at + 32),
        rescale(c03, xs, scales, bias, at + 48),
        N - p,
      );
      storeRow(
        o + rowC,
        rescale(c10, xs, scales, bias, at),
        rescale(c11, xs, scales, bias, at + 16),
        rescale(c12, xs, scales, bias, at + 32),
        rescale(c13, xs, scales, bias, at + 48),
        N - p,
      );
    }
    if (m < mEnd) {
      let c00 = s0, c01 = s1, c02 = s2, c03 = s3;
      let w = wp;
      let x = a + <usize>m * rowA;
      const end = x + rowA;
      while (x < end) {
        const x0 = v128.load32_splat(x);
        c00 = dotUnsigned(v128.load(w), x0, c00);
        c01 = dotUnsigned(v128.load(w, 16), x0, c01);
        c02 = dotUnsigned(v128.load(w, 32), x0, c02);
        c03 = dotUnsigned(v128.load(w, 48), x0, c03);
        w += PANEL << 2;
        x += 4;
      }
      storeRow(
        c + <usize>m * rowC + at,
        rescale(c00, xs, scales, bias, at),
        rescale(c01, xs, scales, bias, at + 16),
        rescale(c02, xs, scales, bias, at + 32),
        rescale(c03, xs, scales, bias, at + 48),
        N - p,
      );
    }
  }
  }
}

/**
 * `embed` with an int8 word table (one scale per row, quantize.ts): each word row read back
 * as float(q) · scale (onnxruntime's Cast then Mul), then added as `embed` adds.
 */
export function embedInt8(
  ids: usize, types: usize, word: usize, wordScales: usize, position: usize, type: usize,
  out: usize, B: i32, S: i32, H: i32,
): void {
  const row = <usize>H << 2;
  for (let t = 0; t < B * S; t++) {
    const id = <usize>load<i32>(ids + (<usize>t << 2));
    const w = word + id * <usize>H, scale = v128.load32_splat(wordScales + (id << 2));
    const p = position + <usize>(t % S) * row;
    const y = type + <usize>load<i32>(types + (<usize>t << 2)) * row;
    const o = out + <usize>t * row;
    for (let i: usize = 0; i < row; i += 16) {
      // four int8 → i16 → i32 → float
      const q = i32x4.extend_low_i16x8_s(v128.load8x8_s(w + (i >> 2)));
      let v = f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(q), scale), v128.load(p + i));
      if (type) v = f32x4.add(v, v128.load(y + i));
      v128.store(o + i, v);
    }
  }
}

/** Where callers may start placing tensors (after this module's own data). */
export function heapStart(): usize {
  return (__heap_base + 63) & ~63;
}
