/**
 * L-BFGS (limited-memory BFGS, Nocedal & Wright, Numerical Optimization, algorithm 7.4)
 * with a backtracking line search on the Armijo condition: minimizes a smooth function
 * from its value and gradient, deterministically. The classifier head uses it so that
 * training reaches the optimum of its objective instead of wherever stochastic steps and
 * early stopping leave it.
 *
 * Costs: `history` pairs of vectors of the parameter size (10 × 2 × 8 bytes per parameter
 * by default) and one or a few function evaluations per iteration.
 *
 * @example
 * ```ts
 * import { minimize } from "./lbfgs.ts";
 * // f(x, y) = (x − 3)² + 10 (y + 1)²
 * const r = minimize((p, g) => {
 *   g[0] = 2 * (p[0] - 3);
 *   g[1] = 20 * (p[1] + 1);
 *   return (p[0] - 3) ** 2 + 10 * (p[1] + 1) ** 2;
 * }, new Float64Array(2));
 * console.log(r.converged, r.x.map((v) => Math.round(v * 1e6) / 1e6)); // true [3, -1]
 * ```
 * @module
 */

/** Writes the gradient at `x` into `gradient` and returns the value. */
export type Objective = (x: Float64Array, gradient: Float64Array) => number;

/** Options of `minimize`. */
export interface MinimizeOptions {
  /** Stop when the largest gradient component is below this (default 1e-6). */
  gradientTolerance?: number;
  /** Most iterations (default 1000). */
  maxIterations?: number;
  /** Correction pairs kept (default 10). */
  history?: number;
}

/** What `minimize` found. */
export interface MinimizeResult {
  x: Float64Array;
  value: number;
  /** Largest absolute gradient component at `x`. */
  gradientNorm: number;
  iterations: number;
  evaluations: number;
  /** Whether the gradient tolerance was reached (else: iterations or line search ran out). */
  converged: boolean;
}

const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const maxAbs = (a: Float64Array) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};

/** Minimizes `f` from `x0` (not modified). */
export function minimize(
  f: Objective,
  x0: Float64Array,
  options: MinimizeOptions = {},
): MinimizeResult {
  const tolerance = options.gradientTolerance ?? 1e-6;
  const maxIterations = options.maxIterations ?? 1000;
  const m = options.history ?? 10;
  const n = x0.length;
  let x = x0.slice(), g = new Float64Array(n);
  let value = f(x, g);
  let evaluations = 1;
  const s: Float64Array[] = [], y: Float64Array[] = [], rho: number[] = [];
  const direction = new Float64Array(n), alpha = new Float64Array(m);
  let xNext = new Float64Array(n), gNext = new Float64Array(n);
  let iterations = 0;
  for (; iterations < maxIterations && maxAbs(g) > tolerance; iterations++) {
    // two-loop recursion: direction = −H·g
    for (let i = 0; i < n; i++) direction[i] = -g[i];
    for (let k = s.length - 1; k >= 0; k--) {
      alpha[k] = rho[k] * dot(s[k], direction);
      for (let i = 0; i < n; i++) direction[i] -= alpha[k] * y[k][i];
    }
    const gamma = s.length
      ? dot(s[s.length - 1], y[y.length - 1]) / dot(y[y.length - 1], y[y.length - 1])
      : 1 / Math.max(1, maxAbs(g)); // first step: a cautious steepest descent
    for (let i = 0; i < n; i++) direction[i] *= gamma;
    for (let k = 0; k < s.length; k++) {
      const beta = rho[k] * dot(y[k], direction);
      for (let i = 0; i < n; i++) direction[i] += s[k][i] * (alpha[k] - beta);
    }
    let slope = dot(g, direction);
    if (!(slope < 0)) {
      // not a descent direction (curvature information went stale): restart from −g
      s.length = y.length = rho.length = 0;
      for (let i = 0; i < n; i++) direction[i] = -g[i] / Math.max(1, maxAbs(g));
      slope = dot(g, direction);
    }
    // backtracking until the Armijo condition holds
    let step = 1, next = Infinity;
    for (let tries = 0; tries < 60; tries++) {
      for (let i = 0; i < n; i++) xNext[i] = x[i] + step * direction[i];
      next = f(xNext, gNext);
      evaluations++;
      if (next <= value + 1e-4 * step * slope) break;
      step /= 2;
    }
    if (!(next <= value + 1e-4 * step * slope)) break; // no progress possible in float64
    const sk = new Float64Array(n), yk = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      sk[i] = xNext[i] - x[i];
      yk[i] = gNext[i] - g[i];
    }
    const sy = dot(sk, yk);
    if (sy > 1e-12 * Math.sqrt(dot(sk, sk) * dot(yk, yk))) {
      s.push(sk);
      y.push(yk);
      rho.push(1 / sy);
      if (s.length > m) {
        s.shift();
        y.shift();
        rho.shift();
      }
    }
    [x, xNext] = [xNext, x];
    [g, gNext] = [gNext, g];
    value = next;
  }
  const gradientNorm = maxAbs(g);
  return { x, value, gradientNorm, iterations, evaluations, converged: gradientNorm <= tolerance };
}
