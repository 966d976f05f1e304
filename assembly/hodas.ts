// The Hodas & Stinis training step's element-wise passes, with the products it shares with the other kernels
// (src/models/hodas-kernel.ts loads this as build/hodas.wasm).
//
// Data layout as in assembly/dvcnn.ts: row-major float32 at 16-byte aligned byte addresses, row strides and
// widths padded to multiples of 4 floats. Padding columns stay exact zeros: their gamma and beta are zero, so
// zhat, a and dz are zero there too. Column sums run over the rows in ascending order, four lanes at a time;
// no fused multiply-add.

import { tanhFast4 } from './simd-math';

export { spmm, spmmT } from './sparse';
export { CHUNK_ROWS, spmmChunks, spmmTChunks } from './sparse-chunks';
export { matMul, gradBias } from './dvcnn';

// rows per chunk of weightGrad: 64 rows of h and dz (at most 2 x 128 floats each) stay in L1/L2 while every
// output block passes over them
const CHUNK: i32 = 64;

// The column sums run row by row, their m accumulators in memory (they stay in L1): passes of a few columns
// down all n rows read one cache line per row at the row stride, which the hardware prefetchers serve poorly
// (bench/README.md, "The step on 2026-12-02, evening").

/** sums[i] = sum_r x[r, i] (r ascending), i < m. */
function columnSums(x: usize, n: i32, m: i32, s: i32, sums: usize): void {
  const sB = <usize>s << 2;
  const mB = <usize>m << 2;
  memory.fill(sums, 0, mB);
  for (let r = 0; r < n; r++) {
    const px = x + <usize>r * sB;
    for (let off: usize = 0; off < mB; off += 16) v128.store(sums + off, f32x4.add(v128.load(sums + off), v128.load(px + off)));
  }
}

/** out[i] = sum_r (z[r, i] - mean[i])^2 (r ascending), i < m. */
function centredSquareSums(z: usize, mean: usize, n: i32, m: i32, s: i32, out: usize): void {
  const sB = <usize>s << 2;
  const mB = <usize>m << 2;
  memory.fill(out, 0, mB);
  for (let r = 0; r < n; r++) {
    const pz = z + <usize>r * sB;
    for (let off: usize = 0; off < mB; off += 16) {
      const c = f32x4.sub(v128.load(pz + off), v128.load(mean + off));
      v128.store(out + off, f32x4.add(v128.load(out + off), f32x4.mul(c, c)));
    }
  }
}

/**
 * out = x^T dz (k x m, stride m; k and m multiples of 4): out[j, i] = sum_r x[r, j] dz[r, i], r ascending; x is
 * n x k (stride xs), dz n x m (stride m). Register blocks of 4 output rows x 8 columns, as assembly/dvcnn.ts's
 * gradW, but over chunks of CHUNK rows, so the n-row operands are read from memory once instead of once per block.
 */
export function weightGrad(x: usize, xs: i32, dz: usize, n: i32, k: i32, m: i32, out: usize): void {
  const xsB = <usize>xs << 2;
  const msB = <usize>m << 2;
  memory.fill(out, 0, <usize>k * msB);
  for (let r0 = 0; r0 < n; r0 += CHUNK) {
    const r1 = min(n, r0 + CHUNK);
    for (let j = 0; j < k; j += 4) {
      const o = out + <usize>j * msB;
      const px = x + <usize>r0 * xsB + (<usize>j << 2);
      let c = 0;
      for (; c + 8 <= m; c += 8) gradBlock8(px, xsB, dz + <usize>r0 * msB + (<usize>c << 2), msB, r1 - r0, o + (<usize>c << 2));
      if (c < m) gradBlock4(px, xsB, dz + <usize>r0 * msB + (<usize>c << 2), msB, r1 - r0, o + (<usize>c << 2));
    }
  }
}

// weightGrad's register blocks, one loop each (a width test inside the row loop cost a compare and branch per
// row); splat loads, as shuffles would take the vector ports the multiply-adds need

/** out[0..4, 0..8] += x[r, 0..4]^T dz[r, 0..8] over `rows` rows from px and pz; dz and out share the row stride osB. */
@inline function gradBlock8(px: usize, xsB: usize, pz: usize, osB: usize, rows: i32, oc: usize): void {
  let a00 = v128.load(oc), a10 = v128.load(oc + osB), a20 = v128.load(oc + 2 * osB), a30 = v128.load(oc + 3 * osB);
  let a01 = v128.load(oc, 16), a11 = v128.load(oc + osB, 16), a21 = v128.load(oc + 2 * osB, 16), a31 = v128.load(oc + 3 * osB, 16);
  for (let r = 0; r < rows; r++) {
    const s0 = v128.load32_splat(px);
    const s1 = v128.load32_splat(px, 4);
    const s2 = v128.load32_splat(px, 8);
    const s3 = v128.load32_splat(px, 12);
    const z0 = v128.load(pz);
    const z1 = v128.load(pz, 16);
    a00 = f32x4.add(a00, f32x4.mul(s0, z0));
    a10 = f32x4.add(a10, f32x4.mul(s1, z0));
    a20 = f32x4.add(a20, f32x4.mul(s2, z0));
    a30 = f32x4.add(a30, f32x4.mul(s3, z0));
    a01 = f32x4.add(a01, f32x4.mul(s0, z1));
    a11 = f32x4.add(a11, f32x4.mul(s1, z1));
    a21 = f32x4.add(a21, f32x4.mul(s2, z1));
    a31 = f32x4.add(a31, f32x4.mul(s3, z1));
    px += xsB;
    pz += osB;
  }
  v128.store(oc, a00);
  v128.store(oc + osB, a10);
  v128.store(oc + 2 * osB, a20);
  v128.store(oc + 3 * osB, a30);
  v128.store(oc, a01, 16);
  v128.store(oc + osB, a11, 16);
  v128.store(oc + 2 * osB, a21, 16);
  v128.store(oc + 3 * osB, a31, 16);
}

/** gradBlock8 for the last 4 columns. */
@inline function gradBlock4(px: usize, xsB: usize, pz: usize, osB: usize, rows: i32, oc: usize): void {
  let a00 = v128.load(oc), a10 = v128.load(oc + osB), a20 = v128.load(oc + 2 * osB), a30 = v128.load(oc + 3 * osB);
  for (let r = 0; r < rows; r++) {
    const z0 = v128.load(pz);
    a00 = f32x4.add(a00, f32x4.mul(v128.load32_splat(px), z0));
    a10 = f32x4.add(a10, f32x4.mul(v128.load32_splat(px, 4), z0));
    a20 = f32x4.add(a20, f32x4.mul(v128.load32_splat(px, 8), z0));
    a30 = f32x4.add(a30, f32x4.mul(v128.load32_splat(px, 12), z0));
    px += xsB;
    pz += osB;
  }
  v128.store(oc, a00);
  v128.store(oc + osB, a10);
  v128.store(oc + 2 * osB, a20);
  v128.store(oc + 3 * osB, a30);
}

/**
 * BatchNorm in training mode then tanh, n x m with stride s: mean and (biased) variance of each column of z
 * into mean[m], variance[m] and rstd[m] = 1 / sqrt(variance + eps); z is replaced by zhat = (z - mean) rstd,
 * and a = tanh(gamma zhat + beta).
 */
export function bnTanh(z: usize, a: usize, n: i32, m: i32, s: i32, gamma: usize, beta: usize, eps: f32, mean: usize, variance: usize, rstd: usize): void {
  const sB = <usize>s << 2;
  const invN = f32x4.splat(<f32>1 / <f32>n);
  columnSums(z, n, m, s, mean);
  for (let i = 0; i < m; i += 4) v128.store(mean + (<usize>i << 2), f32x4.mul(v128.load(mean + (<usize>i << 2)), invN));
  centredSquareSums(z, mean, n, m, s, variance);
  for (let i = 0; i < m; i += 4) {
    const off = <usize>i << 2;
    const v = f32x4.mul(v128.load(variance + off), invN);
    v128.store(variance + off, v);
    v128.store(rstd + off, f32x4.div(f32x4.splat(1), f32x4.sqrt(f32x4.add(v, f32x4.splat(eps)))));
  }
  for (let r = 0; r < n; r++) {
    const pz = z + <usize>r * sB;
    const pa = a + <usize>r * sB;
    for (let i = 0; i < m; i += 4) {
      const off = <usize>i << 2;
      const zh = f32x4.mul(f32x4.sub(v128.load(pz + off), v128.load(mean + off)), v128.load(rstd + off));
      v128.store(pz + off, zh);
      v128.store(pa + off, tanhFast4(f32x4.add(f32x4.mul(v128.load(gamma + off), zh), v128.load(beta + off))));
    }
  }
}

/**
 * g = g (1 - a^2) in place, with dbeta[i] = sum_r g[r, i] and dgamma[i] = sum_r g[r, i] zhat[r, i] of the new g
 * (r ascending), in one pass over the rows.
 */
function tanhBackSums(g: usize, a: usize, zhat: usize, n: i32, m: i32, s: i32, dbeta: usize, dgamma: usize): void {
  const sB = <usize>s << 2;
  const mB = <usize>m << 2;
  const one = f32x4.splat(1);
  memory.fill(dbeta, 0, mB);
  memory.fill(dgamma, 0, mB);
  for (let r = 0; r < n; r++) {
    const pg = g + <usize>r * sB;
    const pa = a + <usize>r * sB;
    const pz = zhat + <usize>r * sB;
    for (let off: usize = 0; off < mB; off += 16) {
      const av = v128.load(pa + off);
      const d = f32x4.mul(v128.load(pg + off), f32x4.sub(one, f32x4.mul(av, av)));
      v128.store(pg + off, d);
      v128.store(dbeta + off, f32x4.add(v128.load(dbeta + off), d));
      v128.store(dgamma + off, f32x4.add(v128.load(dgamma + off), f32x4.mul(d, v128.load(pz + off))));
    }
  }
}

/**
 * The backward pass of bnTanh, in place on g (dL/da on entry, dL/dz on exit; n x m, stride s):
 *   dy = g (1 - a^2),  dbeta = sum(dy),  dgamma = sum(dy zhat),
 *   dz = gamma rstd (dy - dbeta / n - zhat dgamma / n)   (Ioffe & Szegedy 2015, in closed form).
 * consts: room for 3 m floats (gamma rstd, dbeta / n and dgamma / n, computed once instead of once per row).
 */
export function bnTanhBack(g: usize, a: usize, zhat: usize, n: i32, m: i32, s: i32, gamma: usize, rstd: usize, dgamma: usize, dbeta: usize, consts: usize): void {
  const sB = <usize>s << 2;
  tanhBackSums(g, a, zhat, n, m, s, dbeta, dgamma);
  const invN = f32x4.splat(<f32>1 / <f32>n);
  const mB = <usize>m << 2;
  const k1s = consts, mdys = consts + mB, mdyzs = consts + 2 * mB;
  for (let i = 0; i < m; i += 4) {
    const off = <usize>i << 2;
    v128.store(k1s + off, f32x4.mul(v128.load(gamma + off), v128.load(rstd + off)));
    v128.store(mdys + off, f32x4.mul(v128.load(dbeta + off), invN));
    v128.store(mdyzs + off, f32x4.mul(v128.load(dgamma + off), invN));
  }
  for (let r = 0; r < n; r++) {
    const pg = g + <usize>r * sB;
    const pz = zhat + <usize>r * sB;
    for (let i = 0; i < m; i += 4) {
      const off = <usize>i << 2;
      const t = f32x4.sub(f32x4.sub(v128.load(pg + off), v128.load(mdys + off)), f32x4.mul(v128.load(pz + off), v128.load(mdyzs + off)));
      v128.store(pg + off, f32x4.mul(v128.load(k1s + off), t));
    }
  }
}

/** out = x + y, n x m with stride s (out may alias x or y). */
export function addInto(x: usize, y: usize, out: usize, n: i32, m: i32, s: i32): void {
  const sB = <usize>s << 2;
  for (let r = 0; r < n; r++) {
    const o = <usize>r * sB;
    for (let i = 0; i < m; i += 4) {
      const off = o + (<usize>i << 2);
      v128.store(out + off, f32x4.add(v128.load(x + off), v128.load(y + off)));
    }
  }
}

/**
 * Softmax cross-entropy over c classes of n x cs logits (labels i32): dlogits = (softmax - onehot) / n (padding
 * columns zero); stats[0] = the summed loss, stats[1] = the number of rows whose first arg max is not the label.
 */
export function softmaxXent(logits: usize, cs: i32, n: i32, c: i32, labels: usize, dlogits: usize, stats: usize): void {
  const csB = <usize>cs << 2;
  const invN = <f32>1 / <f32>n;
  let loss: f64 = 0;
  let errors: i32 = 0;
  for (let r = 0; r < n; r++) {
    const pl = logits + <usize>r * csB;
    const pd = dlogits + <usize>r * csB;
    let mx = load<f32>(pl);
    let arg = 0;
    for (let j = 1; j < c; j++) {
      const v = load<f32>(pl + (<usize>j << 2));
      if (v > mx) {
        mx = v;
        arg = j;
      }
    }
    let sum: f32 = 0;
    for (let j = 0; j < c; j++) {
      const e = Mathf.exp(load<f32>(pl + (<usize>j << 2)) - mx);
      store<f32>(pd + (<usize>j << 2), e);
      sum += e;
    }
    const label = load<i32>(labels + (<usize>r << 2));
    loss -= <f64>(load<f32>(pl + (<usize>label << 2)) - mx - Mathf.log(sum));
    if (arg != label) errors++;
    for (let j = 0; j < c; j++) {
      const q = pd + (<usize>j << 2);
      store<f32>(q, (load<f32>(q) / sum - (j == label ? <f32>1 : <f32>0)) * invN);
    }
    for (let j = c; j < cs; j++) store<f32>(pd + (<usize>j << 2), 0);
  }
  store<f32>(stats, <f32>loss);
  store<f32>(stats, <f32>errors, 4);
}

/** RMSprop, len a multiple of 4: acc = rho acc + (1 - rho) g^2;  p = p - lr g / (sqrt(acc) + eps). */
export function rmsprop(p: usize, g: usize, acc: usize, len: i32, lr: f32, rho: f32, eps: f32): void {
  const rhoV = f32x4.splat(rho);
  const oneMinus = f32x4.splat(<f32>1 - rho);
  const lrV = f32x4.splat(lr);
  const epsV = f32x4.splat(eps);
  for (let i = 0; i < len; i += 4) {
    const off = <usize>i << 2;
    const gv = v128.load(g + off);
    const av = f32x4.add(f32x4.mul(v128.load(acc + off), rhoV), f32x4.mul(f32x4.mul(gv, gv), oneMinus));
    v128.store(acc + off, av);
    v128.store(p + off, f32x4.sub(v128.load(p + off), f32x4.div(f32x4.mul(gv, lrV), f32x4.add(f32x4.sqrt(av), epsV))));
  }
}
