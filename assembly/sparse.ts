// Sparse x dense products for the first layer of the Hodas & Stinis networks (src/models/sparse.ts loads this).
//
// Data layout (all offsets are byte addresses in the imported memory, laid out by the loader):
//   X, n x d, in CSR: rowPtr (i32, n + 1), col (i32, nnz, column indices ascending within a row), val (f32, nnz).
//   Dense operands and results are row-major float32 with a row stride of `w` floats, `w` a multiple of 4
//   (the loader pads), so every row starts on a 16-byte boundary relative to its base.
//   `rows` (i32, m) selects the X rows of a minibatch: result row r uses X row rows[r]; rows = 0 means row r.
// Invariants: nothing is allocated here and nothing is read outside the ranges above; no fused multiply-add
// (f32x4.mul then f32x4.add), so each output is the float32 sum of the same products a dense product adds,
// minus the exact zeros, in ascending order of the summed index.
// Output columns go in register blocks of 32 (8 f32x4 accumulators), then 16, then 4 for what is left.

export { CHUNK_ROWS, spmmChunks, spmmTChunks } from './sparse-chunks';

@inline function rowOf(rows: usize, r: i32): i32 {
  return rows ? load<i32>(rows + (<usize>r << 2)) : r;
}

/** out[r, :] = sum over the nonzeros (j, v) of X row rows[r] of v * b[j, :]   (out = X[rows] b; b is d x w). */
export function spmm(rowPtr: usize, col: usize, val: usize, rows: usize, m: i32, b: usize, w: i32, out: usize): void {
  const stride = <usize>w << 2;
  for (let r = 0; r < m; r++) {
    const row = rowOf(rows, r);
    const k0 = load<i32>(rowPtr + (<usize>row << 2));
    const k1 = load<i32>(rowPtr + (<usize>(row + 1) << 2));
    const o = out + <usize>r * stride;
    let c = 0;
    for (; c + 32 <= w; c += 32) {
      const bc = b + (<usize>c << 2);
      let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
      for (let k = k0; k < k1; k++) {
        const v = f32x4.splat(load<f32>(val + (<usize>k << 2)));
        const p = bc + <usize>load<i32>(col + (<usize>k << 2)) * stride;
        a0 = f32x4.add(a0, f32x4.mul(v, v128.load(p, 0)));
        a1 = f32x4.add(a1, f32x4.mul(v, v128.load(p, 16)));
        a2 = f32x4.add(a2, f32x4.mul(v, v128.load(p, 32)));
        a3 = f32x4.add(a3, f32x4.mul(v, v128.load(p, 48)));
        a4 = f32x4.add(a4, f32x4.mul(v, v128.load(p, 64)));
        a5 = f32x4.add(a5, f32x4.mul(v, v128.load(p, 80)));
        a6 = f32x4.add(a6, f32x4.mul(v, v128.load(p, 96)));
        a7 = f32x4.add(a7, f32x4.mul(v, v128.load(p, 112)));
      }
      const oc = o + (<usize>c << 2);
      v128.store(oc, a0, 0);
      v128.store(oc, a1, 16);
      v128.store(oc, a2, 32);
      v128.store(oc, a3, 48);
      v128.store(oc, a4, 64);
      v128.store(oc, a5, 80);
      v128.store(oc, a6, 96);
      v128.store(oc, a7, 112);
    }
    for (; c + 16 <= w; c += 16) {
      const bc = b + (<usize>c << 2);
      let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
      for (let k = k0; k < k1; k++) {
        const v = f32x4.splat(load<f32>(val + (<usize>k << 2)));
        const p = bc + <usize>load<i32>(col + (<usize>k << 2)) * stride;
        a0 = f32x4.add(a0, f32x4.mul(v, v128.load(p, 0)));
        a1 = f32x4.add(a1, f32x4.mul(v, v128.load(p, 16)));
        a2 = f32x4.add(a2, f32x4.mul(v, v128.load(p, 32)));
        a3 = f32x4.add(a3, f32x4.mul(v, v128.load(p, 48)));
      }
      const oc = o + (<usize>c << 2);
      v128.store(oc, a0, 0);
      v128.store(oc, a1, 16);
      v128.store(oc, a2, 32);
      v128.store(oc, a3, 48);
    }
    for (; c < w; c += 4) {
      const bc = b + (<usize>c << 2);
      let a0 = f32x4.splat(0);
      for (let k = k0; k < k1; k++) {
        const v = f32x4.splat(load<f32>(val + (<usize>k << 2)));
        a0 = f32x4.add(a0, f32x4.mul(v, v128.load(bc + <usize>load<i32>(col + (<usize>k << 2)) * stride)));
      }
      v128.store(o + (<usize>c << 2), a0);
    }
  }
}

/**
 * out = X[rows]^T g: out[j, :] = sum over r of X[rows[r], j] * g[r, :], out d x w (zeroed here), g m x w.
 * Scatter form: each nonzero (j, v) of row rows[r] adds v * g[r, :] to out row j, so g is read once in order and
 * out (d x w floats, a few hundred KB) stays in cache.
 */
export function spmmT(rowPtr: usize, col: usize, val: usize, rows: usize, m: i32, g: usize, w: i32, d: i32, out: usize): void {
  const stride = <usize>w << 2;
  memory.fill(out, 0, <usize>d * stride);
  for (let r = 0; r < m; r++) {
    const row = rowOf(rows, r);
    const k0 = load<i32>(rowPtr + (<usize>row << 2));
    const k1 = load<i32>(rowPtr + (<usize>(row + 1) << 2));
    const gr = g + <usize>r * stride;
    let c = 0;
    for (; c + 32 <= w; c += 32) {
      const gc = gr + (<usize>c << 2);
      const g0 = v128.load(gc, 0), g1 = v128.load(gc, 16), g2 = v128.load(gc, 32), g3 = v128.load(gc, 48);
      const g4 = v128.load(gc, 64), g5 = v128.load(gc, 80), g6 = v128.load(gc, 96), g7 = v128.load(gc, 112);
      const oc = out + (<usize>c << 2);
      for (let k = k0; k < k1; k++) {
        const v = f32x4.splat(load<f32>(val + (<usize>k << 2)));
        const p = oc + <usize>load<i32>(col + (<usize>k << 2)) * stride;
        v128.store(p, f32x4.add(v128.load(p, 0), f32x4.mul(v, g0)), 0);
        v128.store(p, f32x4.add(v128.load(p, 16), f32x4.mul(v, g1)), 16);
        v128.store(p, f32x4.add(v128.load(p, 32), f32x4.mul(v, g2)), 32);
        v128.store(p, f32x4.add(v128.load(p, 48), f32x4.mul(v, g3)), 48);
        v128.store(p, f32x4.add(v128.load(p, 64), f32x4.mul(v, g4)), 64);
        v128.store(p, f32x4.add(v128.load(p, 80), f32x4.mul(v, g5)), 80);
        v128.store(p, f32x4.add(v128.load(p, 96), f32x4.mul(v, g6)), 96);
        v128.store(p, f32x4.add(v128.load(p, 112), f32x4.mul(v, g7)), 112);
      }
    }
    for (; c + 16 <= w; c += 16) {
      const gc = gr + (<usize>c << 2);
      const g0 = v128.load(gc, 0), g1 = v128.load(gc, 16), g2 = v128.load(gc, 32), g3 = v128.load(gc, 48);
      const oc = out + (<usize>c << 2);
      for (let k = k0; k < k1; k++) {
        const v = f32x4.splat(load<f32>(val + (<usize>k << 2)));
        const p = oc + <usize>load<i32>(col + (<usize>k << 2)) * stride;
        v128.store(p, f32x4.add(v128.load(p, 0), f32x4.mul(v, g0)), 0);
        v128.store(p, f32x4.add(v128.load(p, 16), f32x4.mul(v, g1)), 16);
        v128.store(p, f32x4.add(v128.load(p, 32), f32x4.mul(v, g2)), 32);
        v128.store(p, f32x4.add(v128.load(p, 48), f32x4.mul(v, g3)), 48);
      }
    }
    for (; c < w; c += 4) {
      const g0 = v128.load(gr + (<usize>c << 2));
      const oc = out + (<usize>c << 2);
      for (let k = k0; k < k1; k++) {
        const v = f32x4.splat(load<f32>(val + (<usize>k << 2)));
        const p = oc + <usize>load<i32>(col + (<usize>k << 2)) * stride;
        v128.store(p, f32x4.add(v128.load(p), f32x4.mul(v, g0)));
      }
    }
  }
}
