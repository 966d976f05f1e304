/**
 * The joint k-NN: for each point, eps = the max-norm distance to its k-th nearest neighbour in Z (itself
 * excluded). Queries go in blocks of up to QBLOCK consecutive positions. Each starts from an upper bound on eps
 * read off its own word's u8 rows; the block then visits the words nearest in kd order first (its own, then
 * w ^ 1, w ^ 2, ...), each query through the slab filter at the threshold of its current k-th best, and computes
 * the exact distance of the few positions left. The same filter at a fixed radius, ball(), gives KSG-2's marginal
 * radii: the largest x- and y-distance within each point's closed k-NN ball (every point at distance <= eps, so
 * ties at the k-th distance need no order).
 */
import { hmax8, maxNormBounded, rowMax8, surelyNotBelow, threshold } from './filter';
import { Block, blockEnd, Header, REC_KTH, REC_ND, REC_T8, WORD, record, row8Bytes, sliceBytes, slotBlock, visitSpan } from './layout';
import { narrowRecordRows, recordRows, scanTwo, scanWord, withoutSelf, wordMask } from './slabs';

/** The next float64 above r >= 0: d < nextUp(r) exactly when d <= r, for the strict comparisons of the search and the counts. */
@inline export function nextUp(r: f64): f64 {
  return reinterpret<f64>(reinterpret<u64>(r) + 1);
}

/** Insert d into the ascending list of the k best at `best`; returns the new k-th best. */
@inline function insert(best: usize, k: i32, d: f64): f64 {
  let s = k - 1;
  while (s > 0) {
    const prev = load<f64>(best + (<usize>(s - 1) << 3));
    if (prev <= d) break;
    store<f64>(best + (<usize>s << 3), prev);
    s--;
  }
  store<f64>(best + (<usize>s << 3), d);
  return load<f64>(best + (<usize>(k - 1) << 3));
}

/**
 * An upper bound on eps of the query at p: the k-th smallest of (m_j + 1 + 1e-6) step over the other positions j
 * of its word, m_j their u8 max-norm (each d_pj is below it: surelyBelow()), so k points lie strictly closer;
 * Infinity if the word holds fewer than k others. `best` (k f64) is the scratch.
 */
export function ownWordBound(h: Header, best: usize, k: i32, p: i32, rb: usize): f64 {
  for (let s = 0; s < k; s++) store<f64>(best + (<usize>s << 3), Infinity);
  const w0 = (p / WORD) * WORD;
  let w1 = w0 + WORD;
  if (w1 > <i32>h.n) w1 = <i32>h.n;
  const row8 = h.zRow8 + <usize>p * rb;
  const step = h.qStep;
  let kth = Infinity;
  for (let j = w0; j < w1; j++) {
    if (j == p) continue;
    const ub = (<f64>hmax8(rowMax8(row8, h.zRow8 + <usize>j * rb, rb)) + 1.000001) * step;
    if (ub < kth) kth = insert(best, k, ub);
  }
  return kth;
}

/** Query record `rec` (position p) ready to search: its k best empty, its bound the own word's (ownWordBound), returned. */
export function startSearch(h: Header, b: Block, rec: usize, p: i32, rb: usize): f64 {
  const best = rec + b.bestAt;
  const kth = ownWordBound(h, best, b.k, p, rb);
  for (let s = 0; s < b.k; s++) store<f64>(best + (<usize>s << 3), Infinity);
  store<f64>(rec + REC_KTH, kth);
  return kth;
}

/**
 * The positions of `bits` (w0 + bit) against the query (Z row `row`, u8 row `row8`): those the u8 bound cannot
 * rule out get the exact distance, and the k best at `best` are updated; returns the new bound.
 */
@inline export function knnBits(h: Header, bits: u64, w0: i32, row: usize, row8: usize, best: usize, k: i32, kth: f64): f64 {
  const zRow = <usize>(h.dxp + h.dyp) << 3;
  const rb = row8Bytes(<i32>(h.dxp + h.dyp));
  const step = h.qStep;
  while (bits != 0) {
    const j = w0 + <i32>ctz(bits);
    bits &= bits - 1;
    if (surelyNotBelow(hmax8(rowMax8(row8, h.zRow8 + <usize>j * rb, rb)), step, kth)) continue;
    const d = maxNormBounded(row, h.Z + <usize>j * zRow, zRow, kth);
    if (d < kth) {
      const b = insert(best, k, d);
      if (b < kth) kth = b;
    }
  }
  return kth;
}

/**
 * A word's candidates (`bits`, positions w0 + lane bit) against query p of record rec, through knnBits; returns the
 * new bound, which the caller stores.
 */
@inline export function knnWord(h: Header, b: Block, rec: usize, p: i32, bits: v128, w0: i32): f64 {
  const dz = <i32>(h.dxp + h.dyp);
  const row = h.Z + <usize>p * (<usize>dz << 3);
  const row8 = h.zRow8 + <usize>p * row8Bytes(dz);
  const best = rec + b.bestAt;
  let kth = load<f64>(rec + REC_KTH);
  kth = knnBits(h, <u64>i64x2.extract_lane(bits, 0), w0, row, row8, best, b.k, kth);
  return knnBits(h, <u64>i64x2.extract_lane(bits, 1), w0 + 64, row, row8, best, b.k, kth);
}

/** The k-NN of the block's positions [p0, p1): each record's k best, ascending (the words visited in the order of p0's). */
function knnBlock(h: Header, b: Block, p0: i32, p1: i32): void {
  const dx = <i32>h.dx;
  const dxp = <i32>h.dxp;
  const dy = <i32>h.dy;
  const dz = dxp + <i32>h.dyp;
  const rb = row8Bytes(dz);
  const step = h.qStep;
  const size = p1 - p0;
  for (let i = 0; i < size; i++) {
    const rec = record(b, i);
    const kth = startSearch(h, b, rec, p0 + i, rb);
    recordRows(h, b, rec, h.zRow8 + <usize>(p0 + i) * rb, 0, dx, dxp, dxp + dy, threshold(kth, step));
  }
  const words = <i32>h.words;
  const slice = sliceBytes(dz);
  const own = p0 / WORD;
  const span = visitSpan(words);
  for (let t = 0; t < span; t++) {
    const w = own ^ t;
    if (w >= words) continue;
    const w0 = w * WORD;
    const at = h.slabs + <usize>w * slice;
    const mask = wordMask(h, w);
    const pair = b.tmp;
    for (let i = 0; i < size; i += 2) {
      // two queries at a time: two independent filter chains per exit test
      const ne = i + 1 < size ? 2 : 1;
      for (let e = 0; e < ne; e++) {
        const rec = record(b, i + e);
        const t8 = threshold(load<f64>(rec + REC_KTH), step);
        if (t8 < load<i32>(rec + REC_T8)) narrowRecordRows(h, b, rec, h.zRow8 + <usize>(p0 + i + e) * rb, t8);
      }
      const recA = record(b, i);
      const recB = ne == 2 ? record(b, i + 1) : recA;
      scanTwo(recA + b.rowsAt, load<i32>(recA + REC_ND), recB + b.rowsAt, load<i32>(recB + REC_ND), at,
        withoutSelf(mask, w0, p0 + i), ne == 2 ? withoutSelf(mask, w0, p0 + i + 1) : i64x2.splat(0), pair);
      for (let e = 0; e < ne; e++) {
        const alive = v128.load(pair + (<usize>e << 4));
        if (!v128.any_true(alive)) continue;
        const rec = e == 0 ? recA : recB;
        store<f64>(rec + REC_KTH, knnWord(h, b, rec, p0 + i + e, alive, w0));
      }
    }
  }
}

/** Blocks of up to QBLOCK positions (cut on multiples of QBLOCK) over [p0, p1): the k-NN, or with `ball` KSG-2's radii. */
@inline function blocks(h: Header, b: Block, p0: i32, p1: i32, ball: bool): void {
  for (let p = p0, end = 0; p < p1; p = end) {
    end = blockEnd(p, p1);
    if (ball) ballBlock(h, b, p, end);
    else {
      knnBlock(h, b, p, end);
      const k = <usize>b.k;
      for (let i = 0; i < end - p; i++) {
        const best = record(b, i) + b.bestAt;
        const at = <usize>load<i32>(h.permZ + (<usize>(p + i) << 2));
        store<f64>(h.eps + (at << 3), load<f64>(best + ((k - 1) << 3)));
        if (h.keep) memory.copy(h.best + at * (k << 3), best, k << 3);
      }
    }
  }
}

/**
 * For joint positions [p0, p1): eps of each point (k-th neighbour distance in Z, itself excluded), by input index;
 * with h.keep, its k smallest distances in `best` too.
 */
export function knn(h: Header, p0: i32, p1: i32, slot: i32): void {
  blocks(h, slotBlock(h, slot), p0, p1, false);
}

/** The largest x- and y-distance of `bits` (positions w0 + bit) within the ball kth around row, into best[0], best[1]. */
@inline function ballBits(h: Header, bits: u64, w0: i32, row: usize, best: usize, kth: f64): void {
  const zRow = <usize>(h.dxp + h.dyp) << 3;
  const xBytes = <usize>h.dxp << 3;
  const yBytes = zRow - xBytes;
  let mx = load<f64>(best);
  let my = load<f64>(best, 8);
  while (bits != 0) {
    const j = w0 + <i32>ctz(bits);
    bits &= bits - 1;
    const rj = h.Z + <usize>j * zRow;
    const dx = maxNormBounded(row, rj, xBytes, Infinity);
    const dy = maxNormBounded(row + xBytes, rj + xBytes, yBytes, Infinity);
    if ((dx > dy ? dx : dy) < kth) {
      if (dx > mx) mx = dx;
      if (dy > my) my = dy;
    }
  }
  store<f64>(best, mx);
  store<f64>(best, my, 8);
}

/** KSG-2's radii of the block's positions [p0, p1), written by input index. */
function ballBlock(h: Header, b: Block, p0: i32, p1: i32): void {
  const dxp = <i32>h.dxp;
  const dz = dxp + <i32>h.dyp;
  const rb = row8Bytes(dz);
  const zRow = <usize>dz << 3;
  const size = p1 - p0;
  for (let i = 0; i < size; i++) {
    const rec = record(b, i);
    const at = <usize>load<i32>(h.permZ + (<usize>(p0 + i) << 2));
    const kth = nextUp(load<f64>(h.eps + (at << 3)));
    store<f64>(rec + REC_KTH, kth);
    store<f64>(rec + b.bestAt, 0);
    store<f64>(rec + b.bestAt, 0, 8);
    recordRows(h, b, rec, h.zRow8 + <usize>(p0 + i) * rb, 0, <i32>h.dx, dxp, dxp + <i32>h.dy, threshold(kth, h.qStep));
  }
  const words = <i32>h.words;
  const slice = sliceBytes(dz);
  for (let w = 0; w < words; w++) {
    const w0 = w * WORD;
    const at = h.slabs + <usize>w * slice;
    const mask = wordMask(h, w);
    for (let i = 0; i < size; i++) {
      const rec = record(b, i);
      const p = p0 + i;
      const alive = scanWord(rec + b.rowsAt, load<i32>(rec + REC_ND), at, withoutSelf(mask, w0, p));
      const row = h.Z + <usize>p * zRow;
      const kth = load<f64>(rec + REC_KTH);
      ballBits(h, <u64>i64x2.extract_lane(alive, 0), w0, row, rec + b.bestAt, kth);
      ballBits(h, <u64>i64x2.extract_lane(alive, 1), w0 + 64, row, rec + b.bestAt, kth);
    }
  }
  for (let i = 0; i < size; i++) {
    const rec = record(b, i);
    const at = <usize>load<i32>(h.permZ + (<usize>(p0 + i) << 2));
    store<f64>(h.radX + (at << 3), nextUp(load<f64>(rec + b.bestAt)));
    store<f64>(h.radY + (at << 3), nextUp(load<f64>(rec + b.bestAt, 8)));
  }
}

/**
 * For joint positions [p0, p1), after eps is known (from knn(), or written by the caller): radX = nextUp(the largest
 * x-distance over the points j != i at joint distance <= eps_i), radY likewise, by input index (KSG-2's eps_x, eps_y,
 * nudged so that the strict counts count <= them), for count() with h.radii = 1.
 */
export function ball(h: Header, p0: i32, p1: i32, slot: i32): void {
  blocks(h, slotBlock(h, slot), p0, p1, true);
}
