/**
 * The estimator family's costs beside one estimate, on the MI benchmark's activation-like data
 * (bench/activations.ts: MNIST through an untrained depth-5 tanh MLP, hidden widths 2W, W, W, W, 2W):
 *   - permutations: P seeded shuffles of y on one estimator (permutationTest: one pool, one kernel memory)
 *     against P separate mutualInformation calls on the same shuffles (a pool each), and against P times one
 *     estimate; the two must give the same null values (else the run fails);
 *   - error bars: the Holmes & Nemenman subsamples (n = 2..10, 54 estimates) against one estimate;
 *   - the all-pairs matrix: the MI between every pair of the net's 5 hidden layers (10 estimates, 2W or W dims
 *     each) on one estimator, as `train --mi-layers all` computes it per epoch.
 * Sizes: permutations and error bars at N = 10,000, W = 32, P = 20 (--quick: N 2,000, W 8, P 10); the matrix
 * at N = 30,000, W = 32 (--quick: N 3,000, W 8). MI_FAMILY_N, MI_FAMILY_W, MI_FAMILY_P and MI_FAMILY_MATRIX_N
 * override them; MI_BENCH_WORKERS sets the pool (default: the core count). One round each (these are many
 * estimates already). Prints the table and writes bench/results/mi-family.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { selectRows } from '../src/matrix.js';
import { errorBars } from '../src/mi/error-bars.js';
import { MIEstimator, mutualInformation } from '../src/mi/index.js';
import { permutationTest } from '../src/mi/permutation.js';
import { Xoshiro128 } from '../src/random.js';
import { findRepoFile } from '../src/repo-files.js';
import { layerPairs } from '../src/train/mi-layers.js';
import { mnistLayers } from './activations.js';
import { timed } from './mi.js';
import { loadAverage, machine, machineLine, markdownTable } from './table.js';

interface Measured {
  task: string;
  n: number;
  width: number;
  estimates: number;
  wall: number;
  cpu: number;
  /** this task's wall seconds over one estimate's at the same size */
  overOne: number;
  note: string;
}

const int = (v: string | undefined, d: number): number => (v ? Number(v) : d);

export async function run(opts: { quick: boolean }): Promise<void> {
  const workers = int(process.env.MI_BENCH_WORKERS, availableParallelism());
  const n = int(process.env.MI_FAMILY_N, opts.quick ? 2000 : 10_000);
  const width = int(process.env.MI_FAMILY_W, opts.quick ? 8 : 32);
  const P = int(process.env.MI_FAMILY_P, opts.quick ? 10 : 20);
  const matrixN = int(process.env.MI_FAMILY_MATRIX_N, opts.quick ? 3000 : 30_000);
  const loadStart = loadAverage();
  const rows: Measured[] = [];
  const shape = (d: Float32Array, rows: number) => ({ data: d, shape: [rows, d.length / rows] });

  const layers = mnistLayers(n, width);
  const x = shape(layers[0], n);
  const y = shape(layers[4], n);
  const one = await timed(async () => (await mutualInformation(x, y, { workers })).mi);
  rows.push({ task: 'one estimate (a pool of its own)', n, width, estimates: 1, wall: one.wall, cpu: one.cpu, overOne: 1, note: `${one.value.toFixed(4)} bits` });

  // permutations on one estimator, then the same shuffles as separate calls
  let nullValues: number[] = [];
  const perm = await timed(async () => {
    const r = await permutationTest(x, y, { permutations: P, seed: 1, workers });
    nullValues = r.significance.values;
    return r.significance.pValue ?? NaN;
  });
  rows.push({ task: `permutationTest, P = ${P} (+ the estimate)`, n, width, estimates: P + 1, wall: perm.wall, cpu: perm.cpu, overOne: perm.wall / one.wall, note: `p = ${perm.value.toFixed(3)}, null mean ${(nullValues.reduce((a, b) => a + b, 0) / P).toFixed(4)} bits` });
  const separate: number[] = [];
  const sep = await timed(async () => {
    const rng = new Xoshiro128(1);
    const order = new Int32Array(n).map((_, i) => i);
    const ym = { data: layers[4], n, d: layers[4].length / n };
    for (let p = 0; p < P; p++) {
      rng.shuffle(order);
      separate.push((await mutualInformation(x, shape(selectRows(ym, order).data as Float32Array, n), { workers })).mi);
    }
    return P;
  });
  if (separate.some((v, i) => v !== nullValues[i])) throw new Error('mi-family: the separate estimates of the shuffles differ from permutationTest');
  rows.push({ task: `${P} separate mutualInformation calls on the same shuffles`, n, width, estimates: P, wall: sep.wall, cpu: sep.cpu, overOne: sep.wall / one.wall, note: 'same null values, bit for bit' });

  const bars = await timed(async () => (await errorBars(x, y, { seed: 1, workers })).errorBars.se);
  rows.push({ task: 'errorBars (n = 2..10: 54 subsample estimates + the estimate)', n, width, estimates: 55, wall: bars.wall, cpu: bars.cpu, overOne: bars.wall / one.wall, note: `SE ${bars.value.toFixed(4)} bits` });

  // the all-pairs matrix of the depth-5 net, on one estimator (as the trainer runs it)
  const big = matrixN === n ? layers : mnistLayers(matrixN, width);
  const est = new MIEstimator({ workers });
  try {
    const pairs = layerPairs('all', big.length);
    const oneBig = await timed(async () => (await est.estimate(shape(big[0], matrixN), shape(big[4], matrixN))).mi);
    const matrix = await timed(async () => {
      for (const [a, b] of pairs) await est.estimate(shape(big[a - 1], matrixN), shape(big[b - 1], matrixN));
      return pairs.length;
    });
    rows.push({ task: 'first-last estimate (a kept estimator)', n: matrixN, width, estimates: 1, wall: oneBig.wall, cpu: oneBig.cpu, overOne: 1, note: `${oneBig.value.toFixed(4)} bits` });
    rows.push({ task: `all ${pairs.length} pairs of 5 layers (--mi-layers all, one epoch)`, n: matrixN, width, estimates: pairs.length, wall: matrix.wall, cpu: matrix.cpu, overOne: matrix.wall / oneBig.wall, note: 'dims 2W or W per layer' });
  } finally {
    await est.close();
  }

  const m = machine();
  const loadEnd = loadAverage();
  console.log(
    markdownTable(
      ['task', 'N', 'W', 'estimates', 'wall s', 'cpu s', 'x one estimate (wall)', 'note'],
      rows.map((r) => [r.task, String(r.n), String(r.width), String(r.estimates), r.wall.toFixed(3), r.cpu.toFixed(2), r.overOne.toFixed(2), r.note]),
    ),
  );
  console.log(`\n${machineLine(m, loadStart, loadEnd)} Pool: ${workers} workers.`);
  const dir = join(dirname(findRepoFile('bench/README.md')), 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'mi-family.json'), `${JSON.stringify({ measuredAt: new Date().toISOString(), quick: opts.quick, machine: m, loadStart, loadEnd, workers, rows }, null, 2)}\n`);
}
