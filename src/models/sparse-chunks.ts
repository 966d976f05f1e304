/**
 * The chunked column layout of a CSR matrix (assembly/sparse-chunks.ts): rows in chunks of `chunkRows`; per
 * chunk one segment per column with nonzeros in it (ascending column), holding that column's entries in the
 * chunk as (row within the chunk, value), rows ascending. Built once per input for the full-batch step.
 */
export interface ChunkedColumns {
  /** per chunk c, its segments are segFirst[c] .. segFirst[c + 1] - 1 (chunks + 1 entries) */
  segFirst: Int32Array;
  /** the column of each segment */
  segCol: Int32Array;
  /** segment s's entries are segPtr[s] .. segPtr[s + 1] - 1 (segments + 1 entries) */
  segPtr: Int32Array;
  /** per entry, its row within the chunk */
  rowIn: Uint8Array;
  /** per entry, its value */
  val: Float32Array;
}

export function chunkedColumns(rowPtr: Int32Array, col: Int32Array, val: Float32Array, n: number, d: number, chunkRows: number): ChunkedColumns {
  if (chunkRows < 1 || chunkRows > 256) throw new RangeError(`chunkRows must be in [1, 256] (a row within its chunk is a u8); got ${chunkRows}`);
  const chunks = Math.ceil(n / chunkRows);
  const nnz = rowPtr[n];
  const segFirst = new Int32Array(chunks + 1);
  const count = new Int32Array(d);
  const next = new Int32Array(d);
  // segments: at most one per (chunk, column), and never more than the entries
  const segColAll = new Int32Array(Math.min(chunks * d, nnz));
  const segPtrAll = new Int32Array(segColAll.length + 1);
  const rowIn = new Uint8Array(nnz);
  const out = new Float32Array(nnz);
  let s = 0;
  let k = 0;
  for (let c = 0; c < chunks; c++) {
    const r0 = c * chunkRows;
    const r1 = Math.min(n, r0 + chunkRows);
    segFirst[c] = s;
    count.fill(0);
    for (let e = rowPtr[r0]; e < rowPtr[r1]; e++) count[col[e]]++;
    for (let j = 0; j < d; j++) {
      if (count[j] === 0) continue;
      segColAll[s] = j;
      segPtrAll[s] = k;
      next[j] = k;
      k += count[j];
      s++;
    }
    // rows ascending, so each column's entries come in ascending row order
    for (let r = r0; r < r1; r++) {
      for (let e = rowPtr[r]; e < rowPtr[r + 1]; e++) {
        const at = next[col[e]]++;
        rowIn[at] = r - r0;
        out[at] = val[e];
      }
    }
  }
  segFirst[chunks] = s;
  segPtrAll[s] = k;
  return { segFirst, segCol: segColAll.slice(0, s), segPtr: segPtrAll.slice(0, s + 1), rowIn, val: out };
}

/** Byte offsets of a ChunkedColumns' arrays in a kernel memory. */
export interface ChunkOffsets {
  segFirst: number;
  segCol: number;
  segPtr: number;
  rowIn: number;
  val: number;
}

/** Offsets for the arrays of a layout of `sizes` from byte `start` on, each 16-byte aligned; `end` is the first byte after them. */
export function layChunks(sizes: ChunkSizes, start: number): { at: ChunkOffsets; end: number } {
  let end = start;
  const take = (bytes: number) => {
    const at = end;
    end += Math.ceil(bytes / 16) * 16;
    return at;
  };
  const at = { segFirst: take(4 * sizes.segFirst), segCol: take(4 * sizes.segCol), segPtr: take(4 * sizes.segPtr), rowIn: take(sizes.rowIn), val: take(4 * sizes.val) };
  return { at, end };
}

/** Writes `c`'s arrays into `buf` at `at`. */
export function writeChunks(buf: ArrayBuffer, c: ChunkedColumns, at: ChunkOffsets): void {
  new Int32Array(buf, at.segFirst, c.segFirst.length).set(c.segFirst);
  new Int32Array(buf, at.segCol, c.segCol.length).set(c.segCol);
  new Int32Array(buf, at.segPtr, c.segPtr.length).set(c.segPtr);
  new Uint8Array(buf, at.rowIn, c.rowIn.length).set(c.rowIn);
  new Float32Array(buf, at.val, c.val.length).set(c.val);
}

/** The arrays of a layout of `sizes` (element counts) at `at` in `buf`, as views. */
export function readChunks(buf: ArrayBuffer, at: ChunkOffsets, sizes: ChunkSizes): ChunkedColumns {
  return {
    segFirst: new Int32Array(buf, at.segFirst, sizes.segFirst),
    segCol: new Int32Array(buf, at.segCol, sizes.segCol),
    segPtr: new Int32Array(buf, at.segPtr, sizes.segPtr),
    rowIn: new Uint8Array(buf, at.rowIn, sizes.rowIn),
    val: new Float32Array(buf, at.val, sizes.val),
  };
}

/** Element counts of a layout's arrays. */
export type ChunkSizes = Record<keyof ChunkOffsets, number>;

export function chunkSizes(c: ChunkedColumns): ChunkSizes {
  return { segFirst: c.segFirst.length, segCol: c.segCol.length, segPtr: c.segPtr.length, rowIn: c.rowIn.length, val: c.val.length };
}
