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
