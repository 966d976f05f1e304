/**
 * The slab filter: which positions lie inside a query's box, 128 at a time. Per joint dim, the 8-bit levels are
 * cut into BINS bins of about equal counts, and for each v = 0..14 a bitset over the positions (in kd order)
 * marks those in bins <= v. A point j can be within distance r of query i only if, in every dim, its bin lies in
 * [bin(u_i - T + 1), bin(u_i + T - 1)] with T = threshold(r) (filter.ts: |u_i - u_j| >= T implies d > r), so one
 * AND and one AND-NOT per dim clear, for 128 positions at once, every point outside the query's slab on that dim.
 * The dims go most rejecting first (from the bins' counts), and a word stops as soon as no bit is left: in kd
 * order far words empty within a few dims. The survivors are then checked on their u8 rows and exactly.
 */
import { BINS, Block, Header, REC_ND, REC_T8, WORD, row8Bytes, sliceBytes } from './layout';

const ROWS_PER_DIM = BINS - 1;
/** Offsets in a slice of the all-zero and all-one v128 (bins below 0, bins up to 15). */
const ZERO: u32 = 0;
const ONES: u32 = 16;

/** Offset in a slice of dim c's v128 for "bin <= v". */
@inline function entry(c: i32, v: i32): u32 {
  return <u32>(2 + c * ROWS_PER_DIM + v) << 4;
}

/** Dim c's bins from its level histogram (hist + c x 256 u32): binOf (a bin per level) and binCum. */
function binDim(h: Header, c: i32): void {
  const n = <i32>h.n;
  const hist = h.hist + (<usize>c << 10);
  // bin of a level: how many sixteenths of the points lie below it (monotone in the level, so a slab of levels is
  // a slab of bins)
  const binOf = h.binOf + (<usize>c << 8);
  const cum = h.binCum + <usize>c * (BINS + 1) * 4;
  memory.fill(cum, 0, (BINS + 1) * 4);
  let below: u64 = 0;
  for (let u = 0; u < 256; u++) {
    let b = <i32>((below * BINS) / <u64>n);
    if (b > BINS - 1) b = BINS - 1;
    store<u8>(binOf + <usize>u, <u8>b);
    const cnt = load<u32>(hist + (<usize>u << 2));
    const at = cum + (<usize>(b + 1) << 2);
    store<u32>(at, load<u32>(at) + cnt);
    below += cnt;
  }
  for (let b = 1; b <= BINS; b++) {
    const at = cum + (<usize>b << 2);
    store<u32>(at, load<u32>(at) + load<u32>(at - 4));
  }
}

/** Every position's bit in dim c's row "bin == b" of its word (b < BINS - 1; the last bin is in no row). */
@inline function markDims(h: Header, row8: usize, c0: i32, c1: i32, at: usize, bit: u8): void {
  for (let c = c0; c < c1; c++) {
    const b = <i32>load<u8>(h.binOf + (<usize>c << 8) + <usize>load<u8>(row8 + <usize>c));
    if (b < ROWS_PER_DIM) {
      const e = at + <usize>entry(c, b);
      store<u8>(e, load<u8>(e) | bit);
    }
  }
}

/**
 * The slab filter over the x and y dims (padding dims are equal in every row and never reject): the levels'
 * histograms in one pass over the u8 rows, the bins per dim, then word by word (its slice stays in L1) each
 * position's bit in the row of its own bin, and the rows OR-ed upwards into "bin <= v".
 */
export function buildSlabs(h: Header): void {
  const n = <i32>h.n;
  const dx = <i32>h.dx;
  const dxp = <i32>h.dxp;
  const dy = <i32>h.dy;
  const dz = dxp + <i32>h.dyp;
  const rb = row8Bytes(dz);
  const slice = sliceBytes(dz);
  const words = <i32>h.words;
  memory.fill(h.hist, 0, <usize>dz << 10);
  for (let p = 0; p < n; p++) {
    const row = h.zRow8 + <usize>p * rb;
    for (let c = 0; c < dz; c++) {
      const at = h.hist + (<usize>c << 10) + (<usize>load<u8>(row + <usize>c) << 2);
      store<u32>(at, load<u32>(at) + 1);
    }
  }
  for (let c = 0; c < dx; c++) binDim(h, c);
  for (let c = 0; c < dy; c++) binDim(h, dxp + c);
  memory.fill(h.slabs, 0, <usize>words * slice);
  for (let w = 0; w < words; w++) {
    const base = h.slabs + <usize>w * slice;
    v128.store(base + ONES, i64x2.splat(-1));
    const p1 = min(n, (w + 1) * WORD);
    for (let p = w * WORD; p < p1; p++) {
      const row = h.zRow8 + <usize>p * rb;
      const at = base + <usize>((p % WORD) >> 3);
      const bit = <u8>(1 << <u8>(p & 7));
      markDims(h, row, 0, dx, at, bit);
      markDims(h, row, dxp, dxp + dy, at, bit);
    }
    cumulateRows(base, 0, dx);
    cumulateRows(base, dxp, dxp + dy);
  }
}

/** Dims [c0, c1) of the word's slice at `base`: each row "bin == v" OR-ed with those below it, into "bin <= v". */
@inline function cumulateRows(base: usize, c0: i32, c1: i32): void {
  for (let c = c0; c < c1; c++) {
    let acc = v128.load(base + <usize>entry(c, 0));
    for (let v = 1; v < ROWS_PER_DIM; v++) {
      const e = base + <usize>entry(c, v);
      acc = v128.or(acc, v128.load(e));
      v128.store(e, acc);
    }
  }
}

/**
 * Append dims [c0, c1)'s (lo, hi) entries for a query with u8 row `row8` at threshold t8 to b.tmp (from `at`),
 * without branches on the data: a dim that rejects nothing (no point in a bin outside its slab) goes to the last
 * bucket, BINS, and is dropped by slabRows. Returns the new count.
 */
function dimRows(h: Header, b: Block, row8: usize, c0: i32, c1: i32, t8: i32, at: i32): i32 {
  const n = <i32>h.n;
  // the bucket only orders the dims, so a product stands in for the division (the order is not a result)
  const perBucket = <f64>BINS / <f64>(n + 1);
  for (let c = c0; c < c1; c++) {
    const lb = loBin(h, c, <i32>load<u8>(row8 + <usize>c), t8);
    const hb = hiBin(h, c, <i32>load<u8>(row8 + <usize>c), t8);
    const cum = h.binCum + <usize>c * (BINS + 1) * 4;
    const rejected = <i32>load<u32>(cum + (<usize>lb << 2)) + n - <i32>load<u32>(cum + (<usize>(hb + 1) << 2));
    const bucket = rejected == 0 ? BINS : BINS - 1 - <i32>(<f64>rejected * perBucket);
    const pair = b.tmp + (<usize>at << 3);
    store<u32>(pair, loEntry(c, lb));
    store<u32>(pair, hiEntry(c, hb), 4);
    store<u8>(b.bucket + <usize>at, <u8>bucket);
    at++;
  }
  return at;
}

/** Dim c's lowest bin inside the slab of a query at level u (threshold t8); binOf[0] = 0. */
@inline function loBin(h: Header, c: i32, u: i32, t8: i32): i32 {
  const lv = u - t8 + 1;
  return <i32>load<u8>(h.binOf + (<usize>c << 8) + <usize>(lv < 0 ? 0 : lv));
}

/** Dim c's highest bin inside the slab; a slab reaching level 255 takes every bin above. */
@inline function hiBin(h: Header, c: i32, u: i32, t8: i32): i32 {
  const lv = u + t8 - 1;
  return lv >= 255 ? BINS - 1 : <i32>load<u8>(h.binOf + (<usize>c << 8) + <usize>lv);
}

@inline function loEntry(c: i32, lb: i32): u32 {
  return lb == 0 ? ZERO : entry(c, lb - 1);
}

@inline function hiEntry(c: i32, hb: i32): u32 {
  return hb == BINS - 1 ? ONES : entry(c, hb);
}

/**
 * The `nd` slab rows at `rows` moved to the smaller threshold t8 in place, in their order (cheaper than slabRows: no
 * rejection shares, no sort). A dim's pair names its dim in the half that is not the all-zero or all-one v128
 * (a dim whose slab has neither was dropped); the padding pairs have both and stay.
 */
export function refreshRows(h: Header, rows: usize, nd: i32, row8: usize, t8: i32): void {
  for (let t = 0; t < nd; t++) {
    const pair = rows + (<usize>t << 3);
    const lo = load<u32>(pair);
    const hi = load<u32>(pair, 4);
    if (lo == ZERO && hi == ONES) continue;
    const c = <i32>(((lo != ZERO ? lo : hi) >> 4) - 2) / ROWS_PER_DIM;
    const u = <i32>load<u8>(row8 + <usize>c);
    store<u32>(pair, loEntry(c, loBin(h, c, u, t8)));
    store<u32>(pair, hiEntry(c, hiBin(h, c, u, t8)), 4);
  }
}

/**
 * A query's slab rows at threshold t8 over dims [a0, a1) and [b0, b1) of its u8 row `row8`, written at `rows`: most
 * rejecting first (a counting sort on the rejected share), those that reject nothing dropped, padded to a multiple
 * of 4 with rows that reject nothing. Returns their count.
 */
export function slabRows(h: Header, b: Block, rows: usize, row8: usize, a0: i32, a1: i32, b0: i32, b1: i32, t8: i32): i32 {
  let m = dimRows(h, b, row8, a0, a1, t8, 0);
  m = dimRows(h, b, row8, b0, b1, t8, m);
  const counters = b.counters;
  memory.fill(counters, 0, (BINS + 2) * 4);
  for (let t = 0; t < m; t++) {
    const at = counters + (<usize>load<u8>(b.bucket + <usize>t) << 2) + 4;
    store<u32>(at, load<u32>(at) + 1);
  }
  const none = <i32>load<u32>(counters + ((BINS + 1) << 2));
  for (let v = 1; v <= BINS; v++) {
    const at = counters + (<usize>v << 2);
    store<u32>(at, load<u32>(at) + load<u32>(at - 4));
  }
  for (let t = 0; t < m; t++) {
    const at = counters + (<usize>load<u8>(b.bucket + <usize>t) << 2);
    const to = load<u32>(at);
    store<u32>(at, to + 1);
    store<u64>(rows + (<usize>to << 3), load<u64>(b.tmp + (<usize>t << 3)));
  }
  let nd = m - none;
  while (nd & 3) {
    const pair = rows + (<usize>nd << 3);
    store<u32>(pair, ZERO);
    store<u32>(pair, ONES, 4);
    nd++;
  }
  return nd;
}

/** Query record `rec`'s one list of slab rows (slabRows) and its threshold. */
export function recordRows(h: Header, b: Block, rec: usize, row8: usize, a0: i32, a1: i32, b0: i32, b1: i32, t8: i32): void {
  store<i32>(rec + REC_ND, slabRows(h, b, rec + b.rowsAt, row8, a0, a1, b0, b1, t8));
  store<i32>(rec + REC_T8, t8);
}

/**
 * Record `rec`'s list moved to the smaller threshold t8 in its order (refreshRows): sorting it afresh costs more than
 * the order gains (bench/README.md).
 */
export function narrowRecordRows(h: Header, b: Block, rec: usize, row8: usize, t8: i32): void {
  refreshRows(h, rec + b.rowsAt, load<i32>(rec + REC_ND), row8, t8);
  store<i32>(rec + REC_T8, t8);
}

/** Word w's positions (all 128, or those below n in the last word), as bits. */
@inline export function wordMask(h: Header, w: i32): v128 {
  const left = <i32>h.n - w * WORD;
  if (left >= WORD) return i64x2.splat(-1);
  const lo: i64 = left >= 64 ? -1 : (<i64>1 << <i64>left) - 1;
  const hi: i64 = left > 64 ? (<i64>1 << <i64>(left - 64)) - 1 : 0;
  return i64x2(lo, hi);
}

/** The bits of `alive` left inside every slab of the record's rows, in the word whose slice starts at `slice`. */
@inline export function scanWord(rows: usize, nd: i32, slice: usize, alive: v128): v128 {
  return scanFrom(rows, nd, slice, alive, 0);
}

/** `alive` inside one dim's slab: its pair (lo, hi) of slice offsets at r. */
@inline function inSlab(alive: v128, r: usize, slice: usize): v128 {
  return v128.andnot(v128.and(alive, v128.load(slice + <usize>load<u32>(r, 4))), v128.load(slice + <usize>load<u32>(r)));
}

@inline function step4(rows: usize, t: i32, slice: usize, alive: v128): v128 {
  const r = rows + (<usize>t << 3);
  return inSlab(inSlab(inSlab(inSlab(alive, r, slice), r + 8, slice), r + 16, slice), r + 24, slice);
}

/** Two queries' words at once (two independent chains, one exit test): their alive bits at out, out + 16. */
@inline export function scanTwo(ra: usize, na: i32, rb: usize, nb: i32, slice: usize, a: v128, b: v128, out: usize): void {
  const nd = na < nb ? na : nb;
  let t = 0;
  while (t < nd) {
    a = step4(ra, t, slice, a);
    b = step4(rb, t, slice, b);
    t += 4;
    if (!v128.any_true(v128.or(a, b))) break;
  }
  if (t < na && v128.any_true(a)) a = scanFrom(ra, na, slice, a, t);
  if (t < nb && v128.any_true(b)) b = scanFrom(rb, nb, slice, b, t);
  v128.store(out, a);
  v128.store(out, b, 16);
}

@inline function scanFrom(rows: usize, nd: i32, slice: usize, alive: v128, t0: i32): v128 {
  for (let t = t0; t < nd; t += 4) {
    alive = step4(rows, t, slice, alive);
    if (!v128.any_true(alive)) break;
  }
  return alive;
}

/** `alive` without position p's bit (when p is in the word starting at position w0). */
@inline export function withoutSelf(alive: v128, w0: i32, p: i32): v128 {
  const b = p - w0;
  if (b < 0 || b >= WORD) return alive;
  return b < 64 ? v128.andnot(alive, i64x2(<i64>1 << <i64>b, 0)) : v128.andnot(alive, i64x2(0, <i64>1 << <i64>(b - 64)));
}
