/**
 * A dense sample matrix: n samples x d dims, row-major, float32 or float64.
 * toMatrix() is the one door through which arrays enter the estimator: it accepts typed arrays with a shape or
 * nested number arrays, flattens every sample to one row, and rejects empty or non-finite input with an
 * InfoflowError naming the argument.
 */
import { inputError } from './errors.js';

export interface Matrix {
  data: Float32Array | Float64Array;
  n: number;
  d: number;
}

export type MatrixInput =
  | { data: Float32Array | Float64Array; shape: readonly number[] }
  | number[]
  | number[][];

function checkShape(name: string, shape: readonly number[]): void {
  if (shape.length === 0) throw inputError(name, 'shape is empty (a scalar); pass an array of shape (N) or (N, d)');
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) throw inputError(name, `shape ${JSON.stringify(shape)} has a bad dimension ${s}; use non-negative integers`);
  }
}

/** Rows and columns from (N), (N, d) or (N, ...): dims after the first are flattened per sample. */
export function toMatrix(input: MatrixInput, name: string): Matrix {
  let m: Matrix;
  if (Array.isArray(input)) {
    m = fromNested(input, name);
  } else if (input !== null && typeof input === 'object' && 'data' in input && 'shape' in input) {
    const { data, shape } = input;
    if (!(data instanceof Float32Array || data instanceof Float64Array)) {
      throw inputError(name, 'data must be a Float32Array or Float64Array; convert it first (e.g. Float64Array.from(...))');
    }
    checkShape(name, shape);
    const n = shape[0];
    const d = shape.slice(1).reduce((a, b) => a * b, 1);
    if (n * d !== data.length) {
      throw inputError(name, `shape ${JSON.stringify(shape)} needs ${n * d} values but data has ${data.length}; fix the shape`);
    }
    m = { data, n, d };
  } else {
    throw inputError(name, 'expected { data: Float32Array|Float64Array, shape } or a nested number array');
  }
  if (m.n === 0 || m.d === 0) throw inputError(name, `is empty (shape N=${m.n}, d=${m.d}); pass at least k+1 samples of at least 1 dim`);
  checkFinite(m, name);
  return m;
}

function fromNested(rows: number[] | number[][], name: string): Matrix {
  const n = rows.length;
  if (n === 0) throw inputError(name, 'is empty (no samples); pass at least k+1 samples');
  if (!Array.isArray(rows[0])) {
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = rows[i];
      if (typeof v !== 'number') throw inputError(name, `row ${i} is not a number; pass number[] or number[][]`);
      data[i] = v;
    }
    return { data, n, d: 1 };
  }
  const d = (rows[0] as number[]).length;
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    if (!Array.isArray(r) || r.length !== d) {
      throw inputError(name, `row ${i} has ${Array.isArray(r) ? r.length : 'no'} values but row 0 has ${d}; all rows need the same length`);
    }
    for (let c = 0; c < d; c++) {
      const v = r[c];
      if (typeof v !== 'number') throw inputError(name, `row ${i} column ${c} is not a number`);
      data[i * d + c] = v;
    }
  }
  return { data, n, d };
}

function checkFinite(m: Matrix, name: string): void {
  const { data, d } = m;
  let bad = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      if (first < 0) first = Math.floor(i / d);
      bad++;
    }
  }
  if (bad > 0) {
    throw inputError(name, `has ${bad} non-finite value${bad === 1 ? '' : 's'} (NaN or Inf), first in row ${first}; remove or impute those rows`);
  }
}

/** The rows `rows` of `m`, in that order, as a new matrix of the same float type (a shuffle or a subsample). */
export function selectRows(m: Matrix, rows: ArrayLike<number>): Matrix {
  const { data, d } = m;
  const out = data instanceof Float32Array ? new Float32Array(rows.length * d) : new Float64Array(rows.length * d);
  for (let i = 0; i < rows.length; i++) out.set(data.subarray(rows[i] * d, rows[i] * d + d), i * d);
  return { data: out, n: rows.length, d };
}
