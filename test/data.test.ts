import { describe, expect, it } from 'vitest';
import { loadMnistRaw } from '../src/data/mnist.js';
import { loadSplit, parseSplit } from '../src/data/splits.js';
import { InfoflowError } from '../src/errors.js';

function counts(labels: Uint8Array): number[] {
  const c = new Array(10).fill(0);
  for (const l of labels) c[l]++;
  return c;
}

describe('MNIST data', () => {
  it('has the published label counts', () => {
    const train = loadMnistRaw('train');
    const test = loadMnistRaw('test');
    expect(train.n).toBe(60000);
    expect(test.n).toBe(10000);
    // see: the MNIST label distribution (LeCun et al.)
    expect(counts(train.labels)).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    expect(counts(test.labels)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  });

  it("'paper' split: first 40,000 train / test + last 20,000 train as validation, pixels in [0, 1]", () => {
    const s = loadSplit('paper');
    const train = loadMnistRaw('train');
    const test = loadMnistRaw('test');
    expect(s.train.n).toBe(40000);
    expect(s.val.n).toBe(30000);
    expect(s.train.x.length).toBe(40000 * 784);
    // row 123 of train is training image 123
    for (let j = 0; j < 784; j++) expect(s.train.x[123 * 784 + j]).toBeCloseTo(train.images[123 * 784 + j] / 255, 6);
    // validation: the 10,000 test images, then training images 40,000..59,999
    expect(Array.from(s.val.labels.subarray(0, 10000))).toEqual(Array.from(test.labels));
    expect(Array.from(s.val.labels.subarray(10000))).toEqual(Array.from(train.labels.subarray(40000)));
    for (let j = 0; j < 784; j++) expect(s.val.x[(10000 + 5) * 784 + j]).toBeCloseTo(train.images[(40000 + 5) * 784 + j] / 255, 6);
    let min = Infinity;
    let max = -Infinity;
    for (const v of s.val.x) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
  });

  it("'mnist' split and limits", () => {
    const s = loadSplit('mnist', { limitTrain: 100, limitVal: 50 });
    expect(s.train.n).toBe(100);
    expect(s.val.n).toBe(50);
    expect(s.val.labels[0]).toBe(loadMnistRaw('test').labels[0]);
    expect(loadSplit('mnist').train.n).toBe(60000);
  });

  it('rejects an unknown split with a one-line message', () => {
    expect(() => parseSplit('kaggle')).toThrow(InfoflowError);
    expect(() => parseSplit('kaggle')).toThrow(/--split: unknown split 'kaggle'; use paper or mnist/);
  });
});
