/**
 * The 8-bit quantisation and the exact distance behind every filter. Every coordinate is quantised to a byte;
 * the slab filter (slabs.ts) works on bins of those bytes, the survivors' whole u8 rows (rowMax8) bound their
 * distance on both sides, and only pairs the byte bounds cannot decide get the exact float64 max-norm
 * (maxNormBounded). The bound is proven in threshold()'s comment, so no filter ever changes a result.
 */

/**
 * max_c |a_c - b_c| over `bytes / 8` float64 coordinates, or some value >= bound as soon as the running max
 * reaches bound (the caller rejects both the same way).
 */
@inline export function maxNormBounded(a: usize, b: usize, bytes: usize, bound: f64): f64 {
  let m0 = f64x2.splat(0);
  let m1 = f64x2.splat(0);
  const bv = f64x2.splat(bound);
  let off: usize = 0;
  while (off + 64 <= bytes) {
    m0 = f64x2.pmax(m0, f64x2.abs(f64x2.sub(v128.load(a + off), v128.load(b + off))));
    m1 = f64x2.pmax(m1, f64x2.abs(f64x2.sub(v128.load(a + off, 16), v128.load(b + off, 16))));
    m0 = f64x2.pmax(m0, f64x2.abs(f64x2.sub(v128.load(a + off, 32), v128.load(b + off, 32))));
    m1 = f64x2.pmax(m1, f64x2.abs(f64x2.sub(v128.load(a + off, 48), v128.load(b + off, 48))));
    off += 64;
    if (v128.any_true(f64x2.ge(f64x2.pmax(m0, m1), bv))) return bound;
  }
  while (off < bytes) {
    m0 = f64x2.pmax(m0, f64x2.abs(f64x2.sub(v128.load(a + off), v128.load(b + off))));
    off += 16;
  }
  const m = f64x2.pmax(m0, m1);
  const l0 = f64x2.extract_lane(m, 0);
  const l1 = f64x2.extract_lane(m, 1);
  return l0 > l1 ? l0 : l1;
}

/**
 * Coordinates quantised to 8 bits, u = floor(w') with w' = fl(fl(v - qMin) / step) in [0, 250] for every data
 * value, bound the distance in both directions. With w = (v - qMin) / step exactly (v >= qMin), the two roundings
 * give |w' - w| <= 2^-52 w <= delta = 1e-13, so u - delta <= w < u + 1 + delta, and for two points, per dim,
 * |u_a - u_b| - 1 - 2 delta < |w_a - w_b| < |u_a - u_b| + 1 + 2 delta; over the dims, with m = max |u_a - u_b|:
 * (m - 1 - 2 delta) step < |a - b| < (m + 1 + 2 delta) step (values clamped by quantise() are only the padding
 * dims, equal in every row). A lane whose running max reaches T = floor(r / step + 1e-9) + 2 > r / step + 1 +
 * 2 delta (the 1e-9 covers the rounding of r / step) is therefore at distance > r; the lanes that never reach it
 * are checked exactly in float64. The counts use the upper bound too.
 */
@inline export function threshold(r: f64, step: f64): i32 {
  const t = Math.floor(r / step + 1e-9) + 2;
  return t < 256 ? <i32>t : 256;
}

/**
 * The byte bound as decisions for a pair whose u8 max-norm is m: its distance is surely below r when
 * (m + 1 + 1e-6) step < r, and surely not below r (d > r) when (m - 1 - 1e-6) step >= r; the 1e-6 step covers
 * 2 delta and the rounding of the product (both under 1e-12 step for r < 256 steps).
 */
@inline export function surelyBelow(m: i32, step: f64, r: f64): bool {
  return (<f64>m + 1.000001) * step < r;
}

@inline export function surelyNotBelow(m: i32, step: f64, r: f64): bool {
  return (<f64>m - 1.000001) * step >= r;
}

/** The least m in [0, 256] at which surelyBelow(m, step, r) no longer holds (it holds for every smaller m). */
export function belowUntil(step: f64, r: f64): i32 {
  let m = <i32>Math.min(256, Math.max(0, Math.floor(r / step - 1.000001)));
  while (m > 0 && !surelyBelow(m - 1, step, r)) m--;
  while (m < 256 && surelyBelow(m, step, r)) m++;
  return m;
}

/** The least m in [0, 256] from which surelyNotBelow(m, step, r) holds (256: no byte max reaches it). */
export function notBelowFrom(step: f64, r: f64): i32 {
  let m = <i32>Math.min(256, Math.max(0, Math.ceil(r / step + 1.000001)));
  while (m > 0 && surelyNotBelow(m - 1, step, r)) m--;
  while (m < 256 && !surelyNotBelow(m, step, r)) m++;
  return m;
}

@inline export function quantise(v: f64, qMin: f64, step: f64): u8 {
  const u = Math.floor((v - qMin) / step);
  return u <= 0 ? 0 : u >= 255 ? 255 : <u8>u;
}

/**
 * Stage 2: max_c |u_q - u_j| per v128 lane over every dim of the row-major u8 rows q and r (`bytes`, a multiple of
 * 32; padding bytes equal in both), 16 dims per v128. No early exit: branch-free is faster (bench/README.md).
 */
@inline export function rowMax8(q: usize, r: usize, bytes: usize): v128 {
  let a0 = i8x16.splat(0);
  let a1 = i8x16.splat(0);
  let off: usize = 0;
  while (off < bytes) {
    const q0 = v128.load(q + off);
    const r0 = v128.load(r + off);
    const q1 = v128.load(q + off, 16);
    const r1 = v128.load(r + off, 16);
    a0 = i8x16.max_u(a0, v128.or(i8x16.sub_sat_u(q0, r0), i8x16.sub_sat_u(r0, q0)));
    a1 = i8x16.max_u(a1, v128.or(i8x16.sub_sat_u(q1, r1), i8x16.sub_sat_u(r1, q1)));
    off += 32;
  }
  return i8x16.max_u(a0, a1);
}

/** The largest of the 16 u8 lanes. */
@inline export function hmax8(v: v128): i32 {
  v = i8x16.max_u(v, i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
  v = i8x16.max_u(v, i8x16.shuffle(v, v, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3));
  v = i8x16.max_u(v, i8x16.shuffle(v, v, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1));
  v = i8x16.max_u(v, i8x16.shuffle(v, v, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0));
  return <i32>i8x16.extract_lane_u(v, 0);
}
