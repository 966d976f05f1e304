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

/**
 * sums[i] = sum_r x[r, i] and, with y != 0, prods[i] = sum_r x[r, i] y[r, i] (r ascending), i < m: 16 columns
 * per pass over the rows (a cache line of each row), 4 for the rest.
 */
@inline function columnSums(x: usize, y: usize, n: i32, m: i32, s: i32, sums: usize, prods: usize): void {
  const sB = <usize>s << 2;
  let i = 0;
  for (; i + 16 <= m; i += 16) {
    const off = <usize>i << 2;
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    for (let r = 0; r < n; r++) {
      const px = x + <usize>r * sB + off;
      const x0 = v128.load(px, 0), x1 = v128.load(px, 16), x2 = v128.load(px, 32), x3 = v128.load(px, 48);
      a0 = f32x4.add(a0, x0);
      a1 = f32x4.add(a1, x1);
      a2 = f32x4.add(a2, x2);
      a3 = f32x4.add(a3, x3);
      if (y) {
        const py = y + <usize>r * sB + off;
        b0 = f32x4.add(b0, f32x4.mul(x0, v128.load(py, 0)));
        b1 = f32x4.add(b1, f32x4.mul(x1, v128.load(py, 16)));
        b2 = f32x4.add(b2, f32x4.mul(x2, v128.load(py, 32)));
        b3 = f32x4.add(b3, f32x4.mul(x3, v128.load(py, 48)));
      }
    }
    v128.store(sums + off, a0, 0);
    v128.store(sums + off, a1, 16);
    v128.store(sums + off, a2, 32);
    v128.store(sums + off, a3, 48);
    if (y) {
      v128.store(prods + off, b0, 0);
      v128.store(prods + off, b1, 16);
      v128.store(prods + off, b2, 32);
      v128.store(prods + off, b3, 48);
    }
  }
  for (; i < m; i += 4) {
    const off = <usize>i << 2;
    let a = f32x4.splat(0);
    let b = a;
    for (let r = 0; r < n; r++) {
      const xv = v128.load(x + <usize>r * sB + off);
      a = f32x4.add(a, xv);
      if (y) b = f32x4.add(b, f32x4.mul(xv, v128.load(y + <usize>r * sB + off)));
    }
    v128.store(sums + off, a);
    if (y) v128.store(prods + off, b);
  }
}

/** out[i] = sum_r (z[r, i] - mean[i])^2 (r ascending), i < m: 16 columns per pass over the rows, 4 for the rest. */
function centredSquareSums(z: usize, mean: usize, n: i32, m: i32, s: i32, out: usize): void {
  const sB = <usize>s << 2;
  let i = 0;
  for (; i + 16 <= m; i += 16) {
    const off = <usize>i << 2;
    const m0 = v128.load(mean + off, 0), m1 = v128.load(mean + off, 16), m2 = v128.load(mean + off, 32), m3 = v128.load(mean + off, 48);
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    for (let r = 0; r < n; r++) {
      const p = z + <usize>r * sB + off;
      const c0 = f32x4.sub(v128.load(p, 0), m0), c1 = f32x4.sub(v128.load(p, 16), m1);
      const c2 = f32x4.sub(v128.load(p, 32), m2), c3 = f32x4.sub(v128.load(p, 48), m3);
      a0 = f32x4.add(a0, f32x4.mul(c0, c0));
      a1 = f32x4.add(a1, f32x4.mul(c1, c1));
      a2 = f32x4.add(a2, f32x4.mul(c2, c2));
      a3 = f32x4.add(a3, f32x4.mul(c3, c3));
    }
    v128.store(out + off, a0, 0);
    v128.store(out + off, a1, 16);
    v128.store(out + off, a2, 32);
    v128.store(out + off, a3, 48);
  }
  for (; i < m; i += 4) {
    const off = <usize>i << 2;
    const mu = v128.load(mean + off);
    let a = f32x4.splat(0);
    for (let r = 0; r < n; r++) {
      const c = f32x4.sub(v128.load(z + <usize>r * sB + off), mu);
      a = f32x4.add(a, f32x4.mul(c, c));
    }
    v128.store(out + off, a);
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
      for (let c = 0; c < m; c += 8) {
        const wide = c + 8 <= m;
        const oc = o + (<usize>c << 2);
        let a00 = v128.load(oc), a10 = v128.load(oc + msB), a20 = v128.load(oc + 2 * msB), a30 = v128.load(oc + 3 * msB);
        let a01 = f32x4.splat(0), a11 = a01, a21 = a01, a31 = a01;
        if (wide) {
          a01 = v128.load(oc, 16);
          a11 = v128.load(oc + msB, 16);
          a21 = v128.load(oc + 2 * msB, 16);
          a31 = v128.load(oc + 3 * msB, 16);
        }
        let px = x + <usize>r0 * xsB + (<usize>j << 2);
        let pz = dz + <usize>r0 * msB + (<usize>c << 2);
        for (let r = r0; r < r1; r++) {
          // splat loads: shuffles would take the vector ports the multiply-adds need
          const s0 = v128.load32_splat(px);
          const s1 = v128.load32_splat(px, 4);
          const s2 = v128.load32_splat(px, 8);
          const s3 = v128.load32_splat(px, 12);
          const z0 = v128.load(pz);
          a00 = f32x4.add(a00, f32x4.mul(s0, z0));
          a10 = f32x4.add(a10, f32x4.mul(s1, z0));
          a20 = f32x4.add(a20, f32x4.mul(s2, z0));
          a30 = f32x4.add(a30, f32x4.mul(s3, z0));
          if (wide) {
            const z1 = v128.load(pz, 16);
            a01 = f32x4.add(a01, f32x4.mul(s0, z1));
            a11 = f32x4.add(a11, f32x4.mul(s1, z1));
            a21 = f32x4.add(a21, f32x4.mul(s2, z1));
            a31 = f32x4.add(a31, f32x4.mul(s3, z1));
          }
          px += xsB;
          pz += msB;
        }
        v128.store(oc, a00);
        v128.store(oc + msB, a10);
        v128.store(oc + 2 * msB, a20);
        v128.store(oc + 3 * msB, a30);
        if (wide) {
          v128.store(oc, a01, 16);
          v128.store(oc + msB, a11, 16);
          v128.store(oc + 2 * msB, a21, 16);
          v128.store(oc + 3 * msB, a31, 16);
        }
      }
    }
  }
}

/**
 * BatchNorm in training mode then tanh, n x m with stride s: mean and (biased) variance of each column of z
 * into mean[m], variance[m] and rstd[m] = 1 / sqrt(variance + eps); z is replaced by zhat = (z - mean) rstd,
 * and a = tanh(gamma zhat + beta).
 */
export function bnTanh(z: usize, a: usize, n: i32, m: i32, s: i32, gamma: usize, beta: usize, eps: f32, mean: usize, variance: usize, rstd: usize): void {
  const sB = <usize>s << 2;
  const invN = f32x4.splat(<f32>1 / <f32>n);
  columnSums(z, 0, n, m, s, mean, 0);
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
 * The backward pass of bnTanh, in place on g (dL/da on entry, dL/dz on exit; n x m, stride s):
 *   dy = g (1 - a^2),  dbeta = sum(dy),  dgamma = sum(dy zhat),
 *   dz = gamma rstd (dy - dbeta / n - zhat dgamma / n)   (Ioffe & Szegedy 2015, in closed form).
 */
export function bnTanhBack(g: usize, a: usize, zhat: usize, n: i32, m: i32, s: i32, gamma: usize, rstd: usize, dgamma: usize, dbeta: usize): void {
  const sB = <usize>s << 2;
  const one = f32x4.splat(1);
  for (let r = 0; r < n; r++) {
    const pg = g + <usize>r * sB;
    const pa = a + <usize>r * sB;
    for (let i = 0; i < m; i += 4) {
      const off = <usize>i << 2;
      const av = v128.load(pa + off);
      v128.store(pg + off, f32x4.mul(v128.load(pg + off), f32x4.sub(one, f32x4.mul(av, av))));
    }
  }
  columnSums(g, zhat, n, m, s, dbeta, dgamma);
  const invN = f32x4.splat(<f32>1 / <f32>n);
  for (let r = 0; r < n; r++) {
    const pg = g + <usize>r * sB;
    const pz = zhat + <usize>r * sB;
    for (let i = 0; i < m; i += 4) {
      const off = <usize>i << 2;
      const k1 = f32x4.mul(v128.load(gamma + off), v128.load(rstd + off));
      const mdy = f32x4.mul(v128.load(dbeta + off), invN);
      const mdyz = f32x4.mul(v128.load(dgamma + off), invN);
      const t = f32x4.sub(f32x4.sub(v128.load(pg + off), mdy), f32x4.mul(v128.load(pz + off), mdyz));
      v128.store(pg + off, f32x4.mul(k1, t));
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
