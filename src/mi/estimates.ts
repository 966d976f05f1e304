/**
 * Each estimator of the family as kernel phases (engine.ts), for one or several k from one search for the largest:
 * knn() with `keep` writes every point's k_max smallest joint distances, and the k-th of them is exactly the eps a
 * search for k alone finds, so each k's counts (and KSG-2's radii) equal its single-k estimate's.
 *   KSG-1  knn, then per k the counts strictly inside eps in the x and y trees.
 *   KSG-2  knn, then per k ball() (the largest x- and y-distance within the closed k-NN ball) and counts <= them.
 *   CMI    knn in (x, z, y, z) (max-norm: the (x, y, z) distance), counts in (x, z) and (y, z), then counts in z on a
 *          second memory laid out for z alone, at the same eps.
 *   H      knn in x alone (no y part): r_i = eps_i.
 */
import type { Matrix } from '../matrix.js';
import { addNoise } from './noise.js';
import { Xoshiro128 } from '../random.js';
import type { Engine, Phase } from './engine.js';
import type { EstimatorName } from './estimator-check.js';
import type { KsgKernel } from './kernel.js';
import { miFromCounts } from './reference.js';
import { cmiFromCounts } from './reference-cmi.js';
import { entropyFromDistances } from './reference-entropy.js';
import { ksg2FromCounts } from './reference-ksg2.js';

export interface MiPoints {
  k: number;
  nats: number;
  eps: Float64Array;
  nx: Int32Array;
  ny: Int32Array;
  /** KSG-2 only: eps_x(i), eps_y(i) */
  epsX?: Float64Array;
  epsY?: Float64Array;
}

export interface CmiPoints {
  k: number;
  nats: number;
  eps: Float64Array;
  nxz: Int32Array;
  nyz: Int32Array;
  nz: Int32Array;
}

export interface EntropyPoints {
  k: number;
  nats: number;
  /** distance to the k-th neighbour */
  r: Float64Array;
}

/** Progress over `phases` passes of n points each, reported as points of n. */
function phaseProgress(n: number, phases: number, onProgress?: (done: number, total: number) => void): (points: number) => void {
  let done = 0;
  let reported = 0;
  return (points) => {
    done += points;
    const now = Math.floor(done / phases);
    if (now > reported) {
      reported = now;
      onProgress?.(now, n);
    }
  };
}

/** Column k - 1 of the N x kmax best distances (by input row). */
function kthColumn(best: Float64Array, n: number, kmax: number, k: number): Float64Array {
  const eps = new Float64Array(n);
  for (let i = 0; i < n; i++) eps[i] = best[i * kmax + k - 1];
  return eps;
}

/** eps for each k: the kernel's own for one k, else columns of its k best. */
function epsForEach(kernel: KsgKernel, ks: number[]): (k: number) => Float64Array | undefined {
  if (ks.length === 1) return () => undefined;
  const best = kernel.bestDistances();
  const kmax = ks[ks.length - 1];
  return (k) => kthColumn(best, kernel.n, kmax, k);
}

const noColumns = (n: number): Matrix => ({ data: new Float64Array(0), n, d: 0 });

/** [a, b] column-wise, in float64 (exact for float32 and float64 input). */
function hstack(a: Matrix, b: Matrix): Matrix {
  const n = a.n;
  const d = a.d + b.d;
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < a.d; c++) data[i * d + c] = a.data[i * a.d + c];
    for (let c = 0; c < b.d; c++) data[i * d + a.d + c] = b.data[i * b.d + c];
  }
  return { data, n, d };
}

interface Common {
  ks: number[];
  noise: number;
  seed: number;
  onProgress?: (done: number, total: number) => void;
}

/** I(X;Y) by KSG-1 or KSG-2 for every k of `ks` (increasing). */
export async function miPoints(engine: Engine, x: Matrix, y: Matrix, estimator: EstimatorName, c: Common): Promise<MiPoints[]> {
  const { ks } = c;
  const n = x.n;
  const kmax = ks[ks.length - 1];
  // KSG-1 at one k: the k-NN and the counts in one pass (assembly/knn-count.ts), the same eps and counts
  const onePass = estimator === 'ksg1' && ks.length === 1 && x.d > 0 && y.d > 0;
  const progress = phaseProgress(n, onePass ? 1 : 1 + ks.length * (estimator === 'ksg2' ? 2 : 1), c.onProgress);
  const run = (kernel: KsgKernel, phase: Phase): Promise<void> => engine.run(kernel, phase, progress);
  const kernel = engine.prepare(0, x, y, { k: kmax, keep: ks.length > 1, noise: c.noise, seed: c.seed });
  if (onePass) {
    await run(kernel, 'knnCount');
    const r = kernel.results();
    return [{ k: kmax, nats: miFromCounts(r.nx, r.ny, kmax), ...r }];
  }
  await run(kernel, 'knn');
  const epsOf = epsForEach(kernel, ks);
  const out: MiPoints[] = [];
  for (const k of ks) {
    const eps = epsOf(k);
    if (eps) kernel.setEps(eps);
    if (estimator === 'ksg2') await run(kernel, 'ball');
    kernel.useRadii(estimator === 'ksg2');
    await run(kernel, 'count');
    const r = kernel.results();
    if (estimator === 'ksg2') {
      const { epsX, epsY } = kernel.marginalRadii();
      out.push({ k, nats: ksg2FromCounts(r.nx, r.ny, k), ...r, epsX, epsY });
    } else out.push({ k, nats: miFromCounts(r.nx, r.ny, k), ...r });
  }
  return out;
}

/** I(X;Y|Z) (Frenzel & Pompe 2007, as NPEET's cmi) for every k of `ks`; noise (if any) on x, then y, then z. */
export async function cmiPoints(engine: Engine, x: Matrix, y: Matrix, z: Matrix, c: Common): Promise<CmiPoints[]> {
  const { ks } = c;
  const n = x.n;
  const kmax = ks[ks.length - 1];
  if (c.noise > 0) {
    const rng = new Xoshiro128(c.seed);
    x = { ...x, data: addNoise(x.data, c.noise, rng) };
    y = { ...y, data: addNoise(y.data, c.noise, rng) };
    z = { ...z, data: addNoise(z.data, c.noise, rng) };
  }
  // at one k the k-NN and the (x, z) and (y, z) counts in one pass
  const onePass = ks.length === 1;
  const progress = phaseProgress(n, (onePass ? 0 : 1) + 2 * ks.length, c.onProgress);
  const run = (kernel: KsgKernel, phase: Phase): Promise<void> => engine.run(kernel, phase, progress);
  // the joint (x, z, y, z): its max-norm is the (x, y, z) distance; its x and y trees are the (x, z) and (y, z) spaces
  const xz = engine.prepare(0, hstack(x, z), hstack(y, z), { k: kmax, keep: ks.length > 1 });
  if (!onePass) await run(xz, 'knn');
  const epsOf = epsForEach(xz, ks);
  const zOnly = engine.prepare(1, z, noColumns(n), { k: kmax });
  const out: CmiPoints[] = [];
  for (const k of ks) {
    const given = epsOf(k);
    if (given) xz.setEps(given);
    await run(xz, onePass ? 'knnCount' : 'count');
    const { eps, nx: nxz, ny: nyz } = xz.results();
    zOnly.setEps(eps);
    await run(zOnly, 'count');
    const nz = zOnly.results().nx;
    out.push({ k, nats: cmiFromCounts(nxz, nyz, nz, k), eps, nxz, nyz, nz });
  }
  return out;
}

/** H(X) (Kozachenko-Leonenko, max-norm, as NPEET's entropy) for every k of `ks`. */
export async function entropyPoints(engine: Engine, x: Matrix, c: Common): Promise<EntropyPoints[]> {
  const { ks } = c;
  const kmax = ks[ks.length - 1];
  const progress = phaseProgress(x.n, 1, c.onProgress);
  const kernel = engine.prepare(0, x, noColumns(x.n), { k: kmax, keep: ks.length > 1, noise: c.noise, seed: c.seed });
  await engine.run(kernel, 'knn', progress);
  const epsOf = epsForEach(kernel, ks);
  return ks.map((k) => {
    const r = epsOf(k) ?? kernel.results().eps;
    return { k, nats: entropyFromDistances(r, x.d, k), r };
  });
}
