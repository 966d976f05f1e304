/**
 * Deterministic activation-like data for the MI benchmark: MNIST images (pixels / 255) through an untrained
 * depth-5 tanh MLP with hidden widths 2W, W, W, W, 2W, Glorot-normal weights from a seeded PRNG, no biases, and
 * per-unit standardisation of every pre-activation over the N samples (batch norm at initialisation).
 * x = the first hidden layer (2W dims), y = the last (2W dims), float32.
 * Rows: MNIST train (60,000) then test (10,000); beyond 70,000, the same images shifted by one pixel right,
 * then down, then both (row r uses image r mod 70,000 and shift floor(r / 70,000)), so any N up to 280,000.
 */
import { loadMnistRaw, MNIST_PIXELS } from '../src/data/mnist.js';
import { Xoshiro128 } from '../src/random.js';

const SHIFTS: [number, number][] = [[0, 0], [1, 0], [0, 1], [1, 1]];

let mnist: Uint8Array | undefined;
function allImages(): Uint8Array {
  if (!mnist) {
    const tr = loadMnistRaw('train');
    const te = loadMnistRaw('test');
    mnist = new Uint8Array((tr.n + te.n) * MNIST_PIXELS);
    mnist.set(tr.images, 0);
    mnist.set(te.images, tr.n * MNIST_PIXELS);
  }
  return mnist;
}

/** Pixel (r, c) of image `img` shifted by (dx, dy) pixels (0 where shifted in). */
function pixel(images: Uint8Array, img: number, r: number, c: number, dx: number, dy: number): number {
  const rr = r - dy;
  const cc = c - dx;
  if (rr < 0 || cc < 0) return 0;
  return images[img * MNIST_PIXELS + rr * 28 + cc];
}

/** a (n x din, row-major) times w (din x dout) -> standardise each column over n -> tanh, skipping zeros of a. */
function layer(a: Float32Array, n: number, din: number, dout: number, rng: Xoshiro128): Float32Array {
  const std = Math.sqrt(2 / (din + dout));
  const w = rng.fillGaussian(new Float64Array(din * dout), std);
  const pre = new Float64Array(n * dout);
  for (let i = 0; i < n; i++) {
    const o = i * dout;
    for (let j = 0; j < din; j++) {
      const v = a[i * din + j];
      if (v === 0) continue;
      const wo = j * dout;
      for (let u = 0; u < dout; u++) pre[o + u] += v * w[wo + u];
    }
  }
  const out = new Float32Array(n * dout);
  for (let u = 0; u < dout; u++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += pre[i * dout + u];
    mean /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (pre[i * dout + u] - mean) ** 2;
    const sd = Math.sqrt(v / n) || 1;
    for (let i = 0; i < n; i++) out[i * dout + u] = Math.tanh((pre[i * dout + u] - mean) / sd);
  }
  return out;
}

export function mnistActivations(n: number, width: number, seed = 1): { x: Float32Array; y: Float32Array; dims: number } {
  const layers = mnistLayers(n, width, seed);
  return { x: layers[0], y: layers[layers.length - 1], dims: 2 * width };
}

/** Every hidden layer of the same net (widths 2W, W, W, W, 2W), for the MI between each pair of layers. */
export function mnistLayers(n: number, width: number, seed = 1): Float32Array[] {
  const images = allImages();
  const count = images.length / MNIST_PIXELS;
  if (n > count * SHIFTS.length) throw new Error(`at most ${count * SHIFTS.length} rows`);
  const input = new Float32Array(n * MNIST_PIXELS);
  for (let i = 0; i < n; i++) {
    const img = i % count;
    const [dx, dy] = SHIFTS[Math.floor(i / count)];
    for (let r = 0; r < 28; r++) for (let c = 0; c < 28; c++) input[i * MNIST_PIXELS + r * 28 + c] = pixel(images, img, r, c, dx, dy) / 255;
  }
  const widths = [2 * width, width, width, width, 2 * width];
  const rng = new Xoshiro128(seed);
  let a: Float32Array = input;
  let din = MNIST_PIXELS;
  const out: Float32Array[] = [];
  for (const dout of widths) {
    a = layer(a, n, din, dout, rng);
    din = dout;
    out.push(a);
  }
  return out;
}
