import { describe, expect, it } from 'vitest';
import { PLATEAU, plateaued } from '../src/train/plateau.js';
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

  it('uses the best error, so one bad epoch at the end does not stop a falling curve', () => {
    const errs = curve(100, 0.05, 0.85, 200);
    errs[100] = 0.9;
    expect(plateaued(errs)).toBe(false);
  });
});

describe('the MI noise band', () => {
  it('is 2 standard errors of the subsample estimates', () => {
    // sd of [1, 2, 3] is 1; 2 / sqrt(3)
    expect(noiseBand([1, 2, 3])).toBeCloseTo(2 / Math.sqrt(3), 12);
    expect(noiseBand([4, 4, 4])).toBe(0);
  });
});
