/**
 * A fixed, mostly-zero input matrix X (n x d: MNIST pixels are ~81% exact zeros) in CSR form inside the memory of
 * the sparse kernel (assembly/sparse.ts -> build/sparse.wasm), and the two first-layer products as sparse x dense:
 *   matMul(w, rows)  = X[rows] w      (the first layer's forward product; w is d x c),
 *   matMulT(g, rows) = X[rows]^T g    (its weight gradient; g is m x c),
 * with `rows` the minibatch's row indices into X (omitted: all n rows, in order). Operands come from tfjs tensors
 * by dataSync and results go back as new tensors. Each output is the float32 sum of the same products as the dense
 * product without its zero terms (mul then add, no fused multiply-add), in ascending order of the summed index;
 * test/sparse-kernel.test.ts checks it against tf.matMul.
 *
 * Over all rows the products read X's chunked column layout (sparse-chunks.ts; the same bits, faster), over a
 * minibatch's rows the CSR.
 *
 * Memory layout (one WebAssembly.Memory per SparseInput, grown as needed): [0, BASE) unused, then rowPtr (i32,
 * n + 1), col (i32, nnz), val (f32, nnz), the chunked layout, then per-call scratch: the dense operand, the rows,
 * the result, the chunked products' packed block, each 16-byte aligned, with a row stride of c rounded up to a
 * multiple of 4 floats (the kernel's SIMD width).
 */
import * as tf from '@tensorflow/tfjs-core';
import { inputError, internalError } from '../errors.js';
import { type ChunkOffsets, type ChunkSizes, chunkSizes, chunkedColumns, layChunks, readChunks, writeChunks } from './sparse-chunks.js';
import { instantiateKernel, WASM_MAX_PAGES as MAX_PAGES, WASM_PAGE as PAGE, type WasmMemory } from './wasm-module.js';

/** Above this fraction of nonzeros the dense tf.matMul is used (XNNPACK does ~5x more multiply-adds per second). */
export const MAX_SPARSE_DENSITY = 0.5;
/** tfjs backends on which the sparse products run (in-process, on the same CPU thread); native TensorFlow keeps its own. */
export const SPARSE_BACKENDS = ['wasm', 'cpu'];

const BASE = 65536;
const align16 = (b: number): number => Math.ceil(b / 16) * 16;

interface SparseExports {
  spmm(rowPtr: number, col: number, val: number, rows: number, m: number, b: number, w: number, out: number): void;
  spmmT(rowPtr: number, col: number, val: number, rows: number, m: number, g: number, w: number, d: number, out: number): void;
  spmmChunks(segFirst: number, segCol: number, segPtr: number, rowIn: number, val: number, n: number, b: number, w: number, out: number, pack: number): void;
  spmmTChunks(segFirst: number, segCol: number, segPtr: number, rowIn: number, val: number, n: number, g: number, w: number, d: number, out: number, pack: number): void;
  CHUNK_ROWS: { value: number };
}

/** Whether the sparse products should be used on the current tfjs backend (env INFOFLOW_SPARSE=0 turns them off). */
export function sparseEnabled(): boolean {
  return process.env.INFOFLOW_SPARSE !== '0' && SPARSE_BACKENDS.includes(tf.getBackend());
}

/** Fraction of nonzero entries. */
export function density(data: Float32Array): number {
  let nz = 0;
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) nz++;
  return data.length ? nz / data.length : 0;
}

export class SparseInput {
  readonly n: number;
  readonly d: number;
  readonly nnz: number;
  private readonly memory: WasmMemory;
  private readonly k: SparseExports;
  private readonly rowPtr = BASE;
  private readonly col: number;
  private readonly val: number;
  /** the chunked column layout of X (sparse-chunks.ts), read by the products over all rows */
  private readonly chunks: ChunkOffsets;
  readonly chunkSizes: ChunkSizes;
  readonly chunkRows: number;
  private readonly scratch: number;

  /** CSR of a row-major n x d matrix and its chunked column layout (copied; the input array is not kept). */
  constructor(data: Float32Array, n: number, d: number) {
    if (data.length !== n * d) throw internalError('SparseInput', `data has ${data.length} values; expected n * d = ${n * d}`);
    let nnz = 0;
    for (let i = 0; i < data.length; i++) if (data[i] !== 0) nnz++;
    this.n = n;
    this.d = d;
    this.nnz = nnz;
    this.col = align16(this.rowPtr + (n + 1) * 4);
    this.val = align16(this.col + nnz * 4);
    const csrEnd = align16(this.val + nnz * 4);
    ({ memory: this.memory, exports: this.k } = instantiateKernel<SparseExports>('build/sparse.wasm', csrEnd));
    const buf = this.memory.buffer;
    const rowPtr = new Int32Array(buf, this.rowPtr, n + 1);
    const col = new Int32Array(buf, this.col, nnz);
    const val = new Float32Array(buf, this.val, nnz);
    let k = 0;
    for (let r = 0; r < n; r++) {
      rowPtr[r] = k;
      const base = r * d;
      for (let j = 0; j < d; j++) {
        const v = data[base + j];
        if (v !== 0) {
          col[k] = j;
          val[k++] = v;
        }
      }
    }
    rowPtr[n] = k;
    this.chunkRows = this.k.CHUNK_ROWS.value;
    const c = chunkedColumns(rowPtr, col, val, n, d, this.chunkRows);
    this.chunkSizes = chunkSizes(c);
    const lay = layChunks(this.chunkSizes, csrEnd);
    this.chunks = lay.at;
    this.scratch = lay.end;
    writeChunks(this.reserve(0), c, lay.at);
  }

  /** A SparseInput when sparse products pay off here (backend, density), or null: use tf.matMul then. */
  static maybe(data: Float32Array, n: number, d: number): SparseInput | null {
    if (!sparseEnabled() || n === 0 || d === 0 || density(data) > MAX_SPARSE_DENSITY) return null;
    return new SparseInput(data, n, d);
  }

  get density(): number {
    return this.nnz / (this.n * this.d);
  }

  /** Copies the CSR arrays (rowPtr n + 1, col nnz, val nnz) into `buf` at the given byte offsets (another kernel's memory). */
  copyCsr(buf: ArrayBuffer, rowPtrAt: number, colAt: number, valAt: number): void {
    const src = this.memory.buffer;
    new Int32Array(buf, rowPtrAt, this.n + 1).set(new Int32Array(src, this.rowPtr, this.n + 1));
    new Int32Array(buf, colAt, this.nnz).set(new Int32Array(src, this.col, this.nnz));
    new Float32Array(buf, valAt, this.nnz).set(new Float32Array(src, this.val, this.nnz));
  }

  /** Copies the chunked column layout into `buf` (another kernel's memory) at `at` (layChunks over chunkSizes). */
  copyChunks(buf: ArrayBuffer, at: ChunkOffsets): void {
    writeChunks(buf, readChunks(this.memory.buffer, this.chunks, this.chunkSizes), at);
  }

  /** Bytes of memory from `scratch` on, grown when needed; returns the current buffer. */
  private reserve(bytes: number): ArrayBuffer {
    const need = Math.ceil((this.scratch + bytes) / PAGE);
    const have = this.memory.buffer.byteLength / PAGE;
    if (need > MAX_PAGES) throw inputError('sparse first layer', `the product needs ${need} pages of wasm memory, more than the ${MAX_PAGES} (4 GiB) wasm can address; use fewer rows or a smaller width, or INFOFLOW_SPARSE=0`);
    if (need > have) this.memory.grow(need - have);
    return this.memory.buffer;
  }

  private checkRows(rows: Int32Array | null): number {
    if (rows === null) return this.n;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      if (!(r >= 0 && r < this.n)) throw internalError('SparseInput', `rows[${i}] must be in [0, ${this.n - 1}]; got ${r}`);
    }
    return rows.length;
  }

  /** Writes rows (when given) at `at`; returns the kernel's rows argument (0: all rows). */
  private writeRows(buf: ArrayBuffer, at: number, rows: Int32Array | null): number {
    if (rows === null) return 0;
    new Int32Array(buf, at, rows.length).set(rows);
    return at;
  }

  /** A tensor [m, c] from `m` rows of stride `cp` at `at` (copied out of this memory). */
  private result(buf: ArrayBuffer, at: number, m: number, c: number, cp: number): tf.Tensor2D {
    let out: Float32Array;
    if (cp === c) {
      // tfjs-wasm copies a new tensor's values into its own heap at once; the cpu backend keeps the array itself
      const view = new Float32Array(buf, at, m * c);
      out = tf.getBackend() === 'wasm' ? view : view.slice();
    } else {
      out = new Float32Array(m * c);
      const src = new Float32Array(buf, at, m * cp);
      for (let r = 0; r < m; r++) out.set(src.subarray(r * cp, r * cp + c), r * c);
    }
    return tf.tensor2d(out, [m, c]);
  }

  /** Copies a [rowsN, c] tensor into this memory at `at` with row stride `cp`. */
  private static writeDense(buf: ArrayBuffer, at: number, t: tf.Tensor2D, cp: number): void {
    const [rowsN, c] = t.shape;
    const src = t.dataSync() as Float32Array;
    const dst = new Float32Array(buf, at, rowsN * cp);
    if (cp === c) dst.set(src);
    else for (let r = 0; r < rowsN; r++) dst.set(src.subarray(r * c, r * c + c), r * cp);
  }

  /** X[rows] w: [m, c] for w [d, c]. */
  matMul(w: tf.Tensor2D, rows: Int32Array | null = null): tf.Tensor2D {
    if (w.rank !== 2 || w.shape[0] !== this.d) throw internalError('SparseInput.matMul', `w must be [${this.d}, c]; got [${w.shape}]`);
    const m = this.checkRows(rows);
    const c = w.shape[1];
    const cp = Math.ceil(c / 4) * 4;
    const bAt = this.scratch;
    const rowsAt = align16(bAt + this.d * cp * 4);
    const outAt = align16(rowsAt + (rows ? rows.length * 4 : 0));
    const packAt = align16(outAt + m * cp * 4);
    const buf = this.reserve(packAt - this.scratch + this.chunkRows * 32 * 4);
    SparseInput.writeDense(buf, bAt, w, cp);
    const ch = this.chunks;
    if (rows) this.k.spmm(this.rowPtr, this.col, this.val, this.writeRows(buf, rowsAt, rows), m, bAt, cp, outAt);
    else this.k.spmmChunks(ch.segFirst, ch.segCol, ch.segPtr, ch.rowIn, ch.val, m, bAt, cp, outAt, packAt);
    return this.result(buf, outAt, m, c, cp);
  }

  /** X[rows]^T g: [d, c] for g [m, c]. */
  matMulT(g: tf.Tensor2D, rows: Int32Array | null = null): tf.Tensor2D {
    const m = this.checkRows(rows);
    if (g.rank !== 2 || g.shape[0] !== m) throw internalError('SparseInput.matMulT', `g must be [${m}, c] (one row per selected row); got [${g.shape}]`);
    const c = g.shape[1];
    const cp = Math.ceil(c / 4) * 4;
    const gAt = this.scratch;
    const rowsAt = align16(gAt + m * cp * 4);
    const outAt = align16(rowsAt + (rows ? rows.length * 4 : 0));
    const packAt = align16(outAt + this.d * cp * 4);
    const buf = this.reserve(packAt - this.scratch + this.chunkRows * 32 * 4);
    SparseInput.writeDense(buf, gAt, g, cp);
    const ch = this.chunks;
    if (rows) this.k.spmmT(this.rowPtr, this.col, this.val, this.writeRows(buf, rowsAt, rows), m, gAt, cp, this.d, outAt);
    else this.k.spmmTChunks(ch.segFirst, ch.segCol, ch.segPtr, ch.rowIn, ch.val, m, gAt, cp, this.d, outAt, packAt);
    return this.result(buf, outAt, this.d, c, cp);
  }
}
