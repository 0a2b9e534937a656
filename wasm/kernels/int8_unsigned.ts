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
import { PANEL } from "./linear";
import { ROW_BLOCK, storeRescaled } from "./int8";

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
      storeRescaled(o, c00, c01, c02, c03, xs, scales, bias, at, N - p);
      storeRescaled(o + rowC, c10, c11, c12, c13, xs, scales, bias, at, N - p);
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
      storeRescaled(c + <usize>m * rowC + at, c00, c01, c02, c03, xs, scales, bias, at, N - p);
    }
  }
  }
}
