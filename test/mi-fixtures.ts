/** Shared helpers for the estimator tests: the golden cases and seeded data. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Matrix } from '../src/matrix.js';
import { Xoshiro128 } from '../src/random.js';

export const GOLDEN_DIR = join(import.meta.dirname, 'fixtures', 'golden');

export interface GoldenCase {
  name: string;
  x: string;
  y: string;
  N: number;
  dx: number;
  dy: number;
  k: number;
  c_f64_bits: number;
  c_zero_eps_points: number;
  npeet_bits_seeds_0_9: { mean: number; std: number; min: number; max: number };
  c_points_csv?: string;
}

export function goldenCases(): GoldenCase[] {
  return JSON.parse(readFileSync(join(GOLDEN_DIR, 'golden.json'), 'utf8')).cases as GoldenCase[];
}

/** The golden files are float32, C order, NPY v1.0 (see fixtures/golden/README.md): read just that. */
export function readGoldenNpy(file: string): Matrix {
  const buf = readFileSync(join(GOLDEN_DIR, file));
  const headerLen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + headerLen).toString('latin1');
  if (!header.includes("'<f4'") || header.includes("'fortran_order': True")) throw new Error(`${file}: not float32 C order`);
  const shape = /'shape': \(([^)]*)\)/.exec(header)![1].split(',').filter((s) => s.trim() !== '').map(Number);
  const n = shape[0];
  const d = shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
  const start = 10 + headerLen;
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + n * d * 4));
  return { data, n, d };
}

export function readPointsCsv(file: string): { eps: number[]; nx: number[]; ny: number[] } {
  const lines = readFileSync(join(GOLDEN_DIR, file), 'utf8').trim().split('\n');
  const eps: number[] = [];
  const nx: number[] = [];
  const ny: number[] = [];
  for (const line of lines) {
    const cols = line.split(',');
    if (Number.isNaN(Number(cols[0]))) continue; // header
    const off = cols.length >= 4 ? 1 : 0; // an optional index column
    eps.push(Number(cols[off]));
    nx.push(Number(cols[off + 1]));
    ny.push(Number(cols[off + 2]));
  }
  return { eps, nx, ny };
}

/** n samples of `pairs` independent correlated Gaussian pairs (x_c, y_c) with correlation rho. */
export function gaussianPairs(n: number, pairs: number, rho: number, seed: number): { x: Matrix; y: Matrix; trueBits: number } {
  const rng = new Xoshiro128(seed);
  const x = new Float64Array(n * pairs);
  const y = new Float64Array(n * pairs);
  for (let i = 0; i < n * pairs; i++) {
    const a = rng.gaussian();
    const b = rng.gaussian();
    x[i] = a;
    y[i] = rho * a + Math.sqrt(1 - rho * rho) * b;
  }
  return { x: { data: x, n, d: pairs }, y: { data: y, n, d: pairs }, trueBits: -0.5 * pairs * Math.log2(1 - rho * rho) };
}

/**
 * Seeded data with ties and duplicates: float32 values on a coarse grid (levels per coordinate), so many
 * coordinate ties and, for few levels, exact duplicate joint points.
 */
export function tiedData(n: number, dx: number, dy: number, levels: number, seed: number): { x: Matrix; y: Matrix } {
  const rng = new Xoshiro128(seed);
  const x = new Float32Array(n * dx);
  const y = new Float32Array(n * dy);
  for (let i = 0; i < n; i++) {
    const base = rng.gaussian();
    for (let c = 0; c < dx; c++) x[i * dx + c] = Math.round((base + 0.5 * rng.gaussian()) * levels) / levels;
    for (let c = 0; c < dy; c++) y[i * dy + c] = Math.round((base + 0.5 * rng.gaussian()) * levels) / levels;
  }
  return { x: { data: x, n, d: dx }, y: { data: y, n, d: dy } };
}

/** Continuous seeded float32 data with a shared factor (some dependence). */
export function seededData(n: number, dx: number, dy: number, seed: number): { x: Matrix; y: Matrix } {
  return tiedData(n, dx, dy, 1 << 20, seed);
}
