/**
 * Judging the paper's claims on a set of runs: each part's values -> a 95 % t interval -> the three-way
 * decision of src/stats/decision.ts under its rule, and the claim = all of its parts. Then the verdict
 * table: its conditions, and per part the effect, the interval, n and the rule.
 */
import { allOf, decide, describeRule, type Outcome, OUTCOMES, type Rule } from '../../stats/decision.js';
import { correlationInterval } from '../../stats/correlation.js';
import { type Interval, meanInterval } from '../../stats/interval.js';
import { median } from '../../stats/median.js';
import type { EffectPart, Unit } from './effects.js';
import { type ClaimRun, miBands } from './measures.js';
import type { PaperClaim } from './paper-claims.js';

/** The MI noise band (bits) used when no run carries one (e.g. --quick): the spread the issue measured. */
export const DEFAULT_MI_BAND = 0.1;
export const LEVEL = 0.95;

export interface PartVerdict {
  label: string;
  unit: Unit;
  interval: Interval;
  rule: Rule;
  /** where an MI effect's band came from */
  bandNote?: string;
  outcome: Outcome;
  values: { key: string; value: number }[];
  missing: string[];
}

export interface ClaimVerdict {
  claim: PaperClaim;
  outcome: Outcome;
  parts: PartVerdict[];
}

/** The band an MI effect is judged against: the median noise band of the MI points of the runs it used. */
export function miBandOf(used: readonly ClaimRun[]): { band: number; note: string } {
  const bands = [...new Map(used.map((r) => [r.run, r])).values()].flatMap(miBands);
  if (bands.length === 0) return { band: DEFAULT_MI_BAND, note: `no MI band measured: default ${DEFAULT_MI_BAND} bits` };
  return { band: median(bands), note: `median band of ${bands.length} MI points` };
}

export function judgePart(part: EffectPart, runs: readonly ClaimRun[]): PartVerdict {
  const sample = part.sample(runs);
  const values = sample.values.map((v) => v.value);
  const interval = part.unit === 'rho' ? correlationInterval(values, LEVEL) : meanInterval(values, LEVEL);
  let rule: Rule;
  let bandNote: string | undefined;
  if (part.rule === 'mi') {
    const { band, note } = miBandOf(sample.used);
    rule = { side: part.side, threshold: band, margin: band };
    bandNote = note;
  } else {
    rule = { side: part.side, threshold: 0, margin: part.margin ?? 0 };
  }
  // fewer than 2 values give no interval: inconclusive whatever the rule
  const outcome = interval.n >= 2 ? decide(interval, rule) : 'inconclusive';
  return { label: part.label, unit: part.unit, interval, rule, bandNote, outcome, values: sample.values, missing: sample.missing };
}

export function judgeClaim(claim: PaperClaim, runs: readonly ClaimRun[]): ClaimVerdict {
  const parts = claim.parts.map((p) => judgePart(p, runs));
  return { claim, outcome: allOf(parts.map((p) => p.outcome)), parts };
}

export function judgeAll(claims: readonly PaperClaim[], runs: readonly ClaimRun[]): ClaimVerdict[] {
  return claims.map((c) => judgeClaim(c, runs));
}

/** A value in its unit: bits with 3 decimals, test-error fractions as percentage points. */
export function formatValue(x: number, unit: Unit, signed = true): string {
  if (!Number.isFinite(x)) return x > 0 ? '+inf' : x < 0 ? '-inf' : 'n/a';
  const [v, digits, suffix] =
    unit === 'points' ? [100 * x, 2, ' points'] : unit === 'share' ? [x, 2, ''] : unit === 'rho' ? [x, 2, ''] : unit === 'epochs' ? [x, 1, ' epochs'] : [x, 3, ' bits'];
  const s = v.toFixed(digits);
  return `${signed && v >= 0 ? '+' : ''}${s}${suffix}`;
}

export function formatInterval(iv: Interval, unit: Unit): string {
  if (iv.n === 0) return 'no data';
  const bare = (x: number) => formatValue(x, unit).replace(/ (points|bits|epochs)$/, '');
  return `${formatValue(iv.estimate, unit)} [${bare(iv.lo)}, ${bare(iv.hi)}]`;
}

/** 'supported: 3, not supported: 5, inconclusive: 2 (of 10 claims)' */
export function tally(verdicts: readonly { outcome: Outcome }[]): string {
  const counts = OUTCOMES.map((o) => `${o}: ${verdicts.filter((v) => v.outcome === o).length}`);
  return `${counts.join(', ')} (of ${verdicts.length} claims)`;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** One markdown table: a row per part (the claim's own verdict on its first row). */
export function verdictTable(verdicts: readonly ClaimVerdict[]): string[] {
  const lines = [
    '| Claim (paper, section) | Verdict | Effect (per seed or run) | Estimate [95 % CI] | n | Rule | Part |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const v of verdicts) {
    v.parts.forEach((p, i) => {
      const claimCell = i === 0 ? `**${v.claim.claim}** "${v.claim.quote}" (${v.claim.section})` : '';
      const verdictCell = i === 0 ? `**${v.outcome}**` : '';
      const unitFmt = (x: number) => formatValue(x, p.unit, false);
      const rule = `${describeRule(p.rule, unitFmt, LEVEL)}${p.bandNote ? ` (MI band: ${p.bandNote})` : ''}`;
      const missing = p.missing.length ? `; not measured: ${p.missing.join(', ')}` : '';
      lines.push(`| ${cell(claimCell)} | ${verdictCell} | ${cell(p.label + missing)} | ${formatInterval(p.interval, p.unit)} | ${p.interval.n} | ${cell(rule)} | ${p.outcome} |`);
    });
  }
  return lines;
}

/** A verdict section: a heading, the conditions it holds under, the tally and the table. */
export function verdictSection(heading: string, conditions: string[], verdicts: readonly ClaimVerdict[]): string {
  return [`## ${heading}`, '', ...conditions.map((c) => `- ${c}`), '', `**${tally(verdicts)}.**`, '', ...verdictTable(verdicts), ''].join('\n');
}
