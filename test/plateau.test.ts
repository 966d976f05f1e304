import { describe, expect, it } from 'vitest';
import { PLATEAU, allPlateaued, plateaued } from '../src/train/plateau.js';
import { noiseBand } from '../src/train/hodas-stinis.js';

/** Validation errors of a learning curve e(t) = floor + a exp(-t / tau), epochs 0..n. */
const curve = (n: number, floor: number, a: number, tau: number) => Array.from({ length: n + 1 }, (_, t) => floor + a * Math.exp(-t / tau));

describe('the plateau rule', () => {
  it('does not stop before minEpochs, however flat', () => {
    expect(plateaued(new Array(PLATEAU.minEpochs).fill(0.05))).toBe(false);
    expect(plateaued(new Array(PLATEAU.minEpochs + 1).fill(0.05))).toBe(true);
  });

  it('stops a curve once the last 20 % of its epochs gain less than 0.1 points, not before', () => {
    // tau 30: the gain over epochs 0.8E..E is 0.85 (exp(-0.8E/30) - exp(-E/30)), below 0.001 from E ~ 245 on
    const errs = curve(400, 0.05, 0.85, 30);
    const first = errs.findIndex((_, e) => plateaued(errs.slice(0, e + 1)));
    const gain = (e: number) => 0.85 * (Math.exp(-Math.floor(0.8 * e) / 30) - Math.exp(-e / 30));
    expect(gain(first)).toBeLessThan(0.001);
    expect(gain(first - 1)).toBeGreaterThanOrEqual(0.001);
    expect(first).toBeGreaterThan(235);
    expect(first).toBeLessThan(255);
  });

  it('does not stop inside a spike: a flat run whose last epoch is more than 0.5 points above the window\'s median goes on', () => {
    // measured (Figure 5 rerun, 2026-12-02, Res W = 32 seed 5): flat at 4.59-4.62 % from epoch 270, then 4.81,
    // 5.29, 7.28 % at epochs 277-279 (training error 0.2 -> 1.1 %), where the rule without the guard stopped it
    const flat = Array.from({ length: 277 }, (_, e) => (e < 200 ? 0.9 - (0.9 - 0.0459) * (e / 200) : 0.0459 + 0.0003 * (e % 3)));
    const spiking = [...flat, 0.0481, 0.0529, 0.0728];
    expect(plateaued(flat)).toBe(true);
    expect(plateaued(spiking.slice(0, 278))).toBe(true); // 4.81 %: within 0.5 points of the window's 4.6 %
    expect(plateaued(spiking)).toBe(false);
    expect(plateaued([...spiking, 0.0501])).toBe(true); // back within 0.5 points: stops
    // settled above its best (overfitting): 2 points worse than epoch 150 for the whole window, stops
    const settled = Array.from({ length: 301 }, (_, e) => (e <= 150 ? 0.9 - (0.9 - 0.05) * (e / 150) : 0.07));
    expect(plateaued(settled)).toBe(true);
  });

  it('uses the best error, so one bad epoch at the end does not stop a falling curve', () => {
    const errs = curve(100, 0.05, 0.85, 200);
    errs[100] = 0.9;
    expect(plateaued(errs)).toBe(false);
  });
});

describe('a run with two evaluations (Keras moving averages and batch statistics)', () => {
  it('goes on while one still falls, as the batch-statistics error did under the lagging moving averages', () => {
    // measured (Figure 5 default, 2026-12-02, MLP W = 32 seed 5): the moving-average error went 13.67, 15.17, 13.85 %
    // at epochs 40, 45, 50 (no gain over the window: the old rule stopped there) while the batch-statistics error
    // fell 8.53 -> 7.38 % and the training error 7.6 -> 6.4 %
    const stalled = Array.from({ length: 51 }, (_, e) => (e <= 40 ? 0.9 - (0.9 - 0.1367) * (e / 40) : 0.1367 + 0.01 * (e % 2)));
    const falling = curve(50, 0.05, 0.85, 30);
    expect(plateaued(stalled)).toBe(true);
    expect(plateaued(falling)).toBe(false);
    expect(allPlateaued([stalled, falling])).toBe(false);
    expect(allPlateaued([stalled])).toBe(true);
    // both flat: stop; a missing value (Infinity, e.g. no variant at epoch 0) counts as no gain
    const flat = new Array(PLATEAU.minEpochs + 1).fill(0.05);
    expect(allPlateaued([flat, [Infinity, ...flat.slice(1)]])).toBe(true);
  });
});

describe('the MI noise band', () => {
  it('is 2 standard errors of the subsample estimates', () => {
    // sd of [1, 2, 3] is 1; 2 / sqrt(3)
    expect(noiseBand([1, 2, 3])).toBeCloseTo(2 / Math.sqrt(3), 12);
    expect(noiseBand([4, 4, 4])).toBe(0);
  });
});
