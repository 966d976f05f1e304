/**
 * The 8-bit leaf filter and the exact distance behind it. Every coordinate is quantised to a byte; a leaf block
 * (LEAF u8 lanes per dim) is scanned against the query's bytes in two stages (scanHead over the block, then
 * rowMax8 on the few lanes left), and only lanes the byte bound cannot reject get the exact float64 max-norm
 * (maxNormBounded). The bound is proven in threshold()'s comment, so the filter never changes a result.
 */
import { HEAD, LEAF, Query, row8Bytes } from './layout';

export const LANE_INDEX: v128 = i8x16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
export const LANE_INDEX_HI: v128 = i8x16(16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
export const LANE_INDEX_2: v128 = i8x16(32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47);
export const LANE_INDEX_3: v128 = i8x16(48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63);

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
 * are checked exactly in float64. countLeaf uses the upper bound too.
 */
@inline export function threshold(r: f64, step: f64): i32 {
  const t = Math.floor(r / step + 1e-9) + 2;
  return t < 256 ? <i32>t : 256;
}

@inline export function quantise(v: f64, qMin: f64, step: f64): u8 {
  const u = Math.floor((v - qMin) / step);
  return u <= 0 ? 0 : u >= 255 ? 255 : <u8>u;
}

/**
 * Stage 1 of the leaf filter: the first `HEAD` dims of the query's order (`nd` byte offsets at `order`, the query's
 * bytes splat at `splat`) over the whole leaf block (LEAF u8 lanes
 * per dim, four v128), from the lanes' initial running maxima m0..m3 (255: no lane); returns the bitmask of the
 * lanes whose running max is still below their threshold in t0..t3. Most lanes fail within a few dims, so the
 * few left are finished one by one on their row-major rows (rowMax8) instead of holding the block.
 */
@inline export function scanHead(splat: usize, order: usize, nd: i32, base: usize, m0: v128, m1: v128, m2: v128, m3: v128, t0: v128, t1: v128, t2: v128, t3: v128): u64 {
  let head = HEAD;
  if (head > nd) head = nd;
  for (let t = 0; t < head; t++) {
    const qv = v128.load(splat + (<usize>t << 4));
    const at = base + <usize>load<u32>(order + (<usize>t << 2));
    const v0 = v128.load(at);
    const v1 = v128.load(at, 16);
    const v2 = v128.load(at, 32);
    const v3 = v128.load(at, 48);
    m0 = i8x16.max_u(m0, v128.or(i8x16.sub_sat_u(v0, qv), i8x16.sub_sat_u(qv, v0)));
    m1 = i8x16.max_u(m1, v128.or(i8x16.sub_sat_u(v1, qv), i8x16.sub_sat_u(qv, v1)));
    m2 = i8x16.max_u(m2, v128.or(i8x16.sub_sat_u(v2, qv), i8x16.sub_sat_u(qv, v2)));
    m3 = i8x16.max_u(m3, v128.or(i8x16.sub_sat_u(v3, qv), i8x16.sub_sat_u(qv, v3)));
  }
  return <u64>i8x16.bitmask(i8x16.lt_u(m0, t0)) | (<u64>i8x16.bitmask(i8x16.lt_u(m1, t1)) << 16) |
    (<u64>i8x16.bitmask(i8x16.lt_u(m2, t2)) << 32) | (<u64>i8x16.bitmask(i8x16.lt_u(m3, t3)) << 48);
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

/**
 * Stage 2 over the lanes of `mask` (leaf positions lo + lane), without branches on the data: those whose whole u8
 * row (rows8, rb bytes each) stays below their threshold: t8, or with per-lane thresholds `thr` (0: none) the
 * larger of t8 and the lane's own.
 */
@inline export function rowsBelow(mask: u64, row8: usize, rows8: usize, lo: i32, rb: usize, t8: i32, thr: usize): u64 {
  const tv = i8x16.splat(<i8>t8);
  let pass: u64 = 0;
  while (mask != 0) {
    const l = ctz(mask);
    mask &= mask - 1;
    let tl = tv;
    if (thr != 0) {
      const tj = <i32>load<u8>(thr + <usize>l);
      tl = i8x16.splat(<i8>(tj > t8 ? tj : t8));
    }
    const below = !v128.any_true(i8x16.ge_u(rowMax8(row8, rows8 + <usize>(lo + <i32>l) * rb, rb), tl));
    pass |= <u64>below << l;
  }
  return pass;
}

/** The largest of the 16 u8 lanes. */
@inline export function hmax8(v: v128): i32 {
  v = i8x16.max_u(v, i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
  v = i8x16.max_u(v, i8x16.shuffle(v, v, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3));
  v = i8x16.max_u(v, i8x16.shuffle(v, v, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1));
  v = i8x16.max_u(v, i8x16.shuffle(v, v, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0));
  return <i32>i8x16.extract_lane_u(v, 0);
}

/**
 * The query's dims, most likely to reject first: ordered by |q_c - mean_c| / std_c in 8 buckets (a counting
 * sort), as byte offsets c * LEAF into a leaf block; and the query quantised to 8 bits.
 */
export function orderDims(q: Query, col0: i32, dims: i32): void {
  const counts = q.counters;
  const row = q.row;
  const row8 = q.row8;
  const bucket = q.bucket;
  const qMin = q.qMin;
  const step = q.qStep;
  for (let b = 0; b < 8; b++) store<u32>(counts + (<usize>b << 2), 0);
  for (let c = 0; c < dims; c++) {
    const v = load<f64>(row + (<usize>c << 3));
    store<u8>(row8 + <usize>c, quantise(v, qMin, step));
    const st = q.stats + (<usize>(col0 + c) << 4);
    let z = (v - load<f64>(st)) * load<f64>(st, 8);
    if (z < 0) z = -z;
    let b = <i32>(z * 2);
    if (b > 7) b = 7;
    b = 7 - b;
    store<u8>(bucket + <usize>c, <u8>b);
    const cp = counts + (<usize>b << 2);
    store<u32>(cp, load<u32>(cp) + 1);
  }
  let acc: u32 = 0;
  for (let b = 0; b < 8; b++) {
    const cp = counts + (<usize>b << 2);
    const cnt = load<u32>(cp);
    store<u32>(cp, acc);
    acc += cnt;
  }
  const order = q.order;
  for (let c = 0; c < dims; c++) {
    const cp = counts + (<usize>load<u8>(bucket + <usize>c) << 2);
    const at = load<u32>(cp);
    store<u32>(cp, at + 1);
    store<u32>(order + (<usize>at << 2), <u32>c * LEAF);
  }
  q.nd = dims;
  fillSplats(q);
}

function fillSplats(q: Query): void {
  const nd = q.nd;
  for (let t = 0; t < nd; t++) {
    const off = load<u32>(q.order + (<usize>t << 2));
    v128.store(q.splat + (<usize>t << 4), i8x16.splat(load<i8>(q.row8 + <usize>(off / LEAF))));
  }
}

/** The query's row8 past the `from` dims orderDims quantised: the tree's padding dims (zero in Z) to `dims`, then 0 (as in the rows). */
export function padRow8(q: Query, from: i32, dims: i32): void {
  for (let c = from; c < dims; c++) store<u8>(q.row8 + <usize>c, quantise(load<f64>(q.row + (<usize>c << 3)), q.qMin, q.qStep));
  memory.fill(q.row8 + <usize>dims, 0, row8Bytes(dims) - <usize>dims);
}

/** orderDims over the joint row: x dims (stats 0..dx) and y dims (stats dxp..dxp+dy, row offset dxp). */
export function orderJoint(q: Query, dx: i32, dxp: i32, dy: i32): void {
  // order the whole padded row, then drop the padding dims (they are 0 in every row and never reject)
  orderDims(q, 0, dxp + dy);
  if (dxp != dx) {
    let w = 0;
    const padOff = <u32>dx * LEAF;
    const nd = q.nd;
    for (let t = 0; t < nd; t++) {
      const o = load<u32>(q.order + (<usize>t << 2));
      if (o != padOff) {
        store<u32>(q.order + (<usize>w << 2), o);
        w++;
      }
    }
    q.nd = w;
    fillSplats(q);
  }
}
