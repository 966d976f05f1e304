/**
 * The fast DVCNN step (Dvcnn.step on the SIMD kernel, src/models/dvcnn-kernel.ts) against the slow reference
 * (Dvcnn.stepReference, tfjs ops) on seeded small nets: losses, every layer's gradients and the weights after
 * several SGD steps; and the fast logits against Dvcnn.logitsReference.
 *
 * Tolerance. Both compute the same float32 operations except for the order of the sums inside the products
 * (XNNPACK's blocking against the kernel's), the activation's last bits (XNNPACK's sigmoid/tanh against the
 * kernel's polynomials, within 2.3 eps32 of float64) and the loss (float64 in the kernel). A float32 sum of K
 * terms in another order moves by at most (K - 1) eps32 sum|terms| (K <= 50 here: <= 3e-6 of the terms'
 * magnitude), an activation by a few eps32; through <= 6 layers forward and back, and 3 steps, they stay near
 * 1e-5 of each quantity's scale (largest measured: loss 2e-7, gradients 4e-7, weight updates after 3 steps
 * 1.2e-5 at width 49, depth 6). We allow 1e-4 of the scale (max |entry| of that gradient, that layer's weight
 * update, or the loss): 8x above the largest measured rounding, and orders of magnitude below a missing term,
 * a wrong mask entry or a wrong step (each moves an entry by ~1/K of its scale or more), which the last test
 * checks the comparison catches.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { type Activation, Dvcnn, type DvcnnConfig, type DvcnnWeights, maskValues, type StepOptions, type Triangle } from '../src/models/dvcnn.js';
import { Xoshiro128 } from '../src/random.js';

const TOL = 1e-4;

beforeAll(async () => {
  await initBackend('wasm');
});

interface Case {
  width: number;
  depth: number;
  batch: number;
  activation: Activation;
  triangle: Triangle;
  centred: boolean;
  lrScale?: boolean;
  clipNorm?: number;
}

function makeNet(c: Case, seed: number): Dvcnn {
  const config: DvcnnConfig = { width: c.width, depth: c.depth, activation: c.activation, triangle: c.triangle, biasInit: -1, classes: 10, seed };
  const net = new Dvcnn(config);
  const rng = new Xoshiro128(seed + 100);
  // random biases and output weights, so every layer gets a gradient (the constructor zeroes the output layer)
  const w = net.weights();
  net.setWeights({
    ...w,
    b: w.b.map((b) => rng.fillGaussian(new Float32Array(b.length), 1)),
    outW: rng.fillGaussian(new Float32Array(w.outW.length), 0.5),
    outB: rng.fillGaussian(new Float32Array(w.outB.length), 0.1),
  });
  if (c.centred) {
    const centres = Array.from({ length: c.depth + 1 }, (_, l) => rng.fillGaussian(new Float32Array(c.width), 0.3).map((v) => v + 0.2 * l));
    net.setCenters(centres, true);
  }
  return net;
}

function batch(c: Case, seed: number): { x: tf.Tensor2D; oneHot: tf.Tensor2D } {
  const rng = new Xoshiro128(seed);
  const x = Float32Array.from({ length: c.batch * c.width }, () => rng.uniform());
  const labels = Int32Array.from({ length: c.batch }, () => Math.floor(rng.uniform() * 10));
  return { x: tf.tensor2d(x, [c.batch, c.width]), oneHot: tf.oneHot(tf.tensor1d(labels, 'int32'), 10) as tf.Tensor2D };
}

type Grads = { dA: Float32Array; db: Float32Array; dx: Float32Array }[];

function stepWith(net: Dvcnn, reference: boolean, x: tf.Tensor2D, oneHot: tf.Tensor2D, opts: StepOptions, grads?: Grads): number {
  const onGrad = grads
    ? (layer: number, dA: tf.Tensor2D, db: tf.Tensor1D, dx: tf.Tensor2D) => {
        grads[layer] = { dA: dA.dataSync() as Float32Array, db: db.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array };
      }
    : undefined;
  return reference ? net.stepReference(x, oneHot, { ...opts, onGrad }) : net.step(x, oneHot, { ...opts, onGrad });
}

const maxAbs = (v: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
};

/** max |a - b| / max |b|: 0 for equal arrays; the scale is the reference's largest entry. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
  const scale = maxAbs(b);
  return scale === 0 ? e : e / scale;
}

function updates(after: DvcnnWeights, before: DvcnnWeights): Float32Array[] {
  const diff = (x: Float32Array, y: Float32Array) => x.map((v, i) => v - y[i]);
  return [...after.a.map((a, l) => diff(a, before.a[l])), ...after.b.map((b, l) => diff(b, before.b[l])), diff(after.outW, before.outW), diff(after.outB, before.outB)];
}

/** Two copies of the same seeded net (one for each step) and one batch, disposed after `body`. */
function withPair(c: Case, seed: number, batchSeed: number, body: (fast: Dvcnn, ref: Dvcnn, before: DvcnnWeights, x: tf.Tensor2D, oneHot: tf.Tensor2D) => void): void {
  const fast = makeNet(c, seed);
  const ref = makeNet(c, seed);
  const { x, oneHot } = batch(c, batchSeed);
  try {
    body(fast, ref, ref.weights(), x, oneHot);
  } finally {
    tf.dispose([x, oneHot]);
    fast.dispose();
    ref.dispose();
  }
}

/** Runs `steps` SGD steps on two copies of the same net, fast and reference; returns the worst relative errors. */
function compare(c: Case, steps = 3): { loss: number; grad: number; update: number; maskedNonzero: number } {
  const fast = makeNet(c, 7);
  const ref = makeNet(c, 7);
  const before = ref.weights();
  const opts: StepOptions = {
    lr: 0.05,
    lrScale: c.lrScale ? Array.from({ length: c.depth + 1 }, (_, l) => 1 / (1 + l)) : undefined,
    clipNorm: c.clipNorm,
  };
  let loss = 0;
  let grad = 0;
  for (let s = 0; s < steps; s++) {
    const { x, oneHot } = batch(c, 11 + s);
    const gFast: Grads = [];
    const gRef: Grads = [];
    const lf = stepWith(fast, false, x, oneHot, opts, s === 0 ? gFast : undefined);
    const lr = stepWith(ref, true, x, oneHot, opts, s === 0 ? gRef : undefined);
    loss = Math.max(loss, Math.abs(lf - lr) / Math.abs(lr));
    if (s === 0) {
      expect(gFast.length).toBe(c.depth + 1);
      for (let l = 0; l <= c.depth; l++) {
        grad = Math.max(grad, relErr(gFast[l].dA, gRef[l].dA), relErr(gFast[l].db, gRef[l].db), relErr(gFast[l].dx, gRef[l].dx));
      }
    }
    tf.dispose([x, oneHot]);
  }
  const wFast = fast.weights();
  const wRef = ref.weights();
  const uf = updates(wFast, before);
  const ur = updates(wRef, before);
  let update = 0;
  for (let i = 0; i < ur.length; i++) update = Math.max(update, relErr(uf[i], ur[i]));
  // entries outside each layer's triangle stay exactly zero
  let maskedNonzero = 0;
  const d = c.width;
  wFast.a.forEach((a, l) => {
    const upper = c.triangle === 'upper' || (c.triangle === 'alternate' && l % 2 === 0);
    for (let j = 0; j < d; j++) for (let i = 0; i < d; i++) if ((upper ? j >= i : j <= i) && a[j * d + i] !== 0) maskedNonzero++;
  });
  fast.dispose();
  ref.dispose();
  return { loss, grad, update, maskedNonzero };
}

describe('fast DVCNN step = reference step to float32 rounding', () => {
  const cases: Case[] = [
    { width: 16, depth: 4, batch: 8, activation: 'sigmoid', triangle: 'alternate', centred: false },
    { width: 13, depth: 3, batch: 7, activation: 'tanh', triangle: 'upper', centred: false },
    { width: 21, depth: 3, batch: 5, activation: 'sigmoid', triangle: 'lower', centred: true },
    { width: 49, depth: 6, batch: 50, activation: 'sigmoid', triangle: 'alternate', centred: true },
    { width: 40, depth: 5, batch: 50, activation: 'tanh', triangle: 'alternate', centred: false, lrScale: true },
    { width: 12, depth: 2, batch: 9, activation: 'relu', triangle: 'alternate', centred: false },
    { width: 18, depth: 3, batch: 10, activation: 'sigmoid', triangle: 'alternate', centred: true, clipNorm: 0.05 },
  ];
  for (const c of cases) {
    const name = `width ${c.width}, depth ${c.depth}, batch ${c.batch}, ${c.activation}, ${c.triangle}${c.centred ? ', centred' : ''}${c.lrScale ? ', per-layer rates' : ''}${c.clipNorm ? `, clip ${c.clipNorm}` : ''}`;
    it(name, () => {
      const r = compare(c);
      expect(r.loss).toBeLessThan(TOL);
      expect(r.grad).toBeLessThan(TOL);
      expect(r.update).toBeLessThan(TOL);
      expect(r.maskedNonzero).toBe(0);
    });
  }

  it('without lr the fast step only computes gradients: the weights stay bit-identical', () => {
    const c: Case = { width: 16, depth: 3, batch: 6, activation: 'sigmoid', triangle: 'alternate', centred: true };
    const net = makeNet(c, 3);
    const before = net.weights();
    const { x, oneHot } = batch(c, 4);
    const grads: Grads = [];
    stepWith(net, false, x, oneHot, {}, grads);
    expect(grads.length).toBe(c.depth + 1);
    const after = net.weights();
    for (let l = 0; l < c.depth; l++) expect(after.a[l]).toEqual(before.a[l]);
    expect(after.outW).toEqual(before.outW);
    tf.dispose([x, oneHot]);
    net.dispose();
  });

  it('the tf variables follow the fast steps, and weights assigned through them are used by the next fast step', () => {
    const c: Case = { width: 16, depth: 3, batch: 8, activation: 'sigmoid', triangle: 'alternate', centred: false };
    withPair(c, 5, 6, (fast, ref, before, x, oneHot) => {
      fast.step(x, oneHot, { lr: 0.1 });
      ref.stepReference(x, oneHot, { lr: 0.1 });
      // reading the variables after a fast step sees its update
      const delta = (net: Dvcnn, l: number) => (net.a[l].dataSync() as Float32Array).map((v, i) => v - before.a[l][i]);
      for (let l = 0; l < c.depth; l++) expect(relErr(delta(fast, l), delta(ref, l))).toBeLessThan(TOL);
      // a checkpoint restore assigns through the variables: the next fast step must start from those weights
      const mask = maskValues(16, 'upper');
      const restored = new Xoshiro128(8).fillGaussian(new Float32Array(16 * 16), 0.2).map((v, i) => v * mask[i]);
      for (const net of [fast, ref]) net.a[0].assign(tf.tensor2d(restored, [16, 16]));
      const lf = fast.step(x, oneHot, { lr: 0.1 });
      const lr = ref.stepReference(x, oneHot, { lr: 0.1 });
      expect(Math.abs(lf - lr) / lr).toBeLessThan(TOL);
      const wf = fast.weights();
      const wr = ref.weights();
      for (let l = 0; l < c.depth; l++) expect(relErr(wf.a[l], wr.a[l])).toBeLessThan(TOL);
    });
  });

  it('the fast logits equal the reference logits (chunks of 64 rows, centred and not, after fast steps)', () => {
    for (const c of [
      { width: 21, depth: 3, batch: 150, activation: 'sigmoid', triangle: 'alternate', centred: true },
      { width: 16, depth: 4, batch: 70, activation: 'tanh', triangle: 'lower', centred: false },
    ] as Case[]) {
      const net = makeNet(c, 9);
      const { x, oneHot } = batch(c, 10);
      for (let s = 0; s < 2; s++) {
        const fast = tf.tidy(() => net.logits(x).dataSync() as Float32Array);
        const ref = tf.tidy(() => net.logitsReference(x).dataSync() as Float32Array);
        expect(fast.length).toBe(c.batch * 10);
        expect(relErr(fast, ref)).toBeLessThan(TOL);
        net.step(x, oneHot, { lr: 0.1 });
      }
      tf.dispose([x, oneHot]);
      net.dispose();
    }
  });

  it('the comparison catches a wrong step: 1% more learning rate in one run fails it', () => {
    const c: Case = { width: 16, depth: 4, batch: 8, activation: 'sigmoid', triangle: 'alternate', centred: false };
    withPair(c, 7, 11, (fast, ref, before, x, oneHot) => {
      fast.step(x, oneHot, { lr: 0.0505 });
      ref.stepReference(x, oneHot, { lr: 0.05 });
      const uf = updates(fast.weights(), before);
      const ur = updates(ref.weights(), before);
      expect(Math.max(...ur.map((u, i) => relErr(uf[i], u)))).toBeGreaterThan(10 * TOL);
    });
  });
});
