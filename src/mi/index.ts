/**
 * The estimator family's public API: KSG mutual information (Kraskov et al. 2004, algorithms 1 and 2; NPEET's
 * mi()), for one k or several from one search, conditional MI I(X;Y|Z) (Frenzel & Pompe 2007; NPEET's cmi) and
 * the Kozachenko-Leonenko entropy (NPEET's entropy), all under the max-norm and exact.
 * Validate every argument at the door (InfoflowError naming it and the fix; estimator-check.ts holds the checks
 * the CLI shares), then delegate: estimates.ts runs each estimator as kernel phases on engine.ts (the trees are
 * built on this thread in a shared memory, the queries run on the pool or, for one worker or small N, here). The
 * counts are integer sums and psi is summed on this thread in index order, so the bits do not depend on the
 * number of workers.
 */
import { availableParallelism } from 'node:os';
import { usageError, inputError } from '../errors.js';
import { toMatrix, type Matrix, type MatrixInput } from '../matrix.js';
import { Engine } from './engine.js';
import { checkConditionalEstimator, checkEstimator, checkK, type EstimatorName } from './estimator-check.js';
import { cmiPoints, entropyPoints, miPoints } from './estimates.js';

export type { MatrixInput } from '../matrix.js';
export type { EstimatorName } from './estimator-check.js';
export { POOL_MIN_N } from './engine.js';

export interface MIOptions {
  /** neighbours, default 3; an integer in [1, N-1] (several: SeveralKOptions) */
  k?: number;
  /** 'ksg1' (default; Kraskov et al. algorithm 1, NPEET's mi) or 'ksg2' (algorithm 2) */
  estimator?: EstimatorName;
  /** default 2 (bits); 'e' -> nats; 10 -> dits; any positive number other than 1 */
  base?: number | 'e';
  /** default os.availableParallelism() */
  workers?: number;
  /** default 0; amplitude A of the seeded A * U[0,1) noise added to x and y (and z) in float64 (NPEET uses 1e-10) */
  noise?: number;
  /** seed of the noise, default 0 */
  seed?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Options of the single-k call (the result is one MIResult). */
export type SingleKOptions = Omit<MIOptions, 'workers'>;
/** Options of the several-k call: k increasing, without repeats; one result per k, in that order, from one search. */
export type SeveralKOptions = Omit<MIOptions, 'workers' | 'k'> & { k: readonly number[] };
type AnyKOptions = Omit<MIOptions, 'workers' | 'k'> & { k?: number | readonly number[] };

export interface MIResult {
  mi: number;
  nats: number;
  n: number;
  dx: number;
  dy: number;
  k: number;
  estimator: EstimatorName;
  base: number | 'e';
  units: 'bits' | 'nats' | 'dits' | string;
  /** seconds of the whole call (with several k: of the one pass that gave them all) */
  seconds: number;
  /** points whose eps is 0 (exact duplicate joint points): the estimate is meaningless without noise */
  zeroEpsPoints: number;
  warnings: string[];
}

/** I(X;Y|Z): an MIResult (estimator 'ksg1', Frenzel & Pompe) with the dims of the condition. */
export interface ConditionalMIResult extends MIResult {
  dz: number;
}

export interface EntropyResult {
  /** H(X) in the requested base */
  h: number;
  nats: number;
  n: number;
  d: number;
  k: number;
  base: number | 'e';
  units: 'bits' | 'nats' | 'dits' | string;
  seconds: number;
  /** points whose k-th neighbour is at distance 0 (duplicates): ln 0, so H is -Infinity without noise */
  zeroDistancePoints: number;
  warnings: string[];
}

function checkWorkers(workers: unknown): number {
  if (workers === undefined) return availableParallelism();
  if (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 1) {
    throw usageError('workers', `must be an integer >= 1; got ${String(workers)}`);
  }
  return workers;
}

function unitsOf(base: number | 'e'): string {
  if (base === 'e') return 'nats';
  if (base === 2) return 'bits';
  if (base === 10) return 'dits';
  return `log${base} units`;
}

const inBase = (nats: number, base: number | 'e'): number => (base === 'e' ? nats : nats / Math.log(base));

interface Checked {
  ks: number[];
  estimator: EstimatorName;
  base: number | 'e';
  noise: number;
  seed: number;
  onProgress?: (done: number, total: number) => void;
}

/** The options every estimator shares, for N samples. */
function checkOptions(opts: AnyKOptions, n: number, samples: string): Checked {
  if (opts === null || typeof opts !== 'object') throw usageError('options', 'must be an object');
  const kIn = opts.k ?? 3;
  if (n < 2) throw inputError(samples, `${n} sample; need more than k (${Array.isArray(kIn) ? kIn.join(',') : String(kIn)}) samples`);
  const ks = checkK(kIn, 'k', n, samples);
  const estimator = checkEstimator(opts.estimator, 'estimator');
  const base = opts.base ?? 2;
  if (base !== 'e' && !(typeof base === 'number' && Number.isFinite(base) && base > 0 && base !== 1)) {
    throw usageError('base', `must be 2, 'e', 10 or another positive number other than 1; got ${String(base)}`);
  }
  const noise = opts.noise ?? 0;
  if (typeof noise !== 'number' || !Number.isFinite(noise) || noise < 0) {
    throw usageError('noise', `must be a finite number >= 0 (NPEET uses 1e-10); got ${String(noise)}`);
  }
  const seed = opts.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw usageError('seed', `must be an integer >= 0; got ${String(seed)}`);
  }
  if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function') {
    throw usageError('onProgress', 'must be a function (done, total) => void');
  }
  return { ks, estimator, base, noise, seed, onProgress: opts.onProgress };
}

function samePoints(a: Matrix, b: Matrix, names: string): void {
  if (a.n !== b.n) {
    const [an, bn] = names.split(', ');
    throw inputError(names, `${an} has ${a.n} samples but ${bn} has ${b.n}; row i of each must be one sample`);
  }
}

function zeroWarning(count: number, n: number, what: string): string[] {
  return count > 0 ? [`${count} of ${n} points have ${what}, so the estimate is meaningless; add --noise 1e-10 (NPEET's default) or deduplicate`] : [];
}

const zeros = (a: Float64Array): number => a.reduce((c, v) => c + (v === 0 ? 1 : 0), 0);

/** Keeps the kernel memories and a worker pool alive across many estimates (one per training run). */
export class MIEstimator {
  readonly workers: number;
  private readonly engine: Engine;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(opts: { workers?: number } = {}) {
    this.workers = checkWorkers(opts?.workers);
    this.engine = new Engine(this.workers);
  }

  /** I(X;Y); with `k` a list, one result per k (each equal to its single-k estimate) from one k-NN search. */
  estimate(x: MatrixInput, y: MatrixInput, opts: SeveralKOptions): Promise<MIResult[]>;
  estimate(x: MatrixInput, y: MatrixInput, opts?: SingleKOptions): Promise<MIResult>;
  estimate(x: MatrixInput, y: MatrixInput, opts: AnyKOptions = {}): Promise<MIResult | MIResult[]> {
    return this.enqueue(() => {
      const xm = toMatrix(x, 'x');
      const ym = toMatrix(y, 'y');
      samePoints(xm, ym, 'x, y');
      const c = checkOptions(opts, xm.n, 'x, y');
      return async () => {
        const t0 = performance.now();
        const per = await miPoints(this.engine, xm, ym, c.estimator, c);
        const seconds = (performance.now() - t0) / 1000;
        const results = per.map((p): MIResult => {
          const zeroEpsPoints = zeros(p.eps);
          return {
            mi: inBase(p.nats, c.base), nats: p.nats, n: xm.n, dx: xm.d, dy: ym.d, k: p.k, estimator: c.estimator,
            base: c.base, units: unitsOf(c.base), seconds, zeroEpsPoints,
            warnings: zeroWarning(zeroEpsPoints, xm.n, 'eps = 0 (exact duplicate joint points)'),
          };
        });
        return Array.isArray(opts.k) ? results : results[0];
      };
    });
  }

  /** I(X;Y|Z) (Frenzel & Pompe 2007, as NPEET's cmi); with `k` a list, one result per k from one search. */
  estimateConditional(x: MatrixInput, y: MatrixInput, z: MatrixInput, opts: SeveralKOptions): Promise<ConditionalMIResult[]>;
  estimateConditional(x: MatrixInput, y: MatrixInput, z: MatrixInput, opts?: SingleKOptions): Promise<ConditionalMIResult>;
  estimateConditional(x: MatrixInput, y: MatrixInput, z: MatrixInput, opts: AnyKOptions = {}): Promise<ConditionalMIResult | ConditionalMIResult[]> {
    return this.enqueue(() => {
      const xm = toMatrix(x, 'x');
      const ym = toMatrix(y, 'y');
      const zm = toMatrix(z, 'z');
      samePoints(xm, ym, 'x, y');
      samePoints(xm, zm, 'x, z');
      const c = checkOptions(opts, xm.n, 'x, y, z');
      checkConditionalEstimator(c.estimator, 'estimator', 'conditionalMutualInformation');
      return async () => {
        const t0 = performance.now();
        const per = await cmiPoints(this.engine, xm, ym, zm, c);
        const seconds = (performance.now() - t0) / 1000;
        const results = per.map((p): ConditionalMIResult => {
          const zeroEpsPoints = zeros(p.eps);
          return {
            mi: inBase(p.nats, c.base), nats: p.nats, n: xm.n, dx: xm.d, dy: ym.d, dz: zm.d, k: p.k, estimator: 'ksg1',
            base: c.base, units: unitsOf(c.base), seconds, zeroEpsPoints,
            warnings: zeroWarning(zeroEpsPoints, xm.n, 'eps = 0 (exact duplicate (x, y, z) points)'),
          };
        });
        return Array.isArray(opts.k) ? results : results[0];
      };
    });
  }

  /** H(X) (Kozachenko-Leonenko under the max-norm, as NPEET's entropy); with `k` a list, one result per k. */
  estimateEntropy(x: MatrixInput, opts: Omit<SeveralKOptions, 'estimator'>): Promise<EntropyResult[]>;
  estimateEntropy(x: MatrixInput, opts?: Omit<SingleKOptions, 'estimator'>): Promise<EntropyResult>;
  estimateEntropy(x: MatrixInput, opts: Omit<AnyKOptions, 'estimator'> = {}): Promise<EntropyResult | EntropyResult[]> {
    return this.enqueue(() => {
      const xm = toMatrix(x, 'x');
      const c = checkOptions(opts, xm.n, 'x');
      return async () => {
        const t0 = performance.now();
        const per = await entropyPoints(this.engine, xm, c);
        const seconds = (performance.now() - t0) / 1000;
        const results = per.map((p): EntropyResult => {
          const zeroDistancePoints = zeros(p.r);
          return {
            h: inBase(p.nats, c.base), nats: p.nats, n: xm.n, d: xm.d, k: p.k, base: c.base, units: unitsOf(c.base), seconds,
            zeroDistancePoints, warnings: zeroWarning(zeroDistancePoints, xm.n, 'their k-th neighbour at distance 0 (duplicates)'),
          };
        });
        return Array.isArray(opts.k) ? results : results[0];
      };
    });
  }

  /** Check now (a bad argument rejects at once), then run after the estimates before it: they share the kernels. */
  private enqueue<T>(check: () => () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(usageError('MIEstimator', 'is closed; create a new one'));
    let go: () => Promise<T>;
    try {
      go = check();
    } catch (e) {
      return Promise.reject(e);
    }
    const run = this.queue.then(go);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Bytes the last estimates laid out in the kernels' memories (which keep their largest size for reuse). */
  get memoryBytes(): number {
    return this.engine.memoryBytes;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    await this.engine.close();
  }
}

/** One estimator for one call (created and closed here). */
async function once<T>(workers: number | undefined, f: (est: MIEstimator) => Promise<T>): Promise<T> {
  const est = new MIEstimator({ workers });
  try {
    return await f(est);
  } finally {
    await est.close();
  }
}

/** I(X;Y) with a pool of its own; `k` a list gives one result per k. */
export function mutualInformation(x: MatrixInput, y: MatrixInput, opts: SeveralKOptions & { workers?: number }): Promise<MIResult[]>;
export function mutualInformation(x: MatrixInput, y: MatrixInput, opts?: SingleKOptions & { workers?: number }): Promise<MIResult>;
export function mutualInformation(x: MatrixInput, y: MatrixInput, opts: AnyKOptions & { workers?: number } = {}): Promise<MIResult | MIResult[]> {
  const { workers, ...rest } = opts ?? {};
  return once(workers, (est) => est.estimate(x, y, rest as SingleKOptions));
}

/** I(X;Y|Z) with a pool of its own; `k` a list gives one result per k. */
export function conditionalMutualInformation(x: MatrixInput, y: MatrixInput, z: MatrixInput, opts: SeveralKOptions & { workers?: number }): Promise<ConditionalMIResult[]>;
export function conditionalMutualInformation(x: MatrixInput, y: MatrixInput, z: MatrixInput, opts?: SingleKOptions & { workers?: number }): Promise<ConditionalMIResult>;
export function conditionalMutualInformation(x: MatrixInput, y: MatrixInput, z: MatrixInput, opts: AnyKOptions & { workers?: number } = {}): Promise<ConditionalMIResult | ConditionalMIResult[]> {
  const { workers, ...rest } = opts ?? {};
  return once(workers, (est) => est.estimateConditional(x, y, z, rest as SingleKOptions));
}

/** H(X) with a pool of its own; `k` a list gives one result per k. */
export function entropy(x: MatrixInput, opts: Omit<SeveralKOptions, 'estimator'> & { workers?: number }): Promise<EntropyResult[]>;
export function entropy(x: MatrixInput, opts?: Omit<SingleKOptions, 'estimator'> & { workers?: number }): Promise<EntropyResult>;
export function entropy(x: MatrixInput, opts: Omit<AnyKOptions, 'estimator'> & { workers?: number } = {}): Promise<EntropyResult | EntropyResult[]> {
  const { workers, ...rest } = opts ?? {};
  return once(workers, (est) => est.estimateEntropy(x, rest as Omit<SingleKOptions, 'estimator'>));
}
