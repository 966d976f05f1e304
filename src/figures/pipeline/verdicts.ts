/**
 * Verdicts: each claim a paper makes about a figure, and whether this run supports it, with the numbers
 * that decide. Claim functions (in each figure's folder) compute them from the metrics; this file only
 * formats and writes them, plus small helpers the claim functions share.
 */
import { dirname } from 'node:path';
import { ensureDir, writeTextFile } from './files.js';

export interface Claim {
  claim: string;
  /** true: supported; false: contradicted; null: inconclusive (runs too short, a panel missing, mixed) */
  supported: boolean | null;
  evidence: string;
}

export function verdictWord(supported: boolean | null): string {
  return supported === true ? 'yes' : supported === false ? 'no' : 'inconclusive';
}

/** The markdown report: a title, a one-line tally, then one section per claim. */
export function formatVerdicts(title: string, claims: Claim[], notes: string[] = []): string {
  const count = (v: boolean | null) => claims.filter((c) => c.supported === v).length;
  const lines = [
    `# ${title}`,
    '',
    `Supported: ${count(true)} of ${claims.length}; not supported: ${count(false)}; inconclusive: ${count(null)}.`,
    '',
  ];
  for (const note of notes) lines.push(`> ${note}`, '');
  lines.push('| Claim (paper) | Supported | Evidence (this run) |', '|---|---|---|');
  for (const c of claims) {
    const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
    lines.push(`| ${cell(c.claim)} | **${verdictWord(c.supported)}** | ${cell(c.evidence)} |`);
  }
  lines.push('');
  return lines.join('\n');
}

/** Writes the markdown report to `path` (its folder is created); an unwritable place is an io error. */
export function writeVerdicts(path: string, title: string, claims: Claim[], notes: string[] = []): string {
  const text = formatVerdicts(title, claims, notes);
  ensureDir(dirname(path));
  writeTextFile(path, text, 'the verdicts');
  return text;
}

/** A number with a fixed number of decimals, and an explicit sign when asked. */
export function fmt(x: number, digits = 2, signed = false): string {
  if (!Number.isFinite(x)) return String(x);
  const s = x.toFixed(digits);
  return signed && x >= 0 ? `+${s}` : s;
}

export function mean(xs: number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/**
 * A verdict from how many of `n` cases agree: at least 3/4 -> yes, at most 1/4 -> no, else inconclusive.
 * No case at all -> inconclusive.
 */
export function majority(agree: number, n: number): boolean | null {
  if (n === 0) return null;
  if (agree >= 0.75 * n) return true;
  if (agree <= 0.25 * n) return false;
  return null;
}
