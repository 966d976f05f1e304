/**
 * The memory layout the kernel shares with src/mi/kernel.ts, defined once, here. index.ts exports every Header
 * field's byte offset (HEADER_<field>), the magic number and version, and the size functions below; kernel.ts
 * reads them when it loads the module, so no offset is written by hand on the TypeScript side.
 *
 * The memory is imported (shared between the main thread and the pool's workers); kernel.ts lays out every region
 * and writes a Header at `ctx`:
 *   Z     N x dz float64, dz = dxp + dyp: the joint rows [x, 0-pad, y, 0-pad] (each part padded to an even
 *         count for f64x2). The caller writes them in input order; build() permutes them in place into the
 *         joint tree's order (permZ[p] = input index at position p).
 *   trees Three kd-trees over the same points: joint (all of Z), x (columns 0..dxp), y (columns dxp..dz), each
 *         described by a Tree (region `trees`, written by build()). A tree has `levels` levels of internal nodes
 *         0 .. 2^levels - 2 (children 2i+1, 2i+2); the node over positions [lo, hi) splits at mid = (lo + hi) >> 1
 *         on dim splitDim; bound[2 node] = the largest coordinate left of mid, bound[2 node + 1] = the smallest
 *         right of it. Leaves hold <= LEAF points. The x and y trees order the points their own way: permX[j] =
 *         the Z row (joint position) at x-tree position j, likewise permY.
 *   cols  Per tree, per leaf, per dim: LEAF u8 lanes, the coordinates quantised to 8 bits (filter.ts).
 *   rows8 Per tree, per position: the same u8 coordinates row-major (row8Bytes(dims) bytes, zero-padded).
 *   A y part of 0 dims (dy = dyp = 0) is allowed: then only the joint and x trees exist (entropy, or counts in
 *   one space at radii the caller writes).
 *   scratch, block  Per slot (one per concurrent caller: the main thread or a pool task): its Query, block state
 *         and per-query block records (knnStride / countStride bytes each), so callers share no writable state.
 * Invariants: every accepted distance is computed in float64 from Z, which is exact for float32 input (and the
 * exact max-norm of any float64 input); the result does not depend on the trees, only on the data.
 */

/** 'KSG1' as little-endian u32: the first header word, so a stale or foreign memory is refused. */
export const LAYOUT_MAGIC: u32 = 0x3147534b;
/** Bump on any change to Header, Tree, the slot scratch or the block records. */
export const LAYOUT_VERSION: u32 = 2;

/** Points per leaf at most: a leaf block is LEAF u8 lanes (four v128) per dim. */
export const LEAF = 64;
/** Dims of the query's order scanned over the whole leaf block before the lanes left are finished one by one. */
export const HEAD = 12;

/** Which Tree of the `trees` region. */
export const TREE_JOINT = 0;
export const TREE_X = 1;
export const TREE_Y = 2;

/** The context header at `ctx`, written by kernel.ts: sizes, then region addresses, then the 8-bit quantisation. */
@unmanaged export class Header {
  magic: u32;
  version: u32;
  n: u32;
  k: u32;
  dx: u32;
  dy: u32;
  dxp: u32;
  dyp: u32;
  levels: u32;
  keep: u32; // 1: knn() also writes each point's k smallest distances, ascending, to `best` (N x k f64, by input index)
  radii: u32; // 1: countPrep() takes the x and y trees' radii from radX and radY (by input index) instead of eps
  Z: usize;
  visit: usize; // u8[N] scratch for the in-place permutation
  permZ: usize;
  permX: usize;
  permY: usize;
  tmpRow: usize; // f64[dz] scratch
  spread: usize; // f64[2 dz] scratch: min, max per dim
  stats: usize; // per joint dim: mean, 1 / std (f64 pairs)
  eps: usize;
  best: usize;
  radX: usize;
  radY: usize;
  nx: usize;
  ny: usize;
  scratch: usize; // per slot: slotBytes(dz)
  block: usize; // per slot: LEAF * blockStride(...) bytes
  trees: usize; // three Trees
  zDim: usize;
  zCol: usize;
  zBound: usize;
  zRow8: usize;
  xDim: usize;
  xCol: usize;
  xBound: usize;
  xRow8: usize;
  yDim: usize;
  yCol: usize;
  yBound: usize;
  yRow8: usize;
  // the pair-symmetric counts (filled by countPrep): per tree, per position: eps (f64) and input index (i32); per
  // leaf, LEAF u8 lane thresholds threshold(eps); per node (internal, then leaves), the largest eps below it
  xEps: usize;
  yEps: usize;
  xIdx: usize;
  yIdx: usize;
  xThr: usize;
  yThr: usize;
  xMaxEps: usize;
  yMaxEps: usize;
  // 8-bit quantisation of every coordinate: u = floor((v - qMin) / qStep)
  qMin: f64;
  qStep: f64;
}

/** One kd-tree (see the layout above), written by build(); the count fields only for the x and y trees. */
@unmanaged export class Tree {
  dims: i32; // coordinates of a row in this tree (the padded count)
  firstLeaf: i32; // node index of leaf 0
  colOff: usize; // byte offset of the tree's first coordinate in a Z row
  bytes: usize; // bytes of the tree's coordinates in a row (dims * 8)
  z: usize;
  zRow: usize; // bytes per Z row
  perm: usize; // tree position -> Z row (for the joint tree while it is built: -> input row; then the identity)
  dim: usize; // splitDim (i32[])
  bound: usize; // per internal node: left max, right min on the split dim (f64 pairs)
  cols: usize; // leaf blocks: per leaf, per dim, LEAF u8 lanes
  leafBytes: usize;
  rows8: usize; // per tree position, its u8 coordinates row-major
  row8Bytes: usize;
  eps: usize; // eps at each tree position
  idx: usize; // input index at each tree position
  thr: usize; // per leaf, LEAF u8 lanes: min(threshold(eps), 255)
  maxEps: usize; // per node: the largest eps below it
  out: usize; // nx or ny by input index
}

/** One caller's current query (in its slot's scratch): the point, its 8-bit view, and its k-NN or count state. */
@unmanaged export class Query {
  row: usize; // the query's first coordinate of the tree's part of its Z row
  row8: usize; // the query quantised to 8 bits, row8Bytes(its tree's dims) bytes (see padRow8)
  order: usize; // its dims, most rejecting first, as byte offsets into a leaf block
  splat: usize; // the query's u8 coordinate on each of them, in that order, splat to 16 lanes
  nd: i32; // dims in the order
  self: i32; // position excluded from the k-NN (the query itself)
  best: usize; // k smallest distances so far, ascending
  k: i32;
  kth: f64; // k-NN: the k-th smallest distance so far
  r: f64; // count: the query's eps (while its leaves are marked)
  stats: usize; // Header.stats
  counters: usize; // 8 u32 bucket counters (orderDims)
  bucket: usize; // u8 per dim: its bucket
  qMin: f64;
  qStep: f64;
}

/** The k-NN block being searched (knn.ts): a joint leaf's queries, their records at `blk`, `stride` bytes each. */
@unmanaged export class KnnBlock {
  levels: i32;
  ball: i32; // 0: the k-NN; 1: ball(), the marginal maxima within each query's closed ball of radius eps
  xBytes: i32; // bytes of the x part of a Z row (dxp * 8)
  leafA: i32; // the block's leaf
  p: i32; // its positions [p, end)
  end: i32;
  blk: usize;
  stride: usize;
  orderAt: usize; // offsets in a record: splats at 0, order, u8 coordinates, best, bounds, kth
  row8At: usize;
  bestAt: usize;
  boundsAt: usize;
  kthAt: usize;
}

/** The count block (count.ts): a marginal leaf's queries, the leaves they pair with, and their records' layout. */
@unmanaged export class CountBlock {
  leafA: i32; // the block's leaf
  span: i32; // leaves leafA .. leafA + span - 1 (mod leaves) pair with it
  leaves: i32;
  marked: i32; // leaves markNode marked (the first block of a count() range)
  nd: i32; // dims of every query's order (dx or dy)
  qStep: f64;
  orderAt: usize; // offsets in a record: splats at 0, order, u8 coordinates, visit, then eps f64, count i32, t8 i32
  row8At: usize;
  visitAt: usize;
  epsAt: usize;
}

const QUERY_AT: usize = 0;
const BLOCK_AT: usize = (offsetof<Query>() + 15) & ~15;
const COUNTERS_AT: usize = BLOCK_AT + ((max(offsetof<KnnBlock>(), offsetof<CountBlock>()) + 15) & ~15);
const BUCKET_AT: usize = COUNTERS_AT + 32;

/** Bytes of one slot's scratch: Query | block state | 8 u32 counters | dz u8 buckets, in whole 128-byte lines (no two callers share a cache line). */
export function slotBytes(dz: i32): usize {
  return (BUCKET_AT + <usize>dz + 127) & ~127;
}

/** Bytes of a row-major u8 row of `dims` coordinates: whole 32-byte steps of rowMax8. */
@inline export function row8Bytes(dims: i32): usize {
  return (<usize>dims + 31) & ~31;
}

/** Slots of a k-NN record's best list: k, and at least 2 (ball() keeps its two marginal maxima there). */
@inline export function bestSlots(k: i32): i32 {
  return k > 2 ? k : 2;
}

/** Bytes of a query's record in a k-NN block: splats (dz v128) | order (dz u32) | u8 row | best (bestSlots(k) f64) | bounds (2 per depth, f64) | kth. */
export function knnStride(dz: i32, k: i32, levels: i32): usize {
  return <usize>dz * 20 + row8Bytes(dz) + (<usize>bestSlots(k) << 3) + (<usize>(levels + 1) << 4) + 8;
}

/** Bytes of a query's record in a count block: splats (dm v128) | order (dm u32) | u8 row | visit (a byte per leaf, to 16) | eps, count, t8. */
export function countStride(dm: i32, leaves: i32): usize {
  return <usize>dm * 20 + row8Bytes(dm) + ((<usize>leaves + 15) & ~15) + 16;
}

/** Bytes per query record of the `block` region (both phases use it in turn): LEAF records per slot. */
export function blockStride(dm: i32, dz: i32, leaves: i32, levels: i32, k: i32): usize {
  return max(countStride(dm, leaves), knnStride(dz, k, levels));
}

@inline export function header(ctx: usize): Header {
  return changetype<Header>(ctx);
}

@inline export function tree(h: Header, which: i32): Tree {
  return changetype<Tree>(h.trees + <usize>which * offsetof<Tree>());
}

/** The slot's Query, filled with what every phase needs. */
export function slotQuery(h: Header, slot: i32): Query {
  const base = h.scratch + <usize>slot * slotBytes(<i32>(h.dxp + h.dyp));
  const q = changetype<Query>(base + QUERY_AT);
  q.stats = h.stats;
  q.qMin = h.qMin;
  q.qStep = h.qStep;
  q.k = <i32>h.k;
  q.counters = base + COUNTERS_AT;
  q.bucket = base + BUCKET_AT;
  return q;
}

@inline export function slotKnnBlock(h: Header, slot: i32): KnnBlock {
  return changetype<KnnBlock>(h.scratch + <usize>slot * slotBytes(<i32>(h.dxp + h.dyp)) + BLOCK_AT);
}

@inline export function slotCountBlock(h: Header, slot: i32): CountBlock {
  return changetype<CountBlock>(h.scratch + <usize>slot * slotBytes(<i32>(h.dxp + h.dyp)) + BLOCK_AT);
}
