/**
 * The marginal range counts: n_x(i) = #{j != i : ||x_j - x_i|| < eps_i} in the x tree, n_y likewise, pair-symmetric.
 * Each unordered pair {i, j} is scanned once, from one end, against r = max(eps_i, eps_j): the leaf filter
 * rejects a lane only at distance > r, and the exact distance then counts for i (d < eps_i) and for j (d < eps_j).
 * Leaf A is paired with the next half of the leaves cyclically (itself, A + 1 .. A + L/2 - 1 mod L, and
 * A + L/2 only when A < L/2), so every query does about the same work; within leaf A, position p pairs with
 * the positions after it. Counts go to nx / ny with atomic adds: integer sums, the same whatever the order.
 * The queries of one leaf go as a block (CountBlock), each with a record of countStride bytes.
 */
import { LANE_INDEX, LANE_INDEX_2, LANE_INDEX_3, LANE_INDEX_HI, hmax8, maxNormBounded, orderDims, padRow8, rowMax8, rowsBelow, scanHead, threshold } from './filter';
import { CountBlock, Header, LEAF, Query, Tree, TREE_X, TREE_Y, countStride, slotCountBlock, slotQuery, tree } from './layout';
import { childBounds, leafOf, leafRange, rangeHi, rangeLo } from './tree';

/** Whether leaves [a, b) meet the query leaf's cyclic span. */
@inline function pairedLeaves(c: CountBlock, a: i32, b: i32): bool {
  const e = c.leafA + c.span;
  if (e <= c.leaves) return a < e && b > c.leafA;
  return b > c.leafA || a < e - c.leaves;
}

/**
 * The pairs of the query at tree position `pos` (its record at `rec`) with the positions of leaf li ([lo, hi)),
 * from its own leaf only those after it: returns the query's count; j's count goes to t.out by atomic add.
 */
function countLeaf(t: Tree, c: CountBlock, rec: usize, pos: i32, li: i32, lo: i32, hi: i32): i32 {
  const size = hi - lo;
  const qT = load<i32>(rec + c.epsAt, 12);
  const qR = load<f64>(t.eps + (<usize>pos << 3));
  const row8 = rec + c.row8At;
  // within the query's own leaf only the positions after it (lanes < from start at 255, like those past the end)
  const from = li == c.leafA ? pos - lo + 1 : 0;
  const thr = t.thr + (<usize>li << 6);
  const tv = i8x16.splat(<i8>qT);
  const sz = i8x16.splat(<i8>size);
  const fr = i8x16.splat(<i8>from);
  const mask = scanHead(rec, rec + c.orderAt, c.nd, t.cols + <usize>li * t.leafBytes,
    v128.or(i8x16.ge_u(LANE_INDEX, sz), i8x16.lt_u(LANE_INDEX, fr)),
    v128.or(i8x16.ge_u(LANE_INDEX_HI, sz), i8x16.lt_u(LANE_INDEX_HI, fr)),
    v128.or(i8x16.ge_u(LANE_INDEX_2, sz), i8x16.lt_u(LANE_INDEX_2, fr)),
    v128.or(i8x16.ge_u(LANE_INDEX_3, sz), i8x16.lt_u(LANE_INDEX_3, fr)),
    i8x16.max_u(tv, v128.load(thr)), i8x16.max_u(tv, v128.load(thr, 16)),
    i8x16.max_u(tv, v128.load(thr, 32)), i8x16.max_u(tv, v128.load(thr, 48)));
  // stage 2: the lanes whose whole row stays below their T (few)
  const rows8 = t.rows8;
  const rb = t.row8Bytes;
  let pass = rowsBelow(mask, row8, rows8, lo, rb, qT, thr);
  const step = c.qStep;
  const row = t.z + <usize>load<i32>(t.perm + (<usize>pos << 2)) * t.zRow + t.colOff;
  const epsAt = t.eps;
  let n = 0;
  while (pass != 0) {
    const l = <i32>ctz(pass);
    pass &= pass - 1;
    const j = lo + l;
    const m = hmax8(rowMax8(row8, rows8 + <usize>j * rb, rb));
    const ej = load<f64>(epsAt + (<usize>j << 3));
    // a lane that survives has its 8-bit max over every dim, m, which bounds d on both sides:
    // (m - 1 - 2 delta) step < d < (m + 1 + 2 delta) step (see threshold(); the band (m -+ 2) step is wider by
    // almost a step, far more than the rounding of the products), so only a pair whose eps falls inside it needs
    // the exact distance
    const dHi = <f64>(m + 2) * step;
    const dLo = <f64>(m - 2) * step;
    let inI = dHi < qR;
    let inJ = dHi < ej;
    if ((!inI && dLo < qR) || (!inJ && dLo < ej)) {
      const rowJ = t.z + <usize>load<i32>(t.perm + (<usize>j << 2)) * t.zRow + t.colOff;
      const d = maxNormBounded(row, rowJ, t.bytes, ej > qR ? ej : qR);
      inI = d < qR;
      inJ = d < ej;
    }
    if (inI) n++;
    if (inJ) atomic.add<i32>(t.out + (<usize>load<i32>(t.idx + (<usize>j << 2)) << 2), 1);
  }
  return n;
}

/** Mark, in the query's visit bytes, the leaves under node that it must scan (paired with its leaf and not pruned). */
function markNode(t: Tree, q: Query, c: CountBlock, visit: usize, node: i32, a: i32, b: i32, bound: f64): void {
  if (bound >= q.r && bound >= load<f64>(t.maxEps + (<usize>node << 3))) return;
  if (!pairedLeaves(c, a, b)) return;
  if (node >= t.firstLeaf) {
    store<u8>(visit + <usize>(node - t.firstLeaf), 1);
    c.marked++;
    return;
  }
  const am = (a + b) >> 1;
  const l = 2 * node + 1;
  const cb = childBounds(t, q, node, bound);
  markNode(t, q, c, visit, l, a, am, f64x2.extract_lane(cb, 0));
  markNode(t, q, c, visit, l + 1, am, b, f64x2.extract_lane(cb, 1));
}

/** Largest eps under node (positions [lo, hi)), written at every node; the leaves' lane thresholds on the way. */
function fillMaxEps(t: Tree, step: f64, node: i32, lo: i32, hi: i32): f64 {
  let m: f64 = 0;
  if (node >= t.firstLeaf) {
    const thr = t.thr + (<usize>(node - t.firstLeaf) << 6);
    for (let i = 0; i < LEAF; i++) {
      let u = 255;
      if (lo + i < hi) {
        const e = load<f64>(t.eps + (<usize>(lo + i) << 3));
        if (e > m) m = e;
        u = threshold(e, step);
        if (u > 255) u = 255;
      }
      store<u8>(thr + <usize>i, <u8>u);
    }
  } else {
    const mid = (lo + hi) >> 1;
    const l = fillMaxEps(t, step, 2 * node + 1, lo, mid);
    const r = fillMaxEps(t, step, 2 * node + 2, mid, hi);
    m = l > r ? l : r;
  }
  store<f64>(t.maxEps + (<usize>node << 3), m);
  return m;
}

/**
 * After every knn() (or ball()): per x and y tree position its radius (eps, or radX / radY with h.radii) and input
 * index, the lane thresholds, the max-radius tree; nx = ny = 0. Without a y part only the x tree.
 */
export function countPrep(h: Header): void {
  const n = <i32>h.n;
  const permZ = h.permZ;
  const eps = h.eps;
  memory.fill(h.nx, 0, <usize>n << 2);
  memory.fill(h.ny, 0, <usize>n << 2);
  const parts = h.dyp > 0 ? 2 : 1;
  for (let part = 0; part < parts; part++) {
    const t = tree(h, part == 0 ? TREE_X : TREE_Y);
    const radius = h.radii ? (part == 0 ? h.radX : h.radY) : eps;
    for (let p = 0; p < n; p++) {
      const i = load<i32>(permZ + (<usize>load<i32>(t.perm + (<usize>p << 2)) << 2));
      store<i32>(t.idx + (<usize>p << 2), i);
      store<f64>(t.eps + (<usize>p << 3), load<f64>(radius + (<usize>i << 3)));
    }
    fillMaxEps(t, h.qStep, 0, 0, n);
  }
}

/**
 * For x-tree and y-tree positions [p0, p1): the pairs they own (see pairedLeaves) added into nx and ny (strict
 * range counts at each point's radius in the x and y columns, the point itself excluded). After countPrep().
 * The queries go leaf by leaf as a block: each paired leaf is scanned for every query of the block in turn, so
 * its block of quantised coordinates is read from memory once per block instead of once per query.
 */
export function count(h: Header, p0: i32, p1: i32, slot: i32): void {
  const q = slotQuery(h, slot);
  const c = slotCountBlock(h, slot);
  const n = <i32>h.n;
  const dx = <i32>h.dx;
  const dy = <i32>h.dy;
  const dxp = <i32>h.dxp;
  const dyp = <i32>h.dyp;
  const levels = <i32>h.levels;
  c.leaves = 1 << levels;
  const dm = dxp > dyp ? dxp : dyp;
  const stride = countStride(dm, c.leaves);
  c.epsAt = stride - 16;
  c.visitAt = c.epsAt - ((<usize>c.leaves + 15) & ~15);
  c.row8At = <usize>dm * 20;
  c.orderAt = <usize>dm << 4;
  c.qStep = h.qStep;
  const epsAt = c.epsAt;
  const visitAt = c.visitAt;
  const blk = h.block + <usize>slot * LEAF * stride;
  const parts = dyp > 0 ? 2 : 1;
  for (let part = 0; part < parts; part++) {
    const t = tree(h, part == 0 ? TREE_X : TREE_Y);
    c.nd = part == 0 ? dx : dy;
    let prune = true;
    let firstBlock = true;
    c.marked = 0;
    let p = p0;
    while (p < p1) {
      // the block: the positions of p's leaf in [p0, p1)
      c.leafA = leafOf(p, n, t.firstLeaf);
      const leafEnd = rangeHi(leafRange(c.leafA, n, levels));
      const end = leafEnd < p1 ? leafEnd : p1;
      c.span = c.leaves == 1 ? 1 : (c.leaves >> 1) + (c.leafA < (c.leaves >> 1) ? 1 : 0);
      for (let i = p; i < end; i++) {
        const st = blk + <usize>(i - p) * stride;
        q.splat = st;
        q.order = st + c.orderAt;
        q.row8 = st + c.row8At;
        q.r = load<f64>(t.eps + (<usize>i << 3));
        q.row = t.z + <usize>load<i32>(t.perm + (<usize>i << 2)) * t.zRow + t.colOff;
        if (part == 0) orderDims(q, 0, dx);
        else orderDims(q, dxp, dy);
        padRow8(q, part == 0 ? dx : dy, part == 0 ? dxp : dyp);
        const visit = st + visitAt;
        if (prune) {
          memory.fill(visit, 0, <usize>c.leaves);
          markNode(t, q, c, visit, 0, 0, c.leaves, 0);
        } else memory.fill(visit, 1, <usize>c.leaves);
        store<i32>(st + epsAt, 0, 8);
        const t8 = threshold(q.r, q.qStep);
        store<i32>(st + epsAt, t8 < 255 ? t8 : 255, 12);
      }
      // the split-dim bounds prune a few % of the span at W = 32 (then marking costs more than it saves) but more
      // at W = 8 (bench/README.md): keep marking only if the first block of this range skipped over 10 % of its leaves
      if (prune && firstBlock) prune = <f64>c.marked < 0.9 * <f64>(c.span * (end - p));
      firstBlock = false;
      for (let s = 0; s < c.span; s++) {
        let li = c.leafA + s;
        if (li >= c.leaves) li -= c.leaves;
        const range = leafRange(li, n, levels);
        const lo = rangeLo(range);
        const hi = rangeHi(range);
        for (let i = p; i < end; i++) {
          const st = blk + <usize>(i - p) * stride;
          if (!load<u8>(st + visitAt + <usize>li)) continue;
          store<i32>(st + epsAt, load<i32>(st + epsAt, 8) + countLeaf(t, c, st, i, li, lo, hi), 8);
        }
      }
      for (let i = p; i < end; i++) {
        const cnt = load<i32>(blk + <usize>(i - p) * stride + epsAt, 8);
        if (cnt > 0) atomic.add<i32>(t.out + (<usize>load<i32>(t.idx + (<usize>i << 2)) << 2), cnt);
      }
      p = end;
    }
  }
}
