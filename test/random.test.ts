import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { Dvcnn } from '../src/models/dvcnn.js';
import { glorotNormal, HodasNet } from '../src/models/hodas.js';
import { Mulberry32, type SeededRandom, Xoshiro128 } from '../src/random.js';

// The expected values below were printed by the generators this module replaced (src/mi/noise.ts's Xoshiro128,
// src/models/hodas.ts's Rng, src/models/dvcnn.ts's gaussian, and the two inline Fisher-Yates loops of
// src/train/index.ts and src/vc/train.ts) at commit 59dee8d, so the estimator's noise, the data and both
// networks' initial weights keep their bits.

beforeAll(async () => {
  await initBackend('cpu');
});

const sum = (a: ArrayLike<number>): number => Array.from(a).reduce((s, v) => s + v, 0);
const iota = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

describe('Xoshiro128 keeps the stream of the generator it replaced', () => {
  it('32-bit words, from small and from 53-bit seeds', () => {
    const a = new Xoshiro128(0);
    expect([a.nextU32(), a.nextU32(), a.nextU32(), a.nextU32()]).toEqual([1789933344, 44971166, 2521387044, 3848737593]);
    const b = new Xoshiro128(2 ** 32 + 7);
    expect([b.nextU32(), b.nextU32()]).toEqual([2187482807, 1941126558]);
    const c = new Xoshiro128(123);
    let h = 0;
    for (let i = 0; i < 100_000; i++) h = (Math.imul(h, 31) + c.nextU32()) >>> 0;
    expect(h).toBe(1001598320);
  });

  it('53-bit uniforms', () => {
    const a = new Xoshiro128(42);
    expect([a.uniform(), a.uniform(), a.uniform()]).toEqual([0.15377165265745885, 0.018084542542176507, 0.5348906284683476]);
    const b = new Xoshiro128(123);
    let s = 0;
    for (let i = 0; i < 100_000; i++) s += b.uniform();
    expect(s).toBe(50098.53639705696);
  });

  it('Gaussian arrays as the DVCNN initialisation drew them, odd lengths included', () => {
    expect(Array.from(new Xoshiro128(9).fillGaussian(new Float32Array(5), 0.5))).toEqual([
      -0.6044571995735168, -0.07215519994497299, -0.14045366644859314, 0.31467747688293457, 0.3485482335090637,
    ]);
    expect(sum(new Xoshiro128(5).fillGaussian(new Float32Array(1001), 0.25))).toBe(-6.518843720768928);
    const r = new Xoshiro128(6);
    const a = r.fillGaussian(new Float32Array(9), 1 / 3);
    const b = r.fillGaussian(new Float32Array(9), 1 / 3);
    expect([a[8], b[0]]).toEqual([0.2106824368238449, 0.5178802013397217]);
  });

  it('the first scalar Gaussian equals the estimator tests\' former cosine-only draw', () => {
    expect(new Xoshiro128(3).gaussian()).toBe(-1.0354581619454417);
  });

  it('shuffle gives the order src/vc/train.ts drew', () => {
    expect(Array.from(new Xoshiro128(1 + 7919).shuffle(iota(10)))).toEqual([3, 1, 7, 8, 9, 0, 6, 5, 4, 2]);
  });

  it('a DVCNN starts from the same weights', () => {
    const net = new Dvcnn({ width: 5, depth: 3, activation: 'tanh', triangle: 'alternate', biasInit: 0, classes: 3, seed: 4 });
    const w = net.weights();
    net.dispose();
    expect(w.a.map(sum)).toEqual([-1.5562253519892693, 0.45948094013147056, -1.7743375468999147]);
    expect(Array.from(w.a[2]).filter((v) => v !== 0).slice(0, 3)).toEqual([-0.18671663105487823, -0.49686771631240845, 0.14822255074977875]);
  });
});

describe('Mulberry32 keeps the stream of the Hodas & Stinis generator it replaced', () => {
  it('uniforms', () => {
    const a = new Mulberry32(1);
    expect([a.uniform(), a.uniform(), a.uniform()]).toEqual([0.18967728852294385, 0.31778763560578227, 0.7830808095168322]);
    const b = new Mulberry32(9);
    let h = 0;
    for (let i = 0; i < 100_000; i++) h = (Math.imul(h, 31) + Math.floor(b.uniform() * 4294967296)) >>> 0;
    expect(h).toBe(567222626);
  });

  it('scalar Gaussians in Box-Muller pairs', () => {
    const a = new Mulberry32(2);
    expect(Array.from({ length: 5 }, () => a.gaussian())).toEqual([
      -0.905317856382314, -0.6949012474380671, 0.43842523049744986, -0.43245264449603177, -0.5891711145162128,
    ]);
    const b = new Mulberry32(8);
    let s = 0;
    for (let i = 0; i < 100_001; i++) s += b.gaussian();
    expect(s).toBe(294.9598223802714);
  });

  it('Glorot-normal weights and a whole network\'s initial weights', () => {
    expect(Array.from(glorotNormal(new Mulberry32(3), 2, 3))).toEqual([
      0.34438973665237427, 0.0141688147559762, -0.5149989128112793, 1.1526000499725342, -0.2907761037349701, -0.763123631477356,
    ]);
    expect(sum(glorotNormal(new Mulberry32(7), 100, 50))).toBe(-1.4770114096750149);
    const net = new HodasNet({ arch: 'shortcut-residual', width: 3, depth: 5, inputDim: 7, classes: 2 }, 11);
    const state = net.exportState();
    net.dispose();
    expect(Array.from(state['p:W0'].data).slice(0, 4)).toEqual([-0.22079141438007355, -0.640900194644928, 0.2072022259235382, 0.1488928198814392]);
    const weights = Object.keys(state).filter((k) => k.startsWith('p:W'));
    expect(weights.reduce((s, k) => s + sum(state[k].data), 0)).toBe(-0.7960147256962955);
  });

  it('shuffle gives the minibatch order src/train/index.ts drew', () => {
    expect(Array.from(new Mulberry32((1 * 1_000_003 + 0) >>> 0).shuffle(iota(10)))).toEqual([8, 5, 2, 9, 3, 6, 7, 4, 1, 0]);
  });
});

describe.each([
  ['Xoshiro128', (seed: number): SeededRandom => new Xoshiro128(seed)],
  ['Mulberry32', (seed: number): SeededRandom => new Mulberry32(seed)],
])('%s samplers', (_name, make) => {
  it('shuffle is a permutation, the same for the same seed and another for another seed', () => {
    const a = make(17).shuffle(iota(1000));
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from(iota(1000)));
    expect(Array.from(a)).not.toEqual(Array.from(iota(1000)));
    expect(Array.from(make(17).shuffle(iota(1000)))).toEqual(Array.from(a));
    expect(Array.from(make(18).shuffle(iota(1000)))).not.toEqual(Array.from(a));
  });

  it('shuffle puts each element in each place about equally often', () => {
    // 3! = 6 orders of [0, 1, 2], 60,000 shuffles: each order 10,000 +- 4 sigma (sigma ~ 91)
    const rng = make(5);
    const counts = new Map<string, number>();
    for (let t = 0; t < 60_000; t++) {
      const key = rng.shuffle(iota(3)).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    for (const c of counts.values()) expect(Math.abs(c - 10_000)).toBeLessThan(400);
  });

  it('uniform lies in [0, 1) with mean 1/2 and variance 1/12 over 100k draws', () => {
    const rng = make(1);
    let s = 0;
    let s2 = 0;
    let min = 1;
    let max = 0;
    for (let i = 0; i < 100_000; i++) {
      const u = rng.uniform();
      s += u;
      s2 += u * u;
      min = Math.min(min, u);
      max = Math.max(max, u);
    }
    const mean = s / 100_000;
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    // standard errors: 0.29 / sqrt(1e5) ~ 9e-4 for the mean, ~3e-4 for the variance
    expect(Math.abs(mean - 0.5)).toBeLessThan(5e-3);
    expect(Math.abs(s2 / 100_000 - mean * mean - 1 / 12)).toBeLessThan(2e-3);
  });

  it('gaussian and fillGaussian have mean 0 and the requested variance over 100k draws', () => {
    const rng = make(2);
    const scalar = Float64Array.from({ length: 100_000 }, () => rng.gaussian());
    const filled = rng.fillGaussian(new Float64Array(100_000), 3);
    for (const [draws, std] of [[scalar, 1], [filled, 3]] as const) {
      const mean = sum(draws) / draws.length;
      const variance = sum(draws.map((v) => (v - mean) ** 2)) / draws.length;
      // standard errors: std / sqrt(1e5) ~ 3e-3 std for the mean, sqrt(2 / 1e5) ~ 4.5e-3 for the relative variance
      expect(Math.abs(mean) / std).toBeLessThan(0.015);
      expect(Math.abs(variance / (std * std) - 1)).toBeLessThan(0.02);
      // and the tails of a normal: P(|z| > 2) = 0.0455
      const tail = draws.filter((v) => Math.abs(v) > 2 * std).length / draws.length;
      expect(Math.abs(tail - 0.0455)).toBeLessThan(0.004);
    }
  });
});
