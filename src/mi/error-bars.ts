/**
 * Error bars for an MI estimate at its own N, after Holmes & Nemenman 2019 ("Estimation of mutual information
 * for real-valued data with error bars and controlled bias", Phys. Rev. E 100, 022404, section on the variance):
 * for n = 2, 3, ..., S the rows are split at random into n disjoint subsamples of N/n rows, each is estimated,
 * and s2_n is the sample variance of those n estimates. The estimator's variance falls as 1/(sample size), so
 * s2_n / n estimates the variance at N from each n; the estimates are pooled with weights n - 1, their degrees
 * of freedom (var_N = sum (n-1) s2_n / n / sum (n-1)), as the authors' own code does. The interval is the
 * estimate +- t * sqrt(var_N), with Student's t at sum (n-1) degrees of freedom (s2 is a chi-square over them).
 * It covers the estimator's mean at this N, not the true MI: the KSG bias is not in it (the per-n means, which
 * the result keeps, show whether the estimate drifts with the sample size, the paper's bias check).
 */
import { usageError } from '../errors.js';
import { selectRows, toMatrix, type Matrix, type MatrixInput } from '../matrix.js';
import { Xoshiro128 } from '../random.js';
import { tQuantile } from '../stats/interval.js';
import { MIEstimator, type MIOptions, type MIResult } from './index.js';
import type { Estimating } from './permutation.js';
import { checkSplits, checkSubsampleSize } from './error-bars-check.js';
import { checkSingleK } from './estimator-check.js';

export { checkSplits, checkSubsampleSize, DEFAULT_SPLITS, MAX_SPLITS, MIN_ROWS_PER_K } from './error-bars-check.js';

/** One split size n: the n disjoint subsamples' estimates. */
export interface SplitEstimates {
  n: number;
  /** rows per subsample, floor(N / n) (the N mod n left over are not used at this n) */
  size: number;
  values: number[];
  mean: number;
  /** sample variance of the n values */
  variance: number;
}

export interface ErrorBars {
  method: 'holmes-nemenman-2019';
  /** standard error of the estimate at this N, in its units */
  se: number;
  lo: number;
  hi: number;
  /** e.g. 0.95 */
  level: number;
  /** degrees of freedom of the variance, sum over n of (n - 1) */
  dof: number;
  /** the largest n (splits into 2 .. splits subsamples) */
  splits: number;
  /** seed of the random partitions (Xoshiro128(seed)) */
  seed: number;
  subsamples: SplitEstimates[];
  seconds: number;
}

export interface ErrorBarsResult extends MIResult {
  errorBars: ErrorBars;
}

export interface ErrorBarOptions extends MIOptions {
  /** the largest number of subsamples, 3 to MAX_SPLITS; default DEFAULT_SPLITS */
  splits?: number;
  /** confidence level of the interval, in (0, 1); default 0.95 */
  level?: number;
}

function checkLevel(value: unknown): number {
  if (value === undefined) return 0.95;
  if (typeof value !== 'number' || !(value > 0 && value < 1)) throw usageError('level', `must be a number in (0, 1), e.g. 0.95; got ${String(value)}`);
  return value;
}

const asInput = (m: Matrix): MatrixInput => ({ data: m.data, shape: [m.n, m.d] });
const mean = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
const sampleVariance = (v: readonly number[]): number => {
  const m = mean(v);
  return v.reduce((a, x) => a + (x - m) ** 2, 0) / (v.length - 1);
};

/**
 * Pool the per-n variances into the variance at the full N (Holmes & Nemenman 2019), and the interval at
 * `level` around `estimate`. Separate from the estimates so that it can be checked on numbers alone.
 */
export function poolVariances(estimate: number, splits: readonly Pick<SplitEstimates, 'n' | 'variance'>[], level: number): Pick<ErrorBars, 'se' | 'lo' | 'hi' | 'dof'> {
  let weighted = 0;
  let dof = 0;
  for (const s of splits) {
    weighted += (s.n - 1) * (s.variance / s.n);
    dof += s.n - 1;
  }
  const se = Math.sqrt(weighted / dof);
  const half = tQuantile((1 + level) / 2, dof) * se;
  return { se, lo: estimate - half, hi: estimate + half, dof };
}

/**
 * The error bars of `observed` (the estimate on all rows of x, y) from the disjoint subsamples of n = 2 .. splits
 * random partitions (Xoshiro128(seed); each partition reshuffles the last one's order), on `estimator`.
 */
export async function subsampleErrorBars(
  estimator: Estimating,
  x: Matrix,
  y: Matrix,
  observed: Pick<MIResult, 'mi'>,
  opts: { splits: number; level: number; seed: number; estimate?: Omit<MIOptions, 'workers' | 'onProgress'>; onEach?: () => void },
): Promise<ErrorBars> {
  const t0 = performance.now();
  const { splits, level, seed } = opts;
  const rng = new Xoshiro128(seed);
  const order = new Int32Array(x.n).map((_, i) => i);
  const subsamples: SplitEstimates[] = [];
  for (let n = 2; n <= splits; n++) {
    rng.shuffle(order);
    const size = Math.floor(x.n / n);
    const values: number[] = [];
    for (let j = 0; j < n; j++) {
      const rows = order.subarray(j * size, (j + 1) * size);
      const r = await estimator.estimate(asInput(selectRows(x, rows)), asInput(selectRows(y, rows)), opts.estimate ?? {});
      values.push(r.mi);
      opts.onEach?.();
    }
    subsamples.push({ n, size, values, mean: mean(values), variance: sampleVariance(values) });
  }
  const pooled = poolVariances(observed.mi, subsamples, level);
  return { method: 'holmes-nemenman-2019', ...pooled, level, splits, seed, subsamples, seconds: (performance.now() - t0) / 1000 };
}

/** Estimates the error bars cost: 2 + 3 + ... + splits. */
export const subsampleEstimates = (splits: number): number => ((splits + 2) * (splits - 1)) / 2;

/** Check the options, estimate I(X;Y) on all rows, then over the disjoint subsamples; the error bars from them. */
export async function errorBarsOn(estimator: Estimating, xIn: MatrixInput, yIn: MatrixInput, opts: Omit<ErrorBarOptions, 'workers'> = {}): Promise<ErrorBarsResult> {
  if (opts === null || typeof opts !== 'object') throw usageError('options', 'must be an object');
  const { splits: splitsIn, level: levelIn, onProgress, ...estimateOpts } = opts;
  const splits = checkSplits(splitsIn);
  const level = checkLevel(levelIn);
  checkSingleK(estimateOpts.k, 'errorBars');
  const x = toMatrix(xIn, 'x');
  const y = toMatrix(yIn, 'y');
  const k = estimateOpts.k ?? 3;
  // a bad k is the estimate's to report (below); the split check needs a k it can use
  if (Number.isInteger(k) && k >= 1 && x.n === y.n) checkSubsampleSize(x.n, k, splits);
  const observed = await estimator.estimate(xIn, yIn, estimateOpts);
  const total = 1 + subsampleEstimates(splits);
  let done = 1;
  onProgress?.(done, total);
  const bars = await subsampleErrorBars(estimator, x, y, observed, {
    splits,
    level,
    seed: estimateOpts.seed ?? 0,
    estimate: estimateOpts,
    onEach: () => onProgress?.(++done, total),
  });
  return { ...observed, seconds: observed.seconds + bars.seconds, errorBars: bars };
}

/** Error bars with a pool of their own (created and closed here). onProgress counts estimates. */
export async function errorBars(x: MatrixInput, y: MatrixInput, opts: ErrorBarOptions = {}): Promise<ErrorBarsResult> {
  const { workers, ...rest } = opts ?? {};
  const est = new MIEstimator({ workers });
  try {
    return await errorBarsOn(est, x, y, rest);
  } finally {
    await est.close();
  }
}
