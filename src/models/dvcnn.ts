/**
 * Deep volume-conserving neural networks (DVCNN; Unterthiner & Hochreiter, after Deco & Brauer 1995).
 *
 * A layer maps x (width d) to y_i = x_i + f(sum_{j in I(i)} w_ij x_j + b_i), with I(i) = {j < i} ('upper'
 * in the paper's naming) or {j > i} ('lower'). Row-vector form, one sample per row: z = x (A * M) + b, where M
 * is a fixed strictly triangular 0/1 mask (M[j][i] = 1 iff j in I(i)) precomputed once per orientation and A
 * holds the weights (A[j][i] = w_ij). dy/dx = I + diag(f'(z)) (A * M)^T is triangular with a unit diagonal,
 * so |det| = 1 exactly: every layer conserves volume. L layers are followed by a dense softmax output.
 *
 * Weight init: w_ij ~ N(0, weightStd^2), weightStd default 1/sqrt(d) (a fan-in scale for the densest unit),
 * drawn from a seeded xoshiro128** stream so a config + seed gives the same network everywhere; masked entries
 * are zero. Biases: all set to `biasInit` (paper: about +-2, the saturating regime, gave the best generalisation;
 * the drift figure uses sigmoid with -2). Output layer: zero weights and bias (softmax regression's usual start:
 * the untrained net predicts uniformly; random output weights on top of drifted activations of ~40 gave
 * initial losses near 50 and an output layer SGD could not train).
 *
 * Default orientation 'alternate' (upper, lower, upper, ...): the paper does not say. With one orientation
 * only, unit i never sees units above it (unit 0 sees nothing at all, z_0 = b_0), so information mixes in one
 * direction only; alternating lets every unit depend on every input after two layers, at no cost in volume.
 */
import * as tf from '@tensorflow/tfjs-core';
import { configError, internalError, usageError } from '../errors.js';
import { Xoshiro128 } from '../random.js';
import { DvcnnKernel } from './dvcnn-kernel.js';

export const ACTIVATIONS = ['sigmoid', 'tanh', 'relu'] as const;
export type Activation = (typeof ACTIVATIONS)[number];
export const TRIANGLES = ['alternate', 'upper', 'lower'] as const;
export type Triangle = (typeof TRIANGLES)[number];
export type Orientation = 'upper' | 'lower';

export const MAX_DEPTH = 1000;
/**
 * Weights above this many bytes (float32, all layers) are refused before allocating: a clear error, not an OOM.
 * Each of the two copies (tfjs's and the SIMD kernel's) lives in a wasm memory of at most 4 GiB beside its
 * activations; 784 units x 1,000 layers, the paper's deepest net, is 2.29 GiB.
 */
export const MAX_WEIGHT_BYTES = 2.5 * 1024 ** 3;

export interface DvcnnConfig {
  /** units per layer = input features */
  width: number;
  /** number of volume-conserving layers, 1..1000 */
  depth: number;
  activation: Activation;
  triangle: Triangle;
  /** initial value of every hidden bias */
  biasInit: number;
  /** std of the initial hidden weights; default 1/sqrt(width) */
  weightStd?: number;
  classes: number;
  seed: number;
}

export const DEFAULT_DVCNN: Omit<DvcnnConfig, 'width'> = {
  depth: 10,
  activation: 'sigmoid',
  triangle: 'alternate',
  biasInit: -2,
  classes: 10,
  seed: 0,
};

export function parseActivation(value: string): Activation {
  if ((ACTIVATIONS as readonly string[]).includes(value)) return value as Activation;
  throw usageError('--activation', `unknown activation '${value}'; use sigmoid, tanh or relu`);
}

export function parseTriangle(value: string): Triangle {
  if ((TRIANGLES as readonly string[]).includes(value)) return value as Triangle;
  throw usageError('--triangle', `unknown triangle '${value}'; use alternate, upper or lower`);
}

/**
 * Checks a config at the public door (piscina style); `inputWidth`, when given, is the data's feature count.
 * Returns the warnings (ReLU: the paper found it diverges).
 */
export function validateDvcnnConfig(c: DvcnnConfig, inputWidth?: number): string[] {
  if (!Number.isInteger(c.depth) || c.depth < 1 || c.depth > MAX_DEPTH) {
    throw usageError('--depth', `a DVCNN needs an integer depth in [1, ${MAX_DEPTH}]; got ${c.depth}`);
  }
  if (!Number.isInteger(c.width) || c.width < 2) throw usageError('--width', `width must be an integer >= 2; got ${c.width}`);
  if (inputWidth !== undefined && c.width !== inputWidth) {
    throw usageError(
      '--width',
      `a volume-conserving layer keeps the input width, so width must equal the input's ${inputWidth} features; got ${c.width} (give --width the data's feature count)`,
    );
  }
  parseActivation(c.activation);
  parseTriangle(c.triangle);
  if (!Number.isFinite(c.biasInit)) throw usageError('--bias-init', `must be a finite number; got ${c.biasInit}`);
  if (c.weightStd !== undefined && !(Number.isFinite(c.weightStd) && c.weightStd >= 0)) {
    throw usageError('--weight-std', `must be a finite number >= 0; got ${c.weightStd}`);
  }
  if (!Number.isInteger(c.classes) || c.classes < 2) throw usageError('classes', `must be an integer >= 2; got ${c.classes}`);
  const bytes = c.depth * c.width * c.width * 4;
  if (bytes > MAX_WEIGHT_BYTES) {
    throw configError(
      'DVCNN',
      `depth ${c.depth} x width ${c.width} needs ${(bytes / 1024 ** 3).toFixed(1)} GiB of weights; lower --depth or use --width 196 or 49`,
    );
  }
  return c.activation === 'relu' ? ['relu: the paper found DVCNNs with ReLU diverge (unbounded drift); expect NaN losses'] : [];
}

export function orientationOf(triangle: Triangle, layer: number): Orientation {
  if (triangle === 'alternate') return layer % 2 === 0 ? 'upper' : 'lower';
  return triangle;
}

/** M[j][i] (row-major d x d) = 1 iff j in I(i): j < i for 'upper', j > i for 'lower'. */
export function maskValues(d: number, o: Orientation): Float32Array {
  const m = new Float32Array(d * d);
  for (let j = 0; j < d; j++) for (let i = 0; i < d; i++) if (o === 'upper' ? j < i : j > i) m[j * d + i] = 1;
  return m;
}

/** tfjs backends on which Dvcnn.step runs the SIMD kernel (in-process, on the same CPU thread); native TensorFlow keeps its own. */
export const DVCNN_KERNEL_BACKENDS = ['wasm', 'cpu'];

/** Whether Dvcnn.step uses the SIMD kernel on the current backend (env INFOFLOW_DVCNN_KERNEL=0 turns it off). */
export function dvcnnKernelEnabled(): boolean {
  return process.env.INFOFLOW_DVCNN_KERNEL !== '0' && DVCNN_KERNEL_BACKENDS.includes(tf.getBackend());
}

export function applyActivation(a: Activation, z: tf.Tensor): tf.Tensor {
  return a === 'sigmoid' ? tf.sigmoid(z) : a === 'tanh' ? tf.tanh(z) : tf.relu(z);
}

/**
 * Sees each layer of a forward pass: its index (0-based), f (the non-linearity's value) and y (the layer output),
 * valid only during the call (they are freed with the layer's other tensors right after it).
 */
export type LayerVisitor = (layer: number, f: tf.Tensor2D, y: tf.Tensor2D) => void;

/** Plain numbers of a network (the reference forward, tests, checkpoints). */
export interface DvcnnWeights {
  /** per layer, A (d x d row-major, masked entries zero) */
  a: Float32Array[];
  b: Float32Array[];
  outW: Float32Array;
  outB: Float32Array;
}

export interface StepOptions {
  /** SGD learning rate; without it the step only computes gradients */
  lr?: number;
  /** per-layer factor on lr, index = layer (depth = the output layer) */
  lrScale?: ArrayLike<number>;
  /** clip each layer's gradient (dA and db together) to this L2 norm before its update */
  clipNorm?: number;
  onGrad?: (layer: number, dA: tf.Tensor2D, db: tf.Tensor1D, dx: tf.Tensor2D) => void;
}

export class Dvcnn {
  readonly config: DvcnnConfig;
  readonly warnings: string[];
  private readonly va: tf.Variable[] = [];
  private readonly vb: tf.Variable[] = [];
  private readonly vOutW: tf.Variable;
  private readonly vOutB: tf.Variable;
  /** the fast step's copy of the weights (src/models/dvcnn-kernel.ts), made on the first fast step */
  private kernel: DvcnnKernel | undefined;
  /** which copy holds the current weights: the tf variables, the kernel's, or both */
  private tfFresh = true;
  private kernelFresh = false;
  private readonly masks: Record<Orientation, tf.Tensor2D>;
  /** fixed centres c_l of each layer's input (index depth = the output layer's); none: c_l = 0 */
  private centers: tf.Tensor1D[] | undefined;

  constructor(config: DvcnnConfig, inputWidth?: number) {
    this.warnings = validateDvcnnConfig(config, inputWidth);
    this.config = { ...config };
    const d = config.width;
    const rng = new Xoshiro128(config.seed);
    const std = config.weightStd ?? 1 / Math.sqrt(d);
    const maskData = { upper: maskValues(d, 'upper'), lower: maskValues(d, 'lower') };
    this.masks = { upper: tf.tensor2d(maskData.upper, [d, d]), lower: tf.tensor2d(maskData.lower, [d, d]) };
    for (let l = 0; l < config.depth; l++) {
      const w = rng.fillGaussian(new Float32Array(d * d), std);
      const m = maskData[orientationOf(config.triangle, l)];
      for (let k = 0; k < w.length; k++) w[k] *= m[k];
      // in a tidy, so that the initial tensors go: a variable shares its initial tensor's data, and that tensor,
      // left alive, would keep the data after the first assign (two copies of every weight: wasm's 4 GiB at 1,000 layers)
      this.va.push(tf.tidy(() => tf.variable(tf.tensor2d(w, [d, d]))));
      this.vb.push(tf.tidy(() => tf.variable(tf.fill([d], config.biasInit))));
    }
    this.vOutW = tf.tidy(() => tf.variable(tf.zeros([d, config.classes])));
    this.vOutB = tf.tidy(() => tf.variable(tf.zeros([config.classes])));
  }

  /**
   * The weights as tf variables (A_l, b_l, W_out, b_out). After fast steps they are brought up to date first;
   * a caller may assign to them, so the fast step reloads its copy afterwards.
   */
  get a(): tf.Variable[] {
    return this.tfForWriting().va;
  }

  get b(): tf.Variable[] {
    return this.tfForWriting().vb;
  }

  get outW(): tf.Variable {
    return this.tfForWriting().vOutW;
  }

  get outB(): tf.Variable {
    return this.tfForWriting().vOutB;
  }

  /** Trainable variables, layers first then the output layer. */
  variables(): tf.Variable[] {
    this.tfForWriting();
    return [...this.va, ...this.vb, this.vOutW, this.vOutB];
  }

  /** Brings the tf variables up to date from the fast step's copy (after fast steps). */
  private syncTf(): void {
    if (this.tfFresh || !this.kernel) return;
    const w = this.kernel.weights();
    const d = this.config.width;
    tf.tidy(() => {
      for (let l = 0; l < this.config.depth; l++) {
        this.va[l].assign(tf.tensor2d(w.a[l], [d, d]));
        this.vb[l].assign(tf.tensor1d(w.b[l]));
      }
      this.vOutW.assign(tf.tensor2d(w.outW, [d, this.config.classes]));
      this.vOutB.assign(tf.tensor1d(w.outB));
    });
    this.tfFresh = true;
  }

  private tfForWriting(): this {
    this.syncTf();
    this.kernelFresh = false;
    return this;
  }

  /** The fast step's kernel with the current weights and centres (loaded from the tf variables when stale). */
  private freshKernel(): DvcnnKernel {
    if (!this.kernel) {
      const orientations = Array.from({ length: this.config.depth }, (_, l) => orientationOf(this.config.triangle, l));
      this.kernel = new DvcnnKernel({ width: this.config.width, classes: this.config.classes, activation: this.config.activation, orientations });
    }
    if (!this.kernelFresh) {
      this.kernel.setWeights(this.weights());
      this.kernel.setCenters(this.getCenters());
      this.kernelFresh = true;
    }
    return this.kernel;
  }

  mask(layer: number): tf.Tensor2D {
    return this.masks[orientationOf(this.config.triangle, layer)];
  }

  /**
   * Centred parametrisation (Schraudolph 1998; LeCun et al. 1998, Efficient BackProp 4.3): layer l computes
   * z = (x - c_l)(A * M) + b and the output layer (h - c_L) W + b_out, with fixed centres c_l (the mean of each
   * layer's input over training images). This is the same function class (c_l (A * M) folds into the bias)
   * and the same Jacobian, so volume conservation is untouched; what changes is SGD's conditioning: the weight
   * gradient (x - c)^T dz no longer carries the drifted mean (~37 on every unit at layer 100), whose curvature
   * made plain SGD jump. With `keepFunction` the biases are shifted by c_l (A * M) (and b_out by c_L W) so the
   * network computes exactly what it computed before; a checkpoint restore passes false.
   */
  setCenters(centers: Float32Array[], keepFunction: boolean): void {
    if (centers.length !== this.config.depth + 1) throw internalError('Dvcnn.setCenters', `needs depth + 1 = ${this.config.depth + 1} vectors; got ${centers.length}`);
    this.tfForWriting();
    this.centers?.forEach((c) => c.dispose());
    this.centers = centers.map((c) => tf.keep(tf.tensor1d(c)));
    if (!keepFunction) return;
    for (let l = 0; l < this.config.depth; l++) {
      this.vb[l].assign(tf.tidy(() => tf.add(this.vb[l], tf.squeeze(tf.matMul(tf.reshape(this.centers![l], [1, -1]), tf.mul(this.va[l], this.mask(l)))))));
    }
    const cL = this.centers[this.config.depth];
    this.vOutB.assign(tf.tidy(() => tf.add(this.vOutB, tf.squeeze(tf.matMul(tf.reshape(cL, [1, -1]), this.vOutW)))));
  }

  /** The centres as plain numbers (checkpoints); undefined when the net is not centred. */
  getCenters(): Float32Array[] | undefined {
    return this.centers?.map((c) => c.dataSync() as Float32Array);
  }

  /** x - c_l, or x itself when the net is not centred. */
  private centered(l: number, x: tf.Tensor2D): tf.Tensor2D {
    return this.centers ? (tf.sub(x, this.centers[l]) as tf.Tensor2D) : x;
  }

  /** One volume-conserving layer: returns [f, y]. */
  layer(l: number, x: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
    this.syncTf();
    const z = tf.add(tf.matMul(this.centered(l, x), tf.mul(this.va[l], this.mask(l))), this.vb[l]);
    const f = applyActivation(this.config.activation, z) as tf.Tensor2D;
    return [f, tf.add(x, f)];
  }

  /**
   * Output of the last volume-conserving layer (n x d); `visit` sees each layer as it is computed. Each layer
   * runs in its own tidy and the previous layer's output is freed once used, so a pass holds two layers'
   * tensors at a time (at 1,000 layers of 784 units, holding them all would exceed wasm's 4 GiB).
   */
  hidden(x: tf.Tensor2D, visit?: LayerVisitor): tf.Tensor2D {
    let h = x;
    for (let l = 0; l < this.config.depth; l++) {
      const input = h;
      h = tf.tidy(() => {
        const [f, y] = this.layer(l, input);
        visit?.(l, f, y);
        return y;
      });
      if (input !== x) input.dispose();
    }
    return h;
  }

  /** The logits (n x classes): on the SIMD kernel where Dvcnn.step uses it, else `logitsReference`. */
  logits(x: tf.Tensor2D): tf.Tensor2D {
    if (!dvcnnKernelEnabled()) return this.logitsReference(x);
    const n = x.shape[0];
    return tf.tensor2d(this.freshKernel().logits(x.dataSync() as Float32Array, n), [n, this.config.classes]);
  }

  /** The slow reference of `logits`, on tfjs ops. */
  logitsReference(x: tf.Tensor2D): tf.Tensor2D {
    this.syncTf();
    return tf.add(tf.matMul(this.centered(this.config.depth, this.hidden(x)), this.vOutW), this.vOutB);
  }

  /** Mean softmax cross-entropy of a batch (labels as one-hot n x classes); forward only. */
  loss(x: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
    return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(this.logits(x))), 1))) as tf.Scalar);
  }

  /**
   * One SGD step (or, without `lr`, the gradients only): what `stepReference` computes, on the SIMD kernel
   * (src/models/dvcnn-kernel.ts) where it runs (the wasm and cpu backends; INFOFLOW_DVCNN_KERNEL=0 turns it
   * off), else on tfjs. `onGrad` receives tensors either way (disposed after the call). Returns the batch's mean
   * loss before the update.
   */
  step(x: tf.Tensor2D, oneHot: tf.Tensor2D, opts: StepOptions = {}): number {
    if (!dvcnnKernelEnabled()) return this.stepReference(x, oneHot, opts);
    const { onGrad } = opts;
    const n = x.shape[0];
    const d = this.config.width;
    const kernel = this.freshKernel();
    const hook = onGrad
      ? (layer: number, dA: Float32Array, db: Float32Array, dx: Float32Array) =>
          tf.tidy(() => onGrad(layer, tf.tensor2d(dA, [d, dA.length / d]), tf.tensor1d(db), tf.tensor2d(dx, [n, d])))
      : undefined;
    const loss = kernel.step(x.dataSync() as Float32Array, oneHot.dataSync() as Float32Array, n, { ...opts, onGrad: hook });
    if (opts.lr !== undefined) this.tfFresh = false;
    return loss;
  }

  /**
   * The slow reference of `step`, on tfjs ops.
   * One forward and backward pass with the gradients written out by hand (tfjs-core's Node bundle registers
   * no gradient kernels, and the model is simple enough): for layer l with input x_l and non-linearity f_l,
   * dz = g * f'(z_l), dA_l = (x_l^T dz) * M_l, db_l = sum_rows(dz), g <- g + dz (A_l * M_l)^T.
   * `onGrad(layer, dA, db, dx)` sees each layer's gradients and dx = dL/d(its input) (layer = depth for the
   * output layer); with `lr` each
   * layer is updated by SGD as soon as its gradient is known (the old weights carry g down first), so the
   * full gradient is never held at once. Returns the batch's mean loss before the update.
   */
  stepReference(x: tf.Tensor2D, oneHot: tf.Tensor2D, opts: StepOptions = {}): number {
    const { lr, onGrad, lrScale, clipNorm } = opts;
    if (lr !== undefined) this.tfForWriting();
    else this.syncTf();
    const rate = (layer: number) => (lr ?? 0) * (lrScale ? lrScale[layer] : 1);
    // per-layer clipping: the layer's (dA, db) is scaled to norm <= clipNorm before the update
    const clip = (dA: tf.Tensor, db: tf.Tensor): number => {
      if (clipNorm === undefined) return 1;
      const norm = Math.sqrt((tf.add(tf.sum(tf.square(dA)), tf.sum(tf.square(db))).dataSync() as Float32Array)[0]);
      return norm > clipNorm ? clipNorm / norm : 1;
    };
    const act = this.config.activation;
    const inputs: tf.Tensor2D[] = [];
    const fs: tf.Tensor2D[] = [];
    const n = x.shape[0];
    let h: tf.Tensor2D = x;
    let g: tf.Tensor2D;
    let loss: number;
    try {
      for (let l = 0; l < this.config.depth; l++) {
        const [f, y] = tf.tidy(() => this.layer(l, h));
        inputs.push(h);
        fs.push(f);
        h = y;
      }
      const hL = h;
      let lossT: tf.Scalar;
      [g, lossT] = tf.tidy((): [tf.Tensor2D, tf.Scalar] => {
        const hc = this.centered(this.config.depth, hL);
        const logits = tf.add(tf.matMul(hc, this.vOutW), this.vOutB) as tf.Tensor2D;
        const logp = tf.logSoftmax(logits);
        const ls = tf.neg(tf.div(tf.sum(tf.mul(oneHot, logp)), n)) as tf.Scalar;
        // d loss / d logits = (softmax - onehot) / n
        const dLogits = tf.div(tf.sub(tf.exp(logp), oneHot), n) as tf.Tensor2D;
        const dW = tf.matMul(hc, dLogits, true, false) as tf.Tensor2D;
        const db = tf.sum(dLogits, 0) as tf.Tensor1D;
        const gh = tf.matMul(dLogits, this.vOutW, false, true) as tf.Tensor2D;
        onGrad?.(this.config.depth, dW, db, gh);
        if (lr !== undefined) {
          const r = rate(this.config.depth) * clip(dW, db);
          this.vOutW.assign(tf.sub(this.vOutW, tf.mul(dW, r)));
          this.vOutB.assign(tf.sub(this.vOutB, tf.mul(db, r)));
        }
        return [gh, ls];
      });
      hL.dispose();
      loss = (lossT.dataSync() as Float32Array)[0];
      lossT.dispose();
      for (let l = this.config.depth - 1; l >= 0; l--) {
        const gOld = g;
        g = tf.tidy(() => {
          const f = fs[l];
          const fp = act === 'sigmoid' ? tf.mul(f, tf.sub(1, f)) : act === 'tanh' ? tf.sub(1, tf.square(f)) : tf.cast(tf.greater(f, 0), 'float32');
          const dz = tf.mul(gOld, fp) as tf.Tensor2D;
          const w = tf.mul(this.va[l], this.mask(l)) as tf.Tensor2D;
          const dA = tf.mul(tf.matMul(this.centered(l, inputs[l]), dz, true, false), this.mask(l)) as tf.Tensor2D;
          const db = tf.sum(dz, 0) as tf.Tensor1D;
          const gNew = tf.add(gOld, tf.matMul(dz, w, false, true)) as tf.Tensor2D;
          onGrad?.(l, dA, db, gNew);
          if (lr !== undefined) {
            const r = rate(l) * clip(dA, db);
            this.va[l].assign(tf.sub(this.va[l], tf.mul(dA, r)));
            this.vb[l].assign(tf.sub(this.vb[l], tf.mul(db, r)));
          }
          return gNew;
        });
        gOld.dispose();
        fs[l].dispose();
        if (l > 0) inputs[l].dispose();
      }
      g.dispose();
    } catch (e) {
      for (const t of [...fs, ...inputs.slice(1)]) if (!t.isDisposed) t.dispose();
      throw e;
    }
    return loss;
  }

  weights(): DvcnnWeights {
    if (!this.tfFresh && this.kernel) return this.kernel.weights();
    return {
      a: this.va.map((v) => v.dataSync() as Float32Array),
      b: this.vb.map((v) => v.dataSync() as Float32Array),
      outW: this.vOutW.dataSync() as Float32Array,
      outB: this.vOutB.dataSync() as Float32Array,
    };
  }

  /** Sets every weight from plain numbers (tests with hand-set layers, checkpoints). Masked entries are zeroed. */
  setWeights(w: DvcnnWeights): void {
    const d = this.config.width;
    this.kernelFresh = false;
    this.tfFresh = true;
    const masks = { upper: maskValues(d, 'upper'), lower: maskValues(d, 'lower') };
    for (let l = 0; l < this.config.depth; l++) {
      const m = masks[orientationOf(this.config.triangle, l)];
      const a = Float32Array.from(w.a[l], (v, k) => v * m[k]);
      tf.tidy(() => {
        this.va[l].assign(tf.tensor2d(a, [d, d]));
        this.vb[l].assign(tf.tensor1d(w.b[l]));
      });
    }
    tf.tidy(() => {
      this.vOutW.assign(tf.tensor2d(w.outW, [d, this.config.classes]));
      this.vOutB.assign(tf.tensor1d(w.outB));
    });
  }

  dispose(): void {
    this.kernel = undefined;
    for (const v of [...this.va, ...this.vb, this.vOutW, this.vOutB]) v.dispose();
    this.centers?.forEach((c) => c.dispose());
    this.masks.upper.dispose();
    this.masks.lower.dispose();
  }
}

function fScalar(a: Activation, z: number): number {
  return a === 'sigmoid' ? 1 / (1 + Math.exp(-z)) : a === 'tanh' ? Math.tanh(z) : Math.max(0, z);
}

function fPrime(a: Activation, z: number): number {
  if (a === 'sigmoid') {
    const s = 1 / (1 + Math.exp(-z));
    return s * (1 - s);
  }
  return a === 'tanh' ? 1 - Math.tanh(z) ** 2 : z > 0 ? 1 : 0;
}

/**
 * The slow reference: one sample through the volume-conserving layers in float64, straight from the paper's
 * sum (no masks, no matrices). Returns the hidden output and, when asked, the exact Jacobian dy_L/dx (d x d,
 * row i = output i) as the product of the layer Jacobians I + diag(f'(z)) W.
 */
export function referenceForward(
  config: Pick<DvcnnConfig, 'width' | 'depth' | 'activation' | 'triangle'>,
  w: Pick<DvcnnWeights, 'a' | 'b'>,
  x: ArrayLike<number>,
  withJacobian = false,
): { y: Float64Array; jacobian?: Float64Array } {
  const d = config.width;
  let h = Float64Array.from(x);
  let jac: Float64Array | undefined;
  if (withJacobian) {
    jac = new Float64Array(d * d);
    for (let i = 0; i < d; i++) jac[i * d + i] = 1;
  }
  for (let l = 0; l < config.depth; l++) {
    const upper = orientationOf(config.triangle, l) === 'upper';
    const a = w.a[l];
    const next = new Float64Array(d);
    const layerJ = withJacobian ? new Float64Array(d * d) : undefined;
    for (let i = 0; i < d; i++) {
      let z = w.b[l][i];
      for (let j = 0; j < d; j++) if (upper ? j < i : j > i) z += a[j * d + i] * h[j];
      next[i] = h[i] + fScalar(config.activation, z);
      if (layerJ) {
        layerJ[i * d + i] = 1;
        const fp = fPrime(config.activation, z);
        for (let j = 0; j < d; j++) if (upper ? j < i : j > i) layerJ[i * d + j] = fp * a[j * d + i];
      }
    }
    if (layerJ && jac) {
      const prod = new Float64Array(d * d);
      for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) {
        const v = layerJ[i * d + k];
        if (v !== 0) for (let j = 0; j < d; j++) prod[i * d + j] += v * jac[k * d + j];
      }
      jac = prod;
    }
    h = next;
  }
  return { y: h, jacobian: jac };
}

/** log|det M| of a d x d row-major matrix in float64 (LU with partial pivoting); -Infinity when singular. */
export function logAbsDet(m: ArrayLike<number>, d: number): number {
  const a = Float64Array.from(m);
  let logDet = 0;
  for (let c = 0; c < d; c++) {
    let p = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(a[r * d + c]) > Math.abs(a[p * d + c])) p = r;
    const pivot = a[p * d + c];
    if (pivot === 0) return -Infinity;
    if (p !== c) for (let k = 0; k < d; k++) [a[p * d + k], a[c * d + k]] = [a[c * d + k], a[p * d + k]];
    logDet += Math.log(Math.abs(pivot));
    for (let r = c + 1; r < d; r++) {
      const factor = a[r * d + c] / pivot;
      if (factor !== 0) for (let k = c; k < d; k++) a[r * d + k] -= factor * a[c * d + k];
    }
  }
  return logDet;
}
