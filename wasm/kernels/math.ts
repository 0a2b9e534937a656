// Four-lane float functions for the BERT kernels (bert.ts): exp, erf and BERT's gelu, and
// a lane sum.
import { madd } from "./linear";

/** 1.5 · 2²³: a float in [−2²², 2²²] plus this has its value, rounded half to even, in its low bits. */
export const ROUNDER: f32 = 12582912;

@inline export function sum4(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) +
    f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/**
 * exp, four lanes: e^x = 2^n · e^r with n = round(x / ln 2), |r| ≤ ln 2 / 2, e^r by its Taylor
 * polynomial to r⁶ (relative error < 2e-7 over the float range; below −87 it gives ~1e-38,
 * above 88 it is clamped). Four exps for the cost of a few multiplies instead of four calls.
 */
@inline export function exp4(x: v128): v128 {
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
