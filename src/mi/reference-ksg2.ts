/**
 * KSG-2 (Kraskov et al. 2004, algorithm 2) as a plain brute force over all pairs, in float64: the slow, obviously
 * correct definition the WASM path (kernel ball(), then counts at radii <=) must reproduce point by point.
 * Ties: the neighbours of i are every j != i within its closed k-NN ball (joint distance <= eps_i), so when several
 * points tie at the k-th distance all of them count and the result does not depend on an order of the points.
 */
import type { Matrix } from '../matrix.js';
import { psi } from './digamma.js';
import { distancesFrom } from './reference.js';

export interface Ksg2PointStats {
  /** max-norm distance from z_i to its k-th nearest joint neighbour */
  eps: Float64Array;
  /** eps_x(i): the largest x-distance among i's neighbours (the points at joint distance <= eps_i) */
  epsX: Float64Array;
  epsY: Float64Array;
  /** n_x(i) = #{ j != i : ||x_j - x_i|| <= eps_x(i) } */
  nx: Int32Array;
  ny: Int32Array;
}

/** KSG-2 in nats from the counts, summed in index order: psi(k) - 1/k + psi(N) - mean_i[psi(n_x) + psi(n_y)]. */
export function ksg2FromCounts(nx: Int32Array, ny: Int32Array, k: number): number {
  const n = nx.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += psi(nx[i]) + psi(ny[i]);
  // see: Kraskov et al. 2004, eq. 9
  return psi(k) - 1 / k + psi(n) - sum / n;
}

export function referenceKsg2Points(x: Matrix, y: Matrix, k: number): Ksg2PointStats {
  const n = x.n;
  const eps = new Float64Array(n);
  const epsX = new Float64Array(n);
  const epsY = new Float64Array(n);
  const nx = new Int32Array(n);
  const ny = new Int32Array(n);
  const dx = new Float64Array(n);
  const dy = new Float64Array(n);
  const others = new Float64Array(n - 1);
  for (let i = 0; i < n; i++) {
    const e = distancesFrom(i, [x, y], [dx, dy], k, others);
    let ex = 0;
    let ey = 0;
    for (let j = 0; j < n; j++) {
      if (j === i || Math.max(dx[j], dy[j]) > e) continue;
      if (dx[j] > ex) ex = dx[j];
      if (dy[j] > ey) ey = dy[j];
    }
    let cx = 0;
    let cy = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      if (dx[j] <= ex) cx++;
      if (dy[j] <= ey) cy++;
    }
    eps[i] = e;
    epsX[i] = ex;
    epsY[i] = ey;
    nx[i] = cx;
    ny[i] = cy;
  }
  return { eps, epsX, epsY, nx, ny };
}

/** The KSG-2 reference estimate in nats, and the per-point stats behind it. */
export function referenceKsg2(x: Matrix, y: Matrix, k: number): Ksg2PointStats & { nats: number } {
  const p = referenceKsg2Points(x, y, k);
  return { ...p, nats: ksg2FromCounts(p.nx, p.ny, k) };
}
