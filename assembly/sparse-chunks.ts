// The chunked column layout of a whole X (the products over all its rows): rows in chunks of CHUNK_ROWS (src/models/
// sparse-chunks.ts builds it once per SparseInput, and the step kernel copies it); per chunk, segments segFirst[c] .. segFirst[c + 1] - 1, one per column
// j with nonzeros in the chunk, ascending j: segCol[s] = j, its entries segPtr[s] .. segPtr[s + 1] - 1 with the row
// within the chunk (u8, ascending) and the value. A chunk's slice of the dense n-row operand (128 rows x 32
// columns = 16 KB) stays in L1 while every segment passes over it, where the CSR forms (sparse.ts) walk the whole
// d-row operand (or result) for every row. The sums are the CSR forms' bit for bit: the same products added in
// the same order (ascending j for each row of X b, ascending rows for each row of X^T g).

/** Rows per chunk (at most 256: a row within its chunk is a u8); exported for the loader. */
export const CHUNK_ROWS: i32 = 128;

// A chunk's 32-column block of the dense operand (or result) is packed into 128-byte rows: at the operand's own
// stride (a power of two times 16 bytes at W = 16, 32, 64) its rows fall into a few L1 sets and evict each other.
const PACK_STRIDE: usize = 128;

/** rows x 32 floats from `from` (row stride fs bytes) to `to` (stride ts bytes). */
@inline function copyBlock(from: usize, fs: usize, to: usize, ts: usize, rows: i32): void {
  for (let r = 0; r < rows; r++) {
    const f = from + <usize>r * fs;
    const t = to + <usize>r * ts;
    v128.store(t, v128.load(f, 0), 0);
    v128.store(t, v128.load(f, 16), 16);
    v128.store(t, v128.load(f, 32), 32);
    v128.store(t, v128.load(f, 48), 48);
    v128.store(t, v128.load(f, 64), 64);
    v128.store(t, v128.load(f, 80), 80);
    v128.store(t, v128.load(f, 96), 96);
    v128.store(t, v128.load(f, 112), 112);
  }
}

/** out = X b over all n rows (b d x w), from the chunked layout; the same values as spmm(..., rows = 0). */
export function spmmChunks(segFirst: usize, segCol: usize, segPtr: usize, rowIn: usize, val: usize, n: i32, b: usize, w: i32, out: usize, pack: usize): void {
  const stride = <usize>w << 2;
  const chunks = (n + CHUNK_ROWS - 1) / CHUNK_ROWS;
  for (let ch = 0; ch < chunks; ch++) {
    const r0 = ch * CHUNK_ROWS;
    const rows = min(n - r0, CHUNK_ROWS);
    const oc = out + <usize>r0 * stride;
    const s0 = load<i32>(segFirst + (<usize>ch << 2));
    const s1 = load<i32>(segFirst + (<usize>(ch + 1) << 2));
    let c = 0;
    for (; c + 32 <= w; c += 32) {
      const cB = <usize>c << 2;
      memory.fill(pack, 0, <usize>rows * PACK_STRIDE);
      for (let s = s0; s < s1; s++) {
        const p = b + <usize>load<i32>(segCol + (<usize>s << 2)) * stride + cB;
        const w0 = v128.load(p, 0), w1 = v128.load(p, 16), w2 = v128.load(p, 32), w3 = v128.load(p, 48);
        const w4 = v128.load(p, 64), w5 = v128.load(p, 80), w6 = v128.load(p, 96), w7 = v128.load(p, 112);
        const k1 = load<i32>(segPtr + (<usize>(s + 1) << 2));
        for (let k = load<i32>(segPtr + (<usize>s << 2)); k < k1; k++) {
          const v = f32x4.splat(load<f32>(val + (<usize>k << 2)));
          const q = pack + (<usize>load<u8>(rowIn + <usize>k) << 7);
          v128.store(q, f32x4.add(v128.load(q, 0), f32x4.mul(v, w0)), 0);
          v128.store(q, f32x4.add(v128.load(q, 16), f32x4.mul(v, w1)), 16);
          v128.store(q, f32x4.add(v128.load(q, 32), f32x4.mul(v, w2)), 32);
          v128.store(q, f32x4.add(v128.load(q, 48), f32x4.mul(v, w3)), 48);
          v128.store(q, f32x4.add(v128.load(q, 64), f32x4.mul(v, w4)), 64);
          v128.store(q, f32x4.add(v128.load(q, 80), f32x4.mul(v, w5)), 80);
          v128.store(q, f32x4.add(v128.load(q, 96), f32x4.mul(v, w6)), 96);
          v128.store(q, f32x4.add(v128.load(q, 112), f32x4.mul(v, w7)), 112);
        }
      }
      copyBlock(pack, PACK_STRIDE, oc + cB, stride, rows);
    }
    // the columns past the 32-column blocks accumulate in place: only they need zeros first (the blocks are copied whole)
    if (c < w) for (let r = 0; r < rows; r++) memory.fill(oc + <usize>r * stride + (<usize>c << 2), 0, <usize>(w - c) << 2);
    for (; c < w; c += 4) {
      const cB = <usize>c << 2;
      for (let s = s0; s < s1; s++) {
        const w0 = v128.load(b + <usize>load<i32>(segCol + (<usize>s << 2)) * stride + cB);
        const k1 = load<i32>(segPtr + (<usize>(s + 1) << 2));
        for (let k = load<i32>(segPtr + (<usize>s << 2)); k < k1; k++) {
          const q = oc + <usize>load<u8>(rowIn + <usize>k) * stride + cB;
          v128.store(q, f32x4.add(v128.load(q), f32x4.mul(f32x4.splat(load<f32>(val + (<usize>k << 2))), w0)));
        }
      }
    }
  }
}

/** out = X^T g over all n rows (g n x w, out d x w), from the chunked layout; the same values as spmmT(..., rows = 0). */
export function spmmTChunks(segFirst: usize, segCol: usize, segPtr: usize, rowIn: usize, val: usize, n: i32, g: usize, w: i32, d: i32, out: usize, pack: usize): void {
  const stride = <usize>w << 2;
  memory.fill(out, 0, <usize>d * stride);
  const chunks = (n + CHUNK_ROWS - 1) / CHUNK_ROWS;
  for (let ch = 0; ch < chunks; ch++) {
    const r0 = ch * CHUNK_ROWS;
    const rows = min(n - r0, CHUNK_ROWS);
    const gc = g + <usize>r0 * stride;
    const s0 = load<i32>(segFirst + (<usize>ch << 2));
    const s1 = load<i32>(segFirst + (<usize>(ch + 1) << 2));
    let c = 0;
    for (; c + 32 <= w; c += 32) {
      const cB = <usize>c << 2;
      copyBlock(gc + cB, stride, pack, PACK_STRIDE, rows);
      for (let s = s0; s < s1; s++) {
        const p = out + <usize>load<i32>(segCol + (<usize>s << 2)) * stride + cB;
        let a0 = v128.load(p, 0), a1 = v128.load(p, 16), a2 = v128.load(p, 32), a3 = v128.load(p, 48);
        let a4 = v128.load(p, 64), a5 = v128.load(p, 80), a6 = v128.load(p, 96), a7 = v128.load(p, 112);
        const k1 = load<i32>(segPtr + (<usize>(s + 1) << 2));
        for (let k = load<i32>(segPtr + (<usize>s << 2)); k < k1; k++) {
          const v = f32x4.splat(load<f32>(val + (<usize>k << 2)));
          const q = pack + (<usize>load<u8>(rowIn + <usize>k) << 7);
          a0 = f32x4.add(a0, f32x4.mul(v, v128.load(q, 0)));
          a1 = f32x4.add(a1, f32x4.mul(v, v128.load(q, 16)));
          a2 = f32x4.add(a2, f32x4.mul(v, v128.load(q, 32)));
          a3 = f32x4.add(a3, f32x4.mul(v, v128.load(q, 48)));
          a4 = f32x4.add(a4, f32x4.mul(v, v128.load(q, 64)));
          a5 = f32x4.add(a5, f32x4.mul(v, v128.load(q, 80)));
          a6 = f32x4.add(a6, f32x4.mul(v, v128.load(q, 96)));
          a7 = f32x4.add(a7, f32x4.mul(v, v128.load(q, 112)));
        }
        v128.store(p, a0, 0);
        v128.store(p, a1, 16);
        v128.store(p, a2, 32);
        v128.store(p, a3, 48);
        v128.store(p, a4, 64);
        v128.store(p, a5, 80);
        v128.store(p, a6, 96);
        v128.store(p, a7, 112);
      }
    }
    for (; c < w; c += 4) {
      const cB = <usize>c << 2;
      for (let s = s0; s < s1; s++) {
        const p = out + <usize>load<i32>(segCol + (<usize>s << 2)) * stride + cB;
        let a0 = v128.load(p);
        const k1 = load<i32>(segPtr + (<usize>(s + 1) << 2));
        for (let k = load<i32>(segPtr + (<usize>s << 2)); k < k1; k++) {
          a0 = f32x4.add(a0, f32x4.mul(f32x4.splat(load<f32>(val + (<usize>k << 2))), v128.load(gc + <usize>load<u8>(rowIn + <usize>k) * stride + cB)));
        }
        v128.store(p, a0);
      }
    }
  }
}
