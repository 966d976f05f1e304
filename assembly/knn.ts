/**
 * The joint k-NN: for each point, eps = the max-norm distance to its k-th nearest neighbour in Z (itself
 * excluded). The queries of one joint leaf go as a block (KnnBlock): the leaves are visited in the same order for
 * the whole block and each is scanned for every query of the block in turn, so its quantised coordinates are read
 * from memory once per block instead of once per query. Each query keeps a record of `stride` bytes in the block.
 * The same search with a fixed radius, ball(), gives KSG-2's marginal radii: the largest x- and y-distance within
 * each point's closed k-NN ball (every point at distance <= eps, so ties at the k-th distance need no order).
 */
import { LANE_INDEX, LANE_INDEX_2, LANE_INDEX_3, LANE_INDEX_HI, maxNormBounded, orderJoint, padRow8, rowsBelow, scanHead, threshold } from './filter';
import { Header, KnnBlock, LEAF, Query, Tree, TREE_JOINT, bestSlots, knnStride, row8Bytes, slotKnnBlock, slotQuery, tree } from './layout';
import { childBounds, leafOf, leafRange, rangeHi } from './tree';

/** The lanes of leaf li (positions [lo, hi)) that the 8-bit filter cannot reject at threshold t8, the query itself excluded. */
@inline function candidates(t: Tree, q: Query, li: i32, lo: i32, hi: i32, t8: i32): u64 {
  const size = hi - lo;
  const self = q.self;
  let mask: u64 = size == 64 ? <u64>-1 : (<u64>1 << <u64>size) - 1;
  if (t8 < 256) {
    const tv = i8x16.splat(<i8>t8);
    const sz = i8x16.splat(<i8>size);
    mask = scanHead(q.splat, q.order, q.nd, t.cols + <usize>li * t.leafBytes,
      i8x16.ge_u(LANE_INDEX, sz), i8x16.ge_u(LANE_INDEX_HI, sz), i8x16.ge_u(LANE_INDEX_2, sz), i8x16.ge_u(LANE_INDEX_3, sz),
      tv, tv, tv, tv);
  }
  if (lo <= self && self < hi) mask &= ~(<u64>1 << <u64>(self - lo));
  // stage 2: the lanes whose whole row stays below T (usually none)
  if (t8 < 256) mask = rowsBelow(mask, q.row8, t.rows8, lo, t.row8Bytes, t8, 0);
  return mask;
}

/** The k-NN of query q within leaf li (positions [lo, hi)): q.best and q.kth updated. */
function knnLeaf(t: Tree, q: Query, li: i32, lo: i32, hi: i32): void {
  let kth = q.kth;
  let mask = candidates(t, q, li, lo, hi, threshold(kth, q.qStep));
  const row = q.row;
  const z = t.z;
  const zRow = t.zRow;
  const bytes = t.bytes;
  const best = q.best;
  const k = q.k;
  while (mask != 0) {
    const j = lo + <i32>ctz(mask);
    mask &= mask - 1;
    const d = maxNormBounded(row, z + <usize>j * zRow, bytes, kth);
    if (d < kth) {
      // insert into the ascending list of the k best
      let s = k - 1;
      while (s > 0) {
        const prev = load<f64>(best + (<usize>(s - 1) << 3));
        if (prev <= d) break;
        store<f64>(best + (<usize>s << 3), prev);
        s--;
      }
      store<f64>(best + (<usize>s << 3), d);
      kth = load<f64>(best + (<usize>(k - 1) << 3));
    }
  }
  q.kth = kth;
}

/** Within leaf li: the largest x- and y-distance (best[0], best[1]) over the points at joint distance < q.kth (= nextUp(eps): <= eps). */
function ballLeaf(t: Tree, q: Query, xBytes: usize, li: i32, lo: i32, hi: i32): void {
  const kth = q.kth;
  let mask = candidates(t, q, li, lo, hi, threshold(kth, q.qStep));
  const row = q.row;
  const yBytes = t.bytes - xBytes;
  let mx = load<f64>(q.best);
  let my = load<f64>(q.best, 8);
  while (mask != 0) {
    const j = lo + <i32>ctz(mask);
    mask &= mask - 1;
    const rj = t.z + <usize>j * t.zRow;
    const dx = maxNormBounded(row, rj, xBytes, Infinity);
    const dy = maxNormBounded(row + xBytes, rj + xBytes, yBytes, Infinity);
    if ((dx > dy ? dx : dy) < kth) {
      if (dx > mx) mx = dx;
      if (dy > my) my = dy;
    }
  }
  store<f64>(q.best, mx);
  store<f64>(q.best, my, 8);
}

/** The next float64 above r >= 0: d < nextUp(r) exactly when d <= r, for the strict comparisons of the search and the counts. */
@inline export function nextUp(r: f64): f64 {
  return reinterpret<f64>(reinterpret<u64>(r) + 1);
}

/**
 * The k-NN of block b's queries under node, at `depth`: each query's lower bound on its distance to the node
 * (split dims only) is its bounds[2 depth + side]. Leaves are visited in the same order for the whole block, the
 * block's own leaf first, then its sibling, then the rest of its parent's sibling, ... (nearer first in the tree).
 */
function blockNode(t: Tree, q: Query, b: KnnBlock, node: i32, lo: i32, hi: i32, depth: i32, side: i32): void {
  const at = b.boundsAt + (<usize>(2 * depth + side) << 3);
  const nq = b.end - b.p;
  const blk = b.blk;
  const stride = b.stride;
  const kthAt = b.kthAt;
  let live = false;
  for (let i = 0; i < nq; i++) {
    const st = blk + <usize>i * stride;
    if (load<f64>(st + at) < load<f64>(st + kthAt)) {
      live = true;
      break;
    }
  }
  if (!live) return;
  if (node >= t.firstLeaf) {
    for (let i = 0; i < nq; i++) {
      const st = blk + <usize>i * stride;
      const kth = load<f64>(st + kthAt);
      if (load<f64>(st + at) >= kth) continue;
      q.kth = kth;
      q.splat = st;
      q.order = st + b.orderAt;
      q.row8 = st + b.row8At;
      q.best = st + b.bestAt;
      q.self = b.p + i;
      q.row = t.z + <usize>q.self * t.zRow;
      if (b.ball) ballLeaf(t, q, <usize>b.xBytes, node - t.firstLeaf, lo, hi);
      else knnLeaf(t, q, node - t.firstLeaf, lo, hi);
      store<f64>(st + kthAt, q.kth);
    }
    return;
  }
  const child = b.boundsAt + (<usize>(2 * depth + 2) << 3);
  for (let i = 0; i < nq; i++) {
    const st = blk + <usize>i * stride;
    q.row = t.z + <usize>(b.p + i) * t.zRow;
    v128.store(st + child, childBounds(t, q, node, load<f64>(st + at)));
  }
  const mid = (lo + hi) >> 1;
  const l = 2 * node + 1;
  // the child holding the block's own leaf first
  if (((b.leafA >> (b.levels - 1 - depth)) & 1) == 0) {
    blockNode(t, q, b, l, lo, mid, depth + 1, 0);
    blockNode(t, q, b, l + 1, mid, hi, depth + 1, 1);
  } else {
    blockNode(t, q, b, l + 1, mid, hi, depth + 1, 1);
    blockNode(t, q, b, l, lo, mid, depth + 1, 0);
  }
}

/**
 * For joint positions [p0, p1): eps of each point (k-th neighbour distance in Z, itself excluded), by input index;
 * with h.keep, its k smallest distances in `best` too.
 */
export function knn(h: Header, p0: i32, p1: i32, slot: i32): void {
  search(h, p0, p1, slot, 0);
}

/**
 * For joint positions [p0, p1), after eps is known (from knn(), or written by the caller): radX = nextUp(the largest
 * x-distance over the points j != i at joint distance <= eps_i), radY likewise, by input index (KSG-2's eps_x, eps_y,
 * nudged so that the strict counts count <= them), for countPrep() with h.radii = 1.
 */
export function ball(h: Header, p0: i32, p1: i32, slot: i32): void {
  search(h, p0, p1, slot, 1);
}

function search(h: Header, p0: i32, p1: i32, slot: i32, ball: i32): void {
  const q = slotQuery(h, slot);
  const b = slotKnnBlock(h, slot);
  const t = tree(h, TREE_JOINT);
  const n = <i32>h.n;
  const k = <i32>h.k;
  const dx = <i32>h.dx;
  const dy = <i32>h.dy;
  const dxp = <i32>h.dxp;
  const dz = dxp + <i32>h.dyp;
  const permZ = h.permZ;
  const eps = h.eps;
  b.ball = ball;
  b.xBytes = dxp << 3;
  b.levels = <i32>h.levels;
  b.orderAt = <usize>dz << 4;
  b.row8At = <usize>dz * 20;
  b.bestAt = b.row8At + row8Bytes(dz);
  b.boundsAt = b.bestAt + (<usize>bestSlots(k) << 3);
  b.kthAt = b.boundsAt + (<usize>(b.levels + 1) << 4);
  b.stride = knnStride(dz, k, b.levels);
  b.blk = h.block + <usize>slot * LEAF * b.stride;
  let p = p0;
  while (p < p1) {
    // the block: the positions of p's leaf in [p0, p1)
    b.leafA = leafOf(p, n, t.firstLeaf);
    const leafEnd = rangeHi(leafRange(b.leafA, n, b.levels));
    b.p = p;
    b.end = leafEnd < p1 ? leafEnd : p1;
    for (let i = p; i < b.end; i++) {
      const st = b.blk + <usize>(i - p) * b.stride;
      q.splat = st;
      q.order = st + b.orderAt;
      q.row8 = st + b.row8At;
      q.row = t.z + <usize>i * t.zRow;
      orderJoint(q, dx, dxp, dy);
      padRow8(q, dxp + dy, dz);
      if (ball) {
        store<f64>(st + b.bestAt, 0);
        store<f64>(st + b.bestAt, 0, 8);
        store<f64>(st + b.kthAt, nextUp(load<f64>(eps + (<usize>load<i32>(permZ + (<usize>i << 2)) << 3))));
      } else {
        for (let s = 0; s < k; s++) store<f64>(st + b.bestAt + (<usize>s << 3), Infinity);
        store<f64>(st + b.kthAt, Infinity);
      }
      store<f64>(st + b.boundsAt, 0);
    }
    blockNode(t, q, b, 0, 0, n, 0, 0);
    for (let i = p; i < b.end; i++) {
      const st = b.blk + <usize>(i - p) * b.stride;
      const at = <usize>load<i32>(permZ + (<usize>i << 2));
      if (ball) {
        store<f64>(h.radX + (at << 3), nextUp(load<f64>(st + b.bestAt)));
        store<f64>(h.radY + (at << 3), nextUp(load<f64>(st + b.bestAt, 8)));
      } else {
        store<f64>(eps + (at << 3), load<f64>(st + b.kthAt));
        if (h.keep) memory.copy(h.best + at * (<usize>k << 3), st + b.bestAt, <usize>k << 3);
      }
    }
    p = b.end;
  }
}
