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
import { PANEL, storeRow } from "./linear";
import { rescale, ROW_BLOCK } from "./int8";

/** Whether this build has relaxed SIMD (the layout above is for it; kernel_session.ts asks). */
export function relaxedBuild(): bool {
  return ASC_FEATURE_RELAXED_SIMD;
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
