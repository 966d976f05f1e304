/**
 * Judging the DVCNN claims (claims.ts) with src/stats, and their table: per part the effect, the estimate with
 * its 95 % t interval, n, the rule in words and the conditions of the runs it came from.
 */
import { dirname } from 'node:path';
import { allOf, decide, describeRule, type Outcome, OUTCOMES, type Rule } from '../../stats/decision.js';
import { type Interval, meanInterval } from '../../stats/interval.js';
import { ensureDir, writeTextFile } from '../pipeline/files.js';
import type { Claim } from '../pipeline/verdicts.js';
import type { ClaimPart, DvcnnClaim, Unit } from './claims.js';

export const LEVEL = 0.95;

export interface PartVerdict extends ClaimPart {
  interval: Interval;
  rule: Rule;
  outcome: Outcome;
}

export interface DvcnnVerdict {
  claim: DvcnnClaim;
  outcome: Outcome;
  parts: PartVerdict[];
}

export function judgePart(part: ClaimPart): PartVerdict {
  const interval = meanInterval(part.values.map((v) => v.value), LEVEL);
  const rule: Rule = { side: part.side, threshold: part.threshold, margin: part.margin };
  // fewer than 2 values give no interval: inconclusive whatever the rule
  const outcome = interval.n >= 2 ? decide(interval, rule) : 'inconclusive';
  return { ...part, interval, rule, outcome };
}

export function judgeDvcnn(claims: readonly DvcnnClaim[]): DvcnnVerdict[] {
  return claims.map((claim) => {
    const parts = claim.parts.map(judgePart);
    const untestable = parts.slice(0, claim.preconditions ?? 0).some((p) => p.outcome !== 'supported');
    return { claim, outcome: untestable ? 'inconclusive' : allOf(parts.map((p) => p.outcome)), parts };
  });
}

/** A value in its unit: training/test-error fractions as percentage points, activations and shares with 2 decimals. */
export function formatValue(x: number, unit: Unit, signed = true): string {
  if (!Number.isFinite(x)) return x > 0 ? '+inf' : x < 0 ? '-inf' : 'n/a';
  const v = unit === 'points' ? 100 * x : x;
  const s = `${signed && v >= 0 ? '+' : ''}${v.toFixed(2)}`;
  return unit === 'points' ? `${s} points` : s;
}

function formatInterval(iv: Interval, unit: Unit): string {
  if (iv.n === 0) return 'no data';
  const bare = (x: number) => formatValue(x, unit).replace(/ points$/, '');
  return `${formatValue(iv.estimate, unit)} [${bare(iv.lo)}, ${bare(iv.hi)}]`;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The verdicts as markdown: a tally, the notes, then one row per part (the claim's verdict on its first row). */
export function formatDvcnnVerdicts(title: string, verdicts: readonly DvcnnVerdict[], notes: string[] = []): string {
  const counts = OUTCOMES.map((o) => `${o}: ${verdicts.filter((v) => v.outcome === o).length}`).join(', ');
  const lines = [`# ${title}`, '', `**${counts} (of ${verdicts.length} claims).**`, ''];
  for (const n of notes) lines.push(`> ${n}`, '');
  lines.push('| Claim (paper, section) | Verdict | Effect | Estimate [95 % CI] | n | Rule | Part | Conditions |', '|---|---|---|---|---|---|---|---|');
  for (const v of verdicts) {
    if (v.parts.length === 0) lines.push(`| ${cell(`**${v.claim.claim}** "${v.claim.quote}" (${v.claim.section})`)} | **${v.outcome}** | nothing measured | | 0 | | | ${cell(v.claim.conditions)} |`);
    v.parts.forEach((p, i) => {
      const first = i === 0;
      const rule = describeRule(p.rule, (x) => formatValue(x, p.unit, false), LEVEL);
      const missing = p.missing.length ? `; not measured: ${p.missing.join(', ')}` : '';
      lines.push(
        `| ${cell(first ? `**${v.claim.claim}** "${v.claim.quote}" (${v.claim.section})` : '')} | ${first ? `**${v.outcome}**` : ''} | ${cell(p.label + missing)} | ${formatInterval(p.interval, p.unit)} | ${p.interval.n} | ${cell(rule)} | ${p.outcome} | ${cell(first ? v.claim.conditions : '')} |`,
      );
    });
  }
  lines.push('');
  return lines.join('\n');
}

export function writeDvcnnVerdicts(path: string, title: string, verdicts: readonly DvcnnVerdict[], notes: string[] = []): void {
  ensureDir(dirname(path));
  writeTextFile(path, formatDvcnnVerdicts(title, verdicts, notes), 'the verdicts');
}

/** The figure result's one-line form of a verdict (supported: true, not supported: false, else null). */
export function asClaim(v: DvcnnVerdict): Claim {
  const evidence = v.parts.map((p) => `${p.label}: ${formatInterval(p.interval, p.unit)}, n ${p.interval.n}, ${p.outcome}`).join('; ');
  return { claim: v.claim.claim, supported: v.outcome === 'supported' ? true : v.outcome === 'not supported' ? false : null, evidence: `${evidence || 'nothing measured'} (${v.claim.conditions})` };
}
