/**
 * The DVCNN training step on plain numbers, in the memory of the SIMD kernel (assembly/dvcnn.ts ->
 * build/dvcnn.wasm): the fast path behind Dvcnn.step. It computes what Dvcnn.stepReference computes with tfjs
 * (forward z = (x - c) (A * M) + b, f = act(z), y = x + f; softmax cross-entropy; the hand-written backward
 * dz = g * f'(z), g <- g + dz (A * M)^T, dA = ((x - c)^T dz) * M; plain SGD layer by layer, each layer updated
 * after its old weights carried g down), to float32 rounding (test/dvcnn-step.test.ts). The gain: the products
 * skip the zero half of every triangular weight matrix and none of them needs a transposed copy of an operand.
 *
 * Memory layout (one WebAssembly.Memory per kernel, every block 16-byte aligned, rows padded to dp = width
 * rounded up to 4 floats, cp likewise for the classes, padding zero): per layer A_l (dp x dp) and b_l (dp);
 * outW (dp x cp), outB (cp); the centres c_0..c_L (dp each); then, sized for the largest batch n seen, each
 * layer's input X_0..X_L and non-linearity F_0..F_{L-1} (n x dp: the forward pass kept for the backward), and
 * scratch: the centred input, dz, two error-signal buffers, logits and d logits (n x cp), and dA and db for
 * the gradient hooks and clipping.
 */
import { inputError, internalError } from '../errors.js';
import { instantiateKernel, WASM_MAX_PAGES as MAX_PAGES, WASM_PAGE as PAGE, type WasmMemory } from './wasm-module.js';

const BASE = 65536;
const align16 = (floats: number): number => Math.ceil(floats / 4) * 4;

const MODE = { dense: 0, upper: 1, lower: 2 } as const;
const ACT = { sigmoid: 0, tanh: 1, relu: 2 } as const;

interface DvcnnExports {
  matMul(x: number, xs: number, w: number, ws: number, bias: number, out: number, os: number, n: number, k: number, m: number, mode: number): void;
  matMulT(dz: number, dzs: number, w: number, ws: number, g0: number, gs: number, out: number, os: number, n: number, k: number, m: number, mode: number): void;
  gradW(x: number, xs: number, dz: number, dzs: number, n: number, k: number, m: number, mode: number, a: number, as: number, rate: number, out: number): void;
  gradBias(dz: number, dzs: number, n: number, m: number, b: number, rate: number, out: number): void;
  center(x: number, c: number, n: number, m: number, s: number, out: number): void;
  activate(f: number, x: number, y: number, n: number, d: number, m: number, s: number, a: number): void;
  backAct(g: number, f: number, n: number, m: number, s: number, a: number, out: number): void;
  sgdUpdate(a: number, g: number, len: number, rate: number): void;
}

export interface KernelShape {
  width: number;
  classes: number;
  activation: keyof typeof ACT;
  /** per layer: which triangle of A can be nonzero */
  orientations: ('upper' | 'lower')[];
}

/** Plain-number weights, unpadded, row-major: A_l is width x width, outW width x classes. */
export interface KernelWeights {
  a: Float32Array[];
  b: Float32Array[];
  outW: Float32Array;
  outB: Float32Array;
}

export interface KernelStepOptions {
  /** SGD learning rate; without it the step only computes gradients */
  lr?: number;
  /** per-layer factor on lr, index = layer (depth = the output layer) */
  lrScale?: ArrayLike<number>;
  /** clip each layer's gradient (dA and db together) to this L2 norm before its update */
  clipNorm?: number;
  /** each layer's gradients and dL/d(its input), unpadded copies (layer = depth for the output layer) */
  onGrad?: (layer: number, dA: Float32Array, db: Float32Array, dx: Float32Array) => void;
}

export class DvcnnKernel {
  readonly width: number;
  readonly depth: number;
  readonly classes: number;
  private readonly dp: number;
  private readonly cp: number;
  private readonly act: number;
  private readonly modes: number[];
  private readonly memory: WasmMemory;
  private readonly k: DvcnnExports;
  // byte addresses
  private readonly aAt: number[] = [];
  private readonly bAt: number[] = [];
  private readonly outWAt: number;
  private readonly outBAt: number;
  private readonly cAt: number;
  private readonly actAt: number;
  private centred = false;
  /** batch rows the activation region is laid out for, and its addresses */
  private rows = 0;
  private lay = { x: [] as number[], f: [] as number[], xc: 0, dz: 0, g0: 0, g1: 0, logits: 0, dLogits: 0, dA: 0, db: 0 };

  constructor(shape: KernelShape) {
    const d = shape.width;
    this.width = d;
    this.depth = shape.orientations.length;
    this.classes = shape.classes;
    this.dp = align16(d);
    this.cp = align16(shape.classes);
    this.act = ACT[shape.activation];
    this.modes = shape.orientations.map((o) => MODE[o]);
    let at = BASE;
    const take = (floats: number): number => {
      const p = at;
      at += align16(floats) * 4;
      return p;
    };
    for (let l = 0; l < this.depth; l++) {
      this.aAt.push(take(this.dp * this.dp));
      this.bAt.push(take(this.dp));
    }
    this.outWAt = take(this.dp * this.cp);
    this.outBAt = take(this.cp);
    this.cAt = take((this.depth + 1) * this.dp);
    this.actAt = at;
    const pages = Math.ceil(at / PAGE) + 1;
    if (pages > MAX_PAGES) throw inputError('DVCNN', `the weights need ${pages} pages of wasm memory, more than the ${MAX_PAGES} (4 GiB) wasm can address; lower --depth or --width, or INFOFLOW_DVCNN_KERNEL=0`);
    const kernel = instantiateKernel<DvcnnExports>('build/dvcnn.wasm', at);
    this.memory = kernel.memory;
    this.k = kernel.exports;
  }

  private f32(at: number, floats: number): Float32Array {
    return new Float32Array(this.memory.buffer, at, floats);
  }

  /** Writes a rows x cols row-major matrix at `at` with row stride `stride` (padding left as it is: zero). */
  private put(at: number, src: ArrayLike<number>, rows: number, cols: number, stride: number, mask?: number): void {
    const dst = this.f32(at, rows * stride);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        // the products skip the masked triangle in whole blocks, so its entries must be exact zeros
        const keep = mask === undefined || mask === MODE.dense || (mask === MODE.upper ? r < c : r > c);
        dst[r * stride + c] = keep ? src[r * cols + c] : 0;
      }
    }
  }

  private get(at: number, rows: number, cols: number, stride: number): Float32Array {
    const src = this.f32(at, rows * stride);
    const out = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) out.set(src.subarray(r * stride, r * stride + cols), r * cols);
    return out;
  }

  /** Sets every weight (entries outside each layer's triangle are stored as zeros). */
  setWeights(w: KernelWeights): void {
    const { width: d, classes: c, dp, cp } = this;
    for (let l = 0; l < this.depth; l++) {
      this.put(this.aAt[l], w.a[l], d, d, dp, this.modes[l]);
      this.put(this.bAt[l], w.b[l], 1, d, dp);
    }
    this.put(this.outWAt, w.outW, d, c, cp);
    this.put(this.outBAt, w.outB, 1, c, cp);
  }

  weights(): KernelWeights {
    const { width: d, classes: c, dp, cp } = this;
    return {
      a: this.aAt.map((at) => this.get(at, d, d, dp)),
      b: this.bAt.map((at) => this.get(at, 1, d, dp)),
      outW: this.get(this.outWAt, d, c, cp),
      outB: this.get(this.outBAt, 1, c, cp),
    };
  }

  /** Centres c_0..c_depth of each layer's input (Dvcnn.setCenters), or undefined for none. */
  setCenters(centers: Float32Array[] | undefined): void {
    this.centred = centers !== undefined;
    if (centers) for (let l = 0; l <= this.depth; l++) this.put(this.cAt + l * this.dp * 4, centers[l], 1, this.width, this.dp);
  }

  /** Lays out the activations and scratch for n batch rows (grows the memory when needed). */
  private layout(n: number): void {
    if (n <= this.rows) return;
    const { dp, cp } = this;
    let at = this.actAt;
    const take = (floats: number): number => {
      const p = at;
      at += align16(floats) * 4;
      return p;
    };
    const x = Array.from({ length: this.depth + 1 }, () => take(n * dp));
    const f = Array.from({ length: this.depth }, () => take(n * dp));
    this.lay = { x, f, xc: take(n * dp), dz: take(n * dp), g0: take(n * dp), g1: take(n * dp), logits: take(n * cp), dLogits: take(n * cp), dA: take(dp * Math.max(dp, cp)), db: take(Math.max(dp, cp)) };
    const need = Math.ceil(at / PAGE);
    if (need > MAX_PAGES) throw inputError('DVCNN', `a step on ${n} rows needs ${need} pages of wasm memory, more than the ${MAX_PAGES} (4 GiB) wasm can address; lower --batch-size or --depth, or INFOFLOW_DVCNN_KERNEL=0`);
    const have = this.memory.buffer.byteLength / PAGE;
    if (need > have) this.memory.grow(need - have);
    new Uint8Array(this.memory.buffer, this.actAt, at - this.actAt).fill(0);
    this.rows = n;
  }

  /**
   * The logits (n x classes) of the n rows of x (n x width): the forward pass alone, in chunks of the rows
   * the step's buffers hold (at least 64), so evaluating many rows needs no memory beyond a step's.
   */
  logits(x: Float32Array, n: number): Float32Array {
    const { width: d, classes: nc, dp, cp, k, depth } = this;
    if (x.length !== n * d) throw internalError('DvcnnKernel.logits', `x has ${x.length} values; expected n * width = ${n * d}`);
    this.layout(Math.min(n, 64));
    const L = this.lay;
    const out = new Float32Array(n * nc);
    for (let from = 0; from < n; from += this.rows) {
      const m = Math.min(this.rows, n - from);
      this.put(L.x[0], x.subarray(from * d, (from + m) * d), m, d, dp);
      for (let l = 0; l < depth; l++) {
        k.matMul(this.input(l, m), dp, this.aAt[l], dp, this.bAt[l], L.f[l], dp, m, dp, dp, this.modes[l]);
        k.activate(L.f[l], L.x[l], L.x[l + 1], m, d, dp, dp, this.act);
      }
      k.matMul(this.input(depth, m), dp, this.outWAt, cp, this.outBAt, L.logits, cp, m, dp, cp, MODE.dense);
      out.set(this.get(L.logits, m, nc, cp), from * nc);
    }
    return out;
  }

  /** Address of layer l's input for the products: X_l, or X_l - c_l in the scratch buffer when centred. */
  private input(l: number, n: number): number {
    const L = this.lay;
    if (!this.centred) return L.x[l];
    this.k.center(L.x[l], this.cAt + l * this.dp * 4, n, this.dp, this.dp, L.xc);
    return L.xc;
  }

  /**
   * One forward and backward pass over the n rows of x (n x width) with targets `oneHot` (n x classes); with
   * `lr`, the SGD update of every layer. Returns the batch's mean softmax cross-entropy before the update.
   */
  step(x: Float32Array, oneHot: Float32Array, n: number, opts: KernelStepOptions = {}): number {
    const { width: d, classes: nc, dp, cp, k, depth } = this;
    if (x.length !== n * d) throw internalError('DvcnnKernel.step', `x has ${x.length} values; expected n * width = ${n * d}`);
    if (oneHot.length !== n * nc) throw internalError('DvcnnKernel.step', `oneHot has ${oneHot.length} values; expected n * classes = ${n * nc}`);
    this.layout(n);
    const L = this.lay;
    const { lr, lrScale, clipNorm, onGrad } = opts;
    const rate = (layer: number) => (lr ?? 0) * (lrScale ? lrScale[layer] : 1);
    this.put(L.x[0], x, n, d, dp);
    const input = (l: number): number => this.input(l, n);
    for (let l = 0; l < depth; l++) {
      k.matMul(input(l), dp, this.aAt[l], dp, this.bAt[l], L.f[l], dp, n, dp, dp, this.modes[l]);
      k.activate(L.f[l], L.x[l], L.x[l + 1], n, d, dp, dp, this.act);
    }
    // output layer: logits, then the loss and d loss / d logits = (softmax - oneHot) / n in float64
    const hc = input(depth);
    k.matMul(hc, dp, this.outWAt, cp, this.outBAt, L.logits, cp, n, dp, cp, MODE.dense);
    const logits = this.f32(L.logits, n * cp);
    const dLogits = this.f32(L.dLogits, n * cp);
    let loss = 0;
    for (let r = 0; r < n; r++) {
      let max = -Infinity;
      for (let c = 0; c < nc; c++) max = Math.max(max, logits[r * cp + c]);
      let sum = 0;
      for (let c = 0; c < nc; c++) sum += Math.exp(logits[r * cp + c] - max);
      const logSum = Math.log(sum);
      for (let c = 0; c < nc; c++) {
        const logp = logits[r * cp + c] - max - logSum;
        const t = oneHot[r * nc + c];
        loss -= t * logp;
        dLogits[r * cp + c] = (Math.exp(logp) - t) / n;
      }
    }
    loss /= n;
    const plan: GradPlan = { n, update: lr !== undefined, clipNorm, onGrad };
    let g = L.g0;
    let gNext = L.g1;
    k.matMulT(L.dLogits, cp, this.outWAt, cp, 0, 0, g, dp, n, dp, cp, MODE.dense);
    this.layerGrad(plan, { layer: depth, xc: hc, dz: L.dLogits, cols: nc, stride: cp, a: this.outWAt, b: this.outBAt, mode: MODE.dense, rate: rate(depth), dx: g });
    for (let l = depth - 1; l >= 0; l--) {
      k.backAct(g, L.f[l], n, dp, dp, this.act, L.dz);
      // the error signal below layer 0 is only wanted by the hook
      if (l > 0 || onGrad) k.matMulT(L.dz, dp, this.aAt[l], dp, g, dp, gNext, dp, n, dp, dp, this.modes[l]);
      this.layerGrad(plan, { layer: l, xc: input(l), dz: L.dz, cols: d, stride: dp, a: this.aAt[l], b: this.bAt[l], mode: this.modes[l], rate: rate(l), dx: gNext });
      [g, gNext] = [gNext, g];
    }
    return loss;
  }

  /**
   * A layer's weight and bias gradients from its (centred) input and dz: fused into the SGD update, or, for
   * the hook or clipping, written out first (dA, db), then handed on, clipped and applied.
   */
  private layerGrad(plan: GradPlan, t: LayerGrad): void {
    const { k, dp, width: d } = this;
    const L = this.lay;
    const { n, clipNorm, onGrad } = plan;
    const m = t.stride;
    if (onGrad === undefined && clipNorm === undefined) {
      if (!plan.update) return;
      k.gradW(t.xc, dp, t.dz, m, n, dp, m, t.mode, t.a, m, t.rate, 0);
      k.gradBias(t.dz, m, n, m, t.b, t.rate, 0);
      return;
    }
    k.gradW(t.xc, dp, t.dz, m, n, dp, m, t.mode, 0, m, 0, L.dA);
    k.gradBias(t.dz, m, n, m, 0, 0, L.db);
    onGrad?.(t.layer, this.get(L.dA, d, t.cols, m), this.get(L.db, 1, t.cols, m), this.get(t.dx, n, d, dp));
    if (!plan.update) return;
    let scale = 1;
    if (clipNorm !== undefined) {
      let sq = 0;
      for (const v of this.f32(L.dA, dp * m)) sq += v * v;
      for (const v of this.f32(L.db, m)) sq += v * v;
      const norm = Math.sqrt(sq);
      if (norm > clipNorm) scale = clipNorm / norm;
    }
    k.sgdUpdate(t.a, L.dA, dp * m, t.rate * scale);
    k.sgdUpdate(t.b, L.db, m, t.rate * scale);
  }
}

/** What every layer's gradient step shares. */
interface GradPlan {
  n: number;
  update: boolean;
  clipNorm: number | undefined;
  onGrad: KernelStepOptions['onGrad'];
}

/** One layer's operands for layerGrad (byte addresses): its input, dz (n x stride), weights A (dp x stride), b. */
interface LayerGrad {
  /** layer index; depth for the output layer */
  layer: number;
  xc: number;
  dz: number;
  /** output units (unpadded) and the row stride of dz and A */
  cols: number;
  stride: number;
  a: number;
  b: number;
  mode: number;
  rate: number;
  /** dL/d(the layer's input), n x dp, for the hook */
  dx: number;
}
