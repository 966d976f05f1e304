/**
 * The three-way decision of a verdict from an effect's interval (see docs/FIGURES.md, "Verdicts").
 *
 * Effects are signed so that the paper's claim is `side` (+1: the paper says the effect is positive).
 *   supported      the whole interval lies on the paper's side, beyond `threshold` (0 for accuracy effects;
 *                  the MI noise band for MI effects, so that estimator noise alone cannot support a claim);
 *   not supported  the whole interval lies on the other side of zero, or inside [-margin, +margin] (an
 *                  equivalence margin: the effect, whichever its sign, is too small to matter);
 *   inconclusive   otherwise (the interval straddles zero or the margin: more seeds would decide).
 * "supported" is checked first: an interval beyond `threshold` but inside a wider margin is a small but
 * real effect on the paper's side, and the paper's "mild" improvements are such effects.
 */
import { internalError } from '../errors.js';
import type { Interval } from './interval.js';

export type Outcome = 'supported' | 'not supported' | 'inconclusive';
export const OUTCOMES: readonly Outcome[] = ['supported', 'not supported', 'inconclusive'];

export interface Rule {
  /** the sign of the effect the paper claims */
  side: 1 | -1;
  /** the smallest effect (>= 0, on the paper's side) that supports the claim */
  threshold: number;
  /** equivalence margin (>= 0): an interval inside [-margin, margin] does not support it */
  margin: number;
}

export function decide(iv: Pick<Interval, 'lo' | 'hi'>, rule: Rule): Outcome {
  if (!(rule.threshold >= 0) || !(rule.margin >= 0)) throw internalError('decide', `threshold and margin must be >= 0; got ${rule.threshold}, ${rule.margin}`);
  if (Number.isNaN(iv.lo) || Number.isNaN(iv.hi)) return 'inconclusive';
  // flip so that the paper's side is positive
  const lo = rule.side > 0 ? iv.lo : -iv.hi;
  const hi = rule.side > 0 ? iv.hi : -iv.lo;
  if (lo > rule.threshold) return 'supported';
  if (hi < 0 || (lo >= -rule.margin && hi <= rule.margin)) return 'not supported';
  return 'inconclusive';
}

/**
 * A claim made of several effects that must all hold (e.g. "residuals improve both the MLP and S"):
 * supported when every part is, not supported when any part is not, inconclusive otherwise.
 */
export function allOf(parts: readonly Outcome[]): Outcome {
  if (parts.length === 0) return 'inconclusive';
  if (parts.some((p) => p === 'not supported')) return 'not supported';
  return parts.every((p) => p === 'supported') ? 'supported' : 'inconclusive';
}

/** The rule in words, with `unit` formatting a value (unsigned): 'supported if the 95 % interval lies above 0.100 bits; ...'. */
export function describeRule(rule: Rule, unit: (x: number) => string, level = 0.95): string {
  const [beyond, other] = rule.side > 0 ? ['above', 'below'] : ['below', 'above'];
  const threshold = rule.threshold > 0 ? `${rule.side > 0 ? '+' : '-'}${unit(rule.threshold)}` : '0';
  const margin = rule.margin > 0 ? ` or within ±${unit(rule.margin)}` : '';
  return `supported if the ${Math.round(level * 100)} % interval lies ${beyond} ${threshold}; not supported if it lies ${other} 0${margin}`;
}
