/**
 * The JavaScript side of the WASM kernel (assembly/): compiles build/release.wasm once and reads its memory layout
 * from its exports (header field offsets, magic, version, record sizes: assembly/layout.ts), lays out the
 * arrays in a shared WebAssembly.Memory (one memory per KsgKernel, grown as needed and reused across calls),
 * writes the joint points (with optional noise) in float64, and has the module order them and build the slab
 * filter. `knn`, then `countPrep` (on
 * this thread), then `count` run on any instance over the same memory: this thread's, or a pool worker's (see
 * worker.ts), without copying the data.
 */
import { readFileSync } from 'node:fs';
import { InfoflowError } from '../errors.js';
import { findRepoFile } from '../repo-files.js';
import type { Matrix } from '../matrix.js';
import { Xoshiro128 } from '../random.js';

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
    class Global {
      readonly value: number;
    }
    class Instance {
      constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
      readonly exports: Record<string, unknown>;
    }
  }
}

const PAGE = 65536;
const MAX_PAGES = 65536;
/** Below this the kernel's memory is not used (no static data), so the layout starts here. */
const BASE = 65536;

/** The layout this file lays out: LAYOUT_MAGIC and LAYOUT_VERSION of assembly/layout.ts, checked at load. */
export const LAYOUT_MAGIC = 0x3147534b;
export const LAYOUT_VERSION = 4;

/** Header fields this file writes, by kind; the module's HEADER_<field> exports must name exactly these. */
export const SCALAR_FIELDS = ['magic', 'version', 'n', 'k', 'dx', 'dy', 'dxp', 'dyp', 'levels', 'words', 'keep', 'radii', 'spills'] as const;
export const REGION_FIELDS = [
  'Z', 'visit', 'permZ', 'tmpRow', 'spread', 'eps', 'best', 'radX', 'radY', 'nx', 'ny', 'scratch',
  'zRow8', 'xRow8', 'yRow8', 'slabs', 'binOf', 'binCum', 'hist',
] as const;
export const F64_FIELDS = ['qMin', 'qStep'] as const;
type Region = (typeof REGION_FIELDS)[number];
type Field = (typeof SCALAR_FIELDS)[number] | Region | (typeof F64_FIELDS)[number];

/** The memory layout as the module defines it (assembly/layout.ts), read from its exports. */
export interface KernelLayout {
  magic: number;
  version: number;
  /** points per leaf at most of the tree that orders the positions */
  leaf: number;
  /** positions per slab word, bins per dim of the slab filter, and queries the kernel scans together */
  word: number;
  bins: number;
  queryBlock: number;
  headerBytes: number;
  /** byte offset of each header field from ctx */
  offsets: Record<Field, number>;
  /** bytes of one slot's scratch */
  slotBytes(dz: number, k: number, n: number): number;
  /** bytes of a row-major u8 row of d coordinates (the rows8 regions) */
  row8Bytes(d: number): number;
}

/** The kernel's phases over a range of positions, each named as its export. */
export type PhaseName = 'knn' | 'ball' | 'count' | 'knnCount';

export interface KernelExports {
  build(ctx: number): number;
  knn(ctx: number, p0: number, p1: number, slot: number): void;
  ball(ctx: number, p0: number, p1: number, slot: number): void;
  countPrep(ctx: number): void;
  count(ctx: number, p0: number, p1: number, slot: number): void;
  knnCount(ctx: number, p0: number, p1: number, slot: number): void;
}

/** What a worker needs to run queries on a prepared memory. */
export interface QueryJob {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  memoryId: string;
  ctx: number;
  /** one Int32 per slot: the thread id that holds it (0: free), so each pool thread keeps one slot (claimSlot) */
  claims: SharedArrayBuffer;
}

/**
 * The slot this thread uses for `claims` (taking a free one on its first call): at most one per thread, so a
 * memory laid out with one slot per pool thread serves any number of tasks, never two at once in one slot.
 */
export function claimSlot(claims: Int32Array, threadId: number): number {
  for (let i = 0; i < claims.length; i++) {
    const owner = Atomics.compareExchange(claims, i, 0, threadId);
    if (owner === 0 || owner === threadId) return i;
  }
  throw new InfoflowError('internal', `no free kernel slot for thread ${threadId} (${claims.length} slots)`);
}

export { findRepoFile };

const STALE = 'build/release.wasm does not match src/mi/kernel.ts; rebuild it with `npm run build`';

/**
 * Read and check the module's layout exports: a stale or foreign build is refused here, before any memory is
 * written. `memory`: the one to instantiate over (a kernel's own: each WebAssembly memory reserves ~10 GiB of
 * address space on Node 20, so a second one just for this can break an address-space limit).
 */
export function readLayout(module: WebAssembly.Module, memory?: WebAssembly.Memory): KernelLayout {
  const ex = instantiate(module, memory ?? new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: true })) as unknown as Record<string, unknown>;
  const global = (name: string): number => {
    const g = ex[name];
    if (!(g instanceof WebAssembly.Global)) throw new InfoflowError('config', `${STALE} (it exports no ${name})`);
    return g.value;
  };
  const magic = global('LAYOUT_MAGIC');
  const version = global('LAYOUT_VERSION');
  if (magic !== LAYOUT_MAGIC) {
    throw new InfoflowError('config', `${STALE} (layout magic 0x${magic.toString(16)}, expected 0x${LAYOUT_MAGIC.toString(16)})`);
  }
  if (version !== LAYOUT_VERSION) throw new InfoflowError('config', `${STALE} (layout version ${version}, expected ${LAYOUT_VERSION})`);
  const known = new Set<string>([...SCALAR_FIELDS, ...REGION_FIELDS, ...F64_FIELDS]);
  const exported = Object.keys(ex).filter((k) => k.startsWith('HEADER_') && k !== 'HEADER_BYTES').map((k) => k.slice(7));
  const extra = exported.filter((f) => !known.has(f));
  const missing = [...known].filter((f) => !exported.includes(f));
  if (extra.length || missing.length) {
    throw new InfoflowError('config', `${STALE} (header fields ${[...extra.map((f) => `+${f}`), ...missing.map((f) => `-${f}`)].join(' ')})`);
  }
  const offsets = Object.fromEntries([...known].map((f) => [f, global(`HEADER_${f}`)])) as Record<Field, number>;
  const fn = <F>(name: string): F => {
    if (typeof ex[name] !== 'function') throw new InfoflowError('config', `${STALE} (it exports no ${name}())`);
    return ex[name] as F;
  };
  return {
    magic, version, leaf: global('LEAF'), word: global('WORD'), bins: global('BINS'), queryBlock: global('QBLOCK'), headerBytes: global('HEADER_BYTES'), offsets,
    slotBytes: fn('slotBytes'), row8Bytes: fn('row8Bytes'),
  };
}

let cachedModule: WebAssembly.Module | undefined;
let cachedLayout: KernelLayout | undefined;
export function kernelModule(): WebAssembly.Module {
  if (!cachedModule) cachedModule = new WebAssembly.Module(readFileSync(findRepoFile('build/release.wasm')));
  return cachedModule;
}

/** The layout of kernelModule(), read once. */
export function kernelLayout(memory?: WebAssembly.Memory): KernelLayout {
  cachedLayout ??= readLayout(kernelModule(), memory);
  return cachedLayout;
}

export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const inst = new WebAssembly.Instance(module, { env: { memory, abort: () => {} } });
  return inst.exports as unknown as KernelExports;
}

/** Tree depth: internal levels so that no leaf holds more than `leaf` points (midpoint splits). */
export function treeLevels(n: number, leaf: number): number {
  let levels = 0;
  while (Math.ceil(n / 2 ** levels) > leaf) levels++;
  return levels;
}

const even = (d: number): number => d + (d & 1);
/** Regions start on 128-byte boundaries (no two regions share a cache line). */
const align = (b: number): number => Math.ceil(b / 128) * 128;

let memoryCounter = 0;

export interface PreparedInput {
  n: number;
  dx: number;
  dy: number;
  k: number;
  /** concurrent callers (each has its own scratch): 1 on this thread, the pool's thread count */
  slots: number;
  /** knn() also keeps each point's k smallest distances (bestDistances()): several k from one search */
  keep?: boolean;
  noise?: number;
  seed?: number;
}

export class KsgKernel {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly memoryId: string;
  private readonly exports: KernelExports;
  private readonly layout: KernelLayout;
  private ptr = {} as Record<Region, number>;
  private readonly ctx = BASE;
  n = 0;
  k = 0;

  constructor() {
    this.module = kernelModule();
    this.memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
    this.layout = kernelLayout(this.memory);
    this.memoryId = `${process.pid}-${memoryCounter++}-${Date.now()}`;
    this.exports = instantiate(this.module, this.memory);
  }

  /** Queries the kernel scans together: chunks of the positions are best cut on multiples of it. */
  get queryBlock(): number {
    return this.layout.queryBlock;
  }

  get job(): QueryJob {
    return { module: this.module, memory: this.memory, memoryId: this.memoryId, ctx: this.ctx, claims: this.claims };
  }

  private claims = new SharedArrayBuffer(4);

  /** Lay out, copy the points in (float64, plus noise), and build the trees. */
  prepare(x: Matrix, y: Matrix, opts: PreparedInput): void {
    const { n, k } = opts;
    const dxp = even(x.d);
    const dyp = even(y.d);
    const dz = dxp + dyp;
    const L = this.layout;
    const leaf = L.leaf;
    const levels = treeLevels(n, leaf);
    const words = Math.ceil(n / L.word);
    const slots = Math.max(1, opts.slots);
    this.claims = new SharedArrayBuffer(4 * slots);
    const sizes: Record<Region, number> = {
      Z: n * dz * 8, visit: n, permZ: n * 4, tmpRow: dz * 8, spread: dz * 16 + 64,
      eps: n * 8, best: opts.keep ? n * k * 8 : 0, radX: n * 8, radY: n * 8, nx: n * 4, ny: n * 4, scratch: slots * L.slotBytes(dz, k, n),
      zRow8: n * L.row8Bytes(dz), xRow8: n * L.row8Bytes(dxp), yRow8: n * L.row8Bytes(dyp),
      slabs: words * (2 + dz * (L.bins - 1)) * 16, binOf: dz * 256, binCum: dz * (L.bins + 1) * 4, hist: dz * 256 * 4,
    };
    let off = this.ctx + align(L.headerBytes);
    for (const name of REGION_FIELDS) {
      this.ptr[name] = off;
      off += align(sizes[name]);
    }
    this.layoutBytes = off - this.ctx;
    const need = Math.ceil(off / PAGE);
    const have = this.memory.buffer.byteLength / PAGE;
    if (need > MAX_PAGES) {
      throw new InfoflowError('input', `x, y: ${n} samples x ${x.d + y.d} dims need ${Math.ceil(off / 2 ** 20)} MiB, over the 4 GiB WebAssembly limit; subsample the rows`);
    }
    if (need > have) this.memory.grow(need - have);

    const h32 = new Uint32Array(this.memory.buffer, this.ctx, L.headerBytes >> 2);
    const scalars: Record<(typeof SCALAR_FIELDS)[number], number> = {
      magic: LAYOUT_MAGIC, version: LAYOUT_VERSION, n, k, dx: x.d, dy: y.d, dxp, dyp, levels, words, keep: opts.keep ? 1 : 0, radii: 0, spills: 0,
    };
    for (const f of SCALAR_FIELDS) h32[L.offsets[f] >> 2] = scalars[f];
    for (const f of REGION_FIELDS) h32[L.offsets[f] >> 2] = this.ptr[f];

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
          const v = rng ? data[s + c] + a * rng.uniform() : data[s + c];
          z0[o + c] = v;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
    };
    put(x, 0);
    put(y, dxp);
    // the 8-bit levels: u = floor((v - lo) / step) spans [0, 250] (padding zeros may fall outside:
    // they are equal in every row, so their bound is 0 whatever the clamping)
    const step = hi > lo ? (hi - lo) / 250 : 1;
    const h64 = new Float64Array(this.memory.buffer, this.ctx, L.headerBytes >> 3);
    h64[L.offsets.qMin >> 3] = lo;
    h64[L.offsets.qStep >> 3] = step;
    this.n = n;
    this.k = k;
    if (this.exports.build(this.ctx) !== 0) throw new InfoflowError('config', `${STALE} (the module refused the header)`);
  }

  /** eps for joint positions [p0, p1), on this thread; every position's before countPrep(). */
  knn(p0: number, p1: number, slot: number): void {
    this.exports.knn(this.ctx, p0, p1, slot);
  }

  /** After eps is set (knn() or setEps()): KSG-2's marginal radii for joint positions [p0, p1), on this thread. */
  ball(p0: number, p1: number, slot: number): void {
    this.exports.ball(this.ctx, p0, p1, slot);
  }

  /** Replace eps (by input row), e.g. by one column of bestDistances(), before ball() or countPrep(). */
  setEps(eps: Float64Array): void {
    new Float64Array(this.memory.buffer, this.ptr.eps, this.n).set(eps);
  }

  /** Whether the counts use ball()'s radii (KSG-2) instead of eps (KSG-1); read by the next countPrep(). */
  useRadii(on: boolean): void {
    new Uint32Array(this.memory.buffer, this.ctx, this.layout.headerBytes >> 2)[this.layout.offsets.radii >> 2] = on ? 1 : 0;
  }

  /** After knn() with `keep`: the k smallest distances of each point, ascending, row-major by input row (N x k). */
  bestDistances(): Float64Array {
    return new Float64Array(this.memory.buffer, this.ptr.best, this.n * this.k).slice();
  }

  /** After every knn(): the per-tree eps arrays the counts read; nx = ny = 0. */
  countPrep(): void {
    this.exports.countPrep(this.ctx);
  }

  /** The pairs owned by x- and y-tree positions [p0, p1) into nx and ny, on this thread; all of [0, n) completes them. */
  count(p0: number, p1: number, slot: number): void {
    this.exports.count(this.ctx, p0, p1, slot);
  }

  /** KSG-1 at the prepared k in one pass, after countPrep(): eps, nx and ny of joint positions [p0, p1), on this thread. */
  knnCount(p0: number, p1: number, slot: number): void {
    this.exports.knnCount(this.ctx, p0, p1, slot);
  }

  /** Phase `phase` (knn, ball, count or knnCount above) over positions [p0, p1), on this thread. */
  runPhase(phase: PhaseName, p0: number, p1: number, slot: number): void {
    this.exports[phase](this.ctx, p0, p1, slot);
  }

  /** Blocks of knnCount() since prepare() whose candidates overflowed their list and were counted afresh (a cost, not a result). */
  get spilledBlocks(): number {
    return new Uint32Array(this.memory.buffer, this.ctx, this.layout.headerBytes >> 2)[this.layout.offsets.spills >> 2];
  }

  /** After ball(): KSG-2's eps_x, eps_y by input row (the kernel keeps them one float above, for its strict counts). */
  marginalRadii(): { epsX: Float64Array; epsY: Float64Array } {
    const down = (at: number): Float64Array => {
      const r = new Float64Array(this.memory.buffer, at, this.n).slice();
      const bits = new BigUint64Array(r.buffer);
      for (let i = 0; i < bits.length; i++) bits[i] -= 1n;
      return r;
    };
    return { epsX: down(this.ptr.radX), epsY: down(this.ptr.radY) };
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

  /** Bytes of the last layout (Z, u8 rows, slab filter, results, scratch): the memory the estimate needs. */
  layoutBytes = 0;
}
