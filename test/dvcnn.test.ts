import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { InfoflowError } from '../src/errors.js';
import {
  Dvcnn,
  type DvcnnConfig,
  type DvcnnWeights,
  logAbsDet,
  maskValues,
  referenceForward,
  validateDvcnnConfig,
} from '../src/models/dvcnn.js';
import { Xoshiro128 } from '../src/random.js';
import { infoflowErrorMessage } from './expect-error.js';

beforeAll(async () => {
  await initBackend('cpu');
});

const sig = (z: number) => 1 / (1 + Math.exp(-z));

function config(over: Partial<DvcnnConfig>): DvcnnConfig {
  return { width: 16, depth: 5, activation: 'tanh', triangle: 'alternate', biasInit: 0, classes: 10, seed: 1, ...over };
}

/** Random weights AND biases (the constructor sets every bias to biasInit). */
function randomize(model: Dvcnn, seed: number, std = 0.7): DvcnnWeights {
  const { width: d, depth, classes } = model.config;
  const rng = new Xoshiro128(seed);
  const w: DvcnnWeights = {
    a: Array.from({ length: depth }, () => rng.fillGaussian(new Float32Array(d * d), std)),
    b: Array.from({ length: depth }, () => rng.fillGaussian(new Float32Array(d), 1.5)),
    outW: rng.fillGaussian(new Float32Array(d * classes), 0.3),
    outB: rng.fillGaussian(new Float32Array(classes), 0.1),
  };
  model.setWeights(w);
  return model.weights();
}

function forward(model: Dvcnn, x: Float32Array, n: number): Float32Array {
  return tf.tidy(() => model.hidden(tf.tensor2d(x, [n, model.config.width])).dataSync() as Float32Array);
}

describe('DVCNN layer wiring', () => {
  it('a hand-set upper layer gives the hand-computed output, and ignores weights outside the mask', () => {
    const m = new Dvcnn(config({ width: 3, depth: 1, activation: 'sigmoid', triangle: 'upper', classes: 2 }));
    // A[j][i] = w_ij; upper: unit i reads j < i. The 9 at A[2][0] (j > i) must be masked away.
    const a = new Float32Array([0, 0.5, -1, 0, 0, 0.25, 9, 0, 0]);
    m.setWeights({ a: [a], b: [new Float32Array([0, 1, -0.5])], outW: new Float32Array(6), outB: new Float32Array(2) });
    const y = forward(m, new Float32Array([1, 2, 3]), 1);
    expect(y[0]).toBeCloseTo(1 + sig(0), 6);
    expect(y[1]).toBeCloseTo(2 + sig(0.5 * 1 + 1), 6);
    expect(y[2]).toBeCloseTo(3 + sig(-1 * 1 + 0.25 * 2 - 0.5), 6);
    m.dispose();
  });

  it('a hand-set lower layer reads only the units above', () => {
    const m = new Dvcnn(config({ width: 3, depth: 1, activation: 'tanh', triangle: 'lower', classes: 2 }));
    // lower: unit i reads j > i: z_0 = A[1][0] x1 + A[2][0] x2, z_1 = A[2][1] x2, z_2 = b_2
    const a = new Float32Array([7, 7, 7, 0.5, 0, 7, -0.25, 2, 0]);
    m.setWeights({ a: [a], b: [new Float32Array([0.1, 0, 0.3])], outW: new Float32Array(6), outB: new Float32Array(2) });
    const y = forward(m, new Float32Array([1, 2, 4]), 1);
    expect(y[0]).toBeCloseTo(1 + Math.tanh(0.5 * 2 - 0.25 * 4 + 0.1), 6);
    expect(y[1]).toBeCloseTo(2 + Math.tanh(2 * 4), 6);
    expect(y[2]).toBeCloseTo(4 + Math.tanh(0.3), 6);
    m.dispose();
  });

  it('masks are strictly triangular', () => {
    const up = maskValues(4, 'upper');
    const lo = maskValues(4, 'lower');
    for (let j = 0; j < 4; j++) for (let i = 0; i < 4; i++) {
      expect(up[j * 4 + i]).toBe(j < i ? 1 : 0);
      expect(lo[j * 4 + i]).toBe(j > i ? 1 : 0);
    }
  });

  it('the tfjs network equals the float64 reference sum of the paper, for every triangle option', () => {
    for (const triangle of ['alternate', 'upper', 'lower'] as const) {
      const m = new Dvcnn(config({ triangle, activation: 'sigmoid' }));
      const w = randomize(m, 3);
      const x = new Xoshiro128(9).fillGaussian(new Float32Array(4 * 16));
      const y = forward(m, x, 4);
      for (let r = 0; r < 4; r++) {
        const ref = referenceForward(m.config, w, x.subarray(r * 16, (r + 1) * 16)).y;
        for (let i = 0; i < 16; i++) expect(Math.abs(y[r * 16 + i] - ref[i])).toBeLessThan(1e-4);
      }
      m.dispose();
    }
  });
});

describe('memory: one copy of the weights, one layer at a time', () => {
  it('holds each weight once after assigns (no initial tensor keeps a copy), and hidden() keeps only its output', () => {
    // at 1,000 layers of 784 units a second copy (2.3 GiB) or every layer's tensors would exceed wasm's 4 GiB
    const before = tf.memory().numBytes;
    const m = new Dvcnn(config({ depth: 12 }));
    const own = tf.memory().numBytes - before;
    const { width: d, depth, classes } = m.config;
    // the variables, and the two masks
    expect(own).toBe((depth * (d * d + d) + d * classes + classes + 2 * d * d) * 4);
    randomize(m, 3);
    randomize(m, 4);
    expect(tf.memory().numBytes - before).toBe(own);
    const x = tf.tensor2d(new Float32Array(8 * d).fill(0.5), [8, d]);
    const tensors = tf.memory().numTensors;
    let seen = 0;
    const h = m.hidden(x, (l, f, y) => {
      seen++;
      expect([f.shape, y.shape, f.isDisposed]).toEqual([[8, d], [8, d], false]);
      // while layer l runs, no more than two layers' worth of tensors are alive beside the model
      expect(tf.memory().numTensors - tensors).toBeLessThan(12);
    });
    expect(seen).toBe(depth);
    expect(tf.memory().numTensors).toBe(tensors + 1);
    tf.dispose([h, x]);
    m.dispose();
  });
});

describe('volume conservation', () => {
  it('each tfjs layer has a unit-diagonal triangular Jacobian (exact, by perturbing one input at a time)', () => {
    for (const triangle of ['upper', 'lower'] as const) {
      const m = new Dvcnn(config({ depth: 1, triangle }));
      randomize(m, 4);
      const x = new Xoshiro128(5).fillGaussian(new Float32Array(16));
      const y0 = forward(m, x, 1);
      for (let j = 0; j < 16; j++) {
        const xp = Float32Array.from(x);
        xp[j] += 0.5;
        const y1 = forward(m, xp, 1);
        // unit j does not read x_j: y_j moves by exactly the step
        expect(y1[j] - y0[j]).toBeCloseTo(0.5, 5);
        // units that do not read x_j (i < j for upper, i > j for lower) do not move at all
        for (let i = 0; i < 16; i++) if (triangle === 'upper' ? i < j : i > j) expect(y1[i]).toBe(y0[i]);
      }
      m.dispose();
    }
  });

  it('a 16-unit, 5-layer DVCNN with random weights and biases has log|det J| = 0 to rounding', () => {
    const m = new Dvcnn(config({}));
    const w = randomize(m, 6);
    const rng = new Xoshiro128(7);
    for (let trial = 0; trial < 5; trial++) {
      const x = rng.fillGaussian(new Float32Array(16));
      const { jacobian } = referenceForward(m.config, w, x, true);
      const jac = jacobian!;
      // the product is far from the identity (not a trivial pass)...
      let off = 0;
      for (let i = 0; i < 16; i++) for (let j = 0; j < 16; j++) if (i !== j) off = Math.max(off, Math.abs(jac[i * 16 + j]));
      expect(off).toBeGreaterThan(0.5);
      // ...yet its volume factor is 1
      expect(Math.abs(logAbsDet(jac, 16))).toBeLessThan(1e-9);
      // and the float32 tfjs network has the same Jacobian (central differences of the implementation)
      const eps = 1e-2;
      const fd = new Float64Array(256);
      for (let j = 0; j < 16; j++) {
        const xp = Float32Array.from(x);
        const xm = Float32Array.from(x);
        xp[j] += eps;
        xm[j] -= eps;
        const yp = forward(m, xp, 1);
        const ym = forward(m, xm, 1);
        for (let i = 0; i < 16; i++) fd[i * 16 + j] = (yp[i] - ym[i]) / (2 * eps);
      }
      for (let k = 0; k < 256; k++) expect(Math.abs(fd[k] - jac[k])).toBeLessThan(5e-3);
      expect(Math.abs(logAbsDet(fd, 16))).toBeLessThan(1e-2);
    }
    m.dispose();
  });

  it('control: the same residual layers without the triangular mask do not conserve volume', () => {
    const d = 16;
    const rng = new Xoshiro128(8);
    const x = rng.fillGaussian(new Float32Array(d));
    let jac = new Float64Array(d * d);
    for (let i = 0; i < d; i++) jac[i * d + i] = 1;
    let h = Float64Array.from(x);
    for (let l = 0; l < 5; l++) {
      const a = rng.fillGaussian(new Float32Array(d * d), 0.7);
      const b = rng.fillGaussian(new Float32Array(d), 1.5);
      const layerJ = new Float64Array(d * d);
      const next = new Float64Array(d);
      for (let i = 0; i < d; i++) {
        let z = b[i];
        for (let j = 0; j < d; j++) z += a[j * d + i] * h[j];
        next[i] = h[i] + Math.tanh(z);
        for (let j = 0; j < d; j++) layerJ[i * d + j] = (i === j ? 1 : 0) + (1 - Math.tanh(z) ** 2) * a[j * d + i];
      }
      const prod = new Float64Array(d * d);
      for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) for (let j = 0; j < d; j++) prod[i * d + j] += layerJ[i * d + k] * jac[k * d + j];
      jac = prod;
      h = next;
    }
    expect(Math.abs(logAbsDet(jac, d))).toBeGreaterThan(0.5);
  });
});

describe('hand-written backward pass', () => {
  it('matches central differences of the float64 reference loss', () => {
    const cfg = config({ width: 6, depth: 3, activation: 'sigmoid', classes: 3 });
    const m = new Dvcnn(cfg);
    const w = randomize(m, 11, 0.8);
    const n = 4;
    const x = new Xoshiro128(12).fillGaussian(new Float32Array(n * 6));
    const labels = [0, 2, 1, 2];
    const refLoss = (ww: DvcnnWeights): number => {
      let total = 0;
      for (let r = 0; r < n; r++) {
        const h = referenceForward(cfg, ww, x.subarray(r * 6, (r + 1) * 6)).y;
        const logits = [0, 1, 2].map((c) => ww.outB[c] + h.reduce((s, v, j) => s + v * ww.outW[j * 3 + c], 0));
        const mx = Math.max(...logits);
        const lse = mx + Math.log(logits.reduce((s, v) => s + Math.exp(v - mx), 0));
        total += lse - logits[labels[r]];
      }
      return total / n;
    };
    const grads = new Map<number, Float32Array>();
    const xt = tf.tensor2d(x, [n, 6]);
    const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), 3) as tf.Tensor2D;
    const loss = m.step(xt, oneHot, { onGrad: (l, dA) => grads.set(l, dA.dataSync() as Float32Array) });
    expect(loss).toBeCloseTo(refLoss(w), 4);
    const eps = 1e-5;
    const check = (layer: number, k: number) => {
      const plus = { ...w, a: w.a.map((v) => Float64Array.from(v) as unknown as Float32Array) };
      const minus = { ...w, a: w.a.map((v) => Float64Array.from(v) as unknown as Float32Array) };
      plus.a[layer][k] += eps;
      minus.a[layer][k] -= eps;
      const numeric = (refLoss(plus) - refLoss(minus)) / (2 * eps);
      expect(Math.abs(grads.get(layer)![k] - numeric)).toBeLessThan(1e-4 + 1e-2 * Math.abs(numeric));
    };
    // in-mask entries of every layer (layer 0 upper: j < i; layer 1 lower: j > i)
    for (const [layer, j, i] of [[0, 0, 3], [0, 2, 5], [1, 4, 1], [1, 5, 0], [2, 1, 4]] as const) check(layer, j * 6 + i);
    // out-of-mask entries get exactly zero gradient
    expect(Math.abs(grads.get(0)![3 * 6 + 0])).toBe(0);
    expect(Math.abs(grads.get(1)![0 * 6 + 4])).toBe(0);
    // output layer weights
    const outW = grads.get(3)!;
    const plus = { ...w, outW: Float64Array.from(w.outW) as unknown as Float32Array };
    const minus = { ...w, outW: Float64Array.from(w.outW) as unknown as Float32Array };
    plus.outW[4] += eps;
    minus.outW[4] -= eps;
    expect(outW[4]).toBeCloseTo((refLoss(plus) - refLoss(minus)) / (2 * eps), 3);
    xt.dispose();
    oneHot.dispose();
    m.dispose();
  });

  it('an SGD step lowers the loss and keeps the weights outside the mask at zero', () => {
    const m = new Dvcnn(config({ width: 8, depth: 4, activation: 'sigmoid', biasInit: -2, classes: 3 }));
    const x = tf.tensor2d(new Xoshiro128(13).fillGaussian(new Float32Array(16 * 8)), [16, 8]);
    const oneHot = tf.oneHot(tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 3), 'int32'), 3) as tf.Tensor2D;
    const first = m.step(x, oneHot, { lr: 0.1 });
    let last = first;
    for (let s = 0; s < 30; s++) last = m.step(x, oneHot, { lr: 0.1 });
    expect(last).toBeLessThan(first);
    const w = m.weights();
    for (let l = 0; l < 4; l++) {
      const mask = maskValues(8, l % 2 === 0 ? 'upper' : 'lower');
      for (let k = 0; k < 64; k++) if (mask[k] === 0) expect(Math.abs(w.a[l][k])).toBe(0);
    }
    x.dispose();
    oneHot.dispose();
    m.dispose();
  });
});

describe('centred parametrisation', () => {
  it('setCenters keeps the function; its gradients match central differences of the same function in the centred parameters', () => {
    const cfg = config({ width: 6, depth: 3, activation: 'sigmoid', classes: 3 });
    const m = new Dvcnn(cfg);
    randomize(m, 21, 0.8);
    const n = 4;
    const x = new Xoshiro128(22).fillGaussian(new Float32Array(n * 6));
    const xt = tf.tensor2d(x, [n, 6]);
    const before = tf.tidy(() => m.logits(xt).dataSync() as Float32Array);
    const rng = new Xoshiro128(23);
    const centers = Array.from({ length: 4 }, () => rng.fillGaussian(new Float32Array(6), 3));
    m.setCenters(centers, true);
    const after = tf.tidy(() => m.logits(xt).dataSync() as Float32Array);
    for (let k = 0; k < before.length; k++) expect(after[k]).toBeCloseTo(before[k], 4);
    expect(m.getCenters()![2]).toEqual(centers[2]);
    // the reference in the centred parameters: effective bias = b - c (A * M), output bias = b_out - c_L W
    const w = m.weights();
    const labels = [0, 2, 1, 2];
    const refLoss = (ww: DvcnnWeights): number => {
      const b = ww.b.map((bl, l) => Float64Array.from(bl, (v, i) => v - centers[l].reduce((s, c, j) => s + c * ww.a[l][j * 6 + i] * maskValues(6, l % 2 === 0 ? 'upper' : 'lower')[j * 6 + i], 0)));
      let total = 0;
      for (let r = 0; r < n; r++) {
        const h = referenceForward(cfg, { a: ww.a, b: b as unknown as Float32Array[] }, x.subarray(r * 6, (r + 1) * 6)).y;
        const logits = [0, 1, 2].map((c) => ww.outB[c] + h.reduce((s, v, j) => s + (v - centers[3][j]) * ww.outW[j * 3 + c], 0));
        const mx = Math.max(...logits);
        const lse = mx + Math.log(logits.reduce((s, v) => s + Math.exp(v - mx), 0));
        total += lse - logits[labels[r]];
      }
      return total / n;
    };
    const grads = new Map<number, Float32Array>();
    const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), 3) as tf.Tensor2D;
    const loss = m.step(xt, oneHot, { onGrad: (l, dA) => grads.set(l, dA.dataSync() as Float32Array) });
    expect(loss).toBeCloseTo(refLoss(w), 3);
    const eps = 1e-5;
    for (const [layer, j, i] of [[0, 0, 3], [1, 4, 1], [2, 1, 4]] as const) {
      const k = j * 6 + i;
      const plus = { ...w, a: w.a.map((v) => Float64Array.from(v) as unknown as Float32Array) };
      const minus = { ...w, a: w.a.map((v) => Float64Array.from(v) as unknown as Float32Array) };
      plus.a[layer][k] += eps;
      minus.a[layer][k] -= eps;
      const numeric = (refLoss(plus) - refLoss(minus)) / (2 * eps);
      expect(Math.abs(grads.get(layer)![k] - numeric)).toBeLessThan(1e-3 + 1e-2 * Math.abs(numeric));
    }
    const plus = { ...w, outW: Float64Array.from(w.outW) as unknown as Float32Array };
    const minus = { ...w, outW: Float64Array.from(w.outW) as unknown as Float32Array };
    plus.outW[4] += eps;
    minus.outW[4] -= eps;
    expect(grads.get(3)![4]).toBeCloseTo((refLoss(plus) - refLoss(minus)) / (2 * eps), 3);
    xt.dispose();
    oneHot.dispose();
    m.dispose();
  });
});

describe('bad configurations', () => {
  const base = config({});
  const message = infoflowErrorMessage;
  it('refuses impossible depths with one line naming --depth', () => {
    for (const depth of [0, -3, 1001, 2.5, NaN]) {
      const msg = message(() => validateDvcnnConfig({ ...base, depth }));
      expect(msg).toMatch(/^--depth: .*\[1, 1000\]/);
      expect(msg).not.toContain('\n');
    }
    expect(validateDvcnnConfig({ ...base, depth: 1000 })).toEqual([]);
  });
  it('refuses a width that does not match the input', () => {
    expect(message(() => validateDvcnnConfig({ ...base, width: 100 }, 784))).toMatch(/^--width: .*784 features; got 100/);
    expect(message(() => new Dvcnn({ ...base, width: 100 }, 196))).toMatch(/^--width/);
  });
  it('refuses unknown activations and triangles; warns on relu', () => {
    expect(message(() => validateDvcnnConfig({ ...base, activation: 'elu' as never }))).toMatch(/^--activation: unknown activation 'elu'/);
    expect(message(() => validateDvcnnConfig({ ...base, triangle: 'both' as never }))).toMatch(/^--triangle/);
    expect(validateDvcnnConfig({ ...base, activation: 'relu' })[0]).toMatch(/diverge/);
  });
  it('refuses a network too big for memory before allocating it', () => {
    expect(message(() => validateDvcnnConfig({ ...base, width: 1024, depth: 1000 }))).toMatch(/GiB of weights; lower --depth or use --width 196 or 49$/);
  });
  it('setCenters with the wrong number of centres is an internal InfoflowError', () => {
    const net = new Dvcnn({ ...base, width: 4, depth: 2 });
    expect(message(() => net.setCenters([new Float32Array(4)], false))).toMatch(/^internal error: Dvcnn.setCenters: needs depth \+ 1 = 3 vectors; got 1/);
    net.dispose();
  });
});
