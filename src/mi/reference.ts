/**
 * The plain, obviously-correct KSG estimator (Kraskov et al. 2004, algorithm 1; NPEET's mi()): a brute force
 * over all pairs with coordinate differences in float64 (exact for float32 input). O(N^2 (dx+dy)): for tests
 * and small N only. The WASM kernel must reproduce its per-point eps, nx, ny exactly.
 */
import type { Matrix } from '../matrix.js';
import { psi } from './digamma.js';

export interface PointStats {
  /** eps_i: max-norm distance from z_i to its k-th nearest neighbour in the joint space (i excluded) */
  eps: Float64Array;
  /** n_x(i) = #{ j != i : ||x_j - x_i||_inf < eps_i } */
  nx: Int32Array;
  ny: Int32Array;
}

/** MI in nats from the per-point counts, summed in index order (the same bits for any split of the work). */
export function miFromCounts(nx: Int32Array, ny: Int32Array, k: number): number {
  const n = nx.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += psi(nx[i] + 1) + psi(ny[i] + 1);
  // see: Kraskov et al. 2004, eq. 8
  return psi(k) + psi(n) - sum / n;
}

/** max_c |a[i, c] - a[j, c]| over the d columns of a row-major array (0 for d = 0). */
export function maxNormRow(a: Float32Array | Float64Array, i: number, j: number, d: number): number {
  let m = 0;
  const oi = i * d;
  const oj = j * d;
  for (let c = 0; c < d; c++) {
    const v = Math.abs(a[oi + c] - a[oj + c]);
    if (v > m) m = v;
  }
  return m;
}

export function referencePoints(x: Matrix, y: Matrix, k: number): PointStats {
  const n = x.n;
  const eps = new Float64Array(n);
  const nx = new Int32Array(n);
  const ny = new Int32Array(n);
  const others = new Float64Array(n - 1);
  const dx = new Float64Array(n);
  const dy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const e = distancesFrom(i, [x, y], [dx, dy], k, others);
    eps[i] = e;
    let cx = 0;
    let cy = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      if (dx[j] < e) cx++;
      if (dy[j] < e) cy++;
    }
    nx[i] = cx;
    ny[i] = cy;
  }
  return { eps, nx, ny };
}

/** The k-th smallest of the values (a typed array sorts numerically); `values` is reordered. */
export function kthSmallest(values: Float64Array, k: number): number {
  values.sort();
  return values[k - 1];
}

/**
 * For point i: dist[s][j] = the max-norm distance from row i to row j in space s (each a matrix of the same N rows);
 * returns the k-th smallest joint distance (the largest over the spaces) among j != i. `others` is N - 1 scratch.
 */
export function distancesFrom(i: number, spaces: Matrix[], dist: Float64Array[], k: number, others: Float64Array): number {
  const n = spaces[0].n;
  let o = 0;
  for (let j = 0; j < n; j++) {
    let joint = 0;
    for (let s = 0; s < spaces.length; s++) {
      const v = maxNormRow(spaces[s].data, i, j, spaces[s].d);
      dist[s][j] = v;
      if (v > joint) joint = v;
    }
    if (j !== i) others[o++] = joint;
  }
  return kthSmallest(others, k);
}

/** The reference estimate in nats, and the per-point stats behind it. */
export function referenceMI(x: Matrix, y: Matrix, k: number): PointStats & { nats: number } {
  const p = referencePoints(x, y, k);
  return { ...p, nats: miFromCounts(p.nx, p.ny, k) };
}
