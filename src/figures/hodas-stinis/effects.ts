/**
 * Effects as the claims declare them: a part of a claim is one signed quantity measured once per seed
 * (a paired difference between two nets with the same initial weights) or once per run (a within-run
 * effect), with the side the paper puts it on and how its rule is set (MI effects against the MI noise
 * band, the others against a fixed equivalence margin). judge.ts turns the values into an interval and
 * a decision.
 */
import type { ClaimRun } from './measures.js';

export type Unit = 'bits' | 'points' | 'share' | 'rho' | 'epochs';

/** The values of an effect, one per seed, pair or run, with the runs they came from. */
export interface Sample {
  values: { key: string; value: number }[];
  /** the runs measured (their MI bands set an MI effect's threshold) */
  used: ClaimRun[];
  /** units (seeds, pairs, runs) that could not be measured: too short, or a partner missing */
  missing: string[];
}

export interface EffectPart {
  /** what is measured, e.g. 'final test error, MLP - S, paired by seed' */
  label: string;
  unit: Unit;
  /** the sign the paper claims */
  side: 1 | -1;
  /** 'mi': threshold and margin are the MI noise band; 'fixed': threshold 0 and `margin` */
  rule: 'mi' | 'fixed';
  /** equivalence margin of a 'fixed' rule, in the effect's own scale (fractions for 'points') */
  margin?: number;
  sample(runs: readonly ClaimRun[]): Sample;
}

export type Select = (r: ClaimRun) => boolean;
export type Measure = (r: ClaimRun) => number | undefined;

/** `f(r) - g(r)`, undefined when either is. */
export function minus(f: Measure, g: Measure | number): Measure {
  return (r) => {
    const [a, b] = [f(r), typeof g === 'number' ? g : g(r)];
    return a === undefined || b === undefined ? undefined : a - b;
  };
}

/** The runs `select` takes, each once whatever the panels it is drawn in (select first: it may ask for a panel). */
export function selectRuns(runs: readonly ClaimRun[], select: Select): ClaimRun[] {
  return [...new Map(runs.filter(select).map((r) => [r.run, r])).values()];
}

export const tag = (r: ClaimRun) => `${r.arch} W=${r.width} L=${r.depth} s${r.seed}`;

/** A within-run effect: `measure` of each selected run. */
export function perRun(select: Select, measure: Measure): (runs: readonly ClaimRun[]) => Sample {
  return (runs) => {
    const out: Sample = { values: [], used: [], missing: [] };
    for (const r of selectRuns(runs, select)) {
      const v = measure(r);
      if (v === undefined || !Number.isFinite(v)) out.missing.push(tag(r));
      else {
        out.values.push({ key: tag(r), value: v });
        out.used.push(r);
      }
    }
    return out;
  };
}

/** The same width, depth and seed: two architectures from the same initial weights. */
export const sameNetAndSeed = (r: ClaimRun) => `W=${r.width} L=${r.depth} s${r.seed}`;

/**
 * A paired difference `measure(a) - measure(b)` over runs matched by `key` (default: width, depth and
 * seed), where `a` and `b` select the two sides. `transform` maps the two values (default: a - b).
 */
export function paired(
  a: Select,
  b: Select,
  measure: Measure,
  key: (r: ClaimRun) => string = sameNetAndSeed,
  transform: (va: number, vb: number) => number = (va, vb) => va - vb,
): (runs: readonly ClaimRun[]) => Sample {
  return (runs) => {
    const bs = new Map(selectRuns(runs, b).map((r) => [key(r), r]));
    const out: Sample = { values: [], used: [], missing: [] };
    for (const ra of selectRuns(runs, a)) {
      const rb = bs.get(key(ra));
      const [va, vb] = [measure(ra), rb ? measure(rb) : undefined];
      if (!rb || va === undefined || vb === undefined || !Number.isFinite(va) || !Number.isFinite(vb)) out.missing.push(key(ra));
      else {
        out.values.push({ key: key(ra), value: transform(va, vb) });
        out.used.push(ra, rb);
      }
    }
    return out;
  };
}

/**
 * Per seed: the mean of `measure` over the runs `a` selects minus the mean over those `b` selects
 * (e.g. deep against shallow MLPs: different nets, one value per seed).
 */
export function groupsPerSeed(a: Select, b: Select, measure: Measure): (runs: readonly ClaimRun[]) => Sample {
  return (runs) => {
    const [as, bs] = [selectRuns(runs, a), selectRuns(runs, b)];
    const seeds = [...new Set([...as, ...bs].map((r) => r.seed))].sort((x, y) => x - y);
    const out: Sample = { values: [], used: [], missing: [] };
    for (const seed of seeds) {
      const [ga, gb] = [as.filter((r) => r.seed === seed), bs.filter((r) => r.seed === seed)];
      const [va, vb] = [ga.map(measure), gb.map(measure)];
      const ok = (vs: (number | undefined)[]) => vs.length > 0 && vs.every((v) => v !== undefined && Number.isFinite(v));
      if (!ok(va) || !ok(vb)) out.missing.push(`s${seed}`);
      else {
        const mean = (vs: (number | undefined)[]) => (vs as number[]).reduce((s, v) => s + v, 0) / vs.length;
        out.values.push({ key: `s${seed}`, value: mean(va) - mean(vb) });
        out.used.push(...ga, ...gb);
      }
    }
    return out;
  };
}
