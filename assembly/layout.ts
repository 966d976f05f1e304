/**
 * The memory layout the kernel shares with src/mi/kernel.ts, defined once, here. index.ts exports every Header
 * field's byte offset (HEADER_<field>), the magic number and version, and the size functions below; kernel.ts
 * reads them when it loads the module, so no offset is written by hand on the TypeScript side.
 *
 * The memory is imported (shared between the main thread and the pool's workers); kernel.ts lays out every region
 * and writes a Header at `ctx`:
 *   Z      N x dz float64, dz = dxp + dyp: the joint rows [x, 0-pad, y, 0-pad] (each part padded to an even
 *          count for f64x2). The caller writes them in input order; build() permutes them in place into the
 *          order of a kd-tree over the joint space (permZ[p] = input index at position p), so that nearby points
 *          sit at nearby positions.
 *   rows8  Per position, its coordinates quantised to 8 bits (filter.ts), row-major, zero-padded to row8Bytes:
 *          zRow8 the whole joint row, xRow8 the x part alone, yRow8 the y part alone.
 *   slabs  The slab filter (slabs.ts): per joint dim, 16 bins of its 8-bit levels (binOf: a bin per level; binCum:
 *          positions below each bin) and 15 bitsets over the positions, "bin <= v" for v = 0..14, stored word by
 *          word: the slice of word w (128 positions) holds an all-zero and an all-one v128, then for every dim
 *          and v the v128 of its 128 bits, so a block of queries scanning one word reads one slice.
 *   A y part of 0 dims (dy = dyp = 0) is allowed (entropy, or counts in one space at radii the caller writes).
 *   scratch Per slot (one per concurrent caller: the main thread or a pool task): its Query and arrays, so callers
 *          share no writable state.
 * Invariants: every accepted distance is computed in float64 from Z, which is exact for float32 input (and the
 * exact max-norm of any float64 input); the filters only reject what they prove to be out of range, so the
 * result does not depend on the order, the bins or the slots, only on the data.
 */

/** 'KSG1' as little-endian u32: the first header word, so a stale or foreign memory is refused. */
export const LAYOUT_MAGIC: u32 = 0x3147534b;
/** Bump on any change to Header, the slot scratch or the regions' layout. */
export const LAYOUT_VERSION: u32 = 4;

/** Points per leaf at most of the kd-tree that orders the positions. */
export const LEAF = 64;
/** Positions per slab word (one v128 of bits). */
export const WORD = 128;
/** Queries scanned together (whole words of them): each slice is read from memory once per block (512-1024 measured best, bench/README.md). */
export const QBLOCK = 1024;
/** Bins per dim of the slab filter (4 bits of the 8-bit levels). */
export const BINS = 16;
/** Room per query of a block for the fused search's marginal candidates (knn-count.ts) at most; a block that needs more is counted by count.ts from where it overflowed. */
export const FOUND_PER_QUERY = 1024;

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
  levels: u32; // of the ordering kd-tree: no leaf over LEAF points
  words: u32; // slab words: ceil(n / WORD)
  keep: u32; // 1: knn() also writes each point's k smallest distances, ascending, to `best` (N x k f64, by input index)
  radii: u32; // 1: count() takes the x and y radii from radX and radY (by input index) instead of eps
  spills: u32; // blocks of knnCount() whose list of candidates overflowed, counted by count.ts instead (atomic)
  Z: usize;
  visit: usize; // u8[N] scratch for the in-place permutation
  permZ: usize;
  tmpRow: usize; // f64[dz] scratch
  spread: usize; // f64[2 dz] scratch: min, max per dim
  eps: usize;
  best: usize;
  radX: usize;
  radY: usize;
  nx: usize;
  ny: usize;
  scratch: usize; // per slot: slotBytes(dz, k, n)
  zRow8: usize;
  xRow8: usize;
  yRow8: usize;
  slabs: usize; // words slices of sliceBytes(dz)
  binOf: usize; // dz x 256 u8
  binCum: usize; // dz x (BINS + 1) u32: positions in bins below b
  hist: usize; // dz x 256 u32 scratch of the build (each dim's level counts)
  // 8-bit quantisation of every coordinate: u = floor((v - qMin) / qStep)
  qMin: f64;
  qStep: f64;
}

/** Bytes of one word's slice of the slab filter: zero, ones, then (BINS - 1) v128 per dim. */
@inline export function sliceBytes(dz: i32): usize {
  return (2 + <usize>dz * (BINS - 1)) << 4;
}

/**
 * One caller's block of queries (in its slot's scratch): up to QBLOCK consecutive positions (whole words), each with a
 * record of `stride` bytes: nd i32 | t8 i32 | kth f64 | count i32 | ndY i32 | countY i32 | mN i32 | best (k f64) | rows
 * (dz + 8 u32 pairs: one list over all dims, or the fused search's x list (dxp + 4) then y list), and the fused
 * search's list of marginal candidates.
 */
@unmanaged export class Block {
  p0: i32; // first position
  size: i32; // queries
  k: i32;
  stride: usize;
  bestAt: usize;
  rowsAt: usize;
  rowsYAt: usize; // the fused search's y list
  recs: usize; // a record per query of a block
  tmp: usize; // dz + 4 pairs: one query's rows before sorting
  bucket: usize; // u8 per dim of tmp: its rejection bucket
  counters: usize; // BINS + 2 u32
  bits: usize; // the fused search's survivors of the current word: x's v128 per query, then y's (q + 1 each)
  bitsY: usize;
  found: usize; // room entries (u32 position, u32 query << 9 | part << 8 | u8 bound)
  room: i32; // foundPerQuery(n) per query of a block
}

// a record's fixed fields
export const REC_ND: usize = 0;
export const REC_T8: usize = 4;
export const REC_KTH: usize = 8;
export const REC_COUNT: usize = 16;
export const REC_NDY: usize = 20;
export const REC_COUNTY: usize = 24;
export const REC_MN: usize = 28;
/** Bytes of a record's fixed fields. */
const REC_HEAD: usize = 32;

const BLOCK_AT: usize = 0;
const RECS_AT: usize = (offsetof<Block>() + 15) & ~15;

/** Bytes of `dz + 4` row pairs. */
@inline function pairBytes(dz: i32): usize {
  return ((<usize>(dz + 4) << 3) + 15) & ~15;
}

/** Bytes of one query record. */
@inline function recordBytes(dz: i32, k: i32): usize {
  return REC_HEAD + (((<usize>k << 3) + 15) & ~15) + pairBytes(dz + 4);
}

/** Queries of a block at most: QBLOCK, or all n when fewer. */
@inline function blockQueries(n: i32): usize {
  return <usize>(n < 1 ? 1 : n < QBLOCK ? n : QBLOCK);
}

/**
 * Room per query for n points: the candidates grow with n (at most 155 per query at n = 3,000, 500-700 at 30,000 on
 * 64 + 64 activation dims, bench/README.md), so n / 16 within [256, FOUND_PER_QUERY].
 */
@inline function foundPerQuery(n: i32): usize {
  const r = n >> 4;
  return <usize>(r < 256 ? 256 : r > FOUND_PER_QUERY ? FOUND_PER_QUERY : r);
}

/**
 * Bytes of one slot's scratch for n points: Block | records | tmp | buckets | counters | bits | found, in whole
 * 128-byte lines (no two callers share a cache line).
 */
export function slotBytes(dz: i32, k: i32, n: i32): usize {
  const q = blockQueries(n);
  const bucket = (<usize>dz + 15) & ~15;
  const counters = (<usize>(BINS + 2) * 4 + 15) & ~15;
  return (RECS_AT + q * recordBytes(dz, k) + pairBytes(dz) + bucket + counters + ((q + 1) << 5) + q * foundPerQuery(n) * 8 + 127) & ~127;
}

/** Bytes of a row-major u8 row of `dims` coordinates: whole 32-byte steps of rowMax8. */
@inline export function row8Bytes(dims: i32): usize {
  return (<usize>dims + 31) & ~31;
}

@inline export function header(ctx: usize): Header {
  return changetype<Header>(ctx);
}

/** The slot's Block, its arrays laid out. */
export function slotBlock(h: Header, slot: i32): Block {
  const dz = <i32>(h.dxp + h.dyp);
  const k = <i32>h.k;
  const q = blockQueries(<i32>h.n);
  const base = h.scratch + <usize>slot * slotBytes(dz, k, <i32>h.n);
  const b = changetype<Block>(base + BLOCK_AT);
  b.k = k;
  b.stride = recordBytes(dz, k);
  b.bestAt = REC_HEAD;
  b.rowsAt = REC_HEAD + (((<usize>k << 3) + 15) & ~15);
  b.recs = base + RECS_AT;
  b.tmp = b.recs + q * b.stride;
  b.bucket = b.tmp + pairBytes(dz);
  b.counters = b.bucket + ((<usize>dz + 15) & ~15);
  b.bits = b.counters + ((<usize>(BINS + 2) * 4 + 15) & ~15);
  b.bitsY = b.bits + ((q + 1) << 4);
  b.found = b.bits + ((q + 1) << 5);
  b.room = <i32>(q * foundPerQuery(<i32>h.n));
  b.rowsYAt = b.rowsAt + (<usize>(h.dxp + 4) << 3);
  return b;
}

/**
 * Visits t = 0 .. visitSpan(words) - 1 of the words in the order of word `own` go to w = own ^ t, those with w >=
 * words skipped: nearest in kd order first, each word once.
 */
@inline export function visitSpan(words: i32): i32 {
  let span = 1;
  while (span < words) span <<= 1;
  return span;
}

/** The end of the block that starts at position p: the next multiple of QBLOCK, or p1. */
@inline export function blockEnd(p: i32, p1: i32): i32 {
  const end = (p / QBLOCK + 1) * QBLOCK;
  return end < p1 ? end : p1;
}

/** Query i's record in the block. */
@inline export function record(b: Block, i: i32): usize {
  return b.recs + <usize>i * b.stride;
}
