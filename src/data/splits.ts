/**
 * MNIST training / validation splits, pixels scaled to [0, 1] as float32.
 *
 * 'paper' (default): Hodas & Stinis train on "60,000" and use a 30,000-image validation ensemble, which MNIST's
 * 70,000 images cannot both give. We keep the 30,000-image ensemble: validation = the 10,000 test images + the
 * LAST 20,000 training images; training = the FIRST 40,000 training images.
 * 'mnist': the standard 60,000 / 10,000.
 * `limitTrain` / `limitVal` keep the first N of each (quick runs and tests).
 */
import { usageError } from '../errors.js';
import { loadMnistRaw, MNIST_PIXELS } from './mnist.js';

export const SPLITS = ['paper', 'mnist'] as const;
export type SplitName = (typeof SPLITS)[number];
export const MNIST_CLASSES = 10;

export interface Dataset {
  /** n x d, row-major, float32 */
  x: Float32Array;
  labels: Uint8Array;
  n: number;
  d: number;
}

export interface Split {
  name: SplitName;
  train: Dataset;
  val: Dataset;
}

export function parseSplit(value: string): SplitName {
  if ((SPLITS as readonly string[]).includes(value)) return value as SplitName;
  throw usageError('--split', `unknown split '${value}'; use paper or mnist`);
}

function toDataset(parts: { images: Uint8Array; labels: Uint8Array; from: number; to: number }[], limit?: number): Dataset {
  let n = parts.reduce((s, p) => s + p.to - p.from, 0);
  if (limit !== undefined) n = Math.min(n, limit);
  const x = new Float32Array(n * MNIST_PIXELS);
  const labels = new Uint8Array(n);
  let row = 0;
  for (const p of parts) {
    for (let i = p.from; i < p.to && row < n; i++, row++) {
      const src = i * MNIST_PIXELS;
      const dst = row * MNIST_PIXELS;
      for (let j = 0; j < MNIST_PIXELS; j++) x[dst + j] = p.images[src + j] / 255;
      labels[row] = p.labels[i];
    }
  }
  return { x, labels, n, d: MNIST_PIXELS };
}

export function loadSplit(name: SplitName = 'paper', opts: { limitTrain?: number; limitVal?: number } = {}): Split {
  const train = loadMnistRaw('train');
  const test = loadMnistRaw('test');
  const t = { images: train.images, labels: train.labels };
  const v = { images: test.images, labels: test.labels };
  if (name === 'mnist') {
    return {
      name,
      train: toDataset([{ ...t, from: 0, to: train.n }], opts.limitTrain),
      val: toDataset([{ ...v, from: 0, to: test.n }], opts.limitVal),
    };
  }
  const nTrain = 40_000;
  return {
    name,
    train: toDataset([{ ...t, from: 0, to: nTrain }], opts.limitTrain),
    // the test images first, so --limit-val N keeps the genuine test set
    val: toDataset([{ ...v, from: 0, to: test.n }, { ...t, from: nTrain, to: train.n }], opts.limitVal),
  };
}
