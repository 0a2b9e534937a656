// LayerNorm for the BERT kernels (bert.ts).
import { sum4 } from "./math";

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
