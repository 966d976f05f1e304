/**
 * The chunked column layout (src/models/sparse-chunks.ts) and the full-batch products over it
 * (assembly/sparse-chunks.ts): the same bits as the CSR products of assembly/sparse.ts, which add the same
 * products in the same order.
 */
import { describe, expect, it } from 'vitest';
import { chunkedColumns } from '../src/models/sparse-chunks.js';
import { instantiateKernel } from '../src/models/wasm-module.js';
import { Mulberry32 } from '../src/random.js';

interface ChunkExports {
  spmm(rowPtr: number, col: number, val: number, rows: number, m: number, b: number, w: number, out: number): void;
  spmmT(rowPtr: number, col: number, val: number, rows: number, m: number, g: number, w: number, d: number, out: number): void;
  spmmChunks(segFirst: number, segCol: number, segPtr: number, rowIn: number, val: number, n: number, b: number, w: number, out: number, pack: number): void;
  spmmTChunks(segFirst: number, segCol: number, segPtr: number, rowIn: number, val: number, n: number, g: number, w: number, d: number, out: number, pack: number): void;
  CHUNK_ROWS: { value: number };
}

/** CSR of an n x d matrix with about `density` nonzeros, some rows and the first column empty. */
function csr(rng: Mulberry32, n: number, d: number, density: number) {
  const rowPtr = new Int32Array(n + 1);
  const col: number[] = [];
  const val: number[] = [];
  for (let r = 0; r < n; r++) {
    rowPtr[r] = col.length;
    if (r % 11 === 5) continue;
    for (let j = 1; j < d; j++) {
      if (rng.uniform() < density) {
        col.push(j);
        val.push(Math.fround(1 - rng.uniform()));
      }
    }
  }
  rowPtr[n] = col.length;
  return { rowPtr, col: Int32Array.from(col), val: Float32Array.from(val) };
}

describe('chunkedColumns', () => {
  it('holds every entry once, columns ascending in each chunk, rows ascending in each segment', () => {
    const rng = new Mulberry32(3);
    const n = 300;
    const d = 40;
    const x = csr(rng, n, d, 0.2);
    const c = chunkedColumns(x.rowPtr, x.col, x.val, n, d, 128);
    expect(c.segFirst.length).toBe(4);
    expect(c.segPtr[c.segPtr.length - 1]).toBe(x.col.length);
    const seen = new Map<string, number>();
    for (let ch = 0; ch < 3; ch++) {
      for (let s = c.segFirst[ch]; s < c.segFirst[ch + 1]; s++) {
        if (s > c.segFirst[ch]) expect(c.segCol[s]).toBeGreaterThan(c.segCol[s - 1]);
        for (let k = c.segPtr[s]; k < c.segPtr[s + 1]; k++) {
          if (k > c.segPtr[s]) expect(c.rowIn[k]).toBeGreaterThan(c.rowIn[k - 1]);
          seen.set(`${ch * 128 + c.rowIn[k]},${c.segCol[s]}`, c.val[k]);
        }
      }
    }
    expect(seen.size).toBe(x.col.length);
    for (let r = 0; r < n; r++) for (let k = x.rowPtr[r]; k < x.rowPtr[r + 1]; k++) expect(seen.get(`${r},${x.col[k]}`)).toBe(x.val[k]);
  });

  it('refuses a chunk that a u8 row offset cannot address', () => {
    const x = csr(new Mulberry32(1), 4, 4, 0.5);
    expect(() => chunkedColumns(x.rowPtr, x.col, x.val, 4, 4, 257)).toThrow(/chunkRows must be in \[1, 256\]/);
  });
});

describe('the chunked products equal the CSR products bit for bit', () => {
  // n: one partial chunk and several whole ones; w: the 32-column blocks, the 4-column tail, and both
  for (const [n, d, w] of [[300, 50, 32], [129, 30, 12], [517, 64, 68]]) {
    it(`n = ${n}, d = ${d}, w = ${w}`, () => {
      const rng = new Mulberry32(n + w);
      const x = csr(rng, n, d, 0.25);
      const floats = 4 * (n + 1 + 2 * x.col.length + 2 * n * w + 2 * d * w + 128 * 32) + 4 * (3 * n * d + 2 * x.col.length);
      const { memory, exports: k } = instantiateKernel<ChunkExports>('build/hodas.wasm', 65536 + floats * 4);
      const c = chunkedColumns(x.rowPtr, x.col, x.val, n, d, k.CHUNK_ROWS.value);
      let end = 65536;
      const put = (a: Int32Array | Float32Array | Uint8Array) => {
        const at = end;
        new Uint8Array(memory.buffer, at, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
        end += Math.ceil(a.byteLength / 16) * 16;
        return at;
      };
      const f32 = (len: number, fill?: () => number) => put(fill ? Float32Array.from({ length: len }, fill) : new Float32Array(len));
      const rowPtr = put(x.rowPtr), col = put(x.col), val = put(x.val);
      const segFirst = put(c.segFirst), segCol = put(c.segCol), segPtr = put(c.segPtr), rowIn = put(c.rowIn), cval = put(c.val);
      const b = f32(d * w, () => rng.gaussian());
      const g = f32(n * w, () => rng.gaussian());
      const outCsr = f32(n * w), outChunks = f32(n * w), gradCsr = f32(d * w), gradChunks = f32(d * w), pack = f32(128 * 32);
      k.spmm(rowPtr, col, val, 0, n, b, w, outCsr);
      k.spmmChunks(segFirst, segCol, segPtr, rowIn, cval, n, b, w, outChunks, pack);
      k.spmmT(rowPtr, col, val, 0, n, g, w, d, gradCsr);
      k.spmmTChunks(segFirst, segCol, segPtr, rowIn, cval, n, g, w, d, gradChunks, pack);
      const view = (at: number, len: number) => new Uint32Array(memory.buffer, at, len);
      expect(view(outChunks, n * w)).toEqual(view(outCsr, n * w));
      expect(view(gradChunks, d * w)).toEqual(view(gradCsr, d * w));
      // not all zero: the products ran
      expect(new Float32Array(memory.buffer, outCsr, n * w).some((v) => v !== 0)).toBe(true);
      expect(new Float32Array(memory.buffer, gradCsr, d * w).some((v) => v !== 0)).toBe(true);
    });
  }
});
