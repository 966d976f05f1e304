/**
 * The Kozachenko-Leonenko entropy under the max-norm (NPEET's entropy) as a plain brute force over all pairs, in
 * float64: r_i the distance to the k-th nearest neighbour. The WASM path must reproduce every r_i exactly.
 */
import type { Matrix } from '../matrix.js';
import { psi } from './digamma.js';
import { distancesFrom } from './reference.js';

/** H in nats from the k-th neighbour distances, summed in index order: psi(N) - psi(k) + d ln 2 + d mean_i ln r_i. */
export function entropyFromDistances(r: Float64Array, d: number, k: number): number {
  const n = r.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.log(r[i]);
  // see: Kraskov et al. 2004, eq. 20 (the max-norm ball of radius r has volume (2r)^d)
  return psi(n) - psi(k) + d * Math.LN2 + (d * sum) / n;
}

/** r_i for every point: the max-norm distance to its k-th nearest neighbour (i excluded). */
export function referenceKthDistances(x: Matrix, k: number): Float64Array {
  const n = x.n;
  const r = new Float64Array(n);
  const dist = [new Float64Array(n)];
  const others = new Float64Array(n - 1);
  for (let i = 0; i < n; i++) r[i] = distancesFrom(i, [x], dist, k, others);
  return r;
}

/** The reference entropy in nats, and the distances behind it. */
export function referenceEntropy(x: Matrix, k: number): { r: Float64Array; nats: number } {
  const r = referenceKthDistances(x, k);
  return { r, nats: entropyFromDistances(r, x.d, k) };
}
