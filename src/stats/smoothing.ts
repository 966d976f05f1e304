/**
 * Smoothed traces and their peaks. A peak read off a raw MI trace is biased upward by the estimator's
 * noise (the maximum of noisy points); a centred moving average first lowers that bias, and centring
 * (the window shrinks symmetrically at the ends) keeps a linear trend unbiased, so the ends are not
 * pulled toward the middle.
 */
import { internalError } from '../errors.js';

/** Centred moving average over `halfWidth` points on each side (by position in the series, not by epoch). */
export function centredMovingAverage(values: readonly number[], halfWidth: number): number[] {
  if (!Number.isInteger(halfWidth) || halfWidth < 0) throw internalError('centredMovingAverage', `halfWidth must be an integer >= 0; got ${halfWidth}`);
  const n = values.length;
  return values.map((_, i) => {
    const h = Math.min(halfWidth, i, n - 1 - i);
    let s = 0;
    for (let j = i - h; j <= i + h; j++) s += values[j];
    return s / (2 * h + 1);
  });
}

export interface Peak {
  /** position of the maximum of the smoothed series */
  index: number;
  /** smoothed maximum */
  value: number;
  /** smoothed peak minus smoothed first point (>= 0) */
  rise: number;
  /** smoothed peak minus smoothed last point (>= 0) */
  drop: number;
}

/** The peak of the smoothed series (the first position of the maximum), with its rise and drop. */
export function smoothedPeak(values: readonly number[], halfWidth: number): Peak {
  if (values.length === 0) throw internalError('smoothedPeak', 'needs at least one value');
  const s = centredMovingAverage(values, halfWidth);
  let index = 0;
  for (let i = 1; i < s.length; i++) if (s[i] > s[index]) index = i;
  return { index, value: s[index], rise: s[index] - s[0], drop: s[index] - s[s.length - 1] };
}
