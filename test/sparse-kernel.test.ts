import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/backend.js';
import { loadSplit } from '../src/data/splits.js';
import { MAX_SPARSE_DENSITY, SparseInput } from '../src/models/sparse.js';
import { Mulberry32 } from '../src/random.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** n x d with about `density` of the entries nonzero (uniform in (0, 1], as pixels), some rows and columns all zero. */
function sparseData(rng: Mulberry32, n: number, d: number, density: number): Float32Array {
  const x = new Float32Array(n * d);
  for (let r = 0; r < n; r++) {
    if (r % 7 === 3) continue; // an empty row
    for (let j = 1; j < d; j++) if (rng.uniform() < density) x[r * d + j] = 1 - rng.uniform(); // column 0 stays empty
  }
  return x;
}

function normal(rng: Mulberry32, size: number): Float32Array {
  return Float32Array.from({ length: size }, () => rng.gaussian());
}

/**
 * Both results are float32 sums of the same products (the sparse one without the exact zeros), so they agree to
 * float32 rounding: |a - b| <= 64 eps32 sum|terms| per entry (in practice they are bitwise equal on tfjs-wasm).
 */
function expectSameProduct(mine: tf.Tensor, ref: tf.Tensor, absTerms: Float64Array): void {
  expect(mine.shape).toEqual(ref.shape);
  const a = mine.dataSync();
  const b = ref.dataSync();
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const tol = 64 * 2 ** -24 * absTerms[i] + 1e-30;
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / tol);
  }
  expect(worst).toBeLessThanOrEqual(1);
}

/** sum_k |x[i,k] w[k,j]| for x m x d (row-major, already row-selected) and w d x c, in float64. */
function absTermsOf(x: Float32Array, w: Float32Array, m: number, d: number, c: number): Float64Array {
  const out = new Float64Array(m * c);
  for (let i = 0; i < m; i++)
    for (let k = 0; k < d; k++) {
      const v = Math.abs(x[i * d + k]);
      if (v !== 0) for (let j = 0; j < c; j++) out[i * c + j] += v * Math.abs(w[k * c + j]);
    }
  return out;
}

function transposeOf(x: Float32Array, m: number, d: number): Float32Array {
  const t = new Float32Array(m * d);
  for (let i = 0; i < m; i++) for (let k = 0; k < d; k++) t[k * m + i] = x[i * d + k];
  return t;
}

function gatherRows(x: Float32Array, d: number, rows: Int32Array): Float32Array {
  const out = new Float32Array(rows.length * d);
  rows.forEach((r, i) => out.set(x.subarray(r * d, r * d + d), i * d));
  return out;
}

/** Checks X[rows] w and X[rows]^T g against tf.matMul on the gathered dense rows. */
function checkProducts(sp: SparseInput, x: Float32Array, n: number, d: number, c: number, rows: Int32Array | null, rng: Mulberry32): void {
  const xr = rows ? gatherRows(x, d, rows) : x;
  const m = rows ? rows.length : n;
  const wData = normal(rng, d * c);
  const gData = normal(rng, m * c);
  tf.tidy(() => {
    const xt = tf.tensor2d(xr, [m, d]);
    const w = tf.tensor2d(wData, [d, c]);
    const g = tf.tensor2d(gData, [m, c]);
    expectSameProduct(sp.matMul(w, rows), tf.matMul(xt, w), absTermsOf(xr, wData, m, d, c));
    const xT = transposeOf(xr, m, d);
    expectSameProduct(sp.matMulT(g, rows), tf.matMul(tf.transpose(xt), g), absTermsOf(xT, gData, d, m, c));
  });
}

describe('sparse x dense products (build/sparse.wasm) against tf.matMul', () => {
  for (const c of [8, 13, 16, 32, 64, 100, 128]) {
    it(`random sparse input, ${c} output columns, all rows and a minibatch`, () => {
      const rng = new Mulberry32(c);
      const [n, d] = [300, 97];
      const x = sparseData(rng, n, d, 0.2);
      const sp = new SparseInput(x, n, d);
      expect(sp.nnz).toBe(x.filter((v) => v !== 0).length);
      checkProducts(sp, x, n, d, c, null, rng);
      // a minibatch: rows in shuffled order, a repeat, an empty row
      const rows = Int32Array.from([5, 299, 3, 17, 17, 0, 150, 10, 3]);
      checkProducts(sp, x, n, d, c, rows, rng);
    });
  }

  it('MNIST inputs (the first 2,000 training images): full and minibatch, 2W = 16, 64, 256 columns', () => {
    const data = loadSplit('paper', { limitTrain: 2000, limitVal: 5 });
    const { n, d } = data.train;
    const sp = new SparseInput(data.train.x, n, d);
    expect(sp.density).toBeGreaterThan(0.1);
    expect(sp.density).toBeLessThan(0.3);
    const rng = new Mulberry32(1);
    const perm = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
    for (const c of [16, 64, 256]) {
      checkProducts(sp, data.train.x, n, d, c, null, rng);
      checkProducts(sp, data.train.x, n, d, c, perm.subarray(0, 200), rng);
    }
  });

  it('a dense input and an all-zero input give the right products too', () => {
    const rng = new Mulberry32(3);
    const dense = normal(rng, 40 * 9);
    checkProducts(new SparseInput(dense, 40, 9), dense, 40, 9, 12, null, rng);
    const zeros = new Float32Array(40 * 9);
    const sp = new SparseInput(zeros, 40, 9);
    expect(sp.nnz).toBe(0);
    checkProducts(sp, zeros, 40, 9, 12, Int32Array.from([1, 2]), rng);
  });

  it('results are tensors of their own: a later product does not change an earlier one', () => {
    const rng = new Mulberry32(4);
    const x = sparseData(rng, 50, 20, 0.3);
    const sp = new SparseInput(x, 50, 20);
    const w1 = tf.tensor2d(normal(rng, 20 * 8), [20, 8]);
    const w2 = tf.tensor2d(normal(rng, 20 * 8), [20, 8]);
    const a = sp.matMul(w1);
    const before = a.dataSync().slice();
    const b = sp.matMul(w2);
    expect(Array.from(a.dataSync())).toEqual(Array.from(before));
    tf.dispose([w1, w2, a, b]);
  });

  it('bad shapes and rows are internal InfoflowErrors that name the argument', () => {
    const sp = new SparseInput(new Float32Array(12), 3, 4);
    const w = tf.zeros([5, 2]) as tf.Tensor2D;
    expect(() => sp.matMul(w)).toThrow(/w must be \[4, c\]; got \[5,2\]/);
    expect(() => sp.matMul(tf.zeros([4, 2]) as tf.Tensor2D, Int32Array.from([0, 3]))).toThrow(/rows\[1\] must be in \[0, 2\]; got 3/);
    expect(() => sp.matMulT(tf.zeros([2, 2]) as tf.Tensor2D)).toThrow(/g must be \[3, c\]/);
    expect(() => new SparseInput(new Float32Array(5), 2, 3)).toThrow(/SparseInput: data has 5 values; expected n \* d = 6/);
    const internal = expect.objectContaining({ name: 'InfoflowError', kind: 'internal', exitCode: 1 });
    expect(() => sp.matMul(w)).toThrow(internal);
    expect(() => new SparseInput(new Float32Array(5), 2, 3)).toThrow(internal);
    w.dispose();
  });
});

describe('when the sparse path is used', () => {
  afterEach(() => {
    delete process.env.INFOFLOW_SPARSE;
  });

  it('only for inputs at most half nonzero, and not with INFOFLOW_SPARSE=0', () => {
    const rng = new Mulberry32(5);
    expect(SparseInput.maybe(sparseData(rng, 20, 10, 0.2), 20, 10)).not.toBeNull();
    expect(SparseInput.maybe(normal(rng, 200), 20, 10)).toBeNull();
    expect(MAX_SPARSE_DENSITY).toBe(0.5);
    process.env.INFOFLOW_SPARSE = '0';
    expect(SparseInput.maybe(sparseData(rng, 20, 10, 0.2), 20, 10)).toBeNull();
  });
});
