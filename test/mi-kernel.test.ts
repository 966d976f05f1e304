import { describe, expect, it } from 'vitest';
import type { Matrix } from '../src/matrix.js';
import { KsgKernel } from '../src/mi/kernel.js';
import { miFromCounts, referencePoints } from '../src/mi/reference.js';
import { addNoise } from '../src/mi/noise.js';
import { Xoshiro128 } from '../src/random.js';
import { gaussianPairs, goldenCases, readGoldenNpy, seededData, tiedData } from './mi-fixtures.js';

/** The search and the counts as two phases (knn, then count), or in one (knnCount). */
type Passes = 'two passes' | 'one pass';
const PASSES: Passes[] = ['two passes', 'one pass'];

function kernelPoints(kernel: KsgKernel, x: Matrix, y: Matrix, k: number, chunks = 3, passes: Passes = 'two passes') {
  kernel.prepare(x, y, { n: x.n, dx: x.d, dy: y.d, k, slots: chunks });
  const range = (c: number): [number, number] => [Math.floor((c * x.n) / chunks), Math.floor(((c + 1) * x.n) / chunks)];
  if (passes === 'one pass') {
    kernel.countPrep();
    // chunks in reverse: each position's eps and counts land in its own place whichever chunk runs it
    for (let c = chunks - 1; c >= 0; c--) kernel.knnCount(...range(c), c);
    return kernel.results();
  }
  for (let c = 0; c < chunks; c++) kernel.knn(...range(c), c);
  kernel.countPrep();
  // the counts' chunks in reverse: a pair's count lands in the same place whichever chunk owns it
  for (let c = chunks - 1; c >= 0; c--) kernel.count(...range(c), c);
  return kernel.results();
}

describe('WASM kernel', () => {
  const kernel = new KsgKernel();
  const cases: [string, () => { x: Matrix; y: Matrix }, number][] = [
    ['continuous 1+1 dims', () => seededData(300, 1, 1, 1), 3],
    ['continuous 5+3 dims, k=1', () => seededData(400, 5, 3, 2), 1],
    ['continuous 16+16 dims, k=5', () => seededData(700, 16, 16, 3), 5],
    ['continuous 33+7 dims (odd, not a multiple of 4)', () => seededData(500, 33, 7, 4), 3],
    ['ties on a coarse grid 2+2 dims', () => tiedData(600, 2, 2, 2, 5), 3],
    ['many exact duplicates 1+1 dims', () => tiedData(500, 1, 1, 1, 6), 4],
    ['ties 9+9 dims', () => tiedData(400, 9, 9, 3, 7), 2],
    ['tiny N = k + 1', () => seededData(4, 2, 2, 8), 3],
    ['k large (k = 50)', () => seededData(200, 3, 3, 9), 50],
    ['float64 data, 3 Gaussian pairs', () => gaussianPairs(600, 3, 0.7, 10), 3],
    // the 8-bit filter's bound (threshold() in assembly/filter.ts) at its edge: every value on the quantisation grid
    // (min -1, max 1, step 2/250), so distances, eps and the rejection thresholds fall on step boundaries
    ['values on the 8-bit grid, 24+40 dims', () => {
      const { x, y } = seededData(700, 24, 40, 15);
      const snap = (v: number): number => -1 + (2 * Math.round(125 + 125 * Math.tanh(v))) / 250;
      const xd = x.data.map(snap);
      const yd = y.data.map(snap);
      xd[0] = -1;
      yd[0] = 1;
      return { x: { ...x, data: xd }, y: { ...y, data: yd } };
    }, 3],
    ['large coordinates (x 1e6) and tiny (x 1e-30)', () => {
      const { x, y } = seededData(400, 3, 2, 14);
      return { x: { ...x, data: x.data.map((v) => v * 1e6) }, y: { ...y, data: y.data.map((v) => v * 1e-30) } };
    }, 3],
  ];
  for (const [name, make, k] of cases) {
    it(`equals the reference point by point, in two passes and in one: ${name}`, () => {
      const { x, y } = make();
      const want = referencePoints(x, y, k);
      for (const passes of PASSES) {
        const got = kernelPoints(kernel, x, y, k, 3, passes);
        expect(Array.from(got.eps), passes).toEqual(Array.from(want.eps));
        expect(Array.from(got.nx), passes).toEqual(Array.from(want.nx));
        expect(Array.from(got.ny), passes).toEqual(Array.from(want.ny));
      }
    });
  }

  // the queries run in blocks of up to 1,024 positions against words of 128 (the slab filter's), the last word
  // partial: one word, ragged words, several blocks, and chunks that cut words and blocks must all give the
  // reference's eps and counts
  const shapes: [string, () => { x: Matrix; y: Matrix }, number, number[]][] = [
    ['N = 2, k = 1 (one word of 2)', () => seededData(2, 1, 1, 20), 1, [1, 2]],
    ['N = 64, one partial word', () => seededData(64, 3, 2, 21), 3, [1, 5]],
    ['N = 65, one word', () => seededData(65, 2, 3, 22), 3, [1, 2, 7]],
    ['N = 129, two words (128 + 1)', () => seededData(129, 4, 4, 23), 2, [1, 3, 10]],
    ['N = 1001 (odd), 8 words, the last ragged', () => seededData(1001, 5, 2, 24), 3, [1, 7, 13]],
    ['N = 2049, 17 words in 3 blocks', () => seededData(2049, 3, 3, 25), 4, [1, 9]],
    ['1-D x and y with ties and duplicates', () => tiedData(999, 1, 1, 1, 26), 3, [1, 6]],
    ['duplicated joint points (eps = 0) among distinct ones', () => {
      const { x, y } = seededData(300, 2, 2, 27);
      // rows 150.. repeat rows 0..: every such point has a zero-distance twin
      for (let i = 150; i < 300; i++) {
        x.data.copyWithin(i * 2, (i - 150) * 2, (i - 150) * 2 + 2);
        y.data.copyWithin(i * 2, (i - 150) * 2, (i - 150) * 2 + 2);
      }
      return { x, y };
    }, 1, [1, 4]],
  ];
  for (const [name, make, k, chunkings] of shapes) {
    it(`equals the reference point by point in any chunking, in two passes and in one: ${name}`, () => {
      const { x, y } = make();
      const want = referencePoints(x, y, k);
      for (const chunks of chunkings) {
        for (const passes of PASSES) {
          const got = kernelPoints(kernel, x, y, k, chunks, passes);
          expect(Array.from(got.eps), passes).toEqual(Array.from(want.eps));
          expect(Array.from(got.nx), passes).toEqual(Array.from(want.nx));
          expect(Array.from(got.ny), passes).toEqual(Array.from(want.ny));
        }
      }
    });
  }

  // one pass keeps each block's marginal candidates in a list (256 per query at N = 3,000, up to 1,024); where the counts are larger (here
  // 1-D x and y on a coarse grid: a point has thousands of neighbours within eps in each), the list overflows and
  // count.ts counts the words it did not reach, so some blocks are counted in two parts
  it('in one pass equals the reference where the candidates overflow their list', () => {
    const { x, y } = tiedData(3000, 1, 1, 1, 28);
    const want = referencePoints(x, y, 3);
    const got = kernelPoints(kernel, x, y, 3, 2, 'one pass');
    expect(kernel.spilledBlocks).toBeGreaterThan(0);
    expect(Array.from(got.eps)).toEqual(Array.from(want.eps));
    expect(Array.from(got.nx)).toEqual(Array.from(want.nx));
    expect(Array.from(got.ny)).toEqual(Array.from(want.ny));
    const quiet = seededData(3000, 4, 4, 29);
    kernelPoints(kernel, quiet.x, quiet.y, 3, 2, 'one pass');
    expect(kernel.spilledBlocks).toBe(0);
  });

  it('with noise equals the reference on the same noisy float64 data (x first, then y, one generator)', () => {
    const { x, y } = tiedData(500, 3, 2, 2, 15);
    const rng = new Xoshiro128(99);
    const xn = { ...x, data: addNoise(x.data, 1e-10, rng) };
    const yn = { ...y, data: addNoise(y.data, 1e-10, rng) };
    const want = referencePoints(xn, yn, 3);
    kernel.prepare(x, y, { n: x.n, dx: x.d, dy: y.d, k: 3, slots: 1, noise: 1e-10, seed: 99 });
    kernel.knn(0, x.n, 0);
    kernel.countPrep();
    kernel.count(0, x.n, 0);
    const got = kernel.results();
    expect(Array.from(got.eps)).toEqual(Array.from(want.eps));
    expect(Array.from(got.nx)).toEqual(Array.from(want.nx));
    expect(Array.from(got.ny)).toEqual(Array.from(want.ny));
    expect(want.eps.every((e) => e > 0)).toBe(true);
  });

  for (const c of goldenCases()) {
    it(`reproduces c_f64_bits on golden ${c.name}`, () => {
      const x = readGoldenNpy(c.x);
      const y = readGoldenNpy(c.y);
      for (const passes of PASSES) {
        const got = kernelPoints(kernel, x, y, c.k, 4, passes);
        const bits = miFromCounts(got.nx, got.ny, c.k) / Math.LN2;
        expect(Math.abs(bits - c.c_f64_bits) / Math.abs(c.c_f64_bits), passes).toBeLessThan(1e-9);
        expect(got.eps.filter((e) => e === 0).length, passes).toBe(c.c_zero_eps_points);
      }
    });
  }
});
