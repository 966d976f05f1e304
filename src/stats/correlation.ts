/**
 * Rank correlation (Spearman's rho, ties at their mean rank; jStat), for monotone relations whose shape
 * is unknown, such as "the higher the MI, the faster the test error falls".
 */
import jstatModule from 'jstat';
import { internalError } from '../errors.js';
import { type Interval, meanInterval } from './interval.js';

const { jStat } = jstatModule;

/** Spearman's rho of paired values; NaN when fewer than 3 pairs or either side is constant. */
export function spearman(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw internalError('spearman', `needs paired values; got ${x.length} and ${y.length}`);
  if (x.length < 3) return NaN;
  const constant = (v: readonly number[]) => v.every((a) => a === v[0]);
  if (constant(x) || constant(y)) return NaN;
  return jStat.spearmancoeff([...x], [...y]);
}

/** |rho| is capped here before atanh, so a perfect per-run correlation stays finite (atanh(0.999) = 3.8). */
const MAX_ABS_RHO = 0.999;

/**
 * Mean correlation over runs with its t interval computed on Fisher's z = atanh(rho) and mapped back with
 * tanh, so the interval stays inside [-1, 1] (a t interval on rho itself can pass +-1 with few runs).
 * `estimate` is tanh(mean z); `sd` is in z units.
 */
export function correlationInterval(rhos: readonly number[], level = 0.95): Interval {
  const z = rhos.map((r) => Math.atanh(Math.max(-MAX_ABS_RHO, Math.min(MAX_ABS_RHO, r))));
  const iz = meanInterval(z, level);
  return { ...iz, estimate: Math.tanh(iz.estimate), lo: Math.tanh(iz.lo), hi: Math.tanh(iz.hi) };
}
