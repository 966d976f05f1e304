import { describe, expect, it } from 'vitest';
import { BG_SPLIT, loadBackgroundMnist, parseBackground, parseDownsample } from '../src/data/background.js';
import { InfoflowError } from '../src/errors.js';
import { loadMnistRaw } from '../src/data/mnist.js';
import { infoflowErrorMessage } from './expect-error.js';

describe('MNIST with a random background', () => {
  const full = loadBackgroundMnist({ seed: 0 });

  it('has the paper split sizes (10,000 / 2,000 / 50,000) and labels from MNIST in the documented order', () => {
    expect(full.train.n).toBe(10_000);
    expect(full.val.n).toBe(2_000);
    expect(full.features).toBe(784);
    const test = loadBackgroundMnist({ withTest: true, limitTrain: 1, limitVal: 1 }).test!;
    expect(test.n).toBe(50_000);
    expect(BG_SPLIT.test[1] - BG_SPLIT.test[0]).toBe(50_000);
    const raw = loadMnistRaw('train');
    const rawTest = loadMnistRaw('test');
    expect(Array.from(full.train.labels.subarray(0, 50))).toEqual(Array.from(raw.labels.subarray(0, 50)));
    expect(Array.from(full.val.labels.subarray(0, 50))).toEqual(Array.from(raw.labels.subarray(10_000, 10_050)));
    // test = MNIST train 12,000..59,999 then MNIST test 0..1,999
    expect(test.labels[0]).toBe(raw.labels[12_000]);
    expect(Array.from(test.labels.subarray(48_000, 48_050))).toEqual(Array.from(rawTest.labels.subarray(0, 50)));
  });

  it('puts the digit on top of uniform [0, 1] noise: pixel = max(digit, noise)', () => {
    const raw = loadMnistRaw('train');
    const plain = loadBackgroundMnist({ background: 'plain', limitTrain: 200, limitVal: 1 });
    let background = 0;
    let sum = 0;
    let lowHalf = 0;
    let bad = 0;
    for (let k = 0; k < 200 * 784; k++) {
      const v = full.train.x[k];
      const digit = raw.images[k] / 255;
      if (v < plain.train.x[k] || v > 1 || Math.abs(plain.train.x[k] - digit) > 1e-6 || (raw.images[k] === 255 && v !== 1)) bad++;
      if (raw.images[k] === 0) {
        background++;
        sum += v;
        if (v < 0.5) lowHalf++;
      }
    }
    expect(bad).toBe(0);
    // background pixels: uniform on [0, 1] (mean 1/2, half below 1/2), not black
    expect(sum / background).toBeGreaterThan(0.49);
    expect(sum / background).toBeLessThan(0.51);
    expect(lowHalf / background).toBeGreaterThan(0.49);
    expect(lowHalf / background).toBeLessThan(0.51);
  });

  it('is deterministic per seed and per image, whatever subset is loaded', () => {
    const again = loadBackgroundMnist({ seed: 0, limitTrain: 300, limitVal: 100 });
    expect(again.train.x).toEqual(full.train.x.subarray(0, 300 * 784));
    expect(again.val.x).toEqual(full.val.x.subarray(0, 100 * 784));
    const other = loadBackgroundMnist({ seed: 1, limitTrain: 300, limitVal: 1 });
    let differ = 0;
    for (let k = 0; k < 300 * 784; k++) if (other.train.x[k] !== again.train.x[k]) differ++;
    expect(differ).toBeGreaterThan(0.5 * 300 * 784);
  });

  it('downsamples by averaging 2x2 or 4x4 blocks after the background is added', () => {
    const d2 = loadBackgroundMnist({ downsample: 2, limitTrain: 5, limitVal: 1 });
    const d4 = loadBackgroundMnist({ downsample: 4, limitTrain: 5, limitVal: 1 });
    expect(d2.features).toBe(196);
    expect(d4.features).toBe(49);
    expect(d2.train.x.length).toBe(5 * 196);
    const x = full.train.x;
    // image 3, block (row 5, col 7) of the 14 x 14 version
    const img = 3 * 784;
    const expected = (x[img + 10 * 28 + 14] + x[img + 10 * 28 + 15] + x[img + 11 * 28 + 14] + x[img + 11 * 28 + 15]) / 4;
    expect(d2.train.x[3 * 196 + 5 * 14 + 7]).toBeCloseTo(expected, 6);
  });

  it('refuses bad options with one line naming the option', () => {
    const msg = infoflowErrorMessage;
    expect(msg(() => parseDownsample('3'))).toMatch(/^--downsample: must be 1, 2 or 4/);
    expect(msg(() => parseBackground('image'))).toMatch(/^--background: unknown background 'image'/);
    expect(msg(() => loadBackgroundMnist({ limitTrain: 0 }))).toMatch(/^--limit-train/);
    expect(msg(() => loadBackgroundMnist({ seed: -1 }))).toMatch(/^--data-seed/);
  });
});
