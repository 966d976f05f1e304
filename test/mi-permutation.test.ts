import { afterAll, describe, expect, it } from 'vitest';
import { InfoflowError } from '../src/errors.js';
import { selectRows } from '../src/matrix.js';
import { errorBarsOn } from '../src/mi/error-bars.js';
import { MIEstimator } from '../src/mi/index.js';
import { MAX_PERMUTATIONS, permutationTest, permutationTestOn } from '../src/mi/permutation.js';
import { Xoshiro128 } from '../src/random.js';
import { gaussianPairs } from './mi-fixtures.js';

const asInput = (m: { data: Float32Array | Float64Array; n: number; d: number }) => ({ data: m.data, shape: [m.n, m.d] });

/** Kolmogorov-Smirnov distance between the sample's empirical CDF and U[0, 1]. */
function ksUniform(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  let d = 0;
  for (let i = 0; i < v.length; i++) d = Math.max(d, (i + 1) / v.length - v[i], v[i] - i / v.length);
  return d;
}

describe('permutation test', () => {
  const est = new MIEstimator({ workers: 1 });
  afterAll(() => est.close());

  it('gives each shuffle the estimate of the same shuffle done by hand, and the +1-corrected p-value of those', async () => {
    const { x, y } = gaussianPairs(300, 2, 0.2, 5);
    const r = await permutationTestOn(est, asInput(x), asInput(y), { permutations: 25, seed: 9 });
    const observed = await est.estimate(asInput(x), asInput(y));
    expect(r.mi).toBe(observed.mi);
    const rng = new Xoshiro128(9);
    const order = new Int32Array(300).map((_, i) => i);
    const byHand: number[] = [];
    for (let p = 0; p < 25; p++) {
      rng.shuffle(order);
      byHand.push((await est.estimate(asInput(x), asInput(selectRows(y, order)))).mi);
    }
    expect(r.significance.values).toEqual(byHand);
    expect(r.significance.pValue).toBe((1 + byHand.filter((v) => v >= observed.mi).length) / 26);
    const mean = byHand.reduce((a, b) => a + b, 0) / 25;
    expect(r.significance.mean).toBeCloseTo(mean, 12);
    expect(r.significance.sd).toBeCloseTo(Math.sqrt(byHand.reduce((a, v) => a + (v - mean) ** 2, 0) / 24), 12);
    // a shuffle is not the identity: the null differs from the estimate
    expect(new Set(byHand).size).toBeGreaterThan(20);
  });

  it('draws the same shuffles from the same seed and others from another', async () => {
    const { x, y } = gaussianPairs(200, 1, 0.3, 6);
    const a = await permutationTest(asInput(x), asInput(y), { permutations: 10, seed: 4, workers: 1 });
    const b = await permutationTest(asInput(x), asInput(y), { permutations: 10, seed: 4, workers: 1 });
    const c = await permutationTest(asInput(x), asInput(y), { permutations: 10, seed: 5, workers: 1 });
    expect(b.significance.values).toEqual(a.significance.values);
    expect(c.significance.values).not.toEqual(a.significance.values);
  });

  it('gives p-values near uniform on 40 independent datasets', async () => {
    const pValues: number[] = [];
    for (let s = 0; s < 40; s++) {
      const { x, y } = gaussianPairs(200, 1, 0, 1000 + s);
      const r = await permutationTestOn(est, asInput(x), asInput(y), { permutations: 99, seed: s });
      pValues.push(r.significance.pValue!);
    }
    // KS distance to U[0,1]: 0.26 is about the 0.005 critical value for 40 values (loose, so never flaky)
    expect(ksUniform(pValues)).toBeLessThan(0.26);
    // and every quarter of [0, 1] gets some of them
    for (let q = 0; q < 4; q++) expect(pValues.filter((p) => p > q / 4 && p <= (q + 1) / 4).length).toBeGreaterThan(2);
    // with an estimator that is unbiased under independence, the null's mean sits near 0 bits
    const { x, y } = gaussianPairs(500, 1, 0, 77);
    const r = await permutationTestOn(est, asInput(x), asInput(y), { permutations: 50, seed: 1 });
    expect(Math.abs(r.significance.mean)).toBeLessThan(3 * r.significance.sd);
  });

  it('gives the smallest p-value, 1 / (1 + P), on dependent data', async () => {
    const { x, y } = gaussianPairs(300, 1, 0.8, 8);
    const r = await permutationTestOn(est, asInput(x), asInput(y), { permutations: 199, seed: 2 });
    expect(r.significance.pValue).toBe(1 / 200);
    expect(r.mi).toBeGreaterThan(r.significance.mean + 10 * r.significance.sd);
  });

  it('refuses a shuffle count that is not an integer from 1 to MAX_PERMUTATIONS, naming the option', async () => {
    const { x, y } = gaussianPairs(50, 1, 0.5, 3);
    for (const permutations of [0, -3, 2.5, MAX_PERMUTATIONS + 1, Number.NaN]) {
      const p = permutationTestOn(est, asInput(x), asInput(y), { permutations });
      await expect(p).rejects.toThrow(InfoflowError);
      await expect(p).rejects.toThrow(/^permutations: must be an integer from 1 to 100000/);
    }
    // the estimate's own checks still apply (k >= N)
    await expect(permutationTestOn(est, asInput(x), asInput(y), { permutations: 5, k: 50 })).rejects.toThrow(/^k: /);
  });

  it('refuses a list of k (one estimate is compared with its shuffles), as errorBars does', async () => {
    const { x, y } = gaussianPairs(400, 1, 0.5, 4);
    const k = [3, 5] as unknown as number;
    await expect(permutationTestOn(est, asInput(x), asInput(y), { permutations: 3, k })).rejects.toThrow(/^k: permutationTest takes one k, not a list \(3,5\)/);
    await expect(errorBarsOn(est, asInput(x), asInput(y), { k })).rejects.toThrow(/^k: errorBars takes one k, not a list/);
  });
});
