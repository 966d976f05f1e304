/**
 * The exact KSG kernel (Kraskov et al. 2004, algorithm 1) in SIMD WebAssembly: what the module exports, nothing
 * else. layout.ts defines the shared memory (its Header field offsets are exported below, for src/mi/kernel.ts to
 * read at load), tree.ts orders the points and builds the filters, slabs.ts is the slab filter, knn.ts runs the
 * joint k-NN, count.ts the marginal range counts, and filter.ts holds the 8-bit bounds and the exact distance. A
 * caller runs build, then knn over every position (on any instance over the same memory), for KSG-2 ball over
 * every position, then countPrep, then count over every position; or, for KSG-1 at one k, countPrep and then
 * knnCount over every position.
 */
import { count as countPhase, countPrep as countPrepPhase } from './count';
import { ball as ballPhase, knn as knnPhase } from './knn';
import { knnCount as knnCountPhase } from './knn-count';
import { Header, header } from './layout';
import { build as buildAll } from './tree';

export { BINS, LAYOUT_MAGIC, LAYOUT_VERSION, LEAF, QBLOCK, WORD, row8Bytes, slotBytes } from './layout';

/** Order Z, quantise it and build the slab filter (see tree.ts); 0, or -1 if the header's magic or version is not this module's. */
export function build(ctx: usize): i32 {
  return buildAll(header(ctx));
}

/** eps for joint positions [p0, p1), by input index, using slot `slot`'s scratch. */
export function knn(ctx: usize, p0: i32, p1: i32, slot: i32): void {
  knnPhase(header(ctx), p0, p1, slot);
}

/** After eps (knn(), or written by the caller): KSG-2's marginal radii radX, radY for joint positions [p0, p1). */
export function ball(ctx: usize, p0: i32, p1: i32, slot: i32): void {
  ballPhase(header(ctx), p0, p1, slot);
}

/** After every knn() (and ball()): nx = ny = 0. */
export function countPrep(ctx: usize): void {
  countPrepPhase(header(ctx));
}

/** KSG-1 in one pass (knn-count.ts): eps, nx and ny of joint positions [p0, p1), after countPrep(). */
export function knnCount(ctx: usize, p0: i32, p1: i32, slot: i32): void {
  knnCountPhase(header(ctx), p0, p1, slot);
}

/** nx and ny of joint positions [p0, p1), using slot `slot`'s scratch. */
export function count(ctx: usize, p0: i32, p1: i32, slot: i32): void {
  countPhase(header(ctx), p0, p1, slot);
}

/** Bytes of the header. */
export const HEADER_BYTES: i32 = offsetof<Header>();

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
export const HEADER_words: i32 = offsetof<Header>('words');
export const HEADER_keep: i32 = offsetof<Header>('keep');
export const HEADER_radii: i32 = offsetof<Header>('radii');
export const HEADER_spills: i32 = offsetof<Header>('spills');
export const HEADER_Z: i32 = offsetof<Header>('Z');
export const HEADER_visit: i32 = offsetof<Header>('visit');
export const HEADER_permZ: i32 = offsetof<Header>('permZ');
export const HEADER_tmpRow: i32 = offsetof<Header>('tmpRow');
export const HEADER_spread: i32 = offsetof<Header>('spread');
export const HEADER_eps: i32 = offsetof<Header>('eps');
export const HEADER_best: i32 = offsetof<Header>('best');
export const HEADER_radX: i32 = offsetof<Header>('radX');
export const HEADER_radY: i32 = offsetof<Header>('radY');
export const HEADER_nx: i32 = offsetof<Header>('nx');
export const HEADER_ny: i32 = offsetof<Header>('ny');
export const HEADER_scratch: i32 = offsetof<Header>('scratch');
export const HEADER_zRow8: i32 = offsetof<Header>('zRow8');
export const HEADER_xRow8: i32 = offsetof<Header>('xRow8');
export const HEADER_yRow8: i32 = offsetof<Header>('yRow8');
export const HEADER_slabs: i32 = offsetof<Header>('slabs');
export const HEADER_binOf: i32 = offsetof<Header>('binOf');
export const HEADER_binCum: i32 = offsetof<Header>('binCum');
export const HEADER_hist: i32 = offsetof<Header>('hist');
export const HEADER_qMin: i32 = offsetof<Header>('qMin');
export const HEADER_qStep: i32 = offsetof<Header>('qStep');
