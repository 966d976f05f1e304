/**
 * The order of the positions: a kd-tree over the joint rows, built by median splits on the dim of widest spread,
 * whose leaves, left to right, are the positions. build() leaves Z's rows in that order (nearby points at nearby
 * positions, so the slab filter's words empty fast far from a query), quantises them into the u8 rows and builds
 * the slab filter.
 */
import { quantise } from './filter';
import { Header, LAYOUT_MAGIC, LAYOUT_VERSION, row8Bytes } from './layout';
import { buildSlabs } from './slabs';

/** The rows being ordered: Z's columns [0, dims), rows of zRow bytes, through perm (position -> input row). */
@unmanaged class Rows {
  z: usize;
  zRow: usize;
  dims: i32;
  perm: usize;
  spread: usize;
  /** one f64 per position, select()'s gathered keys */
  keys: usize;
}

/** Swap positions a and b in perm and in the gathered keys. */
@inline function swap(perm: usize, keys: usize, a: i32, b: i32): void {
  const pa = perm + (<usize>a << 2);
  const pb = perm + (<usize>b << 2);
  const t = load<i32>(pa);
  store<i32>(pa, load<i32>(pb));
  store<i32>(pb, t);
  const ka = keys + (<usize>a << 3);
  const kb = keys + (<usize>b << 3);
  const k = load<f64>(ka);
  store<f64>(ka, load<f64>(kb));
  store<f64>(kb, k);
}

@inline function key(keys: usize, pos: i32): f64 {
  return load<f64>(keys + (<usize>pos << 3));
}

/**
 * Reorder t.perm[lo, hi) so that position m holds the m-th smallest key on dim s (Hoare quickselect). The keys are
 * gathered into t.keys first: read through perm, each would be a cache miss in its own 8 dz-byte row of Z.
 */
function select(t: Rows, lo: i32, hi: i32, m: i32, s: usize): void {
  const perm = t.perm;
  const keys = t.keys;
  const base = t.z + (s << 3);
  for (let p = lo; p < hi; p++) store<f64>(keys + (<usize>p << 3), load<f64>(base + <usize>load<i32>(perm + (<usize>p << 2)) * t.zRow));
  let l = lo;
  let r = hi - 1;
  while (r > l) {
    // median of three as pivot
    const c = l + ((r - l) >> 1);
    if (key(keys, c) < key(keys, l)) swap(perm, keys, c, l);
    if (key(keys, r) < key(keys, l)) swap(perm, keys, r, l);
    if (key(keys, r) < key(keys, c)) swap(perm, keys, r, c);
    const pivot = key(keys, c);
    let i = l;
    let j = r;
    while (i <= j) {
      while (key(keys, i) < pivot) i++;
      while (key(keys, j) > pivot) j--;
      if (i <= j) {
        swap(perm, keys, i, j);
        i++;
        j--;
      }
    }
    if (m <= j) r = j;
    else if (m >= i) l = i;
    else return;
  }
}

/** Rows of a node that widestDim() reads at most: a spread seen on a sample of them picks the split as well. */
const SPREAD_SAMPLE = 512;

/** The dim of largest spread over positions [lo, hi), on an even sample of at most SPREAD_SAMPLE of them. */
function widestDim(t: Rows, lo: i32, hi: i32): usize {
  const d = <usize>t.dims;
  const mn = t.spread;
  const mx = t.spread + (d << 3);
  for (let c: usize = 0; c < d; c++) {
    store<f64>(mn + (c << 3), Infinity);
    store<f64>(mx + (c << 3), -Infinity);
  }
  const perm = t.perm;
  const base = t.z;
  const zRow = t.zRow;
  const every = (hi - lo + SPREAD_SAMPLE - 1) / SPREAD_SAMPLE;
  for (let p = lo; p < hi; p += every) {
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

/** Order positions [lo, hi) under `node` (levels below it: `depth`): median split on the widest dim, recursively. */
function order(t: Rows, lo: i32, hi: i32, depth: i32): void {
  if (depth == 0) return;
  const mid = (lo + hi) >> 1;
  if (mid > lo && mid < hi) select(t, lo, hi, mid, widestDim(t, lo, hi));
  order(t, lo, mid, depth - 1);
  order(t, mid, hi, depth - 1);
}

/** Position p's coordinates [c0, c0 + dims) quantised into the u8 row at `to` (rb bytes, zero-padded). */
function quantiseRow(h: Header, p: i32, c0: i32, dims: i32, to: usize, rb: usize): void {
  const row = h.Z + <usize>p * (<usize>(h.dxp + h.dyp) << 3) + (<usize>c0 << 3);
  for (let c = 0; c < dims; c++) store<u8>(to + <usize>c, quantise(load<f64>(row + (<usize>c << 3)), h.qMin, h.qStep));
  memory.fill(to + <usize>dims, 0, rb - <usize>dims);
}

/**
 * Order Z's rows (written in input order by the caller) by the kd-tree, quantise them, and build the slab filter.
 * Returns 0, or -1 if the header is not this layout.
 */
export function build(h: Header): i32 {
  if (h.magic != LAYOUT_MAGIC || h.version != LAYOUT_VERSION) return -1;
  const n = <i32>h.n;
  const dxp = <i32>h.dxp;
  const dyp = <i32>h.dyp;
  const dz = dxp + dyp;
  // the Rows record sits past the spread scratch (kernel.ts sizes the region for both)
  const rows = changetype<Rows>(h.spread + (<usize>dz << 4));
  rows.z = h.Z;
  rows.zRow = <usize>dz << 3;
  rows.dims = dz;
  rows.perm = h.permZ;
  rows.spread = h.spread;
  // eps is written by knn(), after the build: until then it holds select()'s keys
  rows.keys = h.eps;
  for (let p = 0; p < n; p++) store<i32>(h.permZ + (<usize>p << 2), p);
  order(rows, 0, n, <i32>h.levels);
  permuteRows(h, h.permZ);
  const rbz = row8Bytes(dz);
  const rbx = row8Bytes(dxp);
  const rby = row8Bytes(dyp);
  for (let p = 0; p < n; p++) {
    quantiseRow(h, p, 0, dz, h.zRow8 + <usize>p * rbz, rbz);
    quantiseRow(h, p, 0, dxp, h.xRow8 + <usize>p * rbx, rbx);
    if (dyp > 0) quantiseRow(h, p, dxp, dyp, h.yRow8 + <usize>p * rby, rby);
  }
  buildSlabs(h);
  return 0;
}
