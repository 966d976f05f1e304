import { afterAll, describe, expect, it } from 'vitest';
import { InfoflowError } from '../src/errors.js';
import { errorBars, errorBarsOn, poolVariances } from '../src/mi/error-bars.js';
import { MIEstimator } from '../src/mi/index.js';
import { tQuantile } from '../src/stats/interval.js';
import { gaussianPairs } from './mi-fixtures.js';

const asInput = (m: { data: Float32Array | Float64Array; n: number; d: number }) => ({ data: m.data, shape: [m.n, m.d] });

describe('error bars (Holmes & Nemenman 2019)', () => {
  const est = new MIEstimator({ workers: 1 });
  afterAll(() => est.close());

  it('pools the per-split variances with weights n - 1, each scaled to the full N by 1 / n', () => {
    const r = poolVariances(1, [{ n: 2, variance: 0.02 }, { n: 3, variance: 0.06 }, { n: 4, variance: 0.04 }], 0.95);
    // (1 * 0.01 + 2 * 0.02 + 3 * 0.01) / 6
    expect(r.dof).toBe(6);
    expect(r.se).toBeCloseTo(Math.sqrt(0.08 / 6), 15);
    expect(r.hi - 1).toBeCloseTo(tQuantile(0.975, 6) * r.se, 12);
    expect(1 - r.lo).toBeCloseTo(r.hi - 1, 12);
  });

  it('estimates every disjoint subsample of every split, and keeps the full estimate', async () => {
    const { x, y } = gaussianPairs(605, 1, 0.6, 2);
    const r = await errorBarsOn(est, asInput(x), asInput(y), { splits: 5, seed: 3 });
    expect(r.mi).toBe((await est.estimate(asInput(x), asInput(y))).mi);
    expect(r.errorBars.subsamples.map((s) => [s.n, s.size, s.values.length])).toEqual([[2, 302, 2], [3, 201, 3], [4, 151, 4], [5, 121, 5]]);
    expect(r.errorBars.dof).toBe(1 + 2 + 3 + 4);
    expect(r.errorBars.lo).toBeLessThan(r.mi);
    expect(r.errorBars.hi).toBeGreaterThan(r.mi);
    expect(r.errorBars.method).toBe('holmes-nemenman-2019');
    const again = await errorBars(asInput(x), asInput(y), { splits: 5, seed: 3, workers: 1 });
    expect(again.errorBars.se).toBe(r.errorBars.se);
  });

  it('covers the estimator mean at N = 500 about 95 % of the time on Gaussian data, with the right spread', async () => {
    // the estimator's mean and spread at N = 500 (1 + 1 dims, rho = 0.6) from 500 further samples
    const N = 500;
    const reference: number[] = [];
    for (let s = 0; s < 500; s++) {
      const { x, y } = gaussianPairs(N, 1, 0.6, 50_000 + s);
      reference.push((await est.estimate(asInput(x), asInput(y))).mi);
    }
    const mean = reference.reduce((a, b) => a + b, 0) / reference.length;
    const sd = Math.sqrt(reference.reduce((a, v) => a + (v - mean) ** 2, 0) / (reference.length - 1));
    let covered = 0;
    let seSum = 0;
    const samples = 200;
    for (let s = 0; s < samples; s++) {
      const { x, y } = gaussianPairs(N, 1, 0.6, 10_000 + s);
      const r = await errorBarsOn(est, asInput(x), asInput(y), { seed: s });
      if (r.errorBars.lo <= mean && mean <= r.errorBars.hi) covered++;
      seSum += r.errorBars.se;
    }
    expect(covered / samples).toBeGreaterThanOrEqual(0.88);
    expect(covered / samples).toBeLessThanOrEqual(0.99);
    // the standard error is the estimator's standard deviation at N, within 20 %
    expect(seSum / samples / sd).toBeGreaterThan(0.8);
    expect(seSum / samples / sd).toBeLessThan(1.2);
  });

  it('refuses too few rows for the subsamples, and a bad split count, naming the option and the fix', async () => {
    const { x, y } = gaussianPairs(250, 1, 0.5, 4);
    const p = errorBarsOn(est, asInput(x), asInput(y), {});
    await expect(p).rejects.toThrow(InfoflowError);
    await expect(p).rejects.toThrow(/^errorBars: N = 250 rows split 10 ways gives subsamples of 25 rows, fewer than the 30 \(10 k\) each needs; use splits 8 or fewer/);
    const small = gaussianPairs(60, 1, 0.5, 4);
    await expect(errorBarsOn(est, asInput(small.x), asInput(small.y), {})).rejects.toThrow(/give at least 90 rows/);
    for (const splits of [2, 101, 4.5]) await expect(errorBarsOn(est, asInput(x), asInput(y), { splits })).rejects.toThrow(/^splits: must be an integer from 3 to 100/);
    await expect(errorBarsOn(est, asInput(x), asInput(y), { splits: 5, level: 1 })).rejects.toThrow(/^level: /);
  });
});
