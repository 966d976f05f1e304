import { describe, expect, it } from 'vitest';
import { correlationInterval, spearman } from '../src/stats/correlation.js';
import { allOf, decide, describeRule, type Rule } from '../src/stats/decision.js';
import { meanInterval, pairedDifferences, tQuantile } from '../src/stats/interval.js';
import { centredMovingAverage, smoothedPeak } from '../src/stats/smoothing.js';
import { Mulberry32 } from '../src/random.js';

describe('t interval', () => {
  it('matches the textbook values (R: t.test(1:5) gives 1.036757 to 4.963243)', () => {
    expect(tQuantile(0.975, 4)).toBeCloseTo(2.776445, 6);
    expect(tQuantile(0.975, 7)).toBeCloseTo(2.364624, 6);
    const iv = meanInterval([1, 2, 3, 4, 5]);
    expect(iv.estimate).toBe(3);
    expect(iv.sd).toBeCloseTo(Math.sqrt(2.5), 12);
    expect(iv.lo).toBeCloseTo(1.036757, 6);
    expect(iv.hi).toBeCloseTo(4.963243, 6);
    expect(iv.n).toBe(5);
  });

  it('covers the true mean about 95 % of the time (2,000 samples of 8 normal values)', () => {
    const rng = new Mulberry32(7);
    let covered = 0;
    for (let k = 0; k < 2000; k++) {
      const xs = Array.from({ length: 8 }, () => 0.3 + 0.1 * rng.gaussian());
      const iv = meanInterval(xs);
      if (iv.lo <= 0.3 && 0.3 <= iv.hi) covered++;
    }
    // binomial sd at p = 0.95, n = 2000: 0.49 %; 4 sd either side
    expect(covered / 2000).toBeGreaterThan(0.93);
    expect(covered / 2000).toBeLessThan(0.97);
  });

  it('is unbounded with one value and empty with none', () => {
    expect(meanInterval([0.2])).toMatchObject({ estimate: 0.2, lo: -Infinity, hi: Infinity, n: 1 });
    expect(Number.isNaN(meanInterval([]).estimate)).toBe(true);
    expect(() => meanInterval([1, NaN])).toThrow(/finite/);
  });

  it('pairs differences by key, skipping keys one side lacks', () => {
    const a = new Map([[0, 5], [1, 7], [2, 9]]);
    const b = new Map([[2, 1], [0, 2]]);
    expect(pairedDifferences(a, b)).toEqual([{ key: 0, d: 3 }, { key: 2, d: 8 }]);
  });
});

describe('three-way decision', () => {
  const accuracy: Rule = { side: 1, threshold: 0, margin: 0.1 };
  const miRule: Rule = { side: 1, threshold: 0.1, margin: 0.1 };
  const iv = (lo: number, hi: number) => ({ lo, hi });

  it('supports an effect well outside the margin on the paper side', () => {
    expect(decide(iv(0.3, 0.5), accuracy)).toBe('supported');
    expect(decide(iv(0.12, 0.3), miRule)).toBe('supported');
  });

  it('rejects an effect on the other side, or well inside the equivalence margin', () => {
    expect(decide(iv(-0.5, -0.3), accuracy)).toBe('not supported');
    expect(decide(iv(-0.05, 0.05), accuracy)).toBe('not supported');
    expect(decide(iv(-0.08, 0.08), miRule)).toBe('not supported');
    expect(decide(iv(0.01, 0.09), miRule)).toBe('not supported');
  });

  it('is inconclusive for an interval straddling zero or the margin', () => {
    expect(decide(iv(-0.2, 0.4), accuracy)).toBe('inconclusive');
    expect(decide(iv(-0.05, 0.15), accuracy)).toBe('inconclusive');
    // beyond zero but not beyond the MI band: estimator noise could have made it
    expect(decide(iv(0.05, 0.15), miRule)).toBe('inconclusive');
    expect(decide(iv(NaN, NaN), accuracy)).toBe('inconclusive');
  });

  it('checks "supported" first: a small real effect inside a wider margin still counts', () => {
    expect(decide(iv(0.02, 0.06), accuracy)).toBe('supported');
  });

  it('mirrors for a claimed negative effect', () => {
    const neg: Rule = { side: -1, threshold: 0.1, margin: 0.1 };
    expect(decide(iv(-0.5, -0.2), neg)).toBe('supported');
    expect(decide(iv(0.2, 0.5), neg)).toBe('not supported');
    expect(decide(iv(-0.15, -0.05), neg)).toBe('inconclusive');
  });

  it('combines parts: all supported, any not supported, else inconclusive', () => {
    expect(allOf(['supported', 'supported'])).toBe('supported');
    expect(allOf(['supported', 'inconclusive'])).toBe('inconclusive');
    expect(allOf(['inconclusive', 'not supported'])).toBe('not supported');
    expect(allOf([])).toBe('inconclusive');
  });

  it('says the rule in words', () => {
    const f = (x: number) => `${x.toFixed(2)} bits`;
    expect(describeRule(miRule, f)).toBe('supported if the 95 % interval lies above +0.10 bits; not supported if it lies below 0 or within ±0.10 bits');
    expect(describeRule({ side: -1, threshold: 0, margin: 0 }, f)).toBe('supported if the 95 % interval lies below 0; not supported if it lies above 0');
  });

  it('decides synthetic paired effects over 8 seeds: well outside, well inside and straddling the margin', () => {
    const rng = new Mulberry32(11);
    const effect = (mean: number, sd: number) => meanInterval(Array.from({ length: 8 }, () => mean + sd * rng.gaussian()));
    expect(decide(effect(0.5, 0.1), accuracy)).toBe('supported');
    expect(decide(effect(0, 0.02), accuracy)).toBe('not supported');
    expect(decide(effect(-0.5, 0.1), accuracy)).toBe('not supported');
    expect(decide(effect(0.1, 0.3), miRule)).toBe('inconclusive');
  });
});

describe('smoothing and peaks', () => {
  it('averages centred windows that shrink symmetrically at the ends (a line stays a line)', () => {
    expect(centredMovingAverage([0, 1, 2, 3, 4, 5], 2)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(centredMovingAverage([0, 3, 0, 3, 0], 1)).toEqual([0, 1, 2, 1, 0]);
    expect(centredMovingAverage([1, 2, 3], 0)).toEqual([1, 2, 3]);
  });

  it('finds a noisy rise-peak-fall and its drop, close to the noise-free one', () => {
    const rng = new Mulberry32(3);
    const clean = Array.from({ length: 41 }, (_, i) => 5 + 1.0 * Math.exp(-(((i - 12) / 6) ** 2)) - 0.01 * i);
    const noisy = clean.map((v) => v + 0.02 * rng.gaussian());
    const p = smoothedPeak(noisy, 2);
    expect(p.index).toBeGreaterThan(8);
    expect(p.index).toBeLessThan(16);
    // the noise-free drop (peak ~5.88 at i = 12, end 4.60) within 3 noise sd of the smoothed one
    const truth = Math.max(...clean) - clean[40];
    expect(Math.abs(p.drop - truth)).toBeLessThan(0.06);
    expect(Math.abs(p.rise - (Math.max(...clean) - clean[0]))).toBeLessThan(0.06);
  });

  it('puts the peak of a monotone rise at the end (no drop)', () => {
    const p = smoothedPeak([1, 2, 3, 4, 5, 6], 1);
    expect(p.index).toBe(5);
    expect(p.drop).toBe(0);
    expect(p.rise).toBe(5);
  });
});

describe('rank correlation', () => {
  it("is Spearman's rho, with ties at their mean rank", () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    expect(spearman([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(0.8, 12);
    // ranks of y: 1.5, 1.5, 3, 4 -> Pearson of the ranks
    expect(spearman([1, 2, 3, 4], [5, 5, 6, 7])).toBeCloseTo(0.9486833, 6);
  });

  it('is NaN when it cannot be computed', () => {
    expect(spearman([1, 2], [3, 4])).toBeNaN();
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(() => spearman([1, 2, 3], [1, 2])).toThrow(/paired/);
  });
});

describe('correlationInterval', () => {
  it('keeps the interval of strong correlations inside [-1, 1] (Fisher z), where a t interval on rho passes -1', () => {
    const rhos = [-0.99, -0.93, -0.86];
    const iv = correlationInterval(rhos);
    expect(iv.lo).toBeGreaterThan(-1);
    expect(iv.hi).toBeLessThan(0);
    expect(iv.n).toBe(3);
    const z = rhos.map(Math.atanh);
    expect(iv.estimate).toBeCloseTo(Math.tanh(z.reduce((a, b) => a + b, 0) / 3), 12);
  });

  it('straddles 0 for correlations of both signs, and is finite for perfect ones', () => {
    const mixed = correlationInterval([0.6, -0.5, 0.1, -0.2]);
    expect(mixed.lo).toBeLessThan(0);
    expect(mixed.hi).toBeGreaterThan(0);
    const perfect = correlationInterval([1, 1, 0.98]);
    expect(Number.isFinite(perfect.lo)).toBe(true);
    expect(perfect.hi).toBeLessThanOrEqual(1);
  });
});
