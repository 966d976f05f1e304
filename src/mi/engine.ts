/**
 * Runs the kernel's phases for the estimators (index.ts): kernel memories (one per space an estimate needs), the
 * worker pool, and each phase over all N positions, on this thread or on the pool. Every phase's results are
 * integer counts or exact distances by input row, so the bits do not depend on the workers or the chunking.
 */
import type { Matrix } from '../matrix.js';
import { checkThreadRoom, isThreadLimit, threadLimitError, withWasmMemoryErrors } from '../process/limits.js';
import { KsgKernel } from './kernel.js';
import { QueryPool } from './pool.js';
import type { QueryTask } from './worker.js';

/** Below this N the queries run on the calling thread (a pool's start-up costs more than it saves). */
export const POOL_MIN_N = 2000;

export type Phase = QueryTask['phase'];

export class Engine {
  private readonly kernels: KsgKernel[] = [];
  private pool: QueryPool | undefined;

  constructor(readonly workers: number) {}

  /** Whether N points run on this thread (one worker, or too few points for a pool). */
  inThread(n: number): boolean {
    return this.workers === 1 || n < POOL_MIN_N;
  }

  private chunks(n: number): number {
    return Math.min(n, this.inThread(n) ? 16 : Math.max(32, this.workers * 8));
  }

  /**
   * Chunk c's positions [bounds[c], bounds[c + 1]): about n / chunks each, cut on multiples of `block` (the kernel
   * scans a block of queries together, so a cut block costs more), empty chunks dropped.
   */
  chunkBounds(n: number, block: number): number[] {
    const chunks = this.chunks(n);
    const bounds = [0];
    for (let c = 1; c < chunks; c++) {
      const at = Math.round((c * n) / chunks / block) * block;
      if (at > bounds[bounds.length - 1] && at < n) bounds.push(at);
    }
    bounds.push(n);
    return bounds;
  }

  /**
   * Kernel memory `which` (0: the estimate's main space; 1: a second one, e.g. CMI's z), laid out for x and y
   * (y may have 0 columns) and its trees built. `keep`: knn() keeps each point's k best (several k).
   */
  prepare(which: number, x: Matrix, y: Matrix, opts: { k: number; keep?: boolean; noise?: number; seed?: number }): KsgKernel {
    const n = x.n;
    const lower = `subsample the rows (N = ${n})`;
    // memory that cannot be had (an address-space limit, a full machine) is a one-line error saying what to lower
    const kernel = withWasmMemoryErrors(() => (this.kernels[which] ??= new KsgKernel()), 'the MI estimator', lower);
    // a slot per concurrent caller: on this thread the chunks run one after another and share one; on the pool,
    // one per thread (claimSlot)
    const slots = this.inThread(n) ? 1 : this.workers;
    withWasmMemoryErrors(() => kernel.prepare(x, y, { n, dx: x.d, dy: y.d, slots, ...opts }), 'the MI estimator', lower);
    return kernel;
  }

  /** One phase over all positions of `kernel` (countPrep() first for 'count' and 'knnCount'); `progress` gets the points done. */
  async run(kernel: KsgKernel, phase: Phase, progress: (points: number) => void): Promise<void> {
    const n = kernel.n;
    const bounds = this.chunkBounds(n, kernel.queryBlock);
    if (phase === 'count' || phase === 'knnCount') kernel.countPrep();
    if (this.inThread(n)) {
      for (let ch = 0; ch + 1 < bounds.length; ch++) {
        const p0 = bounds[ch];
        const p1 = bounds[ch + 1];
        kernel.runPhase(phase, p0, p1, 0);
        progress(p1 - p0);
      }
      return;
    }
    try {
      // piscina starts its threads in its constructor: a thread limit (EAGAIN) is thrown there
      if (!this.pool) {
        checkThreadRoom('--workers / --mi-workers', this.workers);
        this.pool = new QueryPool(this.workers);
      }
      await this.pool.run(kernel.job, phase, bounds, progress);
    } catch (e) {
      if (isThreadLimit(e)) throw threadLimitError('--workers / --mi-workers', this.workers, e);
      throw e;
    }
  }

  /** Bytes the last layouts took (each memory keeps its largest size for reuse). */
  get memoryBytes(): number {
    return this.kernels.reduce((sum, k) => sum + (k?.layoutBytes ?? 0), 0);
  }

  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = undefined;
    this.kernels.length = 0;
  }
}
