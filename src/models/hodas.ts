/**
 * The Hodas & Stinis (2018) networks, written with tfjs-core ops and a hand-written backward pass.
 *
 * Layers are indexed 0..L-1 here (the paper's "first" is 0, "last" is L-1). Every hidden layer is
 *   z = h W  (no bias: BatchNorm's beta replaces it, and a bias before BN gets exactly zero gradient),
 *   y = gamma * (z - mean) / sqrt(var + 1e-3) + beta      (Keras BatchNormalization, epsilon 1e-3),
 *   a = tanh(y).
 * Widths: layers 0 and L-1 are 2W wide, the others W. What a layer passes on is s_i:
 *   mlp:       s_i = a_i; the softmax reads s_{L-1}.
 *   shortcut:  the softmax reads s_0 + s_{L-1} (the first and last hidden outputs summed, paper Figure 2).
 *   residual:  blocks of two W-wide layers with an identity skip, after the tanh (outputs summed, paper Figure 3):
 *              s_i = a_i + s_{i-2} for i = 3, 5, 7, ... while i <= L-2 (1-based: layer 2's output joins layer 4's,
 *              4's joins 6's, ...). Skips never overlap ("a shortcut between every other layer"), and the 2W-wide
 *              first and last layers take no residual (widths differ). So depth < 5 has no residual sum.
 *   shortcut-residual: both.
 * BatchNorm sits inside each layer, before the tanh and before any sum; sums are never normalised (the next
 * layer's BN normalises what it receives).
 * Training mode: BN uses the batch's statistics and updates moving averages (momentum 0.99, as Keras).
 * Evaluation: `bn: 'batch'` normalises with the evaluated set's own statistics (the default for the recorded
 * metrics: with one full-batch step per epoch, Keras's moving averages would lag ~100 epochs behind the
 * weights), `bn: 'moving'` with the moving averages.
 * The recorded activations are a_0 and a_{L-1}, the layers' own tanh outputs (before any sum).
 * Init: Glorot normal (Keras: truncated at 2 sigma, stddev sqrt(2/(fan_in+fan_out))/0.8796), seeded.
 * Loss: softmax cross-entropy (mean over the batch). Optimiser: RMSprop with Keras defaults (rho 0.9, eps 1e-7):
 *   acc = rho acc + (1-rho) g^2;  w -= lr g / (sqrt(acc) + eps).
 * Speed: the backward pass is written by hand so that the first layer's input gradient (n x 784) is never
 * computed, and its weight gradient uses X^T transposed once per run (full batch). Weight gradients transpose
 * explicitly (h^T then matMul): tfjs-wasm's matMul with transposeA is ~10x slower on tall n x W inputs.
 * Column sums and means (BN statistics and gradients) are average pools (colMean): ~5x faster than tf.sum(m, 0).
 * The input may also be given as a SparseBatch (rows of a fixed matrix in CSR, src/models/sparse.ts): the first
 * layer's two products X W0 and X^T dZ then skip the input's zeros (MNIST: ~81%), with the same float32 results.
 * For a sparse input the whole step runs in a SIMD kernel (src/models/hodas-kernel.ts: no transposed operands,
 * BatchNorm + tanh fused; ~1.5x faster at W = 32); INFOFLOW_HODAS_KERNEL=0 keeps these tfjs ops (referenceStep).
 */
import * as tf from '@tensorflow/tfjs-core';
import { inputError, usageError } from '../errors.js';
import { Mulberry32, type SeededRandom } from '../random.js';
import { HodasKernel, hodasKernelEnabled, type KernelNet } from './hodas-kernel.js';
import type { SparseInput } from './sparse.js';

export const ARCHS = ['mlp', 'shortcut', 'residual', 'shortcut-residual'] as const;
export type Arch = (typeof ARCHS)[number];
export const WIDTH_RANGE = [1, 4096] as const;
export const DEPTH_RANGE = [2, 100] as const;
export const BN_EPS = 1e-3;
export const BN_MOMENTUM = 0.99;
export const RMS_RHO = 0.9;
export const RMS_EPS = 1e-7;

export interface HodasSpec {
  arch: Arch;
  width: number;
  depth: number;
  inputDim: number;
  classes: number;
}

export function parseArch(value: string): Arch {
  if ((ARCHS as readonly string[]).includes(value)) return value as Arch;
  throw usageError('--arch', `unknown architecture '${value}'; use one of ${ARCHS.join(', ')}`);
}

export function hasShortcut(arch: Arch): boolean {
  return arch === 'shortcut' || arch === 'shortcut-residual';
}

export function layerWidths(spec: Pick<HodasSpec, 'width' | 'depth'>): number[] {
  return Array.from({ length: spec.depth }, (_, i) => (i === 0 || i === spec.depth - 1 ? 2 * spec.width : spec.width));
}

/** For each layer i, the layer j whose output s_j is added to a_i (residual), or -1. */
export function residualSources(spec: Pick<HodasSpec, 'arch' | 'depth'>): number[] {
  const src = new Array<number>(spec.depth).fill(-1);
  if (spec.arch !== 'residual' && spec.arch !== 'shortcut-residual') return src;
  for (let i = 3; i <= spec.depth - 2; i += 2) src[i] = i - 2;
  return src;
}

export function glorotNormal(rng: SeededRandom, fanIn: number, fanOut: number): Float32Array {
  // see: Keras GlorotNormal (truncated normal; 0.8796... is the stddev of a unit normal truncated at 2)
  const std = Math.sqrt(2 / (fanIn + fanOut)) / 0.87962566103423978;
  const out = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < out.length; i++) {
    let v: number;
    do v = rng.gaussian();
    while (Math.abs(v) > 2);
    out[i] = v * std;
  }
  return out;
}

export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

/** Rows of a fixed sparse input: all of it in order (rows null), or a minibatch's row indices. */
export interface SparseBatch {
  sparse: SparseInput;
  rows: Int32Array | null;
}

/** A network input: a dense [n, inputDim] tensor, or rows of a sparse matrix. */
export type NetInput = tf.Tensor2D | SparseBatch;

const isSparse = (x: NetInput): x is SparseBatch => !(x instanceof tf.Tensor);

/** Number of rows of an input. */
export function inputRows(x: NetInput): number {
  return isSparse(x) ? (x.rows?.length ?? x.sparse.n) : x.shape[0];
}

interface LayerCache {
  /** the layer's input (for layer 0, the network input) */
  h: NetInput;
  /** z minus its column means (zhat = centred * rstd is never materialised) */
  centred: tf.Tensor2D;
  rstd: tf.Tensor1D;
  a: tf.Tensor2D;
}

export interface StepResult {
  /** summed (not mean) loss and error count over the batch, as scalar tensors (read once per epoch) */
  lossSum: tf.Scalar;
  errors: tf.Scalar;
}

export interface EvalResult {
  first: tf.Tensor2D;
  last: tf.Tensor2D;
  /** every hidden layer's own tanh output a_0 .. a_{L-1} (first and last included), for MI between layers */
  layers: tf.Tensor2D[];
  logits: tf.Tensor2D;
}

let variableCounter = 0;

export class HodasNet {
  readonly spec: HodasSpec;
  readonly widths: number[];
  readonly residual: number[];
  readonly shortcut: boolean;
  /** trainable parameters, in a fixed order: W0, gamma0, beta0, W1, ..., Wout, bout */
  readonly params = new Map<string, tf.Variable>();
  /** BN moving averages */
  readonly state = new Map<string, tf.Variable>();
  /** RMSprop accumulators, one per parameter */
  readonly slots = new Map<string, tf.Variable>();

  constructor(spec: HodasSpec, seed: number) {
    if (!Number.isInteger(spec.width) || spec.width < WIDTH_RANGE[0] || spec.width > WIDTH_RANGE[1]) {
      throw usageError('--width', `must be an integer in [${WIDTH_RANGE.join(', ')}]; got ${spec.width}`);
    }
    if (!Number.isInteger(spec.depth) || spec.depth < DEPTH_RANGE[0] || spec.depth > DEPTH_RANGE[1]) {
      throw usageError('--depth', `must be an integer in [${DEPTH_RANGE.join(', ')}] (hidden layers); got ${spec.depth}`);
    }
    this.spec = spec;
    this.widths = layerWidths(spec);
    this.residual = residualSources(spec);
    this.shortcut = hasShortcut(spec.arch);
    const rng = new Mulberry32(seed);
    let fanIn = spec.inputDim;
    const add = (map: Map<string, tf.Variable>, name: string, data: Float32Array, shape: number[]) =>
      map.set(name, tf.variable(tf.tensor(data, shape), map === this.params, `hodas_${name}_${variableCounter++}`));
    for (let i = 0; i < spec.depth; i++) {
      const w = this.widths[i];
      add(this.params, `W${i}`, glorotNormal(rng, fanIn, w), [fanIn, w]);
      add(this.params, `gamma${i}`, new Float32Array(w).fill(1), [w]);
      add(this.params, `beta${i}`, new Float32Array(w), [w]);
      add(this.state, `mean${i}`, new Float32Array(w), [w]);
      add(this.state, `var${i}`, new Float32Array(w).fill(1), [w]);
      fanIn = w;
    }
    add(this.params, 'Wout', glorotNormal(rng, fanIn, spec.classes), [fanIn, spec.classes]);
    add(this.params, 'bout', new Float32Array(spec.classes), [spec.classes]);
    for (const [name, p] of this.params) add(this.slots, name, new Float32Array(p.size), p.shape);
  }

  private p(name: string): tf.Variable {
    return this.params.get(name)!;
  }

  /**
   * Column means, as one average pool over the n rows of m seen as a [1, n, 1, W] image (NHWC: W channels).
   * On tfjs-wasm, tf.sum(m, 0) transposes m first and takes ~5x longer (4.1 vs 0.8 ms for 40,000 x 64, see
   * docs/MODELS.md); a ones(1, n) @ m product packs its fresh n x W operand on every call (12 ms). Native
   * TensorFlow (tfjs-node, where a pooling window of n rows is untested here) keeps tf.sum.
   */
  private colMean(m: tf.Tensor2D): tf.Tensor1D {
    const [n, w] = m.shape;
    if (tf.getBackend() === 'tensorflow') return tf.mul(tf.sum(m, 0), 1 / n) as tf.Tensor1D;
    return tf.reshape(tf.avgPool(tf.reshape(m, [1, n, 1, w]) as tf.Tensor4D, [n, 1], 1, 'valid'), [w]);
  }

  /** Batch mean and (biased) variance per column, as Keras's BatchNormalization in training. */
  private moments(z: tf.Tensor2D): { mean: tf.Tensor1D; variance: tf.Tensor1D; centred: tf.Tensor2D } {
    const mean = this.colMean(z);
    const centred = tf.sub(z, mean) as tf.Tensor2D;
    const variance = this.colMean(tf.square(centred) as tf.Tensor2D);
    return { mean, variance, centred };
  }

  /**
   * tanh(gamma zhat + beta) with zhat = centred * rstd, computed as 2 sigmoid(centred * (2 gamma rstd) + 2 beta) - 1:
   * the same function, but tfjs-wasm's sigmoid is ~10x faster than its tanh (bench/train.ts), the factor 2 folds
   * into the small gamma and beta, and zhat itself is never materialised (one n x W product saved per layer).
   */
  private bnTanh(centred: tf.Tensor2D, rstd: tf.Tensor1D, i: number): tf.Tensor2D {
    const y2 = tf.add(tf.mul(centred, tf.mul(tf.mul(this.p(`gamma${i}`), rstd), 2)), tf.mul(this.p(`beta${i}`), 2));
    return tf.sub(tf.mul(tf.sigmoid(y2), 2), 1) as tf.Tensor2D;
  }

  /** h W: for a sparse input the sparse x dense product, else tf.matMul. */
  private product(h: NetInput, w: tf.Tensor): tf.Tensor2D {
    return isSparse(h) ? h.sparse.matMul(w as tf.Tensor2D, h.rows) : (tf.matMul(h, w) as tf.Tensor2D);
  }

  /** The input of the softmax layer from the layers' outputs. */
  private head(s: tf.Tensor2D[]): tf.Tensor2D {
    const last = s[this.spec.depth - 1];
    return this.shortcut ? tf.add(s[0], last) : last;
  }

  /**
   * One optimisation step on a batch (call inside tf.tidy). `xT` (a dense batch transposed; ignored for a sparse
   * input) saves a transpose.
   */
  step(x: NetInput, xT: tf.Tensor2D | null, labels: tf.Tensor1D, lr: number): StepResult {
    if (isSparse(x) && hodasKernelEnabled()) return this.kernelStep(x, labels, lr);
    return this.referenceStep(x, xT, labels, lr);
  }

  /** The step with tfjs ops: the reference the kernel's step is tested against (INFOFLOW_HODAS_KERNEL=0). */
  referenceStep(x: NetInput, xT: tf.Tensor2D | null, labels: tf.Tensor1D, lr: number): StepResult {
    const { grads, lossSum, errors } = this.backprop(x, xT, labels, true);
    for (const [name, v] of this.params) {
      const gr = grads.get(name)!;
      const slot = this.slots.get(name)!;
      slot.assign(tf.add(tf.mul(slot, RMS_RHO), tf.mul(tf.square(gr), 1 - RMS_RHO)));
      v.assign(tf.sub(v, tf.div(tf.mul(gr, lr), tf.add(tf.sqrt(slot), RMS_EPS))));
    }
    return { lossSum, errors };
  }

  /** The same step in the SIMD kernel (src/models/hodas-kernel.ts), parameters copied in and out. */
  private kernelStep(x: SparseBatch, labels: tf.Tensor1D, lr: number): StepResult {
    const names = [...this.params.keys()];
    const net: KernelNet = {
      widths: this.widths,
      residual: this.residual,
      shortcut: this.shortcut,
      classes: this.spec.classes,
      params: names.map((k) => (this.params.get(k)!.dataSync() as Float32Array).slice()),
      slots: names.map((k) => (this.slots.get(k)!.dataSync() as Float32Array).slice()),
    };
    const r = HodasKernel.for(x.sparse).step(net, x.rows, labels.dataSync(), { lr, bnEps: BN_EPS, rho: RMS_RHO, rmsEps: RMS_EPS });
    names.forEach((k, j) => {
      const p = this.params.get(k)!;
      p.assign(tf.tensor(net.params[j], p.shape));
      this.slots.get(k)!.assign(tf.tensor(net.slots[j], p.shape));
    });
    // the moving averages as the tfjs step computes them: float32 products and sum
    const f = Math.fround;
    const [keep, take] = [f(BN_MOMENTUM), f(1 - BN_MOMENTUM)];
    const blend = (v: tf.Variable, batch: Float32Array) => {
      const old = v.dataSync() as Float32Array;
      v.assign(tf.tensor(batch.map((b, c) => f(f(old[c] * keep) + f(b * take))), v.shape));
    };
    for (let i = 0; i < this.spec.depth; i++) {
      blend(this.state.get(`mean${i}`)!, r.mean[i]);
      blend(this.state.get(`var${i}`)!, r.variance[i]);
    }
    return { lossSum: tf.scalar(r.lossSum), errors: tf.scalar(r.errors) };
  }

  /** Forward in training mode and the hand-written backward pass (call inside tf.tidy). */
  private backprop(x: NetInput, xT: tf.Tensor2D | null, labels: tf.Tensor1D, updateStats: boolean) {
    const L = this.spec.depth;
    const n = inputRows(x);
    const caches: LayerCache[] = [];
    const s: tf.Tensor2D[] = [];
    let h: NetInput = x;
    for (let i = 0; i < L; i++) {
      const z = this.product(h, this.p(`W${i}`));
      const { mean, variance, centred } = this.moments(z);
      const rstd = tf.rsqrt(tf.add(variance, BN_EPS)) as tf.Tensor1D;
      const a = this.bnTanh(centred, rstd, i);
      caches.push({ h, centred, rstd, a });
      const src = this.residual[i];
      s.push(src >= 0 ? tf.add(a, s[src]) : a);
      h = s[i];
      if (!updateStats) continue;
      const mm = this.state.get(`mean${i}`)!;
      const mv = this.state.get(`var${i}`)!;
      mm.assign(tf.add(tf.mul(mm, BN_MOMENTUM), tf.mul(mean, 1 - BN_MOMENTUM)));
      mv.assign(tf.add(tf.mul(mv, BN_MOMENTUM), tf.mul(variance, 1 - BN_MOMENTUM)));
    }
    const top = this.head(s);
    const logits = tf.add(tf.matMul(top, this.p('Wout')), this.p('bout')) as tf.Tensor2D;
    // log-softmax as tf.logSoftmax computes it (shift by the row max), keeping exp(shifted) for the softmax below:
    // one exp over the n x 10 logits instead of two (tfjs-wasm's exp is slow)
    const shifted = tf.sub(logits, tf.max(logits, 1, true));
    const e = tf.exp(shifted);
    const rowSum = tf.sum(e, 1, true);
    const logp = tf.sub(shifted, tf.log(rowSum));
    const onehot = tf.cast(tf.oneHot(labels, this.spec.classes), 'float32') as tf.Tensor2D;
    const lossSum = tf.neg(tf.sum(tf.mul(onehot, logp))) as tf.Scalar;
    const errors = tf.sum(tf.cast(tf.notEqual(tf.argMax(logits, 1), labels), 'float32')) as tf.Scalar;

    // backward: mean cross-entropy over the batch
    const grads = new Map<string, tf.Tensor>();
    const dlogits = tf.div(tf.sub(tf.div(e, rowSum), onehot), n) as tf.Tensor2D;
    grads.set('Wout', tf.matMul(tf.transpose(top), dlogits));
    grads.set('bout', tf.mul(this.colMean(dlogits), n));
    const dtop = tf.matMul(dlogits, tf.transpose(this.p('Wout'))) as tf.Tensor2D;
    // ds[i]: the gradient of the loss with respect to s_i, accumulated from every place s_i is read
    const ds: (tf.Tensor2D | null)[] = new Array(L).fill(null);
    const acc = (i: number, g: tf.Tensor2D) => {
      ds[i] = ds[i] === null ? g : (tf.add(ds[i]!, g) as tf.Tensor2D);
    };
    acc(L - 1, dtop);
    if (this.shortcut) acc(0, dtop);
    for (let i = L - 1; i >= 0; i--) {
      const g = ds[i]!;
      if (this.residual[i] >= 0) acc(this.residual[i], g);
      const { h: hi, centred, rstd, a } = caches[i];
      const gamma = this.p(`gamma${i}`);
      const dy = tf.mul(g, tf.sub(1, tf.square(a))) as tf.Tensor2D;
      // dgamma = sum(dy zhat) = sum(dy centred) rstd
      const dgamma = tf.mul(this.colMean(tf.mul(dy, centred) as tf.Tensor2D), tf.mul(rstd, n)) as tf.Tensor1D;
      const dbeta = tf.mul(this.colMean(dy), n) as tf.Tensor1D;
      grads.set(`gamma${i}`, dgamma);
      grads.set(`beta${i}`, dbeta);
      // see: Ioffe & Szegedy 2015, the BN backward pass in closed form,
      //   dz = gamma rstd (dy - mean(dy) - zhat mean(dy zhat)),
      // with mean(dy) = dbeta / n and mean(dy zhat) = dgamma / n already at hand (two column means saved), and
      // zhat mean(dy zhat) = centred (rstd dgamma / n): only [W] vectors are scaled, two n x W products remain
      const k1 = tf.mul(gamma, rstd);
      const k2 = tf.mul(k1, tf.mul(rstd, tf.div(dgamma, -n)));
      const dz = tf.add(tf.mul(tf.sub(dy, tf.div(dbeta, n)), k1), tf.mul(centred, k2)) as tf.Tensor2D;
      if (isSparse(hi)) {
        // layer 0 with a sparse input: X^T dz as a sparse x dense product; no input gradient
        grads.set('W0', hi.sparse.matMulT(dz, hi.rows));
      } else if (i === 0) {
        // no input gradient for the first layer: dx is never needed
        grads.set('W0', tf.matMul(xT ?? tf.transpose(hi), dz));
      } else {
        grads.set(`W${i}`, tf.matMul(tf.transpose(hi), dz));
        acc(i - 1, tf.matMul(dz, tf.transpose(this.p(`W${i}`))));
      }
    }
    return { grads, lossSum, errors };
  }

  /** The gradients the step would apply, for tests (no update of parameters, BN state or slots). */
  gradients(x: NetInput, labels: tf.Tensor1D): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    tf.tidy(() => {
      const { grads } = this.backprop(x, null, labels, false);
      for (const [k, g] of grads) out.set(k, tf.keep(g));
    });
    return out;
  }

  /**
   * x W0, the first layer's product before BatchNorm: the same for every evaluation mode, so a caller that
   * evaluates x under both (a run's primary and variant) computes it once and hands it to `forward`.
   */
  firstProduct(x: NetInput): tf.Tensor2D {
    return this.product(x, this.p('W0'));
  }

  /** Forward pass in inference mode (call inside tf.tidy); `z0`, when given, is `firstProduct(x)`. */
  forward(x: NetInput, bn: 'batch' | 'moving' = 'batch', z0?: tf.Tensor2D): EvalResult {
    const L = this.spec.depth;
    const s: tf.Tensor2D[] = [];
    const a: tf.Tensor2D[] = [];
    let h: NetInput = x;
    for (let i = 0; i < L; i++) {
      const z = i === 0 && z0 ? z0 : this.product(h, this.p(`W${i}`));
      let centred: tf.Tensor2D;
      let variance: tf.Tensor;
      if (bn === 'batch') ({ centred, variance } = this.moments(z));
      else [centred, variance] = [tf.sub(z, this.state.get(`mean${i}`)!) as tf.Tensor2D, this.state.get(`var${i}`)!];
      a.push(this.bnTanh(centred, tf.rsqrt(tf.add(variance, BN_EPS)) as tf.Tensor1D, i));
      const src = this.residual[i];
      s.push(src >= 0 ? tf.add(a[i], s[src]) : a[i]);
      h = s[i];
    }
    const logits = tf.add(tf.matMul(this.head(s), this.p('Wout')), this.p('bout')) as tf.Tensor2D;
    return { first: a[0], last: a[L - 1], layers: a, logits };
  }

  /** Every variable (parameters, BN state, optimiser slots) as named float arrays, for checkpoints. */
  exportState(): Record<string, NamedArray> {
    const out: Record<string, NamedArray> = {};
    for (const [prefix, m] of [['p:', this.params], ['s:', this.state], ['o:', this.slots]] as const) {
      for (const [k, v] of m) out[prefix + k] = { shape: v.shape.slice(), data: v.dataSync() as Float32Array };
    }
    return out;
  }

  /** Load what exportState wrote, or a subset (tests set weights by hand with 'p:W0' etc.). */
  importState(values: Record<string, NamedArray>): void {
    const maps: Record<string, Map<string, tf.Variable>> = { 'p:': this.params, 's:': this.state, 'o:': this.slots };
    for (const [key, val] of Object.entries(values)) {
      const v = maps[key.slice(0, 2)]?.get(key.slice(2));
      if (!v) throw inputError(key, 'no such variable in this network');
      if (v.shape.join('x') !== val.shape.join('x')) throw inputError(key, `shape [${val.shape}] does not match this network's [${v.shape}]`);
      tf.tidy(() => v.assign(tf.tensor(val.data, v.shape)));
    }
  }

  dispose(): void {
    for (const m of [this.params, this.state, this.slots]) for (const v of m.values()) v.dispose();
  }
}
