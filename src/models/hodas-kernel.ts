/**
 * The Hodas & Stinis training step on plain numbers, in the memory of the SIMD kernel (assembly/hodas.ts ->
 * build/hodas.wasm): the fast path behind HodasNet.step for a sparse input. It computes what the tfjs step
 * computes (src/models/hodas.ts: X W0 sparse, z = h W, BatchNorm with the batch's statistics, tanh, residual and
 * shortcut sums, softmax cross-entropy, the hand-written backward pass, RMSprop), to float32 rounding
 * (test/hodas-step.test.ts). The gain: no transposed operand is ever materialised (tfjs-wasm transposes h and
 * W for every weight and input gradient), and BatchNorm + tanh, forward and backward, are one pass each
 * instead of ~10 tfjs ops over n x W tensors (bench/README.md, the training step's profile).
 *
 * Memory layout (one WebAssembly.Memory per SparseInput, every block 16-byte aligned, rows padded to a multiple
 * of 4 floats, padding zero): the CSR of X (copied once; minibatch steps read it) and its chunked column layout
 * (sparse-chunks.ts, built once; full-batch steps read it), then per step: the rows, the labels, per parameter
 * its values, RMSprop accumulator and gradient; per layer the BN statistics, zhat (z, overwritten), a, the layer
 * output s (a itself unless a residual joins) and its error signal ds; the head's sum, logits, d logits, and the
 * chunked products' packed block.
 */
import * as tf from '@tensorflow/tfjs-core';
import { inputError, internalError } from '../errors.js';
import { SPARSE_BACKENDS, type SparseInput } from './sparse.js';
import { type ChunkOffsets, layChunks } from './sparse-chunks.js';
import { instantiateKernel, WASM_MAX_PAGES as MAX_PAGES, WASM_PAGE as PAGE, type WasmMemory } from './wasm-module.js';

const BASE = 65536;
const pad4 = (v: number): number => Math.ceil(v / 4) * 4;
const DENSE = 0;

interface HodasExports {
  spmm(rowPtr: number, col: number, val: number, rows: number, m: number, b: number, w: number, out: number): void;
  spmmT(rowPtr: number, col: number, val: number, rows: number, m: number, g: number, w: number, d: number, out: number): void;
  spmmChunks(segFirst: number, segCol: number, segPtr: number, rowIn: number, val: number, n: number, b: number, w: number, out: number, pack: number): void;
  spmmTChunks(segFirst: number, segCol: number, segPtr: number, rowIn: number, val: number, n: number, g: number, w: number, d: number, out: number, pack: number): void;
  CHUNK_ROWS: { value: number };
  matMul(x: number, xs: number, w: number, ws: number, bias: number, out: number, os: number, n: number, k: number, m: number, mode: number): void;
  weightGrad(x: number, xs: number, dz: number, n: number, k: number, m: number, out: number): void;
  gradBias(dz: number, dzs: number, n: number, m: number, b: number, rate: number, out: number): void;
  bnTanh(z: number, a: number, n: number, m: number, s: number, gamma: number, beta: number, eps: number, mean: number, variance: number, rstd: number): void;
  bnTanhBack(g: number, a: number, zhat: number, n: number, m: number, s: number, gamma: number, rstd: number, dgamma: number, dbeta: number, consts: number): void;
  addInto(x: number, y: number, out: number, n: number, m: number, s: number): void;
  softmaxXent(logits: number, cs: number, n: number, c: number, labels: number, dlogits: number, stats: number): void;
  rmsprop(p: number, g: number, acc: number, len: number, lr: number, rho: number, eps: number): void;
}

/** Whether HodasNet.step uses this kernel for a sparse input (env INFOFLOW_HODAS_KERNEL=0: the tfjs step). */
export function hodasKernelEnabled(): boolean {
  return process.env.INFOFLOW_HODAS_KERNEL !== '0' && SPARSE_BACKENDS.includes(tf.getBackend());
}

/** The network as plain numbers; params and slots are updated in place by a step. */
export interface KernelNet {
  widths: number[];
  residual: number[];
  shortcut: boolean;
  classes: number;
  /** W0, gamma0, beta0, ..., W_{L-1}, gamma_{L-1}, beta_{L-1}, Wout, bout (HodasNet.params' order), row-major */
  params: Float32Array[];
  /** the RMSprop accumulators, same order and shapes */
  slots: Float32Array[];
}

export interface KernelStepOptions {
  lr: number;
  bnEps: number;
  rho: number;
  rmsEps: number;
}

export interface KernelStepResult {
  lossSum: number;
  errors: number;
  /** per layer: the batch's column means and biased variances of z (for the moving averages) */
  mean: Float32Array[];
  variance: Float32Array[];
}

/** A parameter block: rows x cols stored with row stride cp (cols rounded up to 4). */
interface Block {
  rows: number;
  cols: number;
  cp: number;
  at: number;
  slot: number;
  grad: number;
}

/** Byte offsets of a step's blocks, laid out in one bump pass. */
class Layout {
  end: number;
  constructor(start: number) {
    this.end = start;
  }
  take(floats: number): number {
    const at = this.end;
    this.end += pad4(floats) * 4;
    return at;
  }
}

const kernels = new WeakMap<SparseInput, HodasKernel>();

export class HodasKernel {
  private readonly sparse: SparseInput;
  private readonly memory: WasmMemory;
  private readonly k: HodasExports;
  private readonly rowPtr = BASE;
  private readonly col: number;
  private readonly val: number;
  /** the chunked column layout of X (sparse-chunks.ts), for the full-batch products: byte offsets */
  private readonly chunks: ChunkOffsets;
  private readonly chunkRows: number;
  private readonly scratch: number;

  /** The kernel holding this input's CSR (one per SparseInput, created on first use). */
  static for(sparse: SparseInput): HodasKernel {
    let k = kernels.get(sparse);
    if (!k) kernels.set(sparse, (k = new HodasKernel(sparse)));
    return k;
  }

  private constructor(sparse: SparseInput) {
    this.sparse = sparse;
    this.col = BASE + pad4(sparse.n + 1) * 4;
    this.val = this.col + pad4(sparse.nnz) * 4;
    const csrEnd = this.val + pad4(sparse.nnz) * 4;
    ({ memory: this.memory, exports: this.k } = instantiateKernel<HodasExports>('build/hodas.wasm', csrEnd));
    sparse.copyCsr(this.memory.buffer, this.rowPtr, this.col, this.val);
    if (this.k.CHUNK_ROWS.value !== sparse.chunkRows) throw internalError('HodasKernel', `build/hodas.wasm chunks ${this.k.CHUNK_ROWS.value} rows, build/sparse.wasm ${sparse.chunkRows}; rebuild with \`npm run build\``);
    this.chunkRows = sparse.chunkRows;
    const lay = layChunks(sparse.chunkSizes, csrEnd);
    this.chunks = lay.at;
    this.scratch = lay.end;
    sparse.copyChunks(this.reserve(lay.end), lay.at);
  }

  private reserve(end: number): ArrayBuffer {
    const need = Math.ceil(end / PAGE);
    const have = this.memory.buffer.byteLength / PAGE;
    if (need > MAX_PAGES) throw inputError('training step kernel', `the step needs ${need} pages of wasm memory, more than the ${MAX_PAGES} (4 GiB) wasm can address; use fewer rows or a smaller width, or INFOFLOW_HODAS_KERNEL=0`);
    if (need > have) this.memory.grow(need - have);
    return this.memory.buffer;
  }

  /** One step on X[rows] (rows null: all rows in order) with integer labels; updates net.params and net.slots. */
  step(net: KernelNet, rows: Int32Array | null, labels: ArrayLike<number>, o: KernelStepOptions): KernelStepResult {
    const { widths, residual, classes } = net;
    const L = widths.length;
    const n = rows ? rows.length : this.sparse.n;
    const d = this.sparse.d;
    const lay = new Layout(this.scratch);
    const rowsAt = rows ? lay.take(n) : 0;
    const labelsAt = lay.take(n);
    const blocks: Block[] = [];
    const block = (r: number, c: number): Block => {
      const cp = pad4(c);
      const b = { rows: r, cols: c, cp, at: lay.take(r * cp), slot: lay.take(r * cp), grad: lay.take(r * cp) };
      blocks.push(b);
      return b;
    };
    const wp = widths.map(pad4);
    const W: Block[] = [];
    const gamma: Block[] = [];
    const beta: Block[] = [];
    for (let i = 0; i < L; i++) {
      // a weight matrix's rows are its fan-in, padded like the activations it multiplies (layer 0: X's d columns)
      W.push(block(i === 0 ? d : wp[i - 1], widths[i]));
      gamma.push(block(1, widths[i]));
      beta.push(block(1, widths[i]));
    }
    const outW = block(wp[L - 1], classes);
    const outB = block(1, classes);
    const cp = outW.cp;
    const mean = widths.map((w) => lay.take(pad4(w)));
    const variance = widths.map((w) => lay.take(pad4(w)));
    const rstd = widths.map((w) => lay.take(pad4(w)));
    const zhat = wp.map((w) => lay.take(n * w));
    const act = wp.map((w) => lay.take(n * w));
    const out = wp.map((w, i) => (residual[i] >= 0 ? lay.take(n * w) : act[i]));
    const ds = wp.map((w) => lay.take(n * w));
    const top = net.shortcut ? lay.take(n * wp[L - 1]) : out[L - 1];
    // the weights transposed (fan-out x fan-in), for the error signals dz W^T as untransposed products
    const wT = W.map((b, i) => (i === 0 ? 0 : lay.take(b.cp * b.rows)));
    const outWT = lay.take(outW.cp * outW.rows);
    const spare = lay.take(n * Math.max(...wp));
    const logits = lay.take(n * cp);
    const dlogits = lay.take(n * cp);
    const stats = lay.take(4);
    // bnTanhBack's per-column factors
    const bnConsts = lay.take(3 * Math.max(...wp));
    // the chunked products' packed block: CHUNK_ROWS rows of 32 floats
    const pack = lay.take(this.chunkRows * 32);
    const buf = this.reserve(lay.end);

    // parameters in: rows of block i of HodasNet's order; W_i's padded rows and columns stay zero
    const f32 = new Float32Array(buf);
    const put = (b: Block, src: Float32Array, at: number, srcRows: number) => {
      f32.fill(0, at / 4, at / 4 + b.rows * b.cp);
      for (let r = 0; r < srcRows; r++) f32.set(src.subarray(r * b.cols, (r + 1) * b.cols), at / 4 + r * b.cp);
    };
    const fanIn = (i: number) => (i === 0 ? d : widths[i - 1]);
    const srcRows = blocks.map((_, j) => (j < 3 * L ? (j % 3 === 0 ? fanIn(j / 3) : 1) : j === 3 * L ? widths[L - 1] : 1));
    blocks.forEach((b, j) => {
      put(b, net.params[j], b.at, srcRows[j]);
      put(b, net.slots[j], b.slot, srcRows[j]);
    });
    const transpose = (b: Block, at: number) => {
      for (let r = 0; r < b.rows; r++) for (let c = 0; c < b.cp; c++) f32[at / 4 + c * b.rows + r] = f32[b.at / 4 + r * b.cp + c];
    };
    W.forEach((b, i) => i > 0 && transpose(b, wT[i]));
    transpose(outW, outWT);
    if (rows) new Int32Array(buf, rowsAt, n).set(rows);
    new Int32Array(buf, labelsAt, n).set(labels);

    const k = this.k;
    const ch = this.chunks;
    // forward in training mode
    for (let i = 0; i < L; i++) {
      const w = wp[i];
      if (i === 0) {
        if (rows) k.spmm(this.rowPtr, this.col, this.val, rowsAt, n, W[0].at, w, zhat[0]);
        else k.spmmChunks(ch.segFirst, ch.segCol, ch.segPtr, ch.rowIn, ch.val, n, W[0].at, w, zhat[0], pack);
      }
      else k.matMul(out[i - 1], wp[i - 1], W[i].at, w, 0, zhat[i], w, n, wp[i - 1], w, DENSE);
      k.bnTanh(zhat[i], act[i], n, w, w, gamma[i].at, beta[i].at, o.bnEps, mean[i], variance[i], rstd[i]);
      if (residual[i] >= 0) k.addInto(act[i], out[residual[i]], out[i], n, w, w);
    }
    if (net.shortcut) k.addInto(out[0], out[L - 1], top, n, wp[L - 1], wp[L - 1]);
    k.matMul(top, wp[L - 1], outW.at, cp, outB.at, logits, cp, n, wp[L - 1], cp, DENSE);
    k.softmaxXent(logits, cp, n, classes, labelsAt, dlogits, stats);

    // backward: ds[i] is written by its first contribution, later ones add (the tfjs step's order)
    const set = new Array<boolean>(L).fill(false);
    k.weightGrad(top, wp[L - 1], dlogits, n, wp[L - 1], cp, outW.grad);
    k.gradBias(dlogits, cp, n, cp, 0, 0, outB.grad);
    k.matMul(dlogits, cp, outWT, wp[L - 1], 0, ds[L - 1], wp[L - 1], n, cp, wp[L - 1], DENSE);
    set[L - 1] = true;
    if (net.shortcut) {
      new Uint8Array(buf, ds[0], n * wp[0] * 4).set(new Uint8Array(buf, ds[L - 1], n * wp[0] * 4));
      set[0] = true;
    }
    for (let i = L - 1; i >= 0; i--) {
      const w = wp[i];
      const src = residual[i];
      if (src >= 0) {
        if (set[src]) k.addInto(ds[src], ds[i], ds[src], n, w, w);
        else new Uint8Array(buf, ds[src], n * w * 4).set(new Uint8Array(buf, ds[i], n * w * 4));
        set[src] = true;
      }
      k.bnTanhBack(ds[i], act[i], zhat[i], n, w, w, gamma[i].at, rstd[i], gamma[i].grad, beta[i].grad, bnConsts);
      if (i === 0) {
        if (rows) k.spmmT(this.rowPtr, this.col, this.val, rowsAt, n, ds[0], w, d, W[0].grad);
        else k.spmmTChunks(ch.segFirst, ch.segCol, ch.segPtr, ch.rowIn, ch.val, n, ds[0], w, d, W[0].grad, pack);
      } else {
        const wi = wp[i - 1];
        k.weightGrad(out[i - 1], wi, ds[i], n, wi, w, W[i].grad);
        const target = set[i - 1] ? spare : ds[i - 1];
        k.matMul(ds[i], w, wT[i], wi, 0, target, wi, n, w, wi, DENSE);
        if (set[i - 1]) k.addInto(ds[i - 1], spare, ds[i - 1], n, wi, wi);
        set[i - 1] = true;
      }
    }
    for (const b of blocks) k.rmsprop(b.at, b.grad, b.slot, b.rows * b.cp, o.lr, o.rho, o.rmsEps);

    // parameters out
    const view = new Float32Array(buf);
    blocks.forEach((b, j) => {
      for (let r = 0; r < srcRows[j]; r++) {
        net.params[j].set(view.subarray(b.at / 4 + r * b.cp, b.at / 4 + r * b.cp + b.cols), r * b.cols);
        net.slots[j].set(view.subarray(b.slot / 4 + r * b.cp, b.slot / 4 + r * b.cp + b.cols), r * b.cols);
      }
    });
    const st = new Float32Array(buf, stats, 2);
    return {
      lossSum: st[0],
      errors: st[1],
      mean: widths.map((w, i) => view.slice(mean[i] / 4, mean[i] / 4 + w)),
      variance: widths.map((w, i) => view.slice(variance[i] / 4, variance[i] / 4 + w)),
    };
  }
}
