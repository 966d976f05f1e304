/**
 * The three kd-trees (joint, x, y) over Z in flat arrays (layout.ts), built by median splits on the dim of
 * widest spread, and the descent helpers the k-NN and the counts share. build() leaves Z's rows in the joint
 * tree's order and writes a Tree descriptor per tree, so the query phases read everything they need from it.
 */
import { quantise } from './filter';
import { Header, LAYOUT_MAGIC, LAYOUT_VERSION, LEAF, Query, Tree, TREE_JOINT, TREE_X, TREE_Y, row8Bytes, tree } from './layout';

@inline function key(perm: usize, base: usize, zRow: usize, pos: i32): f64 {
  return load<f64>(base + <usize>load<i32>(perm + (<usize>pos << 2)) * zRow);
}

@inline function swap(perm: usize, a: i32, b: i32): void {
  const pa = perm + (<usize>a << 2);
  const pb = perm + (<usize>b << 2);
  const t = load<i32>(pa);
  store<i32>(pa, load<i32>(pb));
  store<i32>(pb, t);
}

/** Reorder t.perm[lo, hi) so that position m holds the m-th smallest key on dim s (Hoare quickselect). */
function select(t: Tree, lo: i32, hi: i32, m: i32, s: usize): void {
  const perm = t.perm;
  const base = t.z + t.colOff + (s << 3);
  const zRow = t.zRow;
  let l = lo;
  let r = hi - 1;
  while (r > l) {
    // median of three as pivot
    const c = l + ((r - l) >> 1);
    if (key(perm, base, zRow, c) < key(perm, base, zRow, l)) swap(perm, c, l);
    if (key(perm, base, zRow, r) < key(perm, base, zRow, l)) swap(perm, r, l);
    if (key(perm, base, zRow, r) < key(perm, base, zRow, c)) swap(perm, r, c);
    const pivot = key(perm, base, zRow, c);
    let i = l;
    let j = r;
    while (i <= j) {
      while (key(perm, base, zRow, i) < pivot) i++;
      while (key(perm, base, zRow, j) > pivot) j--;
      if (i <= j) {
        swap(perm, i, j);
        i++;
        j--;
      }
    }
    if (m <= j) r = j;
    else if (m >= i) l = i;
    else return;
  }
}

/** The dim of largest spread over positions [lo, hi); `spread` is f64[2 dims] scratch. */
function widestDim(t: Tree, lo: i32, hi: i32, spread: usize): usize {
  const d = <usize>t.dims;
  const mn = spread;
  const mx = spread + (d << 3);
  for (let c: usize = 0; c < d; c++) {
    store<f64>(mn + (c << 3), Infinity);
    store<f64>(mx + (c << 3), -Infinity);
  }
  const perm = t.perm;
  const base = t.z + t.colOff;
  const zRow = t.zRow;
  for (let p = lo; p < hi; p++) {
    const row = base + <usize>load<i32>(perm + (<usize>p << 2)) * zRow;
    for (let c: usize = 0; c < d; c += 2) {
      const v = v128.load(row + (c << 3));
      v128.store(mn + (c << 3), f64x2.pmin(v128.load(mn + (c << 3)), v));
      v128.store(mx + (c << 3), f64x2.pmax(v128.load(mx + (c << 3)), v));
    }
  }
  let best: usize = 0;
  let width: f64 = -1;
  for (let c: usize = 0; c < d; c++) {
    const w = load<f64>(mx + (c << 3)) - load<f64>(mn + (c << 3));
    if (w > width) {
      width = w;
      best = c;
    }
  }
  return best;
}

function buildNode(t: Tree, h: Header, node: i32, lo: i32, hi: i32): void {
  const d = <usize>t.dims;
  const perm = t.perm;
  const base = t.z + t.colOff;
  const zRow = t.zRow;
  if (node >= t.firstLeaf) {
    const qMin = h.qMin;
    const step = h.qStep;
    // the leaf block: per dim, LEAF u8 lanes (past the leaf's end: 0, masked at scan time)
    const block = t.cols + <usize>(node - t.firstLeaf) * d * LEAF;
    for (let c: usize = 0; c < d; c++) {
      const lanes = block + c * LEAF;
      for (let i = 0; i < LEAF; i++) {
        store<u8>(lanes + <usize>i, lo + i < hi ? quantise(key(perm, base + (c << 3), zRow, lo + i), qMin, step) : 0);
      }
    }
    // and row-major, per position
    const rb = t.row8Bytes;
    for (let p = lo; p < hi; p++) {
      const row = t.rows8 + <usize>p * rb;
      for (let c: usize = 0; c < d; c++) store<u8>(row + c, quantise(key(perm, base + (c << 3), zRow, p), qMin, step));
      memory.fill(row + d, 0, rb - d);
    }
    return;
  }
  const mid = (lo + hi) >> 1;
  const best = widestDim(t, lo, hi, h.spread);
  if (mid > lo && mid < hi) select(t, lo, hi, mid, best);
  const col = base + (best << 3);
  let lmax: f64 = -Infinity;
  for (let p = lo; p < mid; p++) {
    const v = key(perm, col, zRow, p);
    if (v > lmax) lmax = v;
  }
  store<i32>(t.dim + (<usize>node << 2), <i32>best);
  store<f64>(t.bound + (<usize>node << 4), lmax);
  store<f64>(t.bound + (<usize>node << 4), mid < hi ? key(perm, col, zRow, mid) : Infinity, 8);
  buildNode(t, h, 2 * node + 1, lo, mid);
  buildNode(t, h, 2 * node + 2, mid, hi);
}

/** Describe a tree over Z's columns [col, col + dims), through `perm`, and build it (rows in their current order). */
function buildOne(h: Header, t: Tree, col: i32, dims: i32, perm: usize, dim: usize, cols: usize, bound: usize, rows8: usize): void {
  const n = <i32>h.n;
  t.dims = dims;
  t.firstLeaf = (1 << <i32>h.levels) - 1;
  t.colOff = <usize>col << 3;
  t.bytes = <usize>dims << 3;
  t.z = h.Z;
  t.zRow = <usize>(h.dxp + h.dyp) << 3;
  t.perm = perm;
  t.dim = dim;
  t.bound = bound;
  t.cols = cols;
  t.leafBytes = <usize>dims * LEAF;
  t.rows8 = rows8;
  t.row8Bytes = row8Bytes(dims);
  for (let p = 0; p < n; p++) store<i32>(perm + (<usize>p << 2), p);
  buildNode(t, h, 0, 0, n);
}

/** Permute Z's rows in place so that row p holds the row that was at perm[p] (cycle by cycle). */
function permuteRows(h: Header, perm: usize): void {
  const n = <i32>h.n;
  const z = h.Z;
  const zRow = <usize>(h.dxp + h.dyp) << 3;
  const visit = h.visit;
  const tmp = h.tmpRow;
  memory.fill(visit, 0, <usize>n);
  for (let s = 0; s < n; s++) {
    if (load<u8>(visit + <usize>s)) continue;
    memory.copy(tmp, z + <usize>s * zRow, zRow);
    let p = s;
    while (true) {
      store<u8>(visit + <usize>p, 1);
      const src = load<i32>(perm + (<usize>p << 2));
      if (src == s) {
        memory.copy(z + <usize>p * zRow, tmp, zRow);
        break;
      }
      memory.copy(z + <usize>p * zRow, z + <usize>src * zRow, zRow);
      p = src;
    }
  }
}

/** Per joint dim: mean and 1 / std over the N rows (f64 pairs at h.stats), for the filter's dim order. */
function dimStats(h: Header): void {
  const n = <i32>h.n;
  const dz = <usize>(h.dxp + h.dyp);
  const z = h.Z;
  const zRow = dz << 3;
  const stats = h.stats;
  for (let c: usize = 0; c < dz; c++) {
    let sum: f64 = 0;
    for (let i = 0; i < n; i++) sum += load<f64>(z + <usize>i * zRow + (c << 3));
    const mean = sum / n;
    let ss: f64 = 0;
    for (let i = 0; i < n; i++) {
      const v = load<f64>(z + <usize>i * zRow + (c << 3)) - mean;
      ss += v * v;
    }
    const sd = Math.sqrt(ss / n);
    store<f64>(stats + (c << 4), mean);
    store<f64>(stats + (c << 4), sd > 0 ? 1 / sd : 0, 8);
  }
}

/**
 * Build the three trees over Z (written in input order by the caller; left in the joint tree's order), the
 * x and y position maps, and the per-dim mean and 1 / std. Returns 0, or -1 if the header is not this layout.
 */
export function build(h: Header): i32 {
  if (h.magic != LAYOUT_MAGIC || h.version != LAYOUT_VERSION) return -1;
  const dxp = <i32>h.dxp;
  const dyp = <i32>h.dyp;
  dimStats(h);
  const joint = tree(h, TREE_JOINT);
  buildOne(h, joint, 0, dxp + dyp, h.permZ, h.zDim, h.zCol, h.zBound, h.zRow8);
  // the joint tree's leaf blocks were written through permZ; now move the rows themselves
  permuteRows(h, h.permZ);
  // (the x and y trees are built over Z rows already in joint order: permX and permY map to Z rows)
  const tx = tree(h, TREE_X);
  buildOne(h, tx, 0, dxp, h.permX, h.xDim, h.xCol, h.xBound, h.xRow8);
  tx.eps = h.xEps;
  tx.idx = h.xIdx;
  tx.thr = h.xThr;
  tx.maxEps = h.xMaxEps;
  tx.out = h.nx;
  if (dyp == 0) return 0; // no y part: the joint and x trees only
  const ty = tree(h, TREE_Y);
  buildOne(h, ty, dxp, dyp, h.permY, h.yDim, h.yCol, h.yBound, h.yRow8);
  ty.eps = h.yEps;
  ty.idx = h.yIdx;
  ty.thr = h.yThr;
  ty.maxEps = h.yMaxEps;
  ty.out = h.ny;
  return 0;
}

/** The leaf (index among the leaves) holding tree position p of n, descending the median splits. */
@inline export function leafOf(p: i32, n: i32, firstLeaf: i32): i32 {
  let node = 0;
  let lo = 0;
  let hi = n;
  while (node < firstLeaf) {
    const mid = (lo + hi) >> 1;
    if (p < mid) {
      node = 2 * node + 1;
      hi = mid;
    } else {
      node = 2 * node + 2;
      lo = mid;
    }
  }
  return node - firstLeaf;
}

/** Positions [lo, hi) of leaf li (the midpoint splits that built the tree), as lo << 32 | hi. */
@inline export function leafRange(li: i32, n: i32, levels: i32): u64 {
  let lo = 0;
  let hi = n;
  for (let l = levels - 1; l >= 0; l--) {
    const mid = (lo + hi) >> 1;
    if ((li >> l) & 1) lo = mid;
    else hi = mid;
  }
  return (<u64>lo << 32) | <u64>hi;
}

@inline export function rangeLo(r: u64): i32 {
  return <i32>(r >> 32);
}

@inline export function rangeHi(r: u64): i32 {
  return <i32>r;
}

/** Lower bounds on the query's distance to node's left and right children (the split dim only), at least `bound`. */
@inline export function childBounds(t: Tree, q: Query, node: i32, bound: f64): v128 {
  const s = <usize>load<i32>(t.dim + (<usize>node << 2));
  const qs = load<f64>(q.row + (s << 3));
  const b = t.bound + (<usize>node << 4);
  let dl = qs - load<f64>(b);
  if (dl < bound) dl = bound;
  let dr = load<f64>(b, 8) - qs;
  if (dr < bound) dr = bound;
  return f64x2(dl, dr);
}
