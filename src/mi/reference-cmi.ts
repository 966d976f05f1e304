/**
 * Conditional mutual information I(X;Y|Z) (Frenzel & Pompe 2007; NPEET's cmi) as a plain brute force over all
 * pairs, in float64: eps_i from the joint (x, y, z) space, counts strictly inside eps_i in the (x, z), (y, z) and
 * z spaces. The WASM path (src/mi/conditional.ts) must reproduce its per-point eps and counts exactly.
 */
import type { Matrix } from '../matrix.js';
import { psi } from './digamma.js';
import { distancesFrom } from './reference.js';

export interface CmiPointStats {
  eps: Float64Array;
  /** #{ j != i : max(||x_j - x_i||, ||z_j - z_i||) < eps_i } */
  nxz: Int32Array;
  nyz: Int32Array;
  /** #{ j != i : ||z_j - z_i|| < eps_i } */
  nz: Int32Array;
}

/** I(X;Y|Z) in nats from the counts, summed in index order: psi(k) - mean_i[psi(n_xz+1) + psi(n_yz+1) - psi(n_z+1)]. */
export function cmiFromCounts(nxz: Int32Array, nyz: Int32Array, nz: Int32Array, k: number): number {
  const n = nxz.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += psi(nxz[i] + 1) + psi(nyz[i] + 1) - psi(nz[i] + 1);
  // see: Frenzel & Pompe 2007, eq. 4
  return psi(k) - sum / n;
}

export function referenceCmiPoints(x: Matrix, y: Matrix, z: Matrix, k: number): CmiPointStats {
  const n = x.n;
  const eps = new Float64Array(n);
  const nxz = new Int32Array(n);
  const nyz = new Int32Array(n);
  const nz = new Int32Array(n);
  const dx = new Float64Array(n);
  const dy = new Float64Array(n);
  const dz = new Float64Array(n);
  const others = new Float64Array(n - 1);
  for (let i = 0; i < n; i++) {
    const e = distancesFrom(i, [x, y, z], [dx, dy, dz], k, others);
    eps[i] = e;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      if (Math.max(dx[j], dz[j]) < e) nxz[i]++;
      if (Math.max(dy[j], dz[j]) < e) nyz[i]++;
      if (dz[j] < e) nz[i]++;
    }
  }
  return { eps, nxz, nyz, nz };
}

/** The reference I(X;Y|Z) in nats, and the per-point stats behind it. */
export function referenceCmi(x: Matrix, y: Matrix, z: Matrix, k: number): CmiPointStats & { nats: number } {
  const p = referenceCmiPoints(x, y, z, k);
  return { ...p, nats: cmiFromCounts(p.nxz, p.nyz, p.nz, k) };
}
