import { describe, expect, it } from 'vitest';
import { EULER_GAMMA, psi } from '../src/mi/digamma.js';
import { referenceMI } from '../src/mi/reference.js';
import { goldenCases, readGoldenNpy, readPointsCsv } from './mi-fixtures.js';

describe('digamma', () => {
  it('matches known values at integers', () => {
    expect(psi(1)).toBe(-0.5772156649015329);
    expect(psi(1)).toBe(-EULER_GAMMA);
    // psi(3) = 3/2 - gamma
    expect(Math.abs(psi(3) - 0.9227843350984671)).toBeLessThan(1e-16);
    // psi(n) = H(n-1) - gamma; H computed here with exact-ish Kahan summation from small to large terms
    for (const n of [2, 10, 16, 17, 20, 100, 1000, 12345, 100000]) {
      let h = 0;
      for (let j = n - 1; j >= 1; j--) h += 1 / j;
      const want = h - EULER_GAMMA;
      expect(Math.abs(psi(n) - want) / Math.abs(want)).toBeLessThan(1e-14);
    }
    // large n: ln n - 1/(2n) - 1/(12 n^2), the next term is below 1e-26
    const n = 1e6;
    expect(Math.abs(psi(n) - (Math.log(n) - 0.5 / n - 1 / (12 * n * n))) / Math.log(n)).toBeLessThan(2e-16);
  });
  it('continues smoothly between integers and is -Inf at 0', () => {
    expect(psi(0)).toBe(-Infinity);
    // psi(1/2) = -gamma - 2 ln 2
    expect(Math.abs(psi(0.5) - (-EULER_GAMMA - 2 * Math.LN2))).toBeLessThan(1e-14);
  });
});

describe('reference KSG', () => {
  const cases = goldenCases();
  for (const c of cases.filter((c) => c.N <= 500)) {
    it(`reproduces the C reference points on ${c.name}`, () => {
      const x = readGoldenNpy(c.x);
      const y = readGoldenNpy(c.y);
      const r = referenceMI(x, y, c.k);
      const pts = readPointsCsv(c.c_points_csv!);
      for (let i = 0; i < c.N; i++) {
        expect(Math.fround(r.eps[i])).toBe(Math.fround(pts.eps[i]));
        expect(r.nx[i]).toBe(pts.nx[i]);
        expect(r.ny[i]).toBe(pts.ny[i]);
      }
      expect(Math.abs(r.nats / Math.LN2 - c.c_f64_bits) / c.c_f64_bits).toBeLessThan(1e-9);
    });
  }
  it('reproduces c_f64_bits on the 1-D golden cases (N=2000), ties included', () => {
    for (const c of cases.filter((c) => c.dx === 1)) {
      const r = referenceMI(readGoldenNpy(c.x), readGoldenNpy(c.y), c.k);
      expect(Math.abs(r.nats / Math.LN2 - c.c_f64_bits) / c.c_f64_bits).toBeLessThan(1e-9);
    }
  });
});
