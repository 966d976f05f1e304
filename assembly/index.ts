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
 *   rows8 Per tree, per position: the same u8 coordinates row-major (row8Bytes(dims) bytes, zero-padded), for the
 *         lanes that pass the first HEAD dims of the block scan (scanHead, then rowMax8).
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
const C_SCRATCH = 27;
const C_DX = 28;
const C_DY = 29;
// the pair-symmetric counts (filled by countPrep): per tree, per position: eps (f64) and input index (i32); per
// leaf, LEAF u8 lane thresholds threshold(eps); per node (internal, then leaves), the largest eps below it
const C_XEPS = 30;
const C_YEPS = 31;
const C_XIDX = 32;
const C_YIDX = 33;
const C_XTHR = 34;
const C_YTHR = 35;
const C_XMAXEPS = 36;
const C_YMAXEPS = 37;
const C_BLOCK = 38; // per slot, per query of a block: its state while count() scans the block's leaves
// per tree, per position: the u8 coordinates row-major (row8Bytes(dims) bytes, zero past the tree's dims)
const C_ZROW8 = 39;
const C_XROW8 = 40;
const C_YROW8 = 41;
const C_QUANT_BYTE = 240; // gMin, gStep (f64)

/** Points per leaf at most: a leaf block is LEAF u8 lanes (four v128) per dim. */
const LEAF = 64;
/** Dims of the query's order scanned over the whole leaf block before the lanes left are finished one by one. */
const HEAD = 12;

/** Bytes of a row-major u8 row of `dims` coordinates: whole 32-byte steps of rowMax8. */
@inline function row8Bytes(dims: i32): usize {
  return (<usize>dims + 31) & ~31;
}

@inline function hdr(ctx: usize, slot: i32): usize {
  return <usize>load<u32>(ctx + (<usize>slot << 2));
}

// ---- the tree being searched (set by useTree) ----
let tDim: usize = 0; // splitDim (i32[])
let tBound: usize = 0; // per internal node: left max, right min on the split dim (f64 pairs)
let tCols: usize = 0; // leaf blocks: per leaf, per dim, LEAF u8 lanes (quantised coordinates)
let tLeafBytes: usize = 0;
let tBytes: usize = 0; // bytes of the tree's coordinates in a row
let tFirstLeaf: i32 = 0;
let tMap: usize = 0; // tree position -> Z row (0 for the joint tree: the identity)
let tColOff: usize = 0; // byte offset of the tree's first coordinate in a Z row
let tRows8: usize = 0; // per tree position, its u8 coordinates row-major
let tRow8Bytes: usize = 0;
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
let qRow8: usize = 0; // the query quantised to 8 bits, row8Bytes(its tree's dims) bytes (see padRow8)
let qOrder: usize = 0; // its dims, most rejecting first, as byte offsets into a leaf block
let qSplat: usize = 0; // the query's u8 coordinate on each of them, in that order, splat to 16 lanes
let qNd: i32 = 0;
let qLanes: usize = 0; // this caller's scratch: 8 u32 bucket counters at byte 64 (orderDims)
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
 * Coordinates quantised to 8 bits, u = floor(w') with w' = fl(fl(v - gMin) / gStep) in [0, 250] for every data
 * value, bound the distance in both directions. With w = (v - gMin) / gStep exactly (v >= gMin), the two roundings
 * give |w' - w| <= 2^-52 w <= delta = 1e-13, so u - delta <= w < u + 1 + delta, and for two points, per dim,
 * |u_a - u_b| - 1 - 2 delta < |w_a - w_b| < |u_a - u_b| + 1 + 2 delta; over the dims, with m = max |u_a - u_b|:
 * (m - 1 - 2 delta) gStep < |a - b| < (m + 1 + 2 delta) gStep (values clamped by quantise() are only the padding
 * dims, equal in every row). A lane whose running max reaches T = floor(r / gStep + 1e-9) + 2 > r / gStep + 1 +
 * 2 delta (the 1e-9 covers the rounding of r / gStep) is therefore at distance > r; the lanes that never reach it
 * are checked exactly in float64. countLeaf uses the upper bound too. (Until 2026-11 the bound was taken as
 * m +- 3 and T = floor(r / gStep) + 5: three steps of slack let many more lanes through in 64 dims.)
 */
@inline function threshold(r: f64): i32 {
  const t = Math.floor(r / gStep + 1e-9) + 2;
  return t < 256 ? <i32>t : 256;
}

/**
 * Stage 1 of the leaf filter: the first `HEAD` dims of the query's order over the whole leaf block (LEAF u8 lanes
 * per dim, four v128), from the lanes' initial running maxima m0..m3 (255: no lane); returns the bitmask of the
 * lanes whose running max is still below their threshold in t0..t3. Most lanes fail within a few dims (N = 30,000,
 * W = 32, k-NN, with the looser threshold of before: of ~29 lanes per half-block, 6.7 are left after 4 dims, 2.5
 * after 8, 1.2 after 12, yet the slowest lane kept the whole block scanning for 21.5 dims on average), so the few
 * left are finished one by one on their row-major u8 rows (rowMax8) instead of holding the block. HEAD = 8 / 12 /
 * 16 / 20: k-NN 1.89 / 1.82 / 1.55 / 1.62 CPU s, counts 1.83 / 1.72 / 1.60 / 1.75 (one interleaved run, load 2.6;
 * 12 and 16 within the noise of each other, and 12 is better at W = 8).
 */
@inline function scanHead(base: usize, m0: v128, m1: v128, m2: v128, m3: v128, t0: v128, t1: v128, t2: v128, t3: v128): u64 {
  let head = HEAD;
  if (head > qNd) head = qNd;
  for (let t = 0; t < head; t++) {
    const qv = v128.load(qSplat + (<usize>t << 4));
    const at = base + <usize>load<u32>(qOrder + (<usize>t << 2));
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
 * 32; padding bytes equal in both), 16 dims per v128. No early exit: branch-free, it is faster (N = 10,000, W = 32:
 * counts 0.39 CPU s against 0.46 with an exit test every 32 dims; the test mispredicts).
 */
@inline function rowMax8(q: usize, r: usize, bytes: usize): v128 {
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
@inline function hmax8(v: v128): i32 {
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
  fillSplats();
}

function fillSplats(): void {
  for (let t = 0; t < qNd; t++) {
    const off = load<u32>(qOrder + (<usize>t << 2));
    v128.store(qSplat + (<usize>t << 4), i8x16.splat(load<i8>(qRow8 + <usize>(off / LEAF))));
  }
}

/** qRow8 past the `from` dims orderDims quantised: the tree's padding dims (zero in Z) to `dims`, then 0 (as in the rows). */
function padRow8(from: i32, dims: i32): void {
  for (let c = from; c < dims; c++) store<u8>(qRow8 + <usize>c, quantise(load<f64>(qRow + (<usize>c << 3))));
  memory.fill(qRow8 + <usize>dims, 0, row8Bytes(dims) - <usize>dims);
}

@inline function quantise(v: f64): u8 {
  const u = Math.floor((v - gMin) / gStep);
  return u <= 0 ? 0 : u >= 255 ? 255 : <u8>u;
}

function knnLeaf(li: i32, lo: i32, hi: i32): void {
  let t8 = threshold(qKth);
  const size = hi - lo;
  let mask: u64 = size == 64 ? <u64>-1 : (<u64>1 << <u64>size) - 1;
  if (t8 < 256) {
    const tv = i8x16.splat(<i8>t8);
    const sz = i8x16.splat(<i8>size);
    mask = scanHead(tCols + <usize>li * tLeafBytes,
      i8x16.ge_u(LANE_INDEX, sz), i8x16.ge_u(LANE_INDEX_HI, sz), i8x16.ge_u(LANE_INDEX_2, sz), i8x16.ge_u(LANE_INDEX_3, sz),
      tv, tv, tv, tv);
  }
  if (lo <= qSelf && qSelf < hi) mask &= ~(<u64>1 << <u64>(qSelf - lo));
  if (t8 < 256) {
    // stage 2 without branches on the data: the lanes whose whole row stays below T (usually none)
    const tv = i8x16.splat(<i8>t8);
    let pass: u64 = 0;
    while (mask != 0) {
      const t = ctz(mask);
      mask &= mask - 1;
      const below = !v128.any_true(i8x16.ge_u(rowMax8(qRow8, tRows8 + <usize>(lo + <i32>t) * tRow8Bytes, tRow8Bytes), tv));
      pass |= <u64>below << t;
    }
    mask = pass;
  }
  while (mask != 0) {
    const j = lo + <i32>ctz(mask);
    mask &= mask - 1;
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
let bHi: i32 = 0; // set by leafOf: the end of the leaf's tree positions

/** The leaf (index among the leaves) holding tree position p of n, descending the median splits; sets bHi. */
@inline function leafOf(p: i32, n: i32): i32 {
  let node = 0;
  let lo = 0;
  let hi = n;
  while (node < tFirstLeaf) {
    const mid = (lo + hi) >> 1;
    if (p < mid) {
      node = 2 * node + 1;
      hi = mid;
    } else {
      node = 2 * node + 2;
      lo = mid;
    }
  }
  bHi = hi;
  return node - tFirstLeaf;
}

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

// ---------------------------------------------------------------- pair-symmetric range counts in a marginal space

// Each unordered pair {i, j} is scanned once, from one end, against r = max(eps_i, eps_j): the leaf filter
// rejects a lane only at distance > r, and the exact distance then counts for i (d < eps_i) and for j (d < eps_j).
// Leaf A is paired with the next half of the leaves cyclically (itself, A + 1 .. A + L/2 - 1 mod L, and
// A + L/2 only when A < L/2), so every query does about the same work; within leaf A, position p pairs with
// the positions after it. Counts go to nx / ny with atomic adds: integer sums, the same whatever the order.
let cEps: usize = 0; // eps at each tree position
let cIdx: usize = 0; // input index at each tree position
let cThr: usize = 0; // per leaf, LEAF u8 lanes: min(threshold(eps), 255)
let cMaxEps: usize = 0; // per node: the largest eps below it
let cOut: usize = 0; // nx or ny by input index
let cLeafA: i32 = 0; // the query's leaf
let cSpan: i32 = 0; // leaves cLeafA .. cLeafA + cSpan - 1 (mod cLeaves) pair with it
let cLeaves: i32 = 0;
let qPos: i32 = 0;
let qT: i32 = 0; // min(threshold(qR), 255)
let qVisit: usize = 0; // per leaf: 1 if the query scans it
let cMarked: i32 = 0; // leaves markNode marked (the first block of a count() range)
let gLo: i32 = 0; // leafRange's result
let gHi: i32 = 0;

/** Whether leaves [a, b) meet the query leaf's cyclic span. */
@inline function pairedLeaves(a: i32, b: i32): bool {
  const e = cLeafA + cSpan;
  if (e <= cLeaves) return a < e && b > cLeafA;
  return b > cLeafA || a < e - cLeaves;
}

function countLeaf(li: i32, lo: i32, hi: i32): void {
  const size = hi - lo;
  // within the query's own leaf only the positions after it (lanes < from start at 255, like those past the end)
  const from = li == cLeafA ? qPos - lo + 1 : 0;
  const thr = cThr + (<usize>li << 6);
  const tv = i8x16.splat(<i8>qT);
  const sz = i8x16.splat(<i8>size);
  const fr = i8x16.splat(<i8>from);
  let mask = scanHead(tCols + <usize>li * tLeafBytes,
    v128.or(i8x16.ge_u(LANE_INDEX, sz), i8x16.lt_u(LANE_INDEX, fr)),
    v128.or(i8x16.ge_u(LANE_INDEX_HI, sz), i8x16.lt_u(LANE_INDEX_HI, fr)),
    v128.or(i8x16.ge_u(LANE_INDEX_2, sz), i8x16.lt_u(LANE_INDEX_2, fr)),
    v128.or(i8x16.ge_u(LANE_INDEX_3, sz), i8x16.lt_u(LANE_INDEX_3, fr)),
    i8x16.max_u(tv, v128.load(thr)), i8x16.max_u(tv, v128.load(thr, 16)),
    i8x16.max_u(tv, v128.load(thr, 32)), i8x16.max_u(tv, v128.load(thr, 48)));
  // stage 2 without branches on the data: the lanes whose whole row stays below their T (few)
  let pass: u64 = 0;
  while (mask != 0) {
    const t = ctz(mask);
    mask &= mask - 1;
    const tj = <i32>load<u8>(thr + <usize>t);
    const tl = i8x16.splat(<i8>(tj > qT ? tj : qT));
    const below = !v128.any_true(i8x16.ge_u(rowMax8(qRow8, tRows8 + <usize>(lo + <i32>t) * tRow8Bytes, tRow8Bytes), tl));
    pass |= <u64>below << t;
  }
  let c = 0;
  while (pass != 0) {
    const t = <i32>ctz(pass);
    pass &= pass - 1;
    const j = lo + t;
    const m = hmax8(rowMax8(qRow8, tRows8 + <usize>j * tRow8Bytes, tRow8Bytes));
    const ej = load<f64>(cEps + (<usize>j << 3));
    // a lane that survives has its 8-bit max over every dim, m, which bounds d on both sides:
    // (m - 1 - 2 delta) gStep < d < (m + 1 + 2 delta) gStep (see threshold(); the band (m -+ 2) gStep is wider by
    // almost a step, far more than the rounding of the products), so only a pair whose eps falls inside it needs
    // the exact distance
    const dHi = <f64>(m + 2) * gStep;
    const dLo = <f64>(m - 2) * gStep;
    let inI = dHi < qR;
    let inJ = dHi < ej;
    if ((!inI && dLo < qR) || (!inJ && dLo < ej)) {
      const row = gZ + <usize>load<i32>(tMap + (<usize>j << 2)) * gZRow + tColOff;
      const d = maxNormBounded(qRow, row, tBytes, ej > qR ? ej : qR);
      inI = d < qR;
      inJ = d < ej;
    }
    if (inI) c++;
    if (inJ) atomic.add<i32>(cOut + (<usize>load<i32>(cIdx + (<usize>j << 2)) << 2), 1);
  }
  qCount += c;
}

/** Mark, in qVisit, the leaves under node that the query must scan (paired with its leaf and not pruned). */
function markNode(node: i32, a: i32, b: i32, bound: f64): void {
  if (bound >= qR && bound >= load<f64>(cMaxEps + (<usize>node << 3))) return;
  if (!pairedLeaves(a, b)) return;
  if (node >= tFirstLeaf) {
    store<u8>(qVisit + <usize>(node - tFirstLeaf), 1);
    cMarked++;
    return;
  }
  const am = (a + b) >> 1;
  const l = 2 * node + 1;
  const cb = childBounds(node, bound);
  markNode(l, a, am, f64x2.extract_lane(cb, 0));
  markNode(l + 1, am, b, f64x2.extract_lane(cb, 1));
}

function useTree(ctx: usize, dims: i32, colOff: i32, dim: i32, cols: i32, bound: i32, map: i32, rows8: i32): void {
  tMap = map >= 0 ? hdr(ctx, map) : 0;
  tColOff = <usize>colOff << 3;
  tRows8 = hdr(ctx, rows8);
  tRow8Bytes = row8Bytes(dims);
  tDim = hdr(ctx, dim);
  tCols = hdr(ctx, cols);
  tBound = hdr(ctx, bound);
  tLeafBytes = <usize>dims * LEAF;
  tBytes = <usize>dims << 3;
  tFirstLeaf = (1 << <i32>hdr(ctx, C_LEVELS)) - 1;
}

/** Globals and this caller's scratch (one slot per concurrent caller) for knn() and count(). */
function begin(ctx: usize, slot: i32): void {
  const dz = <i32>hdr(ctx, C_DXP) + <i32>hdr(ctx, C_DYP);
  const k = <i32>hdr(ctx, C_K);
  gZ = hdr(ctx, C_Z);
  gZRow = <usize>dz << 3;
  gStats = hdr(ctx, C_STATS);
  gMin = load<f64>(ctx + C_QUANT_BYTE);
  gStep = load<f64>(ctx + C_QUANT_BYTE, 8);
  qK = k;
  // scratch: lanes (64 B) + bucket counters (32 B) | bucket of each dim (dz B) (whole 128-byte lines: concurrent
  // callers' scratch must not share cache lines); a query's own state is in the block scratch (knn, count)
  qLanes = hdr(ctx, C_SCRATCH) + <usize>slot * ((96 + <usize>dz + 127) & ~127);
  qBucket = qLanes + 96;
}

/** For joint positions [p0, p1): eps of each point (k-th neighbour distance in Z, itself excluded), by input index. */
export function knn(ctx: usize, p0: i32, p1: i32, slot: i32): void {
  begin(ctx, slot);
  const n = <i32>hdr(ctx, C_N);
  const k = <i32>hdr(ctx, C_K);
  const dx = <i32>hdr(ctx, C_DX);
  const dy = <i32>hdr(ctx, C_DY);
  const dxp = <i32>hdr(ctx, C_DXP);
  const dz = <usize>(dxp + <i32>hdr(ctx, C_DYP));
  const permZ = hdr(ctx, C_PERMZ);
  const eps = hdr(ctx, C_EPS);
  kLevels = <i32>hdr(ctx, C_LEVELS);
  useTree(ctx, <i32>dz, 0, C_ZDIM, C_ZCOL, C_ZBOUND, -1, C_ZROW8);
  // a query's state: splats (dz v128) | order (dz u32) | u8 coordinates (row8Bytes(dz)) | best (k f64) |
  // bounds (2 per depth, f64) | kth (f64)
  kOrderAt = dz << 4;
  kRow8At = dz * 20;
  kBestAt = kRow8At + row8Bytes(<i32>dz);
  kBoundsAt = kBestAt + (<usize>k << 3);
  kKthAt = kBoundsAt + (<usize>(kLevels + 1) << 4);
  kStride = kKthAt + 8;
  kBlk = hdr(ctx, C_BLOCK) + <usize>slot * LEAF * kStride;
  let p = p0;
  while (p < p1) {
    // the block: the positions of p's leaf in [p0, p1)
    kLeafA = leafOf(p, n);
    kP = p;
    kEnd = bHi < p1 ? bHi : p1;
    for (let q = p; q < kEnd; q++) {
      const st = kBlk + <usize>(q - p) * kStride;
      qSplat = st;
      qOrder = st + kOrderAt;
      qRow8 = st + kRow8At;
      qRow = gZ + <usize>q * gZRow;
      orderJoint(dx, dxp, dy);
      padRow8(dxp + dy, <i32>dz);
      for (let t = 0; t < k; t++) store<f64>(st + kBestAt + (<usize>t << 3), Infinity);
      store<f64>(st + kBoundsAt, 0);
      store<f64>(st + kKthAt, Infinity);
    }
    blockNode(0, 0, n, 0, 0);
    for (let q = p; q < kEnd; q++) {
      store<f64>(eps + (<usize>load<i32>(permZ + (<usize>q << 2)) << 3), load<f64>(kBlk + <usize>(q - p) * kStride + kKthAt));
    }
    p = kEnd;
  }
}

// the k-NN block being searched (see blockNode)
let kLevels: i32 = 0;
let kBlk: usize = 0;
let kStride: usize = 0;
let kOrderAt: usize = 0;
let kRow8At: usize = 0;
let kBestAt: usize = 0;
let kBoundsAt: usize = 0;
let kKthAt: usize = 0;
let kLeafA: i32 = 0;
let kP: i32 = 0;
let kEnd: i32 = 0;

/**
 * The k-NN of a block of queries (positions [kP, kEnd) of joint leaf kLeafA) under node, at `depth`: each query's
 * lower bound on its distance to the node (split dims only) is its bounds[2 depth + side]. Leaves are visited
 * in the same order for the whole block, the query's own leaf first, then its sibling, then the rest of its
 * parent's sibling, ... (nearer first in the tree), and each leaf is scanned for every query of the block in
 * turn, so its block of quantised coordinates is read from memory once per block instead of once per query.
 */
function blockNode(node: i32, lo: i32, hi: i32, depth: i32, side: i32): void {
  const at = kBoundsAt + (<usize>(2 * depth + side) << 3);
  const nq = kEnd - kP;
  let live = false;
  for (let q = 0; q < nq; q++) {
    const st = kBlk + <usize>q * kStride;
    if (load<f64>(st + at) < load<f64>(st + kKthAt)) {
      live = true;
      break;
    }
  }
  if (!live) return;
  if (node >= tFirstLeaf) {
    for (let q = 0; q < nq; q++) {
      const st = kBlk + <usize>q * kStride;
      qKth = load<f64>(st + kKthAt);
      if (load<f64>(st + at) >= qKth) continue;
      qSplat = st;
      qOrder = st + kOrderAt;
      qRow8 = st + kRow8At;
      qBest = st + kBestAt;
      qSelf = kP + q;
      qRow = gZ + <usize>qSelf * gZRow;
      knnLeaf(node - tFirstLeaf, lo, hi);
      store<f64>(st + kKthAt, qKth);
    }
    return;
  }
  const child = kBoundsAt + (<usize>(2 * depth + 2) << 3);
  for (let q = 0; q < nq; q++) {
    const st = kBlk + <usize>q * kStride;
    qRow = gZ + <usize>(kP + q) * gZRow;
    v128.store(st + child, childBounds(node, load<f64>(st + at)));
  }
  const mid = (lo + hi) >> 1;
  const l = 2 * node + 1;
  // the child holding the block's own leaf first
  if (((kLeafA >> (kLevels - 1 - depth)) & 1) == 0) {
    blockNode(l, lo, mid, depth + 1, 0);
    blockNode(l + 1, mid, hi, depth + 1, 1);
  } else {
    blockNode(l + 1, mid, hi, depth + 1, 1);
    blockNode(l, lo, mid, depth + 1, 0);
  }
}

/** Largest eps under node (positions [lo, hi)), written at every node; the leaves' lane thresholds on the way. */
function fillMaxEps(node: i32, lo: i32, hi: i32): f64 {
  let m: f64 = 0;
  if (node >= tFirstLeaf) {
    const thr = cThr + (<usize>(node - tFirstLeaf) << 6);
    for (let t = 0; t < LEAF; t++) {
      let u = 255;
      if (lo + t < hi) {
        const e = load<f64>(cEps + (<usize>(lo + t) << 3));
        if (e > m) m = e;
        u = threshold(e);
        if (u > 255) u = 255;
      }
      store<u8>(thr + <usize>t, <u8>u);
    }
  } else {
    const mid = (lo + hi) >> 1;
    const l = fillMaxEps(2 * node + 1, lo, mid);
    const r = fillMaxEps(2 * node + 2, mid, hi);
    m = l > r ? l : r;
  }
  store<f64>(cMaxEps + (<usize>node << 3), m);
  return m;
}

/** After every knn(): per x and y tree position its eps and input index, the lane thresholds, the max-eps tree; nx = ny = 0. */
export function countPrep(ctx: usize): void {
  const n = <i32>hdr(ctx, C_N);
  const permZ = hdr(ctx, C_PERMZ);
  const eps = hdr(ctx, C_EPS);
  gMin = load<f64>(ctx + C_QUANT_BYTE);
  gStep = load<f64>(ctx + C_QUANT_BYTE, 8);
  tFirstLeaf = (1 << <i32>hdr(ctx, C_LEVELS)) - 1;
  memory.fill(hdr(ctx, C_NX), 0, <usize>n << 2);
  memory.fill(hdr(ctx, C_NY), 0, <usize>n << 2);
  for (let part = 0; part < 2; part++) {
    const perm = hdr(ctx, part == 0 ? C_PERMX : C_PERMY);
    cEps = hdr(ctx, part == 0 ? C_XEPS : C_YEPS);
    cIdx = hdr(ctx, part == 0 ? C_XIDX : C_YIDX);
    cThr = hdr(ctx, part == 0 ? C_XTHR : C_YTHR);
    cMaxEps = hdr(ctx, part == 0 ? C_XMAXEPS : C_YMAXEPS);
    for (let p = 0; p < n; p++) {
      const i = load<i32>(permZ + (<usize>load<i32>(perm + (<usize>p << 2)) << 2));
      store<i32>(cIdx + (<usize>p << 2), i);
      store<f64>(cEps + (<usize>p << 3), load<f64>(eps + (<usize>i << 3)));
    }
    fillMaxEps(0, 0, n);
  }
}

/** Positions [gLo, gHi) of leaf li (the midpoint splits that built the tree). */
function leafRange(li: i32, n: i32, levels: i32): void {
  let lo = 0;
  let hi = n;
  for (let l = levels - 1; l >= 0; l--) {
    const mid = (lo + hi) >> 1;
    if ((li >> l) & 1) lo = mid;
    else hi = mid;
  }
  gLo = lo;
  gHi = hi;
}

/**
 * For x-tree and y-tree positions [p0, p1): the pairs they own (see pairedLeaves) added into nx and ny (strict
 * range counts at radius eps in the x and y columns, the point itself excluded). After countPrep().
 * The queries go leaf by leaf as a block: each paired leaf is scanned for every query of the block in turn, so
 * its block of quantised coordinates is read from memory once per block instead of once per query.
 */
export function count(ctx: usize, p0: i32, p1: i32, slot: i32): void {
  begin(ctx, slot);
  const n = <i32>hdr(ctx, C_N);
  const dx = <i32>hdr(ctx, C_DX);
  const dy = <i32>hdr(ctx, C_DY);
  const dxp = <i32>hdr(ctx, C_DXP);
  const dyp = <i32>hdr(ctx, C_DYP);
  const levels = <i32>hdr(ctx, C_LEVELS);
  cLeaves = 1 << levels;
  const dm = <usize>(dxp > dyp ? dxp : dyp);
  // a query's state: splats (dm v128) | order (dm u32) | u8 coordinates (row8Bytes(dm)) | visit (leaves, to 16) |
  // eps f64, count i32, min(threshold(eps), 255) i32
  const row8At = dm * 20;
  const visitAt = row8At + row8Bytes(<i32>dm);
  const epsAt = visitAt + ((<usize>cLeaves + 15) & ~15);
  const stride = epsAt + 16;
  const blk = hdr(ctx, C_BLOCK) + <usize>slot * LEAF * stride;
  for (let part = 0; part < 2; part++) {
    if (part == 0) useTree(ctx, dxp, 0, C_XDIM, C_XCOL, C_XBOUND, C_PERMX, C_XROW8);
    else useTree(ctx, dyp, dxp, C_YDIM, C_YCOL, C_YBOUND, C_PERMY, C_YROW8);
    cEps = hdr(ctx, part == 0 ? C_XEPS : C_YEPS);
    cIdx = hdr(ctx, part == 0 ? C_XIDX : C_YIDX);
    cThr = hdr(ctx, part == 0 ? C_XTHR : C_YTHR);
    cMaxEps = hdr(ctx, part == 0 ? C_XMAXEPS : C_YMAXEPS);
    cOut = hdr(ctx, part == 0 ? C_NX : C_NY);
    let prune = true;
    let firstBlock = true;
    cMarked = 0;
    let p = p0;
    while (p < p1) {
      // the block: the positions of p's leaf in [p0, p1)
      cLeafA = leafOf(p, n);
      const end = bHi < p1 ? bHi : p1;
      cSpan = cLeaves == 1 ? 1 : (cLeaves >> 1) + (cLeafA < (cLeaves >> 1) ? 1 : 0);
      for (let q = p; q < end; q++) {
        const st = blk + <usize>(q - p) * stride;
        qSplat = st;
        qOrder = st + (dm << 4);
        qRow8 = st + row8At;
        qVisit = st + visitAt;
        qR = load<f64>(cEps + (<usize>q << 3));
        qRow = gZ + <usize>load<i32>(tMap + (<usize>q << 2)) * gZRow + tColOff;
        if (part == 0) orderDims(0, dx);
        else orderDims(dxp, dy);
        padRow8(part == 0 ? dx : dy, part == 0 ? dxp : dyp);
        if (prune) {
          memory.fill(qVisit, 0, <usize>cLeaves);
          markNode(0, 0, cLeaves, 0);
        } else memory.fill(qVisit, 1, <usize>cLeaves);
        store<i32>(st + epsAt, 0, 8);
        const t8 = threshold(qR);
        store<i32>(st + epsAt, t8 < 255 ? t8 : 255, 12);
      }
      // the split-dim bounds prune 3 % of the span at N = 30,000, W = 32 (then marking costs more than it saves:
      // counts 1.90 against 1.62 CPU s without it) but 11 % at W = 8 (1.17 against 1.32 s): keep marking only if the
      // first block of this range skipped over 10 % of its leaves
      if (prune && firstBlock) prune = <f64>cMarked < 0.9 * <f64>(cSpan * (end - p));
      firstBlock = false;
      for (let s = 0; s < cSpan; s++) {
        let li = cLeafA + s;
        if (li >= cLeaves) li -= cLeaves;
        leafRange(li, n, levels);
        for (let q = p; q < end; q++) {
          const st = blk + <usize>(q - p) * stride;
          if (!load<u8>(st + visitAt + <usize>li)) continue;
          qSplat = st;
          qOrder = st + (dm << 4);
          qRow8 = st + row8At;
          qPos = q;
          qR = load<f64>(cEps + (<usize>q << 3));
          qT = load<i32>(st + epsAt, 12);
          qRow = gZ + <usize>load<i32>(tMap + (<usize>q << 2)) * gZRow + tColOff;
          qCount = load<i32>(st + epsAt, 8);
          countLeaf(li, gLo, gHi);
          store<i32>(st + epsAt, qCount, 8);
        }
      }
      for (let q = p; q < end; q++) {
        const c = load<i32>(blk + <usize>(q - p) * stride + epsAt, 8);
        if (c > 0) atomic.add<i32>(cOut + (<usize>load<i32>(cIdx + (<usize>q << 2)) << 2), c);
      }
      p = end;
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
    fillSplats();
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
let bRows8: usize = 0;

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

/** The dim of largest spread over positions [lo, hi). */
function widestDim(lo: i32, hi: i32): usize {
  const d = <usize>bDims;
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
  return best;
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
    // and row-major, per position
    const rb = row8Bytes(bDims);
    for (let p = lo; p < hi; p++) {
      const row = bRows8 + <usize>p * rb;
      for (let c: usize = 0; c < d; c++) store<u8>(row + c, quantise(key(p, c)));
      memory.fill(row + d, 0, rb - d);
    }
    return;
  }
  const mid = (lo + hi) >> 1;
  const best = widestDim(lo, hi);
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
function buildOne(ctx: usize, col: i32, dims: i32, perm: i32, dim: i32, cols: i32, bound: i32, rows8: i32): void {
  bRows8 = hdr(ctx, rows8);
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
  buildOne(ctx, 0, dxp + dyp, C_PERMZ, C_ZDIM, C_ZCOL, C_ZBOUND, C_ZROW8);
  // the joint tree's leaf blocks were written through permZ; now move the rows themselves
  permuteRows(n, permZ, hdr(ctx, C_VISIT), hdr(ctx, C_TMPROW));
  buildOne(ctx, 0, dxp, C_PERMX, C_XDIM, C_XCOL, C_XBOUND, C_XROW8);
  buildOne(ctx, dxp, dyp, C_PERMY, C_YDIM, C_YCOL, C_YBOUND, C_YROW8);
  // (the x and y trees were built over Z rows already in joint order: permX and permY map to Z rows)
}
