/**
 * The marginal range counts: n_x(i) = #{j != i : ||x_j - x_i|| < r_i} with r_i = eps_i (or KSG-2's radX), n_y
 * likewise. Queries go in blocks of up to QBLOCK consecutive positions; for each word, every query of the block
 * runs the slab filter over the part's dims at threshold(r_i), each survivor's u8 row bounds its distance on both
 * sides, and only a pair whose bounds straddle r_i gets the exact distance. Each query writes its own counts, so
 * the result is the same for any split of the positions over callers.
 */
import { hmax8, maxNormBounded, rowMax8, surelyBelow, surelyNotBelow, threshold } from './filter';
import { Block, blockEnd, Header, REC_COUNT, REC_KTH, REC_ND, WORD, record, row8Bytes, sliceBytes, slotBlock, visitSpan } from './layout';
import { recordRows, scanTwo, withoutSelf, wordMask } from './slabs';

/** How many of `bits` (positions w0 + bit) lie strictly within r of the query (part rows at `row`, u8 row `row8`). */
@inline function countBits(h: Header, bits: u64, w0: i32, row: usize, row8: usize, rows8: usize, rb: usize, colOff: usize, bytes: usize, r: f64): i32 {
  const zRow = <usize>(h.dxp + h.dyp) << 3;
  const step = h.qStep;
  let n = 0;
  while (bits != 0) {
    const j = w0 + <i32>ctz(bits);
    bits &= bits - 1;
    // the u8 max over every dim bounds d on both sides; only a pair inside the band gets the exact distance
    const m = hmax8(rowMax8(row8, rows8 + <usize>j * rb, rb));
    if (surelyBelow(m, step, r)) n++;
    else if (!surelyNotBelow(m, step, r) && maxNormBounded(row, h.Z + <usize>j * zRow + colOff, bytes, r) < r) n++;
  }
  return n;
}

/**
 * The part's strict counts for the block's positions [p0, p1): dims [c0, c0 + dims) of Z (dimsPadded in the rows),
 * radii by input index at `radii`, u8 rows at rows8; added to `out`. The words are those from the visit `from` on in
 * the order of word `own` (own ^ 0, own ^ 1, ...; own = from = 0: every word in turn).
 */
export function countBlock(h: Header, b: Block, p0: i32, p1: i32, c0: i32, dims: i32, dimsPadded: i32, radii: usize, rows8: usize, out: usize, own: i32, from: i32): void {
  const dz = <i32>(h.dxp + h.dyp);
  const zRow = <usize>dz << 3;
  const rbz = row8Bytes(dz);
  const rb = row8Bytes(dimsPadded);
  const colOff = <usize>c0 << 3;
  const bytes = <usize>dimsPadded << 3;
  const size = p1 - p0;
  for (let i = 0; i < size; i++) {
    const rec = record(b, i);
    const r = load<f64>(radii + (<usize>load<i32>(h.permZ + (<usize>(p0 + i) << 2)) << 3));
    store<f64>(rec + REC_KTH, r);
    store<i32>(rec + REC_COUNT, 0);
    recordRows(h, b, rec, h.zRow8 + <usize>(p0 + i) * rbz, c0, c0 + dims, 0, 0, threshold(r, h.qStep));
  }
  const words = <i32>h.words;
  const slice = sliceBytes(dz);
  const span = visitSpan(words);
  for (let t = from; t < span; t++) {
    const w = own ^ t;
    if (w >= words) continue;
    const w0 = w * WORD;
    const at = h.slabs + <usize>w * slice;
    const mask = wordMask(h, w);
    const pair = b.tmp;
    for (let i = 0; i < size; i += 2) {
      const recA = record(b, i);
      const two = i + 1 < size;
      const recB = two ? record(b, i + 1) : recA;
      scanTwo(recA + b.rowsAt, load<i32>(recA + REC_ND), recB + b.rowsAt, load<i32>(recB + REC_ND), at,
        withoutSelf(mask, w0, p0 + i), two ? withoutSelf(mask, w0, p0 + i + 1) : i64x2.splat(0), pair);
      const ne = two ? 2 : 1;
      for (let e = 0; e < ne; e++) {
        const alive = v128.load(pair + (<usize>e << 4));
        if (!v128.any_true(alive)) continue;
        const rec = e == 0 ? recA : recB;
        const p = p0 + i + e;
        const row = h.Z + <usize>p * zRow + colOff;
        const row8 = rows8 + <usize>p * rb;
        const r = load<f64>(rec + REC_KTH);
        const n = countBits(h, <u64>i64x2.extract_lane(alive, 0), w0, row, row8, rows8, rb, colOff, bytes, r) +
          countBits(h, <u64>i64x2.extract_lane(alive, 1), w0 + 64, row, row8, rows8, rb, colOff, bytes, r);
        store<i32>(rec + REC_COUNT, load<i32>(rec + REC_COUNT) + n);
      }
    }
  }
  for (let i = 0; i < size; i++) {
    const at = <usize>load<i32>(h.permZ + (<usize>(p0 + i) << 2));
    store<i32>(out + (at << 2), load<i32>(out + (at << 2)) + load<i32>(record(b, i) + REC_COUNT));
  }
}

/** Before count() or knnCount(): nx = ny = 0 (they add each position's counts). */
export function countPrep(h: Header): void {
  memory.fill(h.nx, 0, <usize>h.n << 2);
  memory.fill(h.ny, 0, <usize>h.n << 2);
}

/**
 * For joint positions [p0, p1): nx and ny by input index (strict range counts at each point's radius in the x and
 * y columns, the point itself excluded). Without a y part only nx.
 */
export function count(h: Header, p0: i32, p1: i32, slot: i32): void {
  const b = slotBlock(h, slot);
  const dxp = <i32>h.dxp;
  const dyp = <i32>h.dyp;
  for (let p = p0, end = 0; p < p1; p = end) {
    end = blockEnd(p, p1);
    countBlock(h, b, p, end, 0, <i32>h.dx, dxp, h.radii ? h.radX : h.eps, h.xRow8, h.nx, 0, 0);
    if (dyp > 0) countBlock(h, b, p, end, dxp, <i32>h.dy, dyp, h.radii ? h.radY : h.eps, h.yRow8, h.ny, 0, 0);
  }
}
