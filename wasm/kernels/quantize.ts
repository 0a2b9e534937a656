// The activations' quantization for the int8 products (int8.ts, int8_relaxed.ts,
// int8_unsigned.ts): onnxruntime's DynamicQuantizeLinear per tensor, written as each product
// reads it (i16 q − zp, i8 q − 128, or uint8 q).
import { ROUNDER } from "./math";

/** The zero point quantizeActivations found last (quantizeActivationsI8 reads it). */
let lastZeroF: f32 = 0;

/** The zero point of the last `quantizeActivationsI8`. */
let lastZero: i32 = 0;

/** The zero point `quantizeActivationsI8` found last. */
export function activationZeroPoint(): i32 {
  return lastZero;
}

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
