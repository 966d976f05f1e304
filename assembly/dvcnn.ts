// The DVCNN training step's products and element-wise passes (src/models/dvcnn-kernel.ts loads this).
//
// Data layout: every matrix is row-major float32 at a 16-byte aligned byte address, with a row stride (in
// floats) that is a multiple of 4 and passed explicitly; widths passed as `m`/`k` are the padded ones. A
// weight matrix W is k x m with W[j][i] the weight from input j to output i; `mode` says which entries can be
// nonzero: DENSE all, UPPER j < i, LOWER j > i (the DVCNN masks). Entries outside the mode are stored as exact
// zeros (the loader masks them), so a product may skip them in whole blocks and still add every nonzero term.
// Padding columns of activations hold zeros (activate writes them), so padded rows of W never receive updates.
// Invariants: nothing is allocated; no fused multiply-add (f32x4.mul then f32x4.add); a product's sums run
// over the summed index in ascending order (four lanes then a pairwise fold for the dot products in matMulT).
// Register blocks: matMul 4 rows x 8 columns, matMulT 4 rows x 2 weight rows, gradW 4 weight rows x 8
// columns: 8 f32x4 accumulators each, which the x64 register file holds without spilling.

import { exp4, tanh4 } from './simd-math';

// rows per chunk in matMul (a multiple of its 4-row blocks)
const ROW_CHUNK: i32 = 64;

const DENSE: i32 = 0;
const UPPER: i32 = 1;
const LOWER: i32 = 2;

const SIGMOID: i32 = 0;
const TANH: i32 = 1;
const RELU: i32 = 2;

@inline function fma4(acc: v128, a: v128, b: v128): v128 {
  return f32x4.add(acc, f32x4.mul(a, b));
}

@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/**
 * out[r, i] = sum_j x[r, j] w[j, i] (+ bias[i] when bias != 0) for r < n, i < m; x is n x k, w is k x m.
 * For output columns [c, c + cw) only the rows j that can be nonzero are read: UPPER j < c + cw - 1,
 * LOWER j > c.
 */
export function matMul(x: usize, xs: i32, w: usize, ws: i32, bias: usize, out: usize, os: i32, n: i32, k: i32, m: i32, mode: i32): void {
  const xsB = <usize>xs << 2;
  const wsB = <usize>ws << 2;
  const osB = <usize>os << 2;
  // rows in chunks, so that a chunk of x stays in cache while every column block passes over it
  for (let r0 = 0; r0 < n; r0 += ROW_CHUNK) {
    const r1 = min(n, r0 + ROW_CHUNK);
    for (let c = 0; c < m; c += 8) {
      const cw = c + 8 <= m ? 8 : 4;
      let j0 = 0;
      let j1 = k;
      if (mode == UPPER) j1 = min(k, c + cw - 1);
      else if (mode == LOWER) j0 = min(k, c + 1);
      const wc = w + (<usize>c << 2) + <usize>j0 * wsB;
      const b0 = bias ? v128.load(bias + (<usize>c << 2)) : f32x4.splat(0);
      const b1 = bias && cw == 8 ? v128.load(bias + (<usize>c << 2), 16) : f32x4.splat(0);
      let r = r0;
      for (; r + 4 <= r1; r += 4) {
        let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        let px = x + <usize>r * xsB + (<usize>j0 << 2);
        let pw = wc;
        if (cw == 8) {
          for (let j = j0; j < j1; j++) {
            const w0 = v128.load(pw, 0);
            const w1 = v128.load(pw, 16);
            const s0 = v128.load32_splat(px);
            const s1 = v128.load32_splat(px + xsB);
            const s2 = v128.load32_splat(px + 2 * xsB);
            const s3 = v128.load32_splat(px + 3 * xsB);
            a00 = fma4(a00, s0, w0);
            a01 = fma4(a01, s0, w1);
            a10 = fma4(a10, s1, w0);
            a11 = fma4(a11, s1, w1);
            a20 = fma4(a20, s2, w0);
            a21 = fma4(a21, s2, w1);
            a30 = fma4(a30, s3, w0);
            a31 = fma4(a31, s3, w1);
            px += 4;
            pw += wsB;
          }
        } else {
          for (let j = j0; j < j1; j++) {
            const w0 = v128.load(pw, 0);
            a00 = fma4(a00, v128.load32_splat(px), w0);
            a10 = fma4(a10, v128.load32_splat(px + xsB), w0);
            a20 = fma4(a20, v128.load32_splat(px + 2 * xsB), w0);
            a30 = fma4(a30, v128.load32_splat(px + 3 * xsB), w0);
            px += 4;
            pw += wsB;
          }
        }
        const o = out + <usize>r * osB + (<usize>c << 2);
        const o1 = o + osB, o2 = o1 + osB, o3 = o2 + osB;
        if (bias) {
          a00 = f32x4.add(a00, b0); a10 = f32x4.add(a10, b0); a20 = f32x4.add(a20, b0); a30 = f32x4.add(a30, b0);
          a01 = f32x4.add(a01, b1); a11 = f32x4.add(a11, b1); a21 = f32x4.add(a21, b1); a31 = f32x4.add(a31, b1);
        }
        v128.store(o, a00); v128.store(o1, a10); v128.store(o2, a20); v128.store(o3, a30);
        if (cw == 8) {
          v128.store(o, a01, 16); v128.store(o1, a11, 16); v128.store(o2, a21, 16); v128.store(o3, a31, 16);
        }
      }
      for (; r < r1; r++) {
        let a0 = f32x4.splat(0), a1 = a0;
        let px = x + <usize>r * xsB + (<usize>j0 << 2);
        let pw = wc;
        for (let j = j0; j < j1; j++) {
          const s = v128.load32_splat(px);
          a0 = fma4(a0, s, v128.load(pw, 0));
          if (cw == 8) a1 = fma4(a1, s, v128.load(pw, 16));
          px += 4;
          pw += wsB;
        }
        const o = out + <usize>r * osB + (<usize>c << 2);
        if (bias) {
          a0 = f32x4.add(a0, b0);
          a1 = f32x4.add(a1, b1);
        }
        v128.store(o, a0);
        if (cw == 8) v128.store(o, a1, 16);
      }
    }
  }
}

/**
 * out[r, j] = (g0 ? g0[r, j] : 0) + sum_i dz[r, i] w[j, i] for r < n, j < k (out = g0 + dz w^T); dz is n x m,
 * w is k x m. For weight rows [j, j + 2) only the columns that can be nonzero are read: UPPER i > j, LOWER
 * i < j + 1, rounded out to whole f32x4s. out may not alias dz or w; it may alias g0.
 */
export function matMulT(dz: usize, dzs: i32, w: usize, ws: i32, g0: usize, gs: i32, out: usize, os: i32, n: i32, k: i32, m: i32, mode: i32): void {
  const dzsB = <usize>dzs << 2;
  const wsB = <usize>ws << 2;
  const gsB = <usize>gs << 2;
  const osB = <usize>os << 2;
  for (let j = 0; j < k; j += 2) {
    let i0 = 0;
    let i1 = m;
    if (mode == UPPER) i0 = (j + 1) & ~3;
    else if (mode == LOWER) i1 = min(m, (j + 1 + 3) & ~3);
    const w0p = w + <usize>j * wsB;
    const w1p = w0p + wsB;
    let r = 0;
    for (; r + 4 <= n; r += 4) {
      let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
      const d0 = dz + <usize>r * dzsB;
      for (let i = i0; i < i1; i += 4) {
        const off = <usize>i << 2;
        const w0 = v128.load(w0p + off);
        const w1 = v128.load(w1p + off);
        const z0 = v128.load(d0 + off);
        const z1 = v128.load(d0 + dzsB + off);
        const z2 = v128.load(d0 + 2 * dzsB + off);
        const z3 = v128.load(d0 + 3 * dzsB + off);
        a00 = fma4(a00, z0, w0);
        a01 = fma4(a01, z0, w1);
        a10 = fma4(a10, z1, w0);
        a11 = fma4(a11, z1, w1);
        a20 = fma4(a20, z2, w0);
        a21 = fma4(a21, z2, w1);
        a30 = fma4(a30, z3, w0);
        a31 = fma4(a31, z3, w1);
      }
      const o = out + <usize>r * osB + (<usize>j << 2);
      const gp = g0 + <usize>r * gsB + (<usize>j << 2);
      storeDot2(o, gp, g0, hsum(a00), hsum(a01));
      storeDot2(o + osB, gp + gsB, g0, hsum(a10), hsum(a11));
      storeDot2(o + 2 * osB, gp + 2 * gsB, g0, hsum(a20), hsum(a21));
      storeDot2(o + 3 * osB, gp + 3 * gsB, g0, hsum(a30), hsum(a31));
    }
    for (; r < n; r++) {
      let a0 = f32x4.splat(0), a1 = a0;
      const d0 = dz + <usize>r * dzsB;
      for (let i = i0; i < i1; i += 4) {
        const off = <usize>i << 2;
        const z0 = v128.load(d0 + off);
        a0 = fma4(a0, z0, v128.load(w0p + off));
        a1 = fma4(a1, z0, v128.load(w1p + off));
      }
      storeDot2(out + <usize>r * osB + (<usize>j << 2), g0 + <usize>r * gsB + (<usize>j << 2), g0, hsum(a0), hsum(a1));
    }
  }
}

@inline function storeDot2(o: usize, gp: usize, g0: usize, s0: f32, s1: f32): void {
  if (g0) {
    s0 = load<f32>(gp) + s0;
    s1 = load<f32>(gp, 4) + s1;
  }
  store<f32>(o, s0);
  store<f32>(o, s1, 4);
}

/**
 * dA[j, i] = sum_r x[r, j] dz[r, i] on the mode's entries (zero elsewhere), j < k, i < m; x is n x k, dz n x m.
 * With a != 0: a[j, i] = a[j, i] - dA[j, i] * rate in place (SGD; out unused); else out = dA (k x m, stride as).
 * For weight rows [j, j + 4) only the column blocks that can be nonzero are visited.
 */
export function gradW(x: usize, xs: i32, dz: usize, dzs: i32, n: i32, k: i32, m: i32, mode: i32, a: usize, as: i32, rate: f32, out: usize): void {
  const xsB = <usize>xs << 2;
  const dzsB = <usize>dzs << 2;
  const asB = <usize>as << 2;
  const rateV = f32x4.splat(rate);
  const lane = i32x4(0, 1, 2, 3);
  const dst = a ? a : out;
  for (let j = 0; j < k; j += 4) {
    let c0 = 0;
    let c1 = m;
    if (mode == UPPER) c0 = j;
    else if (mode == LOWER) c1 = min(m, j + 4);
    if (!a && mode != DENSE) {
      // the entries this block does not visit are zeros of dA
      for (let t = 0; t < 4; t++) {
        const row = out + <usize>(j + t) * asB;
        if (c0 > 0) memory.fill(row, 0, <usize>c0 << 2);
        if (c1 < m) memory.fill(row + (<usize>c1 << 2), 0, <usize>(m - c1) << 2);
      }
    }
    const jv0 = i32x4.splat(j), jv1 = i32x4.splat(j + 1), jv2 = i32x4.splat(j + 2), jv3 = i32x4.splat(j + 3);
    for (let c = c0; c < c1; c += 8) {
      const cw = c + 8 <= c1 ? 8 : 4;
      let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
      let px = x + (<usize>j << 2);
      let pz = dz + (<usize>c << 2);
      if (cw == 8) {
        for (let r = 0; r < n; r++) {
          const xv = v128.load(px);
          const z0 = v128.load(pz, 0);
          const z1 = v128.load(pz, 16);
          const s0 = v128.shuffle<f32>(xv, xv, 0, 0, 0, 0);
          const s1 = v128.shuffle<f32>(xv, xv, 1, 1, 1, 1);
          const s2 = v128.shuffle<f32>(xv, xv, 2, 2, 2, 2);
          const s3 = v128.shuffle<f32>(xv, xv, 3, 3, 3, 3);
          a00 = fma4(a00, s0, z0);
          a01 = fma4(a01, s0, z1);
          a10 = fma4(a10, s1, z0);
          a11 = fma4(a11, s1, z1);
          a20 = fma4(a20, s2, z0);
          a21 = fma4(a21, s2, z1);
          a30 = fma4(a30, s3, z0);
          a31 = fma4(a31, s3, z1);
          px += xsB;
          pz += dzsB;
        }
      } else {
        for (let r = 0; r < n; r++) {
          const xv = v128.load(px);
          const z0 = v128.load(pz, 0);
          a00 = fma4(a00, v128.shuffle<f32>(xv, xv, 0, 0, 0, 0), z0);
          a10 = fma4(a10, v128.shuffle<f32>(xv, xv, 1, 1, 1, 1), z0);
          a20 = fma4(a20, v128.shuffle<f32>(xv, xv, 2, 2, 2, 2), z0);
          a30 = fma4(a30, v128.shuffle<f32>(xv, xv, 3, 3, 3, 3), z0);
          px += xsB;
          pz += dzsB;
        }
      }
      const iv0 = i32x4.add(lane, i32x4.splat(c));
      const iv1 = i32x4.add(iv0, i32x4.splat(4));
      const o = dst + <usize>j * asB + (<usize>c << 2);
      putGrad(o, a00, iv0, jv0, mode, a, rateV);
      putGrad(o + asB, a10, iv0, jv1, mode, a, rateV);
      putGrad(o + 2 * asB, a20, iv0, jv2, mode, a, rateV);
      putGrad(o + 3 * asB, a30, iv0, jv3, mode, a, rateV);
      if (cw == 8) {
        putGrad(o + 16, a01, iv1, jv0, mode, a, rateV);
        putGrad(o + asB + 16, a11, iv1, jv1, mode, a, rateV);
        putGrad(o + 2 * asB + 16, a21, iv1, jv2, mode, a, rateV);
        putGrad(o + 3 * asB + 16, a31, iv1, jv3, mode, a, rateV);
      }
    }
  }
}

/** Masks one f32x4 of dA to the mode's entries (columns iv of row jv), then stores it or applies the SGD step. */
@inline function putGrad(o: usize, g: v128, iv: v128, jv: v128, mode: i32, a: usize, rateV: v128): void {
  if (mode == UPPER) g = v128.and(g, i32x4.gt_s(iv, jv));
  else if (mode == LOWER) g = v128.and(g, i32x4.lt_s(iv, jv));
  v128.store(o, a ? f32x4.sub(v128.load(o), f32x4.mul(g, rateV)) : g);
}

/** db[i] = sum_r dz[r, i] (r ascending), i < m; with b != 0: b[i] = b[i] - db[i] * rate, else out = db. */
export function gradBias(dz: usize, dzs: i32, n: i32, m: i32, b: usize, rate: f32, out: usize): void {
  const dzsB = <usize>dzs << 2;
  const rateV = f32x4.splat(rate);
  for (let i = 0; i < m; i += 4) {
    let s = f32x4.splat(0);
    let p = dz + (<usize>i << 2);
    for (let r = 0; r < n; r++) {
      s = f32x4.add(s, v128.load(p));
      p += dzsB;
    }
    if (b) {
      const q = b + (<usize>i << 2);
      v128.store(q, f32x4.sub(v128.load(q), f32x4.mul(s, rateV)));
    } else {
      v128.store(out + (<usize>i << 2), s);
    }
  }
}

/** out[r, i] = x[r, i] - c[i] for r < n, i < m (the centred layer input). */
export function center(x: usize, c: usize, n: i32, m: i32, s: i32, out: usize): void {
  const sB = <usize>s << 2;
  for (let r = 0; r < n; r++) {
    const px = x + <usize>r * sB;
    const po = out + <usize>r * sB;
    for (let i = 0; i < m; i += 4) {
      const off = <usize>i << 2;
      v128.store(po + off, f32x4.sub(v128.load(px + off), v128.load(c + off)));
    }
  }
}

/**
 * In place on f: f[r, i] = act(f[r, i]) (f holds z on entry) for i < d, 0 for the padding d <= i < m;
 * y[r, i] = x[r, i] + f[r, i] (the layer output). All n x m with stride s, four lanes at a time: sigmoid
 * 1 / (1 + e^-z), tanh, relu max(z, 0) (NaN stays NaN).
 */
export function activate(f: usize, x: usize, y: usize, n: i32, d: i32, m: i32, s: i32, a: i32): void {
  const sB = <usize>s << 2;
  const one = f32x4.splat(1);
  const zero = f32x4.splat(0);
  const dv = i32x4.splat(d);
  const lane = i32x4(0, 1, 2, 3);
  for (let r = 0; r < n; r++) {
    const pf = f + <usize>r * sB;
    const px = x + <usize>r * sB;
    const py = y + <usize>r * sB;
    for (let i = 0; i < m; i += 4) {
      const off = <usize>i << 2;
      const z = v128.load(pf + off);
      let v = a == SIGMOID ? f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(z)))) : a == TANH ? tanh4(z) : f32x4.pmax(z, zero);
      if (i + 4 > d) v = v128.and(v, i32x4.lt_s(i32x4.add(lane, i32x4.splat(i)), dv));
      v128.store(pf + off, v);
      v128.store(py + off, f32x4.add(v128.load(px + off), v));
    }
  }
}

/** dz = g * f'(z), with f' from the stored f: sigmoid f (1 - f), tanh 1 - f^2, relu [f > 0]. n x m, stride s. */
export function backAct(g: usize, f: usize, n: i32, m: i32, s: i32, a: i32, out: usize): void {
  const sB = <usize>s << 2;
  const one = f32x4.splat(1);
  const zero = f32x4.splat(0);
  for (let r = 0; r < n; r++) {
    const pg = g + <usize>r * sB;
    const pf = f + <usize>r * sB;
    const po = out + <usize>r * sB;
    for (let i = 0; i < m; i += 4) {
      const off = <usize>i << 2;
      const fv = v128.load(pf + off);
      let fp: v128;
      if (a == SIGMOID) fp = f32x4.mul(fv, f32x4.sub(one, fv));
      else if (a == TANH) fp = f32x4.sub(one, f32x4.mul(fv, fv));
      else fp = v128.and(one, f32x4.gt(fv, zero));
      v128.store(po + off, f32x4.mul(v128.load(pg + off), fp));
    }
  }
}

/** a[i] = a[i] - g[i] * rate for i < len (len a multiple of 4): the SGD step from a stored gradient. */
export function sgdUpdate(a: usize, g: usize, len: i32, rate: f32): void {
  const rateV = f32x4.splat(rate);
  for (let i = 0; i < len; i += 4) {
    const off = <usize>i << 2;
    v128.store(a + off, f32x4.sub(v128.load(a + off), f32x4.mul(v128.load(g + off), rateV)));
  }
}
