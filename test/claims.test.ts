import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Outcome } from '../src/stats/decision.js';
import { judgeClaim, miBandOf, tally, verdictSection } from '../src/figures/hodas-stinis/judge.js';
import { type ClaimRow, type ClaimRun, finalError } from '../src/figures/hodas-stinis/measures.js';
import { FIGURE_4_CLAIMS, FIGURE_5_CLAIMS, type PaperClaim } from '../src/figures/hodas-stinis/paper-claims.js';
import { Xoshiro128 } from '../src/random.js';

const EPOCHS = 40;
const BAND = 0.1;

/** A synthetic trace: MI linear from `mi1` (epoch 1) to `miEnd` plus a sin^2 bump peaking mid-run; error exponential. */
interface Shape {
  mi0?: number;
  mi1: number;
  miEnd: number;
  bump?: number;
  errEnd: number;
  tau: number;
  err1?: number;
}

function rows(s: Shape): ClaimRow[] {
  return Array.from({ length: EPOCHS + 1 }, (_, e) => ({
    epoch: e,
    mi: e === 0 ? (s.mi0 ?? s.mi1) : s.mi1 + ((s.miEnd - s.mi1) * (e - 1)) / (EPOCHS - 1) + (s.bump ?? 0) * Math.sin((Math.PI * e) / EPOCHS) ** 2,
    miBand: BAND,
    valError: e === 1 && s.err1 !== undefined ? s.err1 : s.errEnd + (0.9 - s.errEnd) * Math.exp(-e / s.tau),
  }));
}

function run(arch: string, panel: string, width: number, depth: number, seed: number, s: Shape): ClaimRun {
  return { run: `${arch}-w${width}-d${depth}-s${seed}`, panel, arch, width, depth, seed, rows: rows(s) };
}

const SEEDS = 8;
/**
 * A seeded draw of `mean` plus Gaussian noise of sd `sd`, one per (salt, net): the same width, depth and seed
 * get the same draw whatever the architecture (the effect is put on one side of a pair), and different nets
 * of one seed get different draws (no pseudo-replication in the per-run effects).
 */
function draw(mean: number, sd: number, salt: number, seed: number, width: number, depth: number): number {
  return mean + sd * new Xoshiro128(salt * 1_000_003 + seed * 10_007 + width * 101 + depth).gaussian();
}

type Case = [effect: number, sd: number, expected: Outcome];
/** For each claim: three (effect, noise) cases whose answer is known: well outside, well inside, straddling the margin. */
interface Scenario {
  cases: Case[];
  runs(effect: number, sd: number): ClaimRun[];
}

const base = { mi1: 5, miEnd: 5, errEnd: 0.05, tau: 5 };

/** Figure 5 runs: panel A Res at W=16, 64; panel B the four nets at W=32; `f` shapes each run. */
function fig5(f: (arch: string, panel: string, seed: number, width: number) => Shape): ClaimRun[] {
  const out: ClaimRun[] = [];
  for (let s = 0; s < SEEDS; s++) {
    for (const w of [16, 64]) out.push(run('residual', 'A', w, 7, s, f('residual', 'A', s, w)));
    for (const a of ['mlp', 'shortcut', 'residual', 'shortcut-residual']) out.push(run(a, 'B', 32, 7, s, f(a, 'B', s, 32)));
  }
  return out;
}

/** Figure 4 runs: MLP and shortcut at W=16, 32 (A, depth 5) and depths 2, 5, 10, 20 (B, W=16). */
function fig4(f: (arch: string, depth: number, seed: number, width: number) => Shape): ClaimRun[] {
  const out: ClaimRun[] = [];
  for (let s = 0; s < SEEDS; s++) {
    for (const a of ['mlp', 'shortcut']) {
      for (const w of [16, 32]) out.push(run(a, 'A', w, 5, s, f(a, 5, s, w)));
      for (const d of [2, 5, 10, 20]) out.push(run(a, 'B', 16, d, s, f(a, d, s, 16)));
    }
  }
  return out;
}

const errorCases: Case[] = [[0.005, 0.0005, 'supported'], [0, 0.0001, 'not supported'], [0.001, 0.004, 'inconclusive']];
// The straddling cases have a wide spread around a small effect: the interval reaches past both 0 and the
// band (0.1 bits) unless the draws' mean strays more than ~2.5 standard errors.
const miCases: Case[] = [[0.5, 0.05, 'supported'], [0, 0.01, 'not supported'], [0.05, 1, 'inconclusive']];
// A peak's rise and fall are >= 0 by construction, so their straddling case puts positive bumps on the band
// (0.1 bits): the interval then covers the band in 95 % of draws, and these fixed draws are among them.
const peakCases: Case[] = [[0.5, 0.05, 'supported'], [0, 0.01, 'not supported'], [0.1, 0.04, 'inconclusive']];

const SCENARIOS: Record<string, Scenario> = {
  '5A-rise-peak-fall': {
    cases: peakCases,
    runs: (h, sd) => fig5((a, p, s, w) => ({ ...base, bump: draw(h, sd, 1, s, w, 7) })),
  },
  '5A-high-mi-not-necessary': {
    cases: peakCases,
    runs: (h, sd) => fig5((a, p, s, w) => ({ ...base, bump: draw(h, sd, 2, s, w, 7) })),
  },
  '5A-slope-at-high-mi': {
    // the error falls fastest early: MI falling over the run gives rho ~ +1, rising ~ -1; alternating signs straddle 0
    cases: [[1, 0, 'supported'], [-1, 0, 'not supported'], [0, 1, 'inconclusive']],
    runs: (dir, alt) => fig5((a, p, s) => {
      const sign = alt ? (s % 2 ? 1 : -1) : dir;
      return { ...base, mi1: 5 + 0.5 * sign, miEnd: 5 - 0.5 * sign };
    }),
  },
  '5B-shortcut-improves': {
    cases: errorCases,
    runs: (g, sd) => fig5((a, p, s, w) => ({ ...base, errEnd: a === 'shortcut' ? 0.05 - draw(g, sd, 3, s, w, 7) : 0.05 })),
  },
  '5B-main-gain-from-shortcut': {
    // S gains `g` over MLP, Res nothing: Res - S = g
    cases: errorCases,
    runs: (g, sd) => fig5((a, p, s, w) => ({ ...base, errEnd: a === 'shortcut' ? 0.05 - draw(g, sd, 4, s, w, 7) : 0.05 })),
  },
  '5B-residuals-mild-gain': {
    cases: errorCases,
    runs: (g, sd) => fig5((a, p, s, w) => ({
      ...base,
      errEnd: a === 'residual' ? 0.05 - draw(g, sd, 5, s, w, 7) : a === 'shortcut-residual' ? 0.05 - draw(g, sd, 6, s, w, 7) : 0.05,
    })),
  },
  '5B-shortcut-starts-high': {
    cases: miCases,
    runs: (m, sd) => fig5((a, p, s, w) => ({
      ...base,
      mi1: a === 'shortcut' ? 5 + draw(m, sd, 7, s, w, 7) : a === 'shortcut-residual' ? 5 + draw(m, sd, 8, s, w, 7) : 5,
    })),
  },
  '5B-trained-in-one-epoch': {
    // effect = share of the drop made in epoch 1, minus 1/2
    cases: [[0.3, 0.03, 'supported'], [-0.3, 0.03, 'not supported'], [0.02, 0.1, 'inconclusive']],
    runs: (x, sd) => fig5((a, p, s, w) => ({
      ...base,
      err1: a.startsWith('shortcut') ? 0.9 - (0.5 + draw(x, sd, a === 'shortcut' ? 9 : 19, s, w, 7)) * (0.9 - 0.05) : undefined,
    })),
  },
  '4-toward-optimum-mi': {
    // the shortcut starts 1 + g bits above its MLP twin and ends 1 bit above it: the gap narrows by g
    cases: miCases,
    runs: (g, sd) => fig4((a, depth, s, w) => (a === 'shortcut' ? { ...base, mi1: 6 + draw(g, sd, 10, s, w, depth), miEnd: 6 } : base)),
  },
  '4-mlp-mi-rises': {
    cases: miCases,
    runs: (r, sd) => fig4((a, depth, s, w) => ({ ...base, miEnd: a === 'mlp' ? 5 + draw(r, sd, 11, s, w, depth) : 5 })),
  },
  '4-shortcut-starts-higher': {
    cases: miCases,
    runs: (g, sd) => fig4((a, depth, s, w) => {
      const d = a === 'shortcut' ? draw(g, sd, 12, s, w, depth) : 0;
      return { ...base, mi1: 5 + d, miEnd: 5 + d };
    }),
  },
  '4-shortcut-mi-decreases': {
    cases: miCases,
    runs: (g, sd) => fig4((a, depth, s, w) => ({ ...base, mi1: a === 'shortcut' ? 5 + draw(g, sd, 13, s, w, depth) : 5 })),
  },
  '4B-deep-mlp-slower': {
    // tau (epochs per e-fold of the error) larger for deep MLPs; reaching 10 % takes ~2.8 tau epochs
    cases: [[4, 0.3, 'supported'], [0, 0, 'not supported'], [0.1, 1.5, 'inconclusive']],
    runs: (dt, sd) => fig4((a, depth, s, w) => ({ ...base, tau: a === 'mlp' && depth >= 10 ? 5 + draw(dt, sd, 14, s, w, depth) : 5 })),
  },
  '4B-deep-mlp-less-accurate': {
    cases: errorCases,
    runs: (g, sd) => fig4((a, depth, s, w) => ({ ...base, errEnd: a === 'mlp' && depth >= 10 ? 0.05 + draw(g, sd, 15, s, w, depth) : 0.05 })),
  },
  '4B-deep-mlp-lower-mi': {
    cases: miCases,
    runs: (g, sd) => fig4((a, depth, s, w) => ({ ...base, miEnd: a === 'mlp' && depth >= 10 ? 5 - draw(g, sd, 16, s, w, depth) : 5 })),
  },
  '4-shortcut-speeds-training': {
    cases: [[3, 0.3, 'supported'], [0, 0, 'not supported'], [0.1, 1.5, 'inconclusive']],
    runs: (dt, sd) => fig4((a, depth, s, w) => ({ ...base, tau: a === 'mlp' ? 5 + draw(dt, sd, 17, s, w, depth) : 5 })),
  },
  '4-shortcut-more-accurate': {
    cases: errorCases,
    runs: (g, sd) => fig4((a, depth, s, w) => ({ ...base, errEnd: a === 'shortcut' ? 0.05 - draw(g, sd, 18, s, w, depth) : 0.05 })),
  },
};

const ALL: PaperClaim[] = [...FIGURE_5_CLAIMS, ...FIGURE_4_CLAIMS];

describe('the claims list', () => {
  it('quotes the paper word for word, each claim once', () => {
    const papers = join(import.meta.dirname, '..', '..', 'shared', 'papers');
    const file = readdirSync(papers).find((f) => f.startsWith('001_'));
    expect(file).toBeDefined();
    const norm = (s: string) => s.replace(/\s+/g, ' ');
    const text = norm(readFileSync(join(papers, file as string), 'utf8'));
    for (const c of ALL) {
      expect(text.includes(norm(c.quote)), `${c.id}: "${c.quote}"`).toBe(true);
      expect(text.includes(`## ${c.section}`), `${c.id}: section ${c.section}`).toBe(true);
    }
    expect(new Set(ALL.map((c) => c.id)).size).toBe(ALL.length);
  });

  it('has a synthetic test for every claim', () => {
    expect(Object.keys(SCENARIOS).sort()).toEqual(ALL.map((c) => c.id).sort());
  });
});

describe('each claim on synthetic runs whose answer is known', () => {
  for (const c of ALL) {
    const sc = SCENARIOS[c.id];
    for (const [effect, sd, expected] of sc?.cases ?? []) {
      it(`${c.id}: effect ${effect} (sd ${sd}) -> ${expected}`, () => {
        const v = judgeClaim(c, sc.runs(effect, sd));
        expect(v.outcome, JSON.stringify(v.parts.map((p) => [p.label, p.interval, p.rule]))).toBe(expected);
        for (const p of v.parts) expect(p.interval.n).toBeGreaterThanOrEqual(SEEDS);
      });
    }
  }
});

describe('the final test error', () => {
  it('is the median of the last 5 % of epochs, so a run that ends inside a spike keeps its accuracy', () => {
    // shaped as Figure 4's MLP W = 32 seed 4 (2026-12-02): about 4.6 % at the end, 7.78 % at its last epoch
    const base: ClaimRun = { run: 'mlp-w32-d5-s4', panel: 'A', arch: 'mlp', width: 32, depth: 5, seed: 4, rows: [] };
    const rows = Array.from({ length: 301 }, (_, e) => ({ epoch: e, mi: null, valError: e < 280 ? 0.9 - (0.9 - 0.046) * Math.min(1, e / 250) : 0.046 + 0.001 * (e % 2) }));
    rows[299].valError = 0.06;
    rows[300].valError = 0.0778;
    // the last 15 epochs (286-300): 13 at 4.6-4.7 %, two in the spike; the median is 4.7 %
    expect(finalError({ ...base, rows })).toBeCloseTo(0.047, 12);
    // a short run: its last epoch alone (5 % of 10 epochs is 0.5, rounded to 1)
    const short = rows.slice(0, 11);
    expect(finalError({ ...base, rows: short })).toBe(short[10].valError);
    expect(finalError({ ...base, rows: [] })).toBeUndefined();
  });
});

describe('judging', () => {
  it('judges MI effects against the median band of the runs used, or the default without one', () => {
    const runs = fig5(() => base);
    expect(miBandOf(runs).band).toBe(BAND);
    const bare = runs.map((r) => ({ ...r, rows: r.rows.map((x) => ({ ...x, miBand: null })) }));
    expect(miBandOf(bare)).toMatchObject({ band: 0.1, note: expect.stringMatching(/default/) });
  });

  it('counts a run drawn in two panels in each, and once in each', () => {
    // the Res runs at the panel-B width are drawn in panel A too (same run directory)
    const runs = fig5(() => base);
    const both = [...runs, ...runs.filter((r) => r.panel === 'B' && r.arch === 'residual').map((r) => ({ ...r, panel: 'A' }))];
    const peak = judgeClaim(FIGURE_5_CLAIMS.find((c) => c.id === '5A-rise-peak-fall') as PaperClaim, both);
    expect(peak.parts[0].interval.n).toBe(3 * SEEDS);
    const gain = judgeClaim(FIGURE_5_CLAIMS.find((c) => c.id === '5B-residuals-mild-gain') as PaperClaim, both);
    expect(gain.parts.map((p) => p.interval.n)).toEqual([SEEDS, SEEDS]);
    // and a Figure 4 run in both panels is one MLP run, not two
    const f4 = fig4(() => base);
    const rises = judgeClaim(FIGURE_4_CLAIMS.find((c) => c.id === '4-mlp-mi-rises') as PaperClaim, f4);
    expect(rises.parts[0].interval.n).toBe(5 * SEEDS);
  });

  it('is inconclusive with fewer than two values, and names what it could not measure', () => {
    const runs = fig5(() => base).filter((r) => r.seed === 0);
    const v = judgeClaim(FIGURE_5_CLAIMS.find((c) => c.id === '5B-shortcut-improves') as PaperClaim, runs);
    expect(v.outcome).toBe('inconclusive');
    const short = fig5(() => base).map((r) => (r.arch === 'shortcut' ? { ...r, rows: r.rows.slice(0, 1) } : r));
    const w = judgeClaim(FIGURE_5_CLAIMS.find((c) => c.id === '5B-trained-in-one-epoch') as PaperClaim, short);
    expect(w.parts[0].missing.length).toBe(SEEDS);
    expect(w.parts[0].interval.n).toBe(0);
    expect(w.parts[0].outcome).toBe('inconclusive');
  });

  it('writes a table with the effect, interval, n and rule, and counts all three outcomes', () => {
    const verdicts = FIGURE_5_CLAIMS.map((c) => judgeClaim(c, SCENARIOS[c.id].runs(SCENARIOS[c.id].cases[0][0], SCENARIOS[c.id].cases[0][1])));
    const md = verdictSection('Primary', ['BN: moving averages'], verdicts);
    expect(md).toContain('supported: 8, not supported: 0, inconclusive: 0 (of 8 claims)');
    expect(md).toContain('| n | Rule |');
    expect(md).toMatch(/\+0\.50\d bits \[\+0\.\d+, \+0\.\d+\] \| 16 \| supported if the 95 % interval lies above \+0\.100 bits/);
    expect(tally([{ outcome: 'supported' }, { outcome: 'inconclusive' }])).toBe('supported: 1, not supported: 0, inconclusive: 1 (of 2 claims)');
  });
});
