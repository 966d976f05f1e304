/**
 * The JavaScript side of the WASM kernel (assembly/index.ts): compiles build/release.wasm once, lays out the
 * arrays in a shared WebAssembly.Memory (one memory per KsgKernel, grown as needed and reused across calls),
 * writes the joint points (with optional noise) in float64, and builds the trees. `knn`, then `countPrep` (on
 * this thread), then `count` run on any instance over the same memory: this thread's, or a pool worker's (see
 * worker.ts), without copying the data.
 */
import { readFileSync } from 'node:fs';
import { InfoflowError } from '../errors.js';
import { findRepoFile } from '../repo-files.js';
import type { Matrix } from '../matrix.js';
import { Xoshiro128 } from './noise.js';

// The WebAssembly JS API as far as used here (lib ES2022 and @types/node 20 do not declare it).
declare global {
  namespace WebAssembly {
    class Module {
      constructor(bytes: Uint8Array);
    }
    class Memory {
      constructor(desc: { initial: number; maximum?: number; shared?: boolean });
      readonly buffer: ArrayBuffer | SharedArrayBuffer;
      grow(pages: number): number;
    }
    class Instance {
      constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
      readonly exports: Record<string, unknown>;
    }
  }
}

/**
 * Points per leaf at most (LEAF in assembly/index.ts: a leaf block is 64 u8 lanes per dim). Measured, query CPU
 * seconds at N = 10,000, W = 32: leaves of 16 / 32 / 64 / 128 points take 2.21 / 1.60 / 1.35 / 1.32 s.
 */
export const LEAF_SIZE = 64;
const PAGE = 65536;
const MAX_PAGES = 65536;
/** Below this the kernel's memory is not used (no static data), so the layout starts here. */
const BASE = 65536;

// context header slots (the C_* constants in assembly/index.ts); the 8-bit quantisation (min, step) at QUANT_BYTE
const HEADER = [
  'n', 'k', 'dxp', 'dyp', 'levels', 'Z', 'visit', 'unused7', 'unused8', 'permZ', 'permX', 'permY', 'tmpRow', 'spread',
  'zDim', 'zCol', 'zBound', 'xDim', 'xCol', 'xBound', 'yDim', 'yCol', 'yBound', 'eps', 'nx', 'ny', 'stats', 'scratch', 'dx', 'dy',
  'xEps', 'yEps', 'xIdx', 'yIdx', 'xThr', 'yThr', 'xMaxEps', 'yMaxEps', 'block', 'zRow8', 'xRow8', 'yRow8',
] as const;
type Slot = (typeof HEADER)[number];
const QUANT_BYTE = 240;
const HEADER_BYTES = 256;

export interface KernelExports {
  build(ctx: number): void;
  knn(ctx: number, p0: number, p1: number, slot: number): void;
  countPrep(ctx: number): void;
  count(ctx: number, p0: number, p1: number, slot: number): void;
}

/** What a worker needs to run queries on a prepared memory. */
export interface QueryJob {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  memoryId: string;
  ctx: number;
}

export { findRepoFile };

let cachedModule: WebAssembly.Module | undefined;
export function kernelModule(): WebAssembly.Module {
  if (!cachedModule) cachedModule = new WebAssembly.Module(readFileSync(findRepoFile('build/release.wasm')));
  return cachedModule;
}

export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const inst = new WebAssembly.Instance(module, { env: { memory, abort: () => {} } });
  return inst.exports as unknown as KernelExports;
}

/** Tree depth: internal levels so that no leaf holds more than LEAF_SIZE points (midpoint splits). */
export function treeLevels(n: number): number {
  let levels = 0;
  while (Math.ceil(n / 2 ** levels) > LEAF_SIZE) levels++;
  return levels;
}

const even = (d: number): number => d + (d & 1);
/** Bytes of a row-major u8 row of d coordinates (row8Bytes in assembly/index.ts). */
const row8Bytes = (d: number): number => Math.ceil(d / 32) * 32;
/** Regions start on 128-byte boundaries (no two regions share a cache line). */
const align = (b: number): number => Math.ceil(b / 128) * 128;

/** Bytes of one query's state in the block scratch of count() and knn() (as in assembly/index.ts), the larger. */
const blockStride = (dm: number, dz: number, leaves: number, levels: number, k: number): number =>
  Math.max(dm * 20 + row8Bytes(dm) + Math.ceil(leaves / 16) * 16 + 16, dz * 20 + row8Bytes(dz) + k * 8 + (levels + 1) * 16 + 8);

let memoryCounter = 0;

export interface PreparedInput {
  n: number;
  dx: number;
  dy: number;
  k: number;
  /** concurrent query slots (each has its own scratch and block state) */
  slots: number;
  noise?: number;
  seed?: number;
}

export class KsgKernel {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly memoryId: string;
  private readonly exports: KernelExports;
  private ptr: Record<Slot, number> = {} as Record<Slot, number>;
  private readonly ctx = BASE;
  n = 0;

  constructor() {
    this.module = kernelModule();
    this.memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
    this.memoryId = `${process.pid}-${memoryCounter++}-${Date.now()}`;
    this.exports = instantiate(this.module, this.memory);
  }

  get job(): QueryJob {
    return { module: this.module, memory: this.memory, memoryId: this.memoryId, ctx: this.ctx };
  }

  /** Lay out, copy the points in (float64, plus noise), and build the trees. */
  prepare(x: Matrix, y: Matrix, opts: PreparedInput): void {
    const { n, k } = opts;
    const dxp = even(x.d);
    const dyp = even(y.d);
    const dz = dxp + dyp;
    const levels = treeLevels(n);
    const internal = 2 ** levels - 1;
    const leaves = 2 ** levels;
    // whole 128-byte lines (as in assembly/index.ts): workers' scratch must not share cache lines
    const slotBytes = Math.ceil((96 + dz) / 128) * 128;
    const sizes: [Slot, number][] = [
      ['Z', n * dz * 8], ['visit', n], ['permZ', n * 4], ['permX', n * 4], ['permY', n * 4], ['tmpRow', dz * 8], ['spread', dz * 16],
      ['zDim', internal * 4], ['zCol', leaves * dz * LEAF_SIZE], ['zBound', internal * 16],
      ['xDim', internal * 4], ['xCol', leaves * dxp * LEAF_SIZE], ['xBound', internal * 16],
      ['yDim', internal * 4], ['yCol', leaves * dyp * LEAF_SIZE], ['yBound', internal * 16],
      ['eps', n * 8], ['nx', n * 4], ['ny', n * 4], ['stats', dz * 16], ['scratch', Math.max(1, opts.slots) * slotBytes],
      ['xEps', n * 8], ['yEps', n * 8], ['xIdx', n * 4], ['yIdx', n * 4], ['xThr', leaves * LEAF_SIZE], ['yThr', leaves * LEAF_SIZE],
      ['xMaxEps', (internal + leaves) * 8], ['yMaxEps', (internal + leaves) * 8],
      ['block', Math.max(1, opts.slots) * LEAF_SIZE * blockStride(Math.max(dxp, dyp), dz, leaves, levels, k)],
      ['zRow8', n * row8Bytes(dz)], ['xRow8', n * row8Bytes(dxp)], ['yRow8', n * row8Bytes(dyp)],
    ];
    let off = this.ctx + HEADER_BYTES;
    for (const [name, bytes] of sizes) {
      this.ptr[name] = off;
      off += align(bytes);
    }
    this.layoutBytes = off - this.ctx;
    const need = Math.ceil(off / PAGE);
    const have = this.memory.buffer.byteLength / PAGE;
    if (need > MAX_PAGES) {
      throw new InfoflowError('input', `x, y: ${n} samples x ${x.d + y.d} dims need ${Math.ceil(off / 2 ** 20)} MiB, over the 4 GiB WebAssembly limit; subsample the rows`);
    }
    if (need > have) this.memory.grow(need - have);

    Object.assign(this.ptr, { n, k, dxp, dyp, levels, dx: x.d, dy: y.d });
    const h = new Uint32Array(this.memory.buffer, this.ctx, HEADER.length);
    HEADER.forEach((name, i) => (h[i] = this.ptr[name]));

    // Z row i = [x_i, 0-pad, y_i, 0-pad] in input order; NPEET's noise order: all of x (row-major), then all of y
    const z0 = new Float64Array(this.memory.buffer, this.ptr.Z, n * dz);
    if (dxp !== x.d || dyp !== y.d) z0.fill(0);
    const rng = opts.noise ? new Xoshiro128(opts.seed ?? 0) : undefined;
    const a = opts.noise ?? 0;
    let lo = Infinity;
    let hi = -Infinity;
    const put = (m: Matrix, col: number): void => {
      const { data, d } = m;
      for (let i = 0; i < n; i++) {
        const o = i * dz + col;
        const s = i * d;
        for (let c = 0; c < d; c++) {
          const v = rng ? data[s + c] + a * rng.nextDouble() : data[s + c];
          z0[o + c] = v;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
    };
    put(x, 0);
    put(y, dxp);
    // the kernel's 8-bit filter: u = floor((v - lo) / step) spans [0, 250] (padding zeros may fall outside:
    // they are equal in every row, so their bound is 0 whatever the clamping)
    const step = hi > lo ? (hi - lo) / 250 : 1;
    const q = new Float64Array(this.memory.buffer, this.ctx + QUANT_BYTE, 2);
    q[0] = lo;
    q[1] = step;
    this.n = n;
    this.exports.build(this.ctx);
  }

  /** eps for joint positions [p0, p1), on this thread; every position's before countPrep(). */
  knn(p0: number, p1: number, slot: number): void {
    this.exports.knn(this.ctx, p0, p1, slot);
  }

  /** After every knn(): the per-tree eps arrays the counts read; nx = ny = 0. */
  countPrep(): void {
    this.exports.countPrep(this.ctx);
  }

  /** The pairs owned by x- and y-tree positions [p0, p1) into nx and ny, on this thread; all of [0, n) completes them. */
  count(p0: number, p1: number, slot: number): void {
    this.exports.count(this.ctx, p0, p1, slot);
  }

  /** Copies of the per-point results, indexed by input row. */
  results(): { eps: Float64Array; nx: Int32Array; ny: Int32Array } {
    const n = this.n;
    return {
      eps: new Float64Array(this.memory.buffer, this.ptr.eps, n).slice(),
      nx: new Int32Array(this.memory.buffer, this.ptr.nx, n).slice(),
      ny: new Int32Array(this.memory.buffer, this.ptr.ny, n).slice(),
    };
  }

  /** Bytes of the last layout (Z, trees, leaf blocks, results, scratch): the memory the estimate needs. */
  layoutBytes = 0;
}
