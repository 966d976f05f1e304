/**
 * The checks of the estimator family's options, shared by the API (`k`, `estimator`) and the CLI (`--k`,
 * `--estimator`, `--given`), so both doors refuse with the same line; no estimator import, so the CLI stays fast.
 */
import { usageError } from '../errors.js';

export type EstimatorName = 'ksg1' | 'ksg2';
export const ESTIMATORS: readonly EstimatorName[] = ['ksg1', 'ksg2'];

const shown = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : Array.isArray(v) ? v.join(',') : String(v));

/**
 * k as one neighbour count or several (increasing, no repeats: one search for the largest serves them all); with
 * `n` known, every k must be below N. `samples` names where the N samples are (for the message).
 */
export function checkK(value: unknown, option = 'k', n?: number, samples = 'the input'): number[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw usageError(option, `must be an integer >= 1, or several increasing ones (e.g. 3,5,10); got none`);
  for (const k of list) {
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) {
      const range = n !== undefined && n >= 2 ? `an integer in [1, N-1] = [1, ${n - 1}]` : 'an integer >= 1 (the number of neighbours, 3 is usual)';
      throw usageError(option, `must be ${range}${list.length > 1 ? ', each of the list' : ''}; got ${shown(k)}`);
    }
  }
  const ks = list as number[];
  for (let i = 1; i < ks.length; i++) {
    if (ks[i] <= ks[i - 1]) {
      throw usageError(option, `several k must be increasing, without repeats (e.g. 3,5,10); got ${ks.join(',')}`);
    }
  }
  if (n !== undefined) {
    const big = ks[ks.length - 1];
    if (big >= n) {
      throw usageError(option, `must be less than N=${n}, the number of samples in ${samples}; pass ${option} ${Math.max(1, n - 1)} or less, or more samples; got ${big}`);
    }
  }
  return ks;
}

/** Permutations and error bars compare one estimate with its shuffles or subsamples: one k per call. */
export function checkSingleK(value: unknown, feature: string): void {
  if (Array.isArray(value)) throw usageError('k', `${feature} takes one k, not a list (${shown(value)}); call it once per k`);
}

/** The KSG variant: 'ksg1' (Kraskov et al. 2004, algorithm 1; NPEET's mi) or 'ksg2' (algorithm 2). */
export function checkEstimator(value: unknown, option = 'estimator'): EstimatorName {
  if (value === undefined) return 'ksg1';
  if (value !== 'ksg1' && value !== 'ksg2') {
    throw usageError(option, `must be ksg1 (Kraskov et al. 2004, algorithm 1, the default; NPEET's mi) or ksg2 (algorithm 2); got ${shown(value)}`);
  }
  return value;
}

/** Conditional MI is Frenzel & Pompe's KSG-1 form only (as NPEET's cmi). */
export function checkConditionalEstimator(estimator: EstimatorName, option = 'estimator', given = 'conditionalMutualInformation'): void {
  if (estimator !== 'ksg1') {
    throw usageError(option, `${given} uses Frenzel & Pompe's KSG-1 form only (as NPEET's cmi); drop ${option} ksg2 or pass ksg1`);
  }
}
