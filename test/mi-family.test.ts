/**
 * The estimator family (KSG-2, several k in one pass, conditional MI, entropy) against plain TypeScript brute
 * forces of each definition (src/mi/reference-*.ts), point by point, on seeded data with and without ties; the same
 * bits for any worker count; the API's shapes and its refusals.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { InfoflowError } from '../src/errors.js';
import type { Matrix } from '../src/matrix.js';
import { Engine } from '../src/mi/engine.js';
import { cmiPoints, entropyPoints, miPoints } from '../src/mi/estimates.js';
import { MIEstimator, conditionalMutualInformation, entropy, mutualInformation } from '../src/mi/index.js';
import { referenceMI } from '../src/mi/reference.js';
import { referenceCmi } from '../src/mi/reference-cmi.js';
import { referenceEntropy } from '../src/mi/reference-entropy.js';
import { referenceKsg2 } from '../src/mi/reference-ksg2.js';
import { gaussianPairs, seededData, tiedData } from './mi-fixtures.js';

const asInput = (m: Matrix) => ({ data: m.data, shape: [m.n, m.d] });
const same = (a: ArrayLike<number>, b: ArrayLike<number>) => expect(Array.from(a)).toEqual(Array.from(b));
const plain = { noise: 0, seed: 0 };

/** x, y and a condition z: continuous, or on a coarse grid (ties and duplicates). */
const datasets: [string, () => { x: Matrix; y: Matrix; z: Matrix }][] = [
  ['continuous 3+2 | 2, N = 300', () => ({ ...seededData(300, 3, 2, 41), z: seededData(300, 2, 1, 42).x })],
  ['continuous 1+1 | 1, N = 1001 (ragged words)', () => ({ ...seededData(1001, 1, 1, 43), z: seededData(1001, 1, 1, 44).x })],
  ['ties on a grid 2+2 | 1', () => ({ ...tiedData(500, 2, 2, 2, 45), z: tiedData(500, 1, 1, 2, 46).x })],
  ['many duplicates 1+1 | 1', () => ({ ...tiedData(400, 1, 1, 1, 47), z: tiedData(400, 1, 1, 1, 48).x })],
  ['odd dims 5+3 | 3 with ties', () => ({ ...tiedData(450, 5, 3, 3, 49), z: tiedData(450, 3, 1, 3, 50).x })],
];

describe('estimator family against the brute-force definitions', () => {
  const engine = new Engine(1);
  afterAll(() => engine.close());

  for (const [name, make] of datasets) {
    it(`KSG-2 per point (eps, eps_x, eps_y, n_x, n_y) and the estimate: ${name}`, async () => {
      const { x, y } = make();
      for (const k of [1, 3]) {
        const want = referenceKsg2(x, y, k);
        const [got] = await miPoints(engine, x, y, 'ksg2', { ks: [k], ...plain });
        same(got.eps, want.eps);
        same(got.epsX!, want.epsX);
        same(got.epsY!, want.epsY);
        same(got.nx, want.nx);
        same(got.ny, want.ny);
        expect(got.nats).toBe(want.nats);
      }
    });

    it(`several k in one pass equal each single-k estimate, KSG-1 and KSG-2: ${name}`, async () => {
      const { x, y } = make();
      const ks = [1, 2, 5, 8];
      for (const estimator of ['ksg1', 'ksg2'] as const) {
        const many = await miPoints(engine, x, y, estimator, { ks, ...plain });
        expect(many.map((p) => p.k)).toEqual(ks);
        for (const p of many) {
          const [one] = await miPoints(engine, x, y, estimator, { ks: [p.k], ...plain });
          same(p.eps, one.eps);
          same(p.nx, one.nx);
          same(p.ny, one.ny);
          expect(p.nats).toBe(one.nats);
          const ref = estimator === 'ksg1' ? referenceMI(x, y, p.k) : referenceKsg2(x, y, p.k);
          same(p.nx, ref.nx);
          expect(p.nats).toBe(ref.nats);
        }
      }
    });

    it(`conditional MI per point (eps, n_xz, n_yz, n_z), one k and several: ${name}`, async () => {
      const { x, y, z } = make();
      const ks = [2, 4];
      const got = await cmiPoints(engine, x, y, z, { ks, ...plain });
      for (const p of got) {
        const want = referenceCmi(x, y, z, p.k);
        same(p.eps, want.eps);
        same(p.nxz, want.nxz);
        same(p.nyz, want.nyz);
        same(p.nz, want.nz);
        expect(p.nats).toBe(want.nats);
        const [one] = await cmiPoints(engine, x, y, z, { ks: [p.k], ...plain });
        expect(one.nats).toBe(p.nats);
      }
    });

    it(`entropy: every k-th neighbour distance, one k and several: ${name}`, async () => {
      const { x } = make();
      const got = await entropyPoints(engine, x, { ks: [1, 3, 6], ...plain });
      for (const p of got) {
        const want = referenceEntropy(x, p.k);
        same(p.r, want.r);
        expect(Object.is(p.nats, want.nats)).toBe(true);
      }
    });
  }
});

describe('estimator family API', () => {
  const est1 = new MIEstimator({ workers: 1 });
  const est2 = new MIEstimator({ workers: 2 });
  afterAll(async () => {
    await Promise.all([est1.close(), est2.close()]);
  });

  it('the same bits for 1 and 2 workers above the pool threshold (KSG-2, several k, CMI, entropy)', async () => {
    const { x, y } = tiedData(2300, 3, 2, 4, 61);
    const z = seededData(2300, 2, 1, 62).x;
    const run = async (est: MIEstimator) => [
      ...(await est.estimate(asInput(x), asInput(y), { estimator: 'ksg2', k: [2, 4] })).map((r) => r.nats),
      (await est.estimateConditional(asInput(x), asInput(y), asInput(z), { k: 3 })).nats,
      ...(await est.estimateEntropy(asInput(x), { k: [3, 5] })).map((r) => r.nats),
    ];
    const one = await run(est1);
    expect(await run(est2)).toEqual(one);
    expect(one).toEqual([referenceKsg2(x, y, 2).nats, referenceKsg2(x, y, 4).nats, referenceCmi(x, y, z, 3).nats, referenceEntropy(x, 3).nats, referenceEntropy(x, 5).nats]);
  });

  it('gives one result per k with every field; a single k gives one result as before', async () => {
    const { x, y } = seededData(400, 2, 2, 63);
    const z = seededData(400, 1, 1, 64).x;
    const many = await mutualInformation(asInput(x), asInput(y), { k: [3, 7], estimator: 'ksg2', workers: 1 });
    expect(many.map((r) => [r.k, r.estimator, r.units])).toEqual([[3, 'ksg2', 'bits'], [7, 'ksg2', 'bits']]);
    expect(many[1].mi).toBe(many[1].nats / Math.LN2);
    const one = await mutualInformation(asInput(x), asInput(y), { k: 3, workers: 1 });
    expect(Array.isArray(one)).toBe(false);
    expect(one.estimator).toBe('ksg1');
    expect(one.nats).toBe(referenceMI(x, y, 3).nats);
    const cmi = await conditionalMutualInformation(asInput(x), asInput(y), asInput(z), { k: [3], base: 'e', workers: 1 });
    expect(cmi).toHaveLength(1);
    expect(cmi[0]).toMatchObject({ n: 400, dx: 2, dy: 2, dz: 1, k: 3, estimator: 'ksg1', units: 'nats' });
    const h = await entropy(asInput(x), { k: 3, base: 10, workers: 1 });
    expect(h).toMatchObject({ n: 400, d: 2, k: 3, units: 'dits', zeroDistancePoints: 0 });
    expect(h.h).toBe(h.nats / Math.LN10);
  });

  it('on a chain x -> z -> y, I(X;Y|Z) is near 0 while I(X;Y) is not; an independent z changes little', async () => {
    const n = 2000;
    const { x, y: z } = gaussianPairs(n, 1, 0.8, 65);
    const g = gaussianPairs(n, 1, 0, 66).x.data;
    const y: Matrix = { data: z.data.map((v, i) => 0.8 * v + 0.6 * g[i]), n, d: 1 };
    const mi = await est1.estimate(asInput(x), asInput(y), { k: 3, base: 'e' });
    const chain = await est1.estimateConditional(asInput(x), asInput(y), asInput(z), { k: 3, base: 'e' });
    expect(mi.nats).toBeGreaterThan(0.2);
    expect(Math.abs(chain.nats)).toBeLessThan(0.03);
    const other = gaussianPairs(n, 1, 0, 67).x;
    const indep = await est1.estimateConditional(asInput(x), asInput(y), asInput(other), { k: 3, base: 'e' });
    expect(Math.abs(indep.nats - mi.nats)).toBeLessThan(0.05);
  });

  it('refuses bad input with one line naming the option and the fix', async () => {
    const { x, y } = seededData(50, 2, 1, 67);
    const z = seededData(40, 1, 1, 68).x;
    const X = asInput(x);
    const Y = asInput(y);
    const bad = async (p: Promise<unknown>, re: RegExp) => {
      const e = await p.then(() => undefined, (err: unknown) => err);
      expect(e).toBeInstanceOf(InfoflowError);
      expect((e as Error).message).toMatch(re);
      expect((e as Error).message).not.toContain('\n');
    };
    await bad(est1.estimate(X, Y, { k: [3, 2] }), /^k: several k must be increasing, without repeats \(e\.g\. 3,5,10\); got 3,2$/);
    await bad(est1.estimate(X, Y, { k: [3, 3] }), /^k: several k must be increasing/);
    await bad(est1.estimate(X, Y, { k: [3, 50] }), /^k: must be less than N=50.*got 50$/);
    await bad(est1.estimate(X, Y, { k: [] }), /^k: must be an integer >= 1.*got none$/);
    await bad(est1.estimate(X, Y, { k: [3, 1.5] }), /^k: must be an integer in \[1, N-1\] = \[1, 49\], each of the list; got 1\.5$/);
    await bad(est1.estimate(X, Y, { estimator: 'ksg3' as 'ksg1' }), /^estimator: must be ksg1 .* or ksg2 .*; got 'ksg3'$/);
    await bad(est1.estimateConditional(X, Y, asInput(z)), /^x, z: x has 50 samples but z has 40/);
    await bad(est1.estimateConditional(X, Y, X, { estimator: 'ksg2' }), /^estimator: conditionalMutualInformation uses Frenzel & Pompe's KSG-1 form only/);
    await bad(est1.estimateEntropy(X, { k: 50 }), /^k: must be less than N=50/);
  });
});
