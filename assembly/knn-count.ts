/**
 * KSG-1 in one pass: the joint k-NN and the marginal counts together. A point j counts in n_x(i) when its x-distance
 * is below eps_i, and eps_i is at most the query's current k-th best at every moment of its k-NN search, so the
 * search's own visit of j's word, with x's slab rows and y's apart at the current threshold, already finds every
 * point the counts need: x's survivors AND y's are the k-NN's candidates, and each marginal's survivors whose u8
 * bound does not put them beyond the current k-th best go to the block's list of candidates. When the search is
 * done, eps_i is known and the list is settled with the count's own tests (filter.ts), so the counts are those of
 * count.ts, point for point; only the slab scans of the separate k-NN are saved. Where a block's list overflows
 * (counts of thousands), it keeps the words visited before, and count.ts counts the rest once eps is known.
 */
import { countBlock } from './count';
import { belowUntil, hmax8, maxNormBounded, notBelowFrom, rowMax8, threshold } from './filter';
import { knnWord, startSearch } from './knn';
import {
  Block, blockEnd, Header, REC_COUNT, REC_COUNTY, REC_KTH, REC_MN, REC_ND, REC_NDY, REC_T8, WORD,
  record, row8Bytes, sliceBytes, slotBlock, visitSpan,
} from './layout';
import { refreshRows, scanTwo, slabRows, withoutSelf, wordMask } from './slabs';

/** Query `rec`'s x and y lists of slab rows at threshold t8. */
function bothRows(h: Header, b: Block, rec: usize, row8: usize, t8: i32): void {
  const dxp = <i32>h.dxp;
  store<i32>(rec + REC_ND, slabRows(h, b, rec + b.rowsAt, row8, 0, <i32>h.dx, 0, 0, t8));
  store<i32>(rec + REC_NDY, slabRows(h, b, rec + b.rowsYAt, row8, dxp, dxp + <i32>h.dy, 0, 0, t8));
  store<i32>(rec + REC_T8, t8);
}

/**
 * Both lists moved to the smaller threshold t8 in their order (refreshRows): sorting them afresh cost more than the
 * order it gains (bench/README.md).
 */
function narrowRows(h: Header, b: Block, rec: usize, row8: usize, t8: i32): void {
  refreshRows(h, rec + b.rowsAt, load<i32>(rec + REC_ND), row8, t8);
  refreshRows(h, rec + b.rowsYAt, load<i32>(rec + REC_NDY), row8, t8);
  store<i32>(rec + REC_T8, t8);
}

/**
 * Append the positions of `bits` (w0 + bit) in one part (u8 rows of `rb` bytes at rows8, the query's at row8) to the
 * list at `found` from entry `fill`, with their u8 bound m; only those with m < mN (not surely beyond the current
 * radius) advance the fill, without a branch on the data. Returns the new fill.
 */
@inline function keep(bits: u64, w0: i32, row8: usize, rows8: usize, rb: usize, mN: i32, tag: u32, found: usize, fill: i32): i32 {
  while (bits != 0) {
    const j = w0 + <i32>ctz(bits);
    bits &= bits - 1;
    const m = hmax8(rowMax8(row8, rows8 + <usize>j * rb, rb));
    const at = found + (<usize>fill << 3);
    store<u32>(at, <u32>j);
    store<u32>(at, tag | <u32>m, 4);
    fill += <i32>(m < mN);
  }
  return fill;
}

/**
 * The list's candidates counted against each query's eps with the count's tests (filter.ts), into the records'
 * counts: m below belowUntil(eps) is inside, from notBelowFrom(eps) outside, and between them the exact distance.
 */
function settle(h: Header, b: Block, p0: i32, size: i32, fill: i32): void {
  const zRow = <usize>(h.dxp + h.dyp) << 3;
  const xBytes = <usize>h.dxp << 3;
  const yBytes = zRow - xBytes;
  const step = h.qStep;
  const kLast = <usize>(b.k - 1) << 3;
  for (let i = 0; i < size; i++) {
    const rec = record(b, i);
    const eps = load<f64>(rec + b.bestAt + kLast);
    store<f64>(rec + REC_KTH, eps);
    store<i32>(rec + REC_T8, belowUntil(step, eps));
    store<i32>(rec + REC_MN, notBelowFrom(step, eps));
  }
  for (let e = 0; e < fill; e++) {
    const at = b.found + (<usize>e << 3);
    const j = load<u32>(at);
    const tag = load<u32>(at, 4);
    const i = <i32>(tag >> 9);
    const isY = (tag >> 8) & 1;
    const m = <i32>(tag & 255);
    const rec = record(b, i);
    let inside = m < load<i32>(rec + REC_T8);
    if (!inside && m < load<i32>(rec + REC_MN)) {
      const off = isY ? xBytes : 0;
      const r = load<f64>(rec + REC_KTH);
      inside = maxNormBounded(h.Z + <usize>(p0 + i) * zRow + off, h.Z + <usize>j * zRow + off, isY ? yBytes : xBytes, r) < r;
    }
    const c = rec + (isY ? REC_COUNTY : REC_COUNT);
    store<i32>(c, load<i32>(c) + <i32>inside);
  }
}

/** The block's positions [p0, p1): eps, nx and ny by input index. */
function knnCountBlock(h: Header, b: Block, p0: i32, p1: i32): void {
  const dxp = <i32>h.dxp;
  const dz = dxp + <i32>h.dyp;
  const rb = row8Bytes(dz);
  const rbx = row8Bytes(dxp);
  const rby = row8Bytes(<i32>h.dyp);
  const step = h.qStep;
  const k = b.k;
  const size = p1 - p0;
  for (let i = 0; i < size; i++) {
    const rec = record(b, i);
    const kth = startSearch(h, b, rec, p0 + i, rb);
    store<i32>(rec + REC_MN, notBelowFrom(step, kth));
    store<i32>(rec + REC_COUNT, 0);
    store<i32>(rec + REC_COUNTY, 0);
    bothRows(h, b, rec, h.zRow8 + <usize>(p0 + i) * rb, threshold(kth, step));
  }
  const words = <i32>h.words;
  const slice = sliceBytes(dz);
  const own = p0 / WORD;
  // room for a whole word's survivors of one query in both parts before each query's word
  const cap = b.room - 2 * WORD;
  let fill = 0;
  const span = visitSpan(words);
  // the first visit whose candidates did not all fit (span: none); the list then holds those of the visits before
  let spillAt = span;
  for (let t = 0; t < span; t++) {
    const w = own ^ t;
    if (w >= words) continue;
    const w0 = w * WORD;
    const at = h.slabs + <usize>w * slice;
    const mask = wordMask(h, w);
    // x's slab rows for the whole block, then y's: each sweep reads one part of the word's slice
    for (let part = 0; part < 2; part++) {
      const rowsAt = part == 0 ? b.rowsAt : b.rowsYAt;
      const ndAt = part == 0 ? REC_ND : REC_NDY;
      const bits = part == 0 ? b.bits : b.bitsY;
      for (let i = 0; i < size; i += 2) {
        const two = i + 1 < size;
        const recA = record(b, i);
        const recB = two ? record(b, i + 1) : recA;
        // the pair's bits land at their own places (an odd last query's partner in the spare slot)
        scanTwo(recA + rowsAt, load<i32>(recA + ndAt), recB + rowsAt, load<i32>(recB + ndAt), at,
          withoutSelf(mask, w0, p0 + i), two ? withoutSelf(mask, w0, p0 + i + 1) : i64x2.splat(0), bits + (<usize>i << 4));
      }
    }
    const wordStart = fill;
    for (let i = 0; i < size; i++) {
      const ax = v128.load(b.bits + (<usize>i << 4));
      const ay = v128.load(b.bitsY + (<usize>i << 4));
      if (!v128.any_true(v128.or(ax, ay))) continue;
      const rec = record(b, i);
      const p = p0 + i;
      const joint = v128.and(ax, ay);
      if (v128.any_true(joint)) {
        const kth = knnWord(h, b, rec, p, joint, w0);
        if (kth < load<f64>(rec + REC_KTH)) {
          store<f64>(rec + REC_KTH, kth);
          store<i32>(rec + REC_MN, notBelowFrom(step, kth));
          const t8 = threshold(kth, step);
          if (t8 < load<i32>(rec + REC_T8)) narrowRows(h, b, rec, h.zRow8 + <usize>p * rb, t8);
        }
      }
      if (spillAt < span) continue;
      if (fill > cap) {
        fill = wordStart;
        spillAt = t;
        continue;
      }
      const tag = <u32>i << 9;
      const qx = h.xRow8 + <usize>p * rbx;
      const qy = h.yRow8 + <usize>p * rby;
      const mN = load<i32>(rec + REC_MN);
      fill = keep(<u64>i64x2.extract_lane(ax, 0), w0, qx, h.xRow8, rbx, mN, tag, b.found, fill);
      fill = keep(<u64>i64x2.extract_lane(ax, 1), w0 + 64, qx, h.xRow8, rbx, mN, tag, b.found, fill);
      fill = keep(<u64>i64x2.extract_lane(ay, 0), w0, qy, h.yRow8, rby, mN, tag | 256, b.found, fill);
      fill = keep(<u64>i64x2.extract_lane(ay, 1), w0 + 64, qy, h.yRow8, rby, mN, tag | 256, b.found, fill);
    }
  }
  const kLast = <usize>(k - 1) << 3;
  for (let i = 0; i < size; i++) {
    const at = <usize>load<i32>(h.permZ + (<usize>(p0 + i) << 2));
    store<f64>(h.eps + (at << 3), load<f64>(record(b, i) + b.bestAt + kLast));
  }
  settle(h, b, p0, size, fill);
  for (let i = 0; i < size; i++) {
    const at = <usize>load<i32>(h.permZ + (<usize>(p0 + i) << 2)) << 2;
    const rec = record(b, i);
    store<i32>(h.nx + at, load<i32>(rec + REC_COUNT));
    store<i32>(h.ny + at, load<i32>(rec + REC_COUNTY));
  }
  if (spillAt < span) {
    // the list holds every candidate of the words visited before it overflowed: count.ts adds the rest
    atomic.add<u32>(changetype<usize>(h) + offsetof<Header>('spills'), 1);
    countBlock(h, b, p0, p1, 0, <i32>h.dx, dxp, h.eps, h.xRow8, h.nx, own, spillAt);
    countBlock(h, b, p0, p1, dxp, <i32>h.dy, <i32>h.dyp, h.eps, h.yRow8, h.ny, own, spillAt);
  }
}

/** For joint positions [p0, p1) (both parts with dims, one k, radii from eps): eps, nx and ny by input index. */
export function knnCount(h: Header, p0: i32, p1: i32, slot: i32): void {
  const b = slotBlock(h, slot);
  for (let p = p0, end = 0; p < p1; p = end) {
    end = blockEnd(p, p1);
    knnCountBlock(h, b, p, end);
  }
}
