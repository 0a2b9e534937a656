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
import { PANEL, storeRow } from "./linear";

/** Rows of the input the int8 products take per pass over the weights (even). */
export const ROW_BLOCK: i32 = 32;

/** Bytes the packed int8 layout takes for a K × N matrix (K even; N in whole panels). */
export function packedInt8Bytes(K: i32, N: i32): i32 {
  return K * ((N + PANEL - 1) / PANEL) * PANEL;
}

/**
 * Rescales four columns' i32 sums as onnxruntime does: float(sum) · (x_scale · w_scale[n]),
 * then + bias[n] (two roundings, no fused multiply-add, as its Mul and Add nodes).
 */
@inline export function rescale(sum: v128, xs: v128, scales: usize, bias: usize, offset: usize): v128 {
  const factor = f32x4.mul(xs, v128.load(scales + offset));
  return f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(sum), factor), v128.load(bias + offset));
}

/**
 * One row's four i32x4 sums of a 16-column panel rescaled (`rescale`) and stored at `out`
 * (`count` of the 16 columns are real): the int8 products' common epilogue.
 */
@inline export function storeRescaled(
  out: usize,
  c0: v128,
  c1: v128,
  c2: v128,
  c3: v128,
  xs: v128,
  scales: usize,
  bias: usize,
  at: usize,
  count: i32,
): void {
  storeRow(
    out,
    rescale(c0, xs, scales, bias, at),
    rescale(c1, xs, scales, bias, at + 16),
    rescale(c2, xs, scales, bias, at + 32),
    rescale(c3, xs, scales, bias, at + 48),
    count,
  );
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
      storeRescaled(o, c00, c01, c02, c03, xs, scales, bias, at, N - p);
      storeRescaled(o + rowC, c10, c11, c12, c13, xs, scales, bias, at, N - p);
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
      storeRescaled(c + <usize>m * rowC + at, c00, c01, c02, c03, xs, scales, bias, at, N - p);
    }
  }
  }
}
