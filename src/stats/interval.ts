/**
 * Confidence intervals for an effect measured once per seed: the mean of the per-seed values with a
 * two-sided Student-t interval (the per-seed values are the paired differences or within-run effects the
 * verdicts test; seeds are independent initialisations, so the t interval over them is the textbook one).
 */
import jstatModule from 'jstat';
import { internalError } from '../errors.js';

const { jStat } = jstatModule;

export interface Interval {
  /** the mean of the values */
  estimate: number;
  lo: number;
  hi: number;
  /** how many values (seeds, or runs) */
  n: number;
  /** sample standard deviation (n - 1 in the denominator); NaN for n < 2 */
  sd: number;
  /** e.g. 0.95 */
  level: number;
}

/** The p-quantile of Student's t with `dof` degrees of freedom (jStat's inverse CDF). */
export function tQuantile(p: number, dof: number): number {
  if (!(p > 0 && p < 1) || !(dof > 0)) throw internalError('tQuantile', `needs 0 < p < 1 and dof > 0; got p=${p}, dof=${dof}`);
  return jStat.studentt.inv(p, dof);
}

/**
 * Mean of `xs` with its two-sided t interval at `level`. With one value the interval is unbounded (nothing
 * is known about the spread); with none, everything is NaN. Non-finite values are a bug in the caller.
 */
export function meanInterval(xs: readonly number[], level = 0.95): Interval {
  if (xs.some((x) => !Number.isFinite(x))) throw internalError('meanInterval', `values must be finite; got ${xs.join(', ')}`);
  const n = xs.length;
  if (n === 0) return { estimate: NaN, lo: NaN, hi: NaN, n, sd: NaN, level };
  const estimate = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { estimate, lo: -Infinity, hi: Infinity, n, sd: NaN, level };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - estimate) ** 2, 0) / (n - 1));
  const half = tQuantile(1 - (1 - level) / 2, n - 1) * (sd / Math.sqrt(n));
  return { estimate, lo: estimate - half, hi: estimate + half, n, sd, level };
}

/**
 * Differences a[key] - b[key] over the keys both maps have (e.g. seeds: the same seed gives both nets the
 * same initial weights, so the difference removes what the seed alone decides), in key order.
 */
export function pairedDifferences<K extends string | number>(a: ReadonlyMap<K, number>, b: ReadonlyMap<K, number>): { key: K; d: number }[] {
  const keys = [...a.keys()].filter((k) => b.has(k)).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  return keys.map((key) => ({ key, d: (a.get(key) as number) - (b.get(key) as number) }));
}
