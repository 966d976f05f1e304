/**
 * The exact KSG kernel (Kraskov et al. 2004, algorithm 1) in SIMD WebAssembly: kd-trees in flat arrays, the
 * k-NN search in the joint space and the marginal range counts, all under the max-norm.
 *
 * Data layout. The memory is imported (and shared between the main thread and the pool's workers); the caller
 * lays out every array and writes a context header of u32 slots (the C_* offsets) at `ctx`.
 *   Z     N x dz float64, dz = dxp + dyp: the joint rows [x, 0-pad, y, 0-pad] (each part padded to an even
 *         count for f64x2). The caller writes them in input order; build() permutes them in place into the
 *         joint tree's order (permZ[p] = input index at position p).
 *   trees Three kd-trees over the same points: joint (all of Z), x (columns 0..dxp), y (columns dxp..dz).
 *         A tree has `levels` levels of internal nodes 0 .. 2^levels - 2 (children 2i+1, 2i+2); the node over
 *         positions [lo, hi) splits at mid = (lo + hi) >> 1 on dim splitDim; bound[2 node] = the largest
 *         coordinate left of mid, bound[2 node + 1] = the smallest right of it. Leaves hold <= LEAF points.
 *         The x and y trees order the points their own way: permX[j] = the Z row (joint position) at x-tree
 *         position j, likewise permY.
 *   cols  Per tree, per leaf, per dim: LEAF u8 lanes, the coordinates quantised to 8 bits (a filter whose
 *         lower bound on the distance is exact; see threshold()).
 * Invariants: every accepted distance is computed in float64 from Z, which is exact for float32 input (and the
 * exact max-norm of any float64 input); the result does not depend on the trees, only on the data.
 */

// context header: u32 slots (then the quantisation, two f64, at byte C_QUANT_BYTE)
const C_N = 0;
const C_K = 1;
const C_DXP = 2;
const C_DYP = 3;
const C_LEVELS = 4;
const C_Z = 5;
const C_VISIT = 6; // u8[N] scratch for the in-place permutation
const C_PERMZ = 9;
const C_PERMX = 10;
const C_PERMY = 11;
const C_TMPROW = 12; // f64[dz] scratch
const C_SPREAD = 13; // f64[2 dz] scratch: min, max per dim
const C_ZDIM = 14;
const C_ZCOL = 15;
const C_ZBOUND = 16;
const C_XDIM = 17;
const C_XCOL = 18;
const C_XBOUND = 19;
const C_YDIM = 20;
const C_YCOL = 21;
const C_YBOUND = 22;
const C_EPS = 23;
const C_NX = 24;
const C_NY = 25;
const C_STATS = 26;
const C_BEST = 27;
const C_DX = 28;
const C_DY = 29;
const C_QUANT_BYTE = 128; // gMin, gStep (f64)

/** Points per leaf at most: a leaf block is LEAF u8 lanes (four v128) per dim. */
const LEAF = 64;

@inline function hdr(ctx: usize, slot: i32): usize {
  return <usize>load<u32>(ctx + (<usize>slot << 2));
}

// ---- the tree being searched (set by useTree) ----
let tDim: usize = 0; // splitDim (i32[])
let tBound: usize = 0; // per internal node: left max, right min on the split dim (f64 pairs)
let tCols: usize = 0; // leaf blocks: per leaf, per dim, LEAF u8 lanes (quantised coordinates)
let tLeafBytes: usize = 0;
let tMap: usize = 0; // tree position -> Z row (0 for the joint tree: the identity)
let tColOff: usize = 0; // byte offset of the tree's first coordinate in a Z row
let tBytes: usize = 0; // bytes of the tree's coordinates in a row
let tFirstLeaf: i32 = 0;
let gZ: usize = 0;
let gZRow: usize = 0; // bytes per Z row
let gStats: usize = 0; // per joint dim: mean, 1 / std (f64 pairs)
let gMin: f64 = 0; // 8-bit quantisation of every coordinate: u = floor((v - gMin) / gStep)
let gStep: f64 = 1;
const LANE_INDEX: v128 = i8x16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
const LANE_INDEX_HI: v128 = i8x16(16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
const LANE_INDEX_2: v128 = i8x16(32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47);
const LANE_INDEX_3: v128 = i8x16(48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63);

// ---- the query ----
let qRow: usize = 0; // the query's first coordinate of the tree's part of its Z row
let qSelf: i32 = -1; // position excluded from the k-NN (the query itself, by index)
let qBest: usize = 0; // k smallest distances so far, ascending
let qK: i32 = 0;
let qKth: f64 = Infinity;
let qR: f64 = 0;
let qCount: i32 = 0;
let qRow8: usize = 0; // the query quantised to 8 bits
let qOrder: usize = 0; // its dims, most rejecting first, as byte offsets into a leaf block
let qNd: i32 = 0;
let qLanes: usize = 0; // LEAF u8 lane results of the last leaf scan
let qBucket: usize = 0;

/**
 * max_c |a_c - b_c| over `bytes / 8` float64 coordinates, or some value >= bound as soon as the running max
 * reaches bound (the caller rejects both the same way).
 */
@inline function maxNormBounded(a: usize, b: usize, bytes: usize, bound: f64): f64 {
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

// ---------------------------------------------------------------- leaf blocks (8-bit filter)

/**
 * Coordinates quantised to 8 bits, u = floor((v - gMin) / gStep) in [0, 250] for every data value, bound the
 * distance from below: with w = (v - gMin) / gStep exactly, |u_a - u_b| <= |w_a - w_b| + 1 (the floors) + 2
 * (float64 rounding of the division, far below 1, can move each floor by one), so |a - b| >= (|u_a - u_b| - 3)
 * * gStep. A lane whose running max reaches T = floor(r / gStep) + 5 is therefore at distance > r (the extra
 * step absorbs the rounding of r / gStep); the lanes that never reach it are checked exactly in float64.
 */
@inline function threshold(r: f64): i32 {
  const t = Math.floor(r / gStep) + 5;
  return t < 256 ? <i32>t : 256;
}

/**
 * Scan one leaf block (LEAF u8 lanes per dim, dims in the query's order) until every lane's running max
 * reaches T (< 256); returns false if they all did (nothing in the leaf can pass), else leaves the lanes'
 * running maxima in qLanes. Lanes past the leaf's end start at 255.
 */
@inline function scanLeaf(li: i32, size: i32, t8: i32): bool {
  const base = tCols + <usize>li * tLeafBytes;
  const tv = i8x16.splat(<i8>t8);
  const sz = i8x16.splat(<i8>size);
  let m0 = i8x16.ge_u(LANE_INDEX, sz);
  let m1 = i8x16.ge_u(LANE_INDEX_HI, sz);
  let m2 = i8x16.ge_u(LANE_INDEX_2, sz);
  let m3 = i8x16.ge_u(LANE_INDEX_3, sz);
  const nd = qNd;
  let t = 0;
  while (t < nd) {
    let end = t + 4;
    if (end > nd) end = nd;
    for (; t < end; t++) {
      const off = <usize>load<u32>(qOrder + (<usize>t << 2));
      const qv = i8x16.splat(load<i8>(qRow8 + (off >> 6)));
      const v0 = v128.load(base + off);
      const v1 = v128.load(base + off, 16);
      m0 = i8x16.max_u(m0, v128.or(i8x16.sub_sat_u(v0, qv), i8x16.sub_sat_u(qv, v0)));
      m1 = i8x16.max_u(m1, v128.or(i8x16.sub_sat_u(v1, qv), i8x16.sub_sat_u(qv, v1)));
      const v2 = v128.load(base + off, 32);
      const v3 = v128.load(base + off, 48);
      m2 = i8x16.max_u(m2, v128.or(i8x16.sub_sat_u(v2, qv), i8x16.sub_sat_u(qv, v2)));
      m3 = i8x16.max_u(m3, v128.or(i8x16.sub_sat_u(v3, qv), i8x16.sub_sat_u(qv, v3)));
    }
    if (i8x16.all_true(v128.and(v128.and(i8x16.ge_u(m0, tv), i8x16.ge_u(m1, tv)), v128.and(i8x16.ge_u(m2, tv), i8x16.ge_u(m3, tv))))) return false;
  }
  v128.store(qLanes, m0);
  v128.store(qLanes, m1, 16);
  v128.store(qLanes, m2, 32);
  v128.store(qLanes, m3, 48);
  return true;
}

/**
 * The query's dims, most likely to reject first: ordered by |q_c - mean_c| / std_c in 8 buckets (a counting
 * sort), as byte offsets c * LEAF into a leaf block; and the query quantised to 8 bits.
 */
function orderDims(col0: i32, dims: i32): void {
  const counts = qLanes + 64; // 8 u32 bucket counters after the lanes
  for (let b = 0; b < 8; b++) store<u32>(counts + (<usize>b << 2), 0);
  for (let c = 0; c < dims; c++) {
    const v = load<f64>(qRow + (<usize>c << 3));
    store<u8>(qRow8 + <usize>c, quantise(v));
    const st = gStats + (<usize>(col0 + c) << 4);
    let z = (v - load<f64>(st)) * load<f64>(st, 8);
    if (z < 0) z = -z;
    let b = <i32>(z * 2);
    if (b > 7) b = 7;
    b = 7 - b;
    store<u8>(qBucket + <usize>c, <u8>b);
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
  for (let c = 0; c < dims; c++) {
    const cp = counts + (<usize>load<u8>(qBucket + <usize>c) << 2);
    const at = load<u32>(cp);
    store<u32>(cp, at + 1);
    store<u32>(qOrder + (<usize>at << 2), <u32>c * LEAF);
  }
  qNd = dims;
}

@inline function quantise(v: f64): u8 {
  const u = Math.floor((v - gMin) / gStep);
  return u <= 0 ? 0 : u >= 255 ? 255 : <u8>u;
}

function knnLeaf(li: i32, lo: i32, hi: i32): void {
  let t8 = threshold(qKth);
  if (t8 < 256) {
    if (!scanLeaf(li, hi - lo, t8)) return;
  } else {
    v128.store(qLanes, i8x16.splat(0));
    v128.store(qLanes, i8x16.splat(0), 16);
    v128.store(qLanes, i8x16.splat(0), 32);
    v128.store(qLanes, i8x16.splat(0), 48);
  }
  for (let j = lo; j < hi; j++) {
    if (<i32>load<u8>(qLanes + <usize>(j - lo)) >= t8 || j == qSelf) continue;
    const d = maxNormBounded(qRow, gZ + <usize>j * gZRow, tBytes, qKth);
    if (d < qKth) {
      // insert into the ascending list of the k best
      let t = qK - 1;
      while (t > 0) {
        const prev = load<f64>(qBest + (<usize>(t - 1) << 3));
        if (prev <= d) break;
        store<f64>(qBest + (<usize>t << 3), prev);
        t--;
      }
      store<f64>(qBest + (<usize>t << 3), d);
      qKth = load<f64>(qBest + (<usize>(qK - 1) << 3));
      t8 = threshold(qKth);
    }
  }
}

// ---------------------------------------------------------------- tree descent

/** Lower bounds on the distance to the left and right children (the split dim only), at least `bound`. */
@inline function childBounds(node: i32, bound: f64): v128 {
  const s = <usize>load<i32>(tDim + (<usize>node << 2));
  const qs = load<f64>(qRow + (s << 3));
  const b = tBound + (<usize>node << 4);
  let dl = qs - load<f64>(b);
  if (dl < bound) dl = bound;
  let dr = load<f64>(b, 8) - qs;
  if (dr < bound) dr = bound;
  return f64x2(dl, dr);
}

function knnNode(node: i32, lo: i32, hi: i32, bound: f64): void {
  if (bound >= qKth) return;
  if (node >= tFirstLeaf) {
    knnLeaf(node - tFirstLeaf, lo, hi);
    return;
  }
  const mid = (lo + hi) >> 1;
  const l = 2 * node + 1;
  const b = childBounds(node, bound);
  const dl = f64x2.extract_lane(b, 0);
  const dr = f64x2.extract_lane(b, 1);
  // nearer child first, so the bound shrinks fast
  if (dl <= dr) {
    knnNode(l, lo, mid, dl);
    knnNode(l + 1, mid, hi, dr);
  } else {
    knnNode(l + 1, mid, hi, dr);
    knnNode(l, lo, mid, dl);
  }
}

// ---------------------------------------------------------------- range counts in a marginal space

function countLeaf(li: i32, lo: i32, hi: i32): void {
  const t8 = threshold(qR);
  if (t8 < 256) {
    if (!scanLeaf(li, hi - lo, t8)) return;
  } else {
    v128.store(qLanes, i8x16.splat(0));
    v128.store(qLanes, i8x16.splat(0), 16);
    v128.store(qLanes, i8x16.splat(0), 32);
    v128.store(qLanes, i8x16.splat(0), 48);
  }
  let c = 0;
  for (let j = lo; j < hi; j++) {
    if (<i32>load<u8>(qLanes + <usize>(j - lo)) >= t8) continue;
    const row = gZ + <usize>load<i32>(tMap + (<usize>j << 2)) * gZRow + tColOff;
    if (maxNormBounded(qRow, row, tBytes, qR) < qR) c++;
  }
  qCount += c;
}

function countNode(node: i32, lo: i32, hi: i32, bound: f64): void {
  if (bound >= qR) return;
  if (node >= tFirstLeaf) {
    countLeaf(node - tFirstLeaf, lo, hi);
    return;
  }
  const mid = (lo + hi) >> 1;
  const l = 2 * node + 1;
  const b = childBounds(node, bound);
  countNode(l, lo, mid, f64x2.extract_lane(b, 0));
  countNode(l + 1, mid, hi, f64x2.extract_lane(b, 1));
}

function useTree(ctx: usize, dims: i32, colOff: i32, dim: i32, cols: i32, bound: i32, map: i32): void {
  tDim = hdr(ctx, dim);
  tCols = hdr(ctx, cols);
  tBound = hdr(ctx, bound);
  tMap = map >= 0 ? hdr(ctx, map) : 0;
  tLeafBytes = <usize>dims * LEAF;
  tColOff = <usize>colOff << 3;
  tBytes = <usize>dims << 3;
  tFirstLeaf = (1 << <i32>hdr(ctx, C_LEVELS)) - 1;
}

/**
 * For joint positions [p0, p1): eps of each point (k-th neighbour distance in Z, itself excluded), then
 * nx and ny (strict range counts in the x and y columns, itself excluded), written at the point's input index.
 * `slot` picks this caller's scratch (one per concurrent caller).
 */
export function query(ctx: usize, p0: i32, p1: i32, slot: i32): void {
  const n = <i32>hdr(ctx, C_N);
  const k = <i32>hdr(ctx, C_K);
  const dx = <i32>hdr(ctx, C_DX);
  const dy = <i32>hdr(ctx, C_DY);
  const dxp = <i32>hdr(ctx, C_DXP);
  const dyp = <i32>hdr(ctx, C_DYP);
  const dz = dxp + dyp;
  const permZ = hdr(ctx, C_PERMZ);
  const eps = hdr(ctx, C_EPS);
  const nx = hdr(ctx, C_NX);
  const ny = hdr(ctx, C_NY);
  gZ = hdr(ctx, C_Z);
  gZRow = <usize>dz << 3;
  gStats = hdr(ctx, C_STATS);
  gMin = load<f64>(ctx + C_QUANT_BYTE);
  gStep = load<f64>(ctx + C_QUANT_BYTE, 8);
  qK = k;
  // scratch: best (k f64) | order (dz u32) | lanes (16 B) + buckets (32 B) | query u8 (dz B) | bucket of each dim (dz B)
  // (whole 128-byte lines: concurrent callers' scratch must not share cache lines)
  const slotBytes = (((<usize>k << 3) + (<usize>dz << 2) + 128 + (<usize>dz << 1)) + 127) & ~127;
  qBest = hdr(ctx, C_BEST) + <usize>slot * slotBytes;
  qOrder = qBest + (<usize>k << 3);
  qLanes = (qOrder + (<usize>dz << 2) + 15) & ~15;
  qRow8 = qLanes + 96;
  qBucket = qRow8 + <usize>dz;

  useTree(ctx, dz, 0, C_ZDIM, C_ZCOL, C_ZBOUND, -1);
  for (let p = p0; p < p1; p++) {
    for (let t = 0; t < k; t++) store<f64>(qBest + (<usize>t << 3), Infinity);
    qKth = Infinity;
    qSelf = p;
    qRow = gZ + <usize>p * gZRow;
    orderJoint(dx, dxp, dy);
    knnNode(0, 0, n, 0);
    store<f64>(eps + (<usize>load<i32>(permZ + (<usize>p << 2)) << 3), qKth);
  }

  qSelf = -1;
  for (let part = 0; part < 2; part++) {
    if (part == 0) useTree(ctx, dxp, 0, C_XDIM, C_XCOL, C_XBOUND, C_PERMX);
    else useTree(ctx, dyp, dxp, C_YDIM, C_YCOL, C_YBOUND, C_PERMY);
    const out = part == 0 ? nx : ny;
    for (let p = p0; p < p1; p++) {
      const i = <usize>load<i32>(permZ + (<usize>p << 2));
      qR = load<f64>(eps + (i << 3));
      qCount = 0;
      qRow = gZ + <usize>p * gZRow + tColOff;
      if (qR > 0) {
        if (part == 0) orderDims(0, dx);
        else orderDims(dxp, dy);
        countNode(0, 0, n, 0);
      }
      // the point itself is within any eps > 0
      store<i32>(out + (i << 2), qR > 0 ? qCount - 1 : 0);
    }
  }
}

/** orderDims over the joint row: x dims (stats 0..dx) and y dims (stats dxp..dxp+dy, row offset dxp). */
function orderJoint(dx: i32, dxp: i32, dy: i32): void {
  // order the whole padded row, then drop the padding dims (they are 0 in every row and never reject)
  orderDims(0, dxp + dy);
  if (dxp != dx) {
    let w = 0;
    const padOff = <u32>dx * LEAF;
    for (let t = 0; t < qNd; t++) {
      const o = load<u32>(qOrder + (<usize>t << 2));
      if (o != padOff) {
        store<u32>(qOrder + (<usize>w << 2), o);
        w++;
      }
    }
    qNd = w;
  }
}

// ---------------------------------------------------------------- building the trees

let bCol: usize = 0; // byte offset of the tree's first coordinate in a Z row
let bDims: i32 = 0;
let bPerm: usize = 0;
let bDim: usize = 0;
let bBound: usize = 0;
let bCols: usize = 0;
let bFirstLeaf: i32 = 0;
let bSpread: usize = 0;

@inline function key(pos: i32, s: usize): f64 {
  return load<f64>(gZ + <usize>load<i32>(bPerm + (<usize>pos << 2)) * gZRow + bCol + (s << 3));
}

@inline function swap(a: i32, b: i32): void {
  const pa = bPerm + (<usize>a << 2);
  const pb = bPerm + (<usize>b << 2);
  const t = load<i32>(pa);
  store<i32>(pa, load<i32>(pb));
  store<i32>(pb, t);
}

/** Reorder perm[lo, hi) so that position m holds the m-th smallest key on dim s (Hoare quickselect). */
function select(lo: i32, hi: i32, m: i32, s: usize): void {
  let l = lo;
  let r = hi - 1;
  while (r > l) {
    // median of three as pivot
    const c = l + ((r - l) >> 1);
    if (key(c, s) < key(l, s)) swap(c, l);
    if (key(r, s) < key(l, s)) swap(r, l);
    if (key(r, s) < key(c, s)) swap(r, c);
    const pivot = key(c, s);
    let i = l;
    let j = r;
    while (i <= j) {
      while (key(i, s) < pivot) i++;
      while (key(j, s) > pivot) j--;
      if (i <= j) {
        swap(i, j);
        i++;
        j--;
      }
    }
    if (m <= j) r = j;
    else if (m >= i) l = i;
    else return;
  }
}

function buildNode(node: i32, lo: i32, hi: i32): void {
  const d = <usize>bDims;
  if (node >= bFirstLeaf) {
    // the leaf block: per dim, LEAF u8 lanes (past the leaf's end: 0, masked at scan time)
    const block = bCols + <usize>(node - bFirstLeaf) * d * LEAF;
    for (let c: usize = 0; c < d; c++) {
      const lanes = block + c * LEAF;
      for (let t = 0; t < LEAF; t++) store<u8>(lanes + <usize>t, lo + t < hi ? quantise(key(lo + t, c)) : 0);
    }
    return;
  }
  const mid = (lo + hi) >> 1;
  // split on the dim of largest spread over the node's points
  const mn = bSpread;
  const mx = bSpread + (d << 3);
  for (let c: usize = 0; c < d; c++) {
    store<f64>(mn + (c << 3), Infinity);
    store<f64>(mx + (c << 3), -Infinity);
  }
  for (let p = lo; p < hi; p++) {
    const row = gZ + <usize>load<i32>(bPerm + (<usize>p << 2)) * gZRow + bCol;
    for (let c: usize = 0; c < d; c += 2) {
      const v = v128.load(row + (c << 3));
      v128.store(mn + (c << 3), f64x2.pmin(v128.load(mn + (c << 3)), v));
      v128.store(mx + (c << 3), f64x2.pmax(v128.load(mx + (c << 3)), v));
    }
  }
  let best: usize = 0;
  let spread: f64 = -1;
  for (let c: usize = 0; c < d; c++) {
    const w = load<f64>(mx + (c << 3)) - load<f64>(mn + (c << 3));
    if (w > spread) {
      spread = w;
      best = c;
    }
  }
  if (mid > lo && mid < hi) select(lo, hi, mid, best);
  let lmax: f64 = -Infinity;
  for (let p = lo; p < mid; p++) {
    const v = key(p, best);
    if (v > lmax) lmax = v;
  }
  store<i32>(bDim + (<usize>node << 2), <i32>best);
  store<f64>(bBound + (<usize>node << 4), lmax);
  store<f64>(bBound + (<usize>node << 4), mid < hi ? key(mid, best) : Infinity, 8);
  buildNode(2 * node + 1, lo, mid);
  buildNode(2 * node + 2, mid, hi);
}

/** A tree over Z's columns [col, col + dims) (rows in their current order, through perm). */
function buildOne(ctx: usize, col: i32, dims: i32, perm: i32, dim: i32, cols: i32, bound: i32): void {
  const n = <i32>hdr(ctx, C_N);
  bCol = <usize>col << 3;
  bDims = dims;
  bPerm = hdr(ctx, perm);
  bDim = hdr(ctx, dim);
  bCols = hdr(ctx, cols);
  bBound = hdr(ctx, bound);
  bFirstLeaf = (1 << <i32>hdr(ctx, C_LEVELS)) - 1;
  bSpread = hdr(ctx, C_SPREAD);
  for (let p = 0; p < n; p++) store<i32>(bPerm + (<usize>p << 2), p);
  buildNode(0, 0, n);
}

/** Permute Z's rows in place so that row p holds the row that was at perm[p] (cycle by cycle). */
function permuteRows(n: i32, perm: usize, visit: usize, tmp: usize): void {
  memory.fill(visit, 0, <usize>n);
  for (let s = 0; s < n; s++) {
    if (load<u8>(visit + <usize>s)) continue;
    memory.copy(tmp, gZ + <usize>s * gZRow, gZRow);
    let p = s;
    while (true) {
      store<u8>(visit + <usize>p, 1);
      const src = load<i32>(perm + (<usize>p << 2));
      if (src == s) {
        memory.copy(gZ + <usize>p * gZRow, tmp, gZRow);
        break;
      }
      memory.copy(gZ + <usize>p * gZRow, gZ + <usize>src * gZRow, gZRow);
      p = src;
    }
  }
}

/**
 * Build the three trees over Z (written in input order by the caller; left in the joint tree's order), the
 * x and y position maps, and the per-dim mean and 1 / std.
 */
export function build(ctx: usize): void {
  const n = <i32>hdr(ctx, C_N);
  const dxp = <i32>hdr(ctx, C_DXP);
  const dyp = <i32>hdr(ctx, C_DYP);
  const dz = <usize>(dxp + dyp);
  gZ = hdr(ctx, C_Z);
  gZRow = dz << 3;
  gMin = load<f64>(ctx + C_QUANT_BYTE);
  gStep = load<f64>(ctx + C_QUANT_BYTE, 8);
  const stats = hdr(ctx, C_STATS);
  for (let c: usize = 0; c < dz; c++) {
    let sum: f64 = 0;
    for (let i = 0; i < n; i++) sum += load<f64>(gZ + <usize>i * gZRow + (c << 3));
    const mean = sum / n;
    let ss: f64 = 0;
    for (let i = 0; i < n; i++) {
      const v = load<f64>(gZ + <usize>i * gZRow + (c << 3)) - mean;
      ss += v * v;
    }
    const sd = Math.sqrt(ss / n);
    store<f64>(stats + (c << 4), mean);
    store<f64>(stats + (c << 4), sd > 0 ? 1 / sd : 0, 8);
  }
  const permZ = hdr(ctx, C_PERMZ);
  buildOne(ctx, 0, dxp + dyp, C_PERMZ, C_ZDIM, C_ZCOL, C_ZBOUND);
  // the joint tree's leaf blocks were written through permZ; now move the rows themselves
  permuteRows(n, permZ, hdr(ctx, C_VISIT), hdr(ctx, C_TMPROW));
  buildOne(ctx, 0, dxp, C_PERMX, C_XDIM, C_XCOL, C_XBOUND);
  buildOne(ctx, dxp, dyp, C_PERMY, C_YDIM, C_YCOL, C_YBOUND);
  // (the x and y trees were built over Z rows already in joint order: permX and permY map to Z rows)
}
