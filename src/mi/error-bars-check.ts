/** The checks of the error bars' options, shared by the API and the CLI; no estimator import (fast CLI checks). */
import { usageError } from '../errors.js';

/** n = 2 .. DEFAULT_SPLITS by default: 9 variance points, 45 degrees of freedom. */
export const DEFAULT_SPLITS = 10;
export const MAX_SPLITS = 100;
/** The smallest subsample is at least this many times k rows: below it the 1/N scaling of the variance fails. */
export const MIN_ROWS_PER_K = 10;

/** The one check of the split count, for the API (`splits`) and the CLI (`--error-bar-splits`). */
export function checkSplits(value: unknown, option = 'splits'): number {
  if (value === undefined) return DEFAULT_SPLITS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 3 || value > MAX_SPLITS) {
    throw usageError(
      option,
      `must be an integer from 3 to ${MAX_SPLITS} (error bars from 2 .. S disjoint subsamples; default ${DEFAULT_SPLITS}); got ${typeof value === 'string' ? `'${value}'` : String(value)}`,
    );
  }
  return value;
}

/** The one check that N rows can be split `splits` ways with enough rows each for k neighbours. */
export function checkSubsampleSize(n: number, k: number, splits: number, option = 'errorBars', splitsOption = 'splits'): void {
  const need = MIN_ROWS_PER_K * k;
  if (Math.floor(n / splits) >= need) return;
  const fit = Math.floor(n / need);
  const fix = fit >= 3 ? `use ${splitsOption} ${fit} or fewer, or more rows` : `give at least ${3 * need} rows (3 subsamples of ${need}), or a smaller k`;
  throw usageError(option, `N = ${n} rows split ${splits} ways gives subsamples of ${Math.floor(n / splits)} rows, fewer than the ${need} (${MIN_ROWS_PER_K} k) each needs; ${fix}`);
}
