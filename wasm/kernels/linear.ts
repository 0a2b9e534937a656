// fp32 matrix products for the BERT kernels (bert.ts): `linear`, the weights packed for it
// (`packB`), and the panel width and row store the int8 products share.
//
// Worked example of the packed weight layout (`packB`, K = 2 rows, N = 20 columns):
//   panel 0 = columns 0..15:  [B[0][0..15], B[1][0..15]]            (2 × 16 floats)
//   panel 1 = columns 16..19: [B[0][16..19], 0 × 12, B[1][16..19], 0 × 12]
// so `linear` reads each panel front to back, 16 floats (four vectors) per row of A.

export const PANEL: i32 = 16;

// Two builds of this file (wasm/build.ts): `bert_kernels.wasm` with relaxed SIMD, where
// `madd` is one fused multiply-add, and `bert_kernels_simd.wasm` with plain SIMD, where it
// is a multiply then an add (one more rounding, and ~1.4x the instructions in `linear`), for
// runtimes that do not validate relaxed SIMD: Node 20 without a flag, Safari.
// ASC_FEATURE_RELAXED_SIMD is the compiler's constant for `--enable relaxed-simd`.
@inline export function madd(a: v128, b: v128, c: v128): v128 {
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
@inline export function storeRow(out: usize, a: v128, b: v128, c: v128, d: v128, count: i32): void {
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
