/**
 * DVCNN benchmark (issue 4): the time of one SGD step (minibatch of 50, forward + hand-written backward +
 * update) per depth and width, on the wasm backend (cpu for the smallest width, for comparison).
 *
 * Seeded weights (seed 0) and a fixed random batch; one warm-up step, then `repeats` timed steps: min and
 * median wall seconds, and seconds per layer (min / depth). Widths: 49, 196, 784 (MNIST at 4x4, 2x2, no
 * downsampling). quick: widths 49/196, depths 1/10/100. Full: also depth 1000 (49 and 196) and 784 at depths
 * 1/10/100 (784 x 1000 needs 2.3 GiB of weights and is refused by the model's memory check).
 * Prints a table and writes bench/results/dvcnn.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, tf } from '../src/backend.js';
import { Dvcnn } from '../src/models/dvcnn.js';
import { Xoshiro128 } from '../src/random.js';

interface StepRow {
  backend: string;
  width: number;
  depth: number;
  batch: number;
  minSeconds: number;
  medianSeconds: number;
  msPerLayer: number;
  repeats: number;
}

const BATCH = 50;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function timeStep(backend: 'wasm' | 'cpu', width: number, depth: number, repeats: number): Promise<StepRow> {
  await initBackend(backend);
  const net = new Dvcnn({ width, depth, activation: 'sigmoid', triangle: 'alternate', biasInit: -2, classes: 10, seed: 0 });
  const x = tf.tensor2d(new Xoshiro128(1).fillGaussian(new Float32Array(BATCH * width)).map((v) => Math.abs(v) % 1), [BATCH, width]);
  const oneHot = tf.oneHot(tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i % 10), 'int32'), 10) as tf.Tensor2D;
  const times: number[] = [];
  let sink = 0;
  for (let r = 0; r <= repeats; r++) {
    const t0 = performance.now();
    sink += net.step(x, oneHot, { lr: 1e-4 });
    if (r > 0) times.push((performance.now() - t0) / 1000); // r = 0 is the warm-up
  }
  if (!Number.isFinite(sink)) throw new Error('non-finite loss');
  tf.dispose([x, oneHot]);
  net.dispose();
  const min = Math.min(...times);
  return { backend, width, depth, batch: BATCH, minSeconds: min, medianSeconds: median(times), msPerLayer: (1000 * min) / depth, repeats };
}

export async function run(opts: { quick: boolean }): Promise<void> {
  const { quick } = opts;
  const plan: [backend: 'wasm' | 'cpu', width: number, depth: number, repeats: number][] = [];
  for (const width of [49, 196]) for (const depth of quick ? [1, 10, 100] : [1, 10, 100, 1000]) plan.push(['wasm', width, depth, depth >= 1000 ? 2 : 5]);
  if (!quick) for (const depth of [1, 10, 100]) plan.push(['wasm', 784, depth, depth >= 100 ? 2 : 3]);
  plan.push(['cpu', 49, 10, 3]);
  const rows: StepRow[] = [];
  console.log('backend  width  depth  batch   min s    median s   ms/layer');
  for (const [backend, width, depth, repeats] of plan) {
    const r = await timeStep(backend, width, depth, repeats);
    rows.push(r);
    console.log(
      `${r.backend.padEnd(7)} ${String(r.width).padStart(6)} ${String(r.depth).padStart(6)} ${String(r.batch).padStart(6)} ${r.minSeconds.toFixed(4).padStart(8)} ${r.medianSeconds.toFixed(4).padStart(10)} ${r.msPerLayer.toFixed(3).padStart(10)}`,
    );
  }
  const here = dirname(fileURLToPath(import.meta.url));
  // dist-bench/bench/dvcnn.js -> <repo>/bench/results; bench/dvcnn.ts run directly -> bench/results
  const repo = here.includes('dist-bench') ? join(here, '..', '..') : join(here, '..');
  const outDir = join(repo, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, 'dvcnn.json'),
    `${JSON.stringify({ quick, machine: { cpu: cpus()[0]?.model, cores: cpus().length, load1: loadavg()[0], node: process.version }, steps: rows }, null, 2)}\n`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run({ quick: process.argv.includes('--quick') });
}
