/**
 * The exact KSG kernel (Kraskov et al. 2004, algorithm 1) in SIMD WebAssembly: what the module exports, nothing
 * else. layout.ts defines the shared memory (its Header field offsets are exported below, for src/mi/kernel.ts to
 * read at load), tree.ts builds the kd-trees, knn.ts runs the joint k-NN, count.ts the marginal range counts, and
 * filter.ts holds the 8-bit leaf filter they share. A caller runs build, then knn over every position (on any
 * instance over the same memory), for KSG-2 ball over every position, then countPrep, then count over every position.
 */
import { count as countPhase, countPrep as countPrepPhase } from './count';
import { ball as ballPhase, knn as knnPhase } from './knn';
import { Header, Tree, header } from './layout';
import { build as buildTrees } from './tree';

export { LAYOUT_MAGIC, LAYOUT_VERSION, LEAF, blockStride, row8Bytes, slotBytes } from './layout';

/** Build the three trees over Z (see tree.ts); 0, or -1 if the header's magic or version is not this module's. */
export function build(ctx: usize): i32 {
  return buildTrees(header(ctx));
}

/** eps for joint positions [p0, p1), by input index, using slot `slot`'s scratch. */
export function knn(ctx: usize, p0: i32, p1: i32, slot: i32): void {
  knnPhase(header(ctx), p0, p1, slot);
}

/** After eps (knn(), or written by the caller): KSG-2's marginal radii radX, radY for joint positions [p0, p1). */
export function ball(ctx: usize, p0: i32, p1: i32, slot: i32): void {
  ballPhase(header(ctx), p0, p1, slot);
}

/** After every knn(): the per-tree eps arrays, lane thresholds and max-eps trees the counts read; nx = ny = 0. */
export function countPrep(ctx: usize): void {
  countPrepPhase(header(ctx));
}

/** The pairs owned by x- and y-tree positions [p0, p1) added into nx and ny, using slot `slot`'s scratch. */
export function count(ctx: usize, p0: i32, p1: i32, slot: i32): void {
  countPhase(header(ctx), p0, p1, slot);
}

/** Bytes of the header, and of the `trees` region (three Tree descriptors). */
export const HEADER_BYTES: i32 = offsetof<Header>();
export const TREES_BYTES: i32 = 3 * offsetof<Tree>();

// each Header field's byte offset (f64 fields: qMin, qStep; every other field a u32)
export const HEADER_magic: i32 = offsetof<Header>('magic');
export const HEADER_version: i32 = offsetof<Header>('version');
export const HEADER_n: i32 = offsetof<Header>('n');
export const HEADER_k: i32 = offsetof<Header>('k');
export const HEADER_dx: i32 = offsetof<Header>('dx');
export const HEADER_dy: i32 = offsetof<Header>('dy');
export const HEADER_dxp: i32 = offsetof<Header>('dxp');
export const HEADER_dyp: i32 = offsetof<Header>('dyp');
export const HEADER_levels: i32 = offsetof<Header>('levels');
export const HEADER_keep: i32 = offsetof<Header>('keep');
export const HEADER_radii: i32 = offsetof<Header>('radii');
export const HEADER_Z: i32 = offsetof<Header>('Z');
export const HEADER_visit: i32 = offsetof<Header>('visit');
export const HEADER_permZ: i32 = offsetof<Header>('permZ');
export const HEADER_permX: i32 = offsetof<Header>('permX');
export const HEADER_permY: i32 = offsetof<Header>('permY');
export const HEADER_tmpRow: i32 = offsetof<Header>('tmpRow');
export const HEADER_spread: i32 = offsetof<Header>('spread');
export const HEADER_stats: i32 = offsetof<Header>('stats');
export const HEADER_eps: i32 = offsetof<Header>('eps');
export const HEADER_best: i32 = offsetof<Header>('best');
export const HEADER_radX: i32 = offsetof<Header>('radX');
export const HEADER_radY: i32 = offsetof<Header>('radY');
export const HEADER_nx: i32 = offsetof<Header>('nx');
export const HEADER_ny: i32 = offsetof<Header>('ny');
export const HEADER_scratch: i32 = offsetof<Header>('scratch');
export const HEADER_block: i32 = offsetof<Header>('block');
export const HEADER_trees: i32 = offsetof<Header>('trees');
export const HEADER_zDim: i32 = offsetof<Header>('zDim');
export const HEADER_zCol: i32 = offsetof<Header>('zCol');
export const HEADER_zBound: i32 = offsetof<Header>('zBound');
export const HEADER_zRow8: i32 = offsetof<Header>('zRow8');
export const HEADER_xDim: i32 = offsetof<Header>('xDim');
export const HEADER_xCol: i32 = offsetof<Header>('xCol');
export const HEADER_xBound: i32 = offsetof<Header>('xBound');
export const HEADER_xRow8: i32 = offsetof<Header>('xRow8');
export const HEADER_yDim: i32 = offsetof<Header>('yDim');
export const HEADER_yCol: i32 = offsetof<Header>('yCol');
export const HEADER_yBound: i32 = offsetof<Header>('yBound');
export const HEADER_yRow8: i32 = offsetof<Header>('yRow8');
export const HEADER_xEps: i32 = offsetof<Header>('xEps');
export const HEADER_yEps: i32 = offsetof<Header>('yEps');
export const HEADER_xIdx: i32 = offsetof<Header>('xIdx');
export const HEADER_yIdx: i32 = offsetof<Header>('yIdx');
export const HEADER_xThr: i32 = offsetof<Header>('xThr');
export const HEADER_yThr: i32 = offsetof<Header>('yThr');
export const HEADER_xMaxEps: i32 = offsetof<Header>('xMaxEps');
export const HEADER_yMaxEps: i32 = offsetof<Header>('yMaxEps');
export const HEADER_qMin: i32 = offsetof<Header>('qMin');
export const HEADER_qStep: i32 = offsetof<Header>('qStep');
