/**
 * Rank correlation (Spearman's rho, ties at their mean rank; jStat), for monotone relations whose shape
 * is unknown, such as "the higher the MI, the faster the test error falls".
 */
import jstatModule from 'jstat';
import { internalError } from '../errors.js';

const { jStat } = jstatModule;

/** Spearman's rho of paired values; NaN when fewer than 3 pairs or either side is constant. */
export function spearman(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw internalError('spearman', `needs paired values; got ${x.length} and ${y.length}`);
  if (x.length < 3) return NaN;
  const constant = (v: readonly number[]) => v.every((a) => a === v[0]);
  if (constant(x) || constant(y)) return NaN;
  return jStat.spearmancoeff([...x], [...y]);
}
