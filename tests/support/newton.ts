/**
 * An independent check on the classifier's trainer: binary logistic regression solved by
 * Newton's method (exact Hessian, Cholesky solve, step halving), for the objective that
 * a two-class softmax with L2 (l2/2)(‖W₀‖² + ‖W₁‖²) reduces to at its optimum, where
 * W₀ = −W₁: with w = W₁ − W₀ and β = b₁ − b₀,
 *
 *   J(w, β) = (1/n) Σᵢ cᵢ log(1 + exp(−tᵢ (w·zᵢ + β))) + (l2/4) ‖w‖²,  tᵢ = ±1.
 *
 * @example
 * ```ts
 * import { newtonLogistic } from "./newton.ts";
 * const Z = Float64Array.of(-2, -1, 1, 2), t = Int8Array.of(-1, 1, -1, 1);
 * const fit = newtonLogistic(Z, t, 1, new Float64Array(4).fill(1), 0.1);
 * console.log(fit.loss > 0 && fit.iterations < 50); // true
 * ```
 * @module
 */

/** The solution: weights, bias, objective value and Newton iterations taken. */
export interface NewtonFit {
  w: Float64Array;
  bias: number;
  loss: number;
  iterations: number;
}

/** Solves on rows `Z` (n × dim, already standardized) with targets ±1 and row weights. */
export function newtonLogistic(
  Z: Float64Array,
  t: Int8Array,
  dim: number,
  weights: Float64Array,
  l2: number,
): NewtonFit {
  const n = t.length, p = dim + 1;
  const theta = new Float64Array(p);
  const margin = (th: Float64Array, i: number) => {
    let s = th[dim];
    for (let d = 0; d < dim; d++) s += th[d] * Z[i * dim + d];
    return s;
  };
  const objective = (th: Float64Array) => {
    let j = 0;
    for (let i = 0; i < n; i++) {
      const m = t[i] * margin(th, i);
      j += weights[i] * (m > 0 ? Math.log1p(Math.exp(-m)) : -m + Math.log1p(Math.exp(m)));
    }
    let ww = 0;
    for (let d = 0; d < dim; d++) ww += th[d] * th[d];
    return j / n + (l2 / 4) * ww;
  };
  let loss = objective(theta), iterations = 0;
  for (; iterations < 100; iterations++) {
    const g = new Float64Array(p), H = new Float64Array(p * p);
    const x = new Float64Array(p);
    for (let i = 0; i < n; i++) {
      for (let d = 0; d < dim; d++) x[d] = Z[i * dim + d];
      x[dim] = 1;
      const m = t[i] * margin(theta, i);
      const s = 1 / (1 + Math.exp(m)); // σ(−m)
      const gi = -weights[i] * s * t[i] / n, hi = weights[i] * s * (1 - s) / n;
      for (let a = 0; a < p; a++) {
        g[a] += gi * x[a];
        const hx = hi * x[a];
        for (let b = 0; b <= a; b++) H[a * p + b] += hx * x[b];
      }
    }
    for (let d = 0; d < dim; d++) {
      g[d] += (l2 / 2) * theta[d];
      H[d * p + d] += l2 / 2;
    }
    let gmax = 0;
    for (const v of g) gmax = Math.max(gmax, Math.abs(v));
    if (gmax < 1e-10) break;
    // Cholesky of the lower triangle, then solve H·step = g
    const L = H;
    for (let a = 0; a < p; a++) {
      for (let b = 0; b <= a; b++) {
        let s = L[a * p + b];
        for (let k = 0; k < b; k++) s -= L[a * p + k] * L[b * p + k];
        L[a * p + b] = a === b ? Math.sqrt(Math.max(s, 1e-300)) : s / L[b * p + b];
      }
    }
    const step = g.slice();
    for (let a = 0; a < p; a++) {
      for (let k = 0; k < a; k++) step[a] -= L[a * p + k] * step[k];
      step[a] /= L[a * p + a];
    }
    for (let a = p - 1; a >= 0; a--) {
      for (let k = a + 1; k < p; k++) step[a] -= L[k * p + a] * step[k];
      step[a] /= L[a * p + a];
    }
    let scale = 1, next = theta.slice();
    for (let tries = 0; tries < 40; tries++) {
      next = theta.map((v, a) => v - scale * step[a]);
      if (objective(next) <= loss) break;
      scale /= 2;
    }
    const nextLoss = objective(next);
    if (!(nextLoss <= loss)) break;
    theta.set(next);
    loss = nextLoss;
  }
  return { w: theta.slice(0, dim), bias: theta[dim], loss, iterations };
}
