/**
 * Reading config values at the public door: strings from the CLI or numbers from library callers, each
 * checked with a one-line error naming its option. Configs reject keys they do not know (see: nanoGPT's
 * configurator), so a typo cannot pass silently.
 */
import { closest } from 'fastest-levenshtein';
import { usageError } from '../errors.js';

/** A usage error naming the first key of `raw` not in `valid`, and the closest valid one. */
export function rejectUnknownKeys(raw: object, valid: readonly string[], what: string): void {
  for (const key of Object.keys(raw)) {
    if (!valid.includes(key)) throw usageError(key, `not a ${what} key; did you mean '${closest(key, [...valid])}'?`);
  }
}

function toNumber(v: unknown): number {
  return typeof v === 'number' ? v : String(v).trim() === '' ? NaN : Number(String(v).trim());
}

export function intOption(option: string, v: unknown, min: number, max: number, what = ''): number {
  const n = toNumber(v);
  if (!Number.isInteger(n) || n < min || n > max) throw usageError(option, `must be an integer in [${min}, ${max}]${what}; got '${v}'`);
  return n;
}

export function positiveOption(option: string, v: unknown): number {
  const n = toNumber(v);
  if (!Number.isFinite(n) || n <= 0) throw usageError(option, `must be a positive number; got '${v}'`);
  return n;
}

export function finiteOption(option: string, v: unknown): number {
  const n = toNumber(v);
  if (!Number.isFinite(n)) throw usageError(option, `must be a finite number; got '${v}'`);
  return n;
}

/** `v` if it is one of `choices`, else a usage error listing them. */
export function choiceOption<T extends string>(option: string, v: unknown, choices: readonly T[]): T {
  if ((choices as readonly unknown[]).includes(v)) return v as T;
  throw usageError(option, `unknown value '${v}'; use ${choices.join(', ')}`);
}
