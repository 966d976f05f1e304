import { afterAll, describe, expect, it } from 'vitest';
import { InfoflowError } from '../src/errors.js';
import { MIEstimator, mutualInformation } from '../src/mi/index.js';
import { referenceMI } from '../src/mi/reference.js';
import { Xoshiro128 } from '../src/random.js';
import { gaussianPairs, goldenCases, readGoldenNpy, seededData, tiedData } from './mi-fixtures.js';

const asInput = (m: { data: Float32Array | Float64Array; n: number; d: number }) => ({ data: m.data, shape: [m.n, m.d] });

describe('mutualInformation', () => {
  const est1 = new MIEstimator({ workers: 1 });
  const est2 = new MIEstimator({ workers: 2 });
  const est3 = new MIEstimator({ workers: 3 });
  afterAll(async () => {
    await Promise.all([est1.close(), est2.close(), est3.close()]);
  });

  it('gives the same bits whatever the worker count, equal to the reference', async () => {
    const { x, y } = seededData(2100, 4, 3, 11);
    const r1 = await est1.estimate(asInput(x), asInput(y));
    const r2 = await est2.estimate(asInput(x), asInput(y));
    const r3 = await est3.estimate(asInput(x), asInput(y), { k: 3 });
    expect(r2.mi).toBe(r1.mi);
    expect(r3.mi).toBe(r1.mi);
    const ref = referenceMI(x, y, 3);
    expect(r1.nats).toBe(ref.nats);
    expect(r1.units).toBe('bits');
    expect(r1.mi).toBeCloseTo(ref.nats / Math.LN2, 12);
  });

  it('gives the same bits whatever the worker count on tied and duplicated points, equal to the reference', async () => {
    // N = 2503 (odd, ragged words): above POOL_MIN_N, so the k-NN and the counts run on the pool
    const { x, y } = tiedData(2503, 3, 1, 3, 31);
    const ref = referenceMI(x, y, 2);
    for (const est of [est1, est2, est3]) {
      const r = await est.estimate(asInput(x), asInput(y), { k: 2 });
      expect(r.nats).toBe(ref.nats);
    }
  });

  it('matches c_f64_bits on every golden case through the pool', async () => {
    for (const c of goldenCases()) {
      const x = readGoldenNpy(c.x);
      const y = readGoldenNpy(c.y);
      const r = await est2.estimate(asInput(x), asInput(y), { k: c.k });
      expect(Math.abs(r.mi - c.c_f64_bits) / Math.abs(c.c_f64_bits)).toBeLessThan(1e-9);
      expect(r.zeroEpsPoints).toBe(c.c_zero_eps_points);
      if (c.c_zero_eps_points > 0) expect(r.warnings.join(' ')).toMatch(/1162 of 2000 points.*--noise 1e-10/);
      else expect(r.warnings).toEqual([]);
    }
  });

  it('lands within NPEET spread over seeds on the tied golden cases with noise 1e-10', async () => {
    for (const c of goldenCases().filter((c) => c.name.startsWith('ties_'))) {
      const x = readGoldenNpy(c.x);
      const y = readGoldenNpy(c.y);
      const s = c.npeet_bits_seeds_0_9;
      const values: number[] = [];
      for (const seed of [1, 2, 3]) {
        const r = await est2.estimate(asInput(x), asInput(y), { noise: 1e-10, seed });
        expect(r.zeroEpsPoints).toBe(0);
        expect(r.warnings).toEqual([]);
        expect(Math.abs(r.mi - s.mean)).toBeLessThan(4 * s.std);
        values.push(r.mi);
      }
      // the seed matters on tied data, and the same seed gives the same bits
      expect(new Set(values).size).toBeGreaterThan(1);
      const again = await est1.estimate(asInput(x), asInput(y), { noise: 1e-10, seed: 2 });
      expect(again.mi).toBe(values[1]);
    }
  });

  it('is close to the analytic MI of Gaussian pairs and near 0 for shuffled y', async () => {
    const { x, y, trueBits } = gaussianPairs(8000, 2, 0.8, 21);
    const r = await est2.estimate(asInput(x), asInput(y));
    expect(Math.abs(r.mi - trueBits)).toBeLessThan(0.05);
    // shuffle the rows of y
    const rng = new Xoshiro128(5);
    const ys = new Float64Array(y.data.length);
    const order = rng.shuffle(Int32Array.from({ length: y.n }, (_, i) => i));
    order.forEach((src, i) => ys.set(y.data.subarray(src * y.d, (src + 1) * y.d), i * y.d));
    const r0 = await est2.estimate(asInput(x), { data: ys, shape: [y.n, y.d] });
    expect(Math.abs(r0.mi)).toBeLessThan(0.03);
  });

  it('accepts nested arrays, 1-D arrays, N-d shapes and other bases, and reports progress', async () => {
    const { x, y } = seededData(300, 4, 1, 12);
    const nested = Array.from({ length: x.n }, (_, i) => Array.from(x.data.subarray(i * 4, i * 4 + 4)));
    const flat = Array.from(y.data);
    const calls: [number, number][] = [];
    const a = await mutualInformation(nested, flat, { workers: 1, onProgress: (d, t) => calls.push([d, t]) });
    const b = await est1.estimate({ data: x.data, shape: [300, 2, 2] }, { data: y.data, shape: [300] }, { base: 'e' });
    expect(a.mi).toBe(b.nats / Math.LN2);
    expect(b.units).toBe('nats');
    expect(b.mi).toBe(b.nats);
    const c = await est1.estimate(nested, flat, { base: 10 });
    expect(c.units).toBe('dits');
    expect(c.mi).toBeCloseTo(b.nats / Math.LN10, 14);
    expect(calls.at(-1)).toEqual([300, 300]);
    expect(calls.every(([d], i) => i === 0 || d > calls[i - 1][0])).toBe(true);
  });

  it('rejects bad arguments with an InfoflowError naming them', async () => {
    const { x, y } = seededData(50, 2, 2, 13);
    const X = asInput(x);
    const Y = asInput(y);
    const bad = async (p: Promise<unknown>, re: RegExp) => {
      const err = await p.then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(InfoflowError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain('\n');
    };
    await bad(est1.estimate(X, Y, { k: 0 }), /^k: must be an integer in \[1, N-1\] = \[1, 49\]; got 0/);
    await bad(est1.estimate(X, Y, { k: 50 }), /^k: /);
    await bad(est1.estimate(X, Y, { k: 2.5 }), /^k: /);
    await bad(est1.estimate(X, Y, { base: 1 }), /^base: /);
    await bad(est1.estimate(X, Y, { base: -2 }), /^base: /);
    await bad(est1.estimate(X, Y, { base: 'x' as 'e' }), /^base: /);
    await bad(est1.estimate(X, Y, { noise: -1 }), /^noise: /);
    await bad(est1.estimate(X, Y, { seed: 1.5 }), /^seed: /);
    await bad(est1.estimate(X, { data: y.data.subarray(0, 98), shape: [49, 2] }), /x has 50 samples but y has 49/);
    await bad(est1.estimate({ data: new Float32Array(0), shape: [0, 3] }, Y), /^x: is empty/);
    await bad(est1.estimate([], []), /^x: is empty/);
    await bad(est1.estimate({ data: x.data, shape: [50, 3] }, Y), /^x: shape \[50,3\] needs 150 values but data has 100/);
    const withNaN = Float64Array.from(y.data);
    withNaN[7 * 2 + 1] = NaN;
    withNaN[9 * 2] = Infinity;
    await bad(est1.estimate(X, { data: withNaN, shape: [50, 2] }), /^y: has 2 non-finite values \(NaN or Inf\), first in row 7/);
    await bad(est1.estimate([[1, 2], [3]], [1, 2]), /^x: row 1 has 1 values but row 0 has 2/);
    await bad(mutualInformation(X, Y, { workers: 0 }), /^workers: must be an integer >= 1; got 0/);
    expect(() => new MIEstimator({ workers: 1.5 })).toThrow(/^workers: /);
  });
});
