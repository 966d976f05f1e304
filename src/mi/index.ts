/**
 * The KSG mutual-information estimator's public API (Kraskov et al. 2004, algorithm 1; NPEET's mi()).
 * Validate every argument at the door (InfoflowError naming it and the fix), then delegate: the kernel
 * (kernel.ts) builds the trees on this thread in a shared memory, the queries (all the k-NN, then the counts)
 * run on the pool (pool.ts) or, for one worker or small N, here. The counts are integer sums and psi is summed
 * on this thread in index order, so the bits do not depend on the number of workers.
 */
import { availableParallelism } from 'node:os';
import { usageError, inputError } from '../errors.js';
import { toMatrix, type Matrix, type MatrixInput } from '../matrix.js';
import { KsgKernel } from './kernel.js';
import { QueryPool } from './pool.js';
import { miFromCounts } from './reference.js';
import { isThreadLimit, threadLimitError, withWasmMemoryErrors } from '../process/limits.js';

export type { MatrixInput } from '../matrix.js';

export interface MIOptions {
  /** neighbours, default 3; an integer in [1, N-1] */
  k?: number;
  /** default 2 (bits); 'e' -> nats; 10 -> dits; any positive number other than 1 */
  base?: number | 'e';
  /** default os.availableParallelism() */
  workers?: number;
  /** default 0; amplitude A of the seeded A * U[0,1) noise added to x and y in float64 (NPEET uses 1e-10) */
  noise?: number;
  /** seed of the noise, default 0 */
  seed?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface MIResult {
  mi: number;
  nats: number;
  n: number;
  dx: number;
  dy: number;
  k: number;
  base: number | 'e';
  units: 'bits' | 'nats' | 'dits' | string;
  seconds: number;
  /** points whose eps is 0 (exact duplicate joint points): the estimate is meaningless without noise */
  zeroEpsPoints: number;
  warnings: string[];
}

/** Below this N the queries run on the calling thread (a pool's start-up costs more than it saves). */
export const POOL_MIN_N = 2000;

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

interface Checked {
  x: Matrix;
  y: Matrix;
  k: number;
  base: number | 'e';
  noise: number;
  seed: number;
  onProgress?: (done: number, total: number) => void;
}

function checkArgs(xIn: MatrixInput, yIn: MatrixInput, opts: Omit<MIOptions, 'workers'>): Checked {
  if (opts === null || typeof opts !== 'object') throw usageError('options', 'must be an object');
  const x = toMatrix(xIn, 'x');
  const y = toMatrix(yIn, 'y');
  if (x.n !== y.n) throw inputError('x, y', `x has ${x.n} samples but y has ${y.n}; row i of x and of y must be one sample`);
  const n = x.n;
  const k = opts.k ?? 3;
  if (n < 2) throw inputError('x, y', `${n} sample; need more than k (${k}) samples`);
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > n - 1) {
    throw usageError('k', `must be an integer in [1, N-1] = [1, ${n - 1}]; got ${String(k)}`);
  }
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
  return { x, y, k, base, noise, seed, onProgress: opts.onProgress };
}

/** Keeps a kernel memory and a worker pool alive across many estimates (one per training run). */
export class MIEstimator {
  readonly workers: number;
  private kernel: KsgKernel | undefined;
  private pool: QueryPool | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(opts: { workers?: number } = {}) {
    this.workers = checkWorkers(opts?.workers);
  }

  estimate(x: MatrixInput, y: MatrixInput, opts: Omit<MIOptions, 'workers'> = {}): Promise<MIResult> {
    if (this.closed) return Promise.reject(usageError('MIEstimator', 'is closed; create a new one'));
    let checked: Checked;
    try {
      checked = checkArgs(x, y, opts);
    } catch (e) {
      return Promise.reject(e);
    }
    // one estimate at a time: they share the kernel's memory
    const run = this.queue.then(() => this.run(checked));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(c: Checked): Promise<MIResult> {
    const t0 = performance.now();
    const { x, y, k } = c;
    const n = x.n;
    const inThread = this.workers === 1 || n < POOL_MIN_N;
    const chunks = Math.min(n, inThread ? 16 : Math.max(32, this.workers * 8));
    // memory that cannot be had (an address-space limit, a full machine) is a one-line error saying what to lower
    const kernel = withWasmMemoryErrors(() => (this.kernel ??= new KsgKernel()), 'the MI estimator', `subsample the rows (N = ${n})`);
    // a slot per concurrent caller: on this thread the chunks run one after another and share one
    withWasmMemoryErrors(() => kernel.prepare(x, y, { n, dx: x.d, dy: y.d, k, slots: inThread ? 1 : chunks, noise: c.noise, seed: c.seed }), 'the MI estimator', `subsample the rows (N = ${n})`);
    // progress: each phase (the k-NN, then the counts) is half of the n points
    let done = 0;
    let reported = 0;
    const progress = (points: number): void => {
      done += points;
      const now = Math.floor(done / 2);
      if (now > reported) {
        reported = now;
        c.onProgress?.(now, n);
      }
    };
    if (inThread) {
      for (const phase of ['knn', 'count'] as const) {
        if (phase === 'count') kernel.countPrep();
        for (let ch = 0; ch < chunks; ch++) {
          const p0 = Math.floor((ch * n) / chunks);
          const p1 = Math.floor(((ch + 1) * n) / chunks);
          if (phase === 'knn') kernel.knn(p0, p1, 0);
          else kernel.count(p0, p1, 0);
          progress(p1 - p0);
        }
      }
    } else {
      this.pool ??= new QueryPool(this.workers);
      try {
        await this.pool.run(kernel.job, 'knn', n, chunks, progress);
        kernel.countPrep();
        await this.pool.run(kernel.job, 'count', n, chunks, progress);
      } catch (e) {
        if (isThreadLimit(e)) throw threadLimitError('workers (--workers, --mi-workers)', this.workers, e);
        throw e;
      }
    }
    const { eps, nx, ny } = kernel.results();
    const nats = miFromCounts(nx, ny, k);
    let zeroEpsPoints = 0;
    for (let i = 0; i < n; i++) if (eps[i] === 0) zeroEpsPoints++;
    const warnings: string[] = [];
    if (zeroEpsPoints > 0) {
      warnings.push(
        `${zeroEpsPoints} of ${n} points have eps = 0 (exact duplicate joint points), so the estimate is meaningless; ` +
          `add --noise 1e-10 (NPEET's default) or deduplicate`,
      );
    }
    const base = c.base;
    return {
      mi: base === 'e' ? nats : nats / Math.log(base),
      nats,
      n,
      dx: x.d,
      dy: y.d,
      k,
      base,
      units: unitsOf(base),
      seconds: (performance.now() - t0) / 1000,
      zeroEpsPoints,
      warnings,
    };
  }

  /** Bytes the last estimate laid out in the kernel's memory (which keeps its largest size for reuse). */
  get memoryBytes(): number {
    return this.kernel?.layoutBytes ?? 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    await this.pool?.close();
    this.pool = undefined;
    this.kernel = undefined;
  }
}

/** One estimate with a pool of its own (created and closed here). */
export async function mutualInformation(x: MatrixInput, y: MatrixInput, opts: MIOptions = {}): Promise<MIResult> {
  const { workers, ...rest } = opts ?? {};
  const est = new MIEstimator({ workers });
  try {
    return await est.estimate(x, y, rest);
  } finally {
    await est.close();
  }
}
