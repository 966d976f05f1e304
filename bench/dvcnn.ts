/**
 * DVCNN benchmark: the time of one SGD step (minibatch of 50, sigmoid, biases -2, alternating triangles,
 * forward + backward + update) here and in PyTorch on one thread, side by side in the same run.
 *
 * Ours: Dvcnn.step on the wasm backend (the SIMD kernel, src/models/dvcnn-kernel.ts), seed 0, a fixed random
 * batch. PyTorch: bench/torch/dvcnn_step.py (the same masked layers, softmax cross-entropy, torch.optim.SGD,
 * torch.set_num_threads(1) and one BLAS thread), run by the Python bench/child.ts finds ($BENCH_PYTHON,
 * python3, /usr/bin/python3); skipped with a note when none imports torch. Each size is timed in two rounds,
 * PyTorch then ours, so both see the same load; per side: min and median over all timed steps (one warm-up
 * step per round) of the wall seconds and of the process's CPU seconds (all threads; on a shared machine the
 * steadier measure, as a step's wall time includes the time other processes held the core). Ratios = our
 * min / PyTorch's min, wall and CPU. Sizes (width, depth): (784, 100), (196, 100), (196, 1000); quick: (196, 100).
 * Full runs also time the slow reference (Dvcnn.stepReference, tfjs ops) at (196, 100) and (49, 100).
 * Prints a Markdown table with the machine and the load average (bench/table.ts); writes
 * bench/results/dvcnn.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, tf } from '../src/backend.js';
import { Dvcnn } from '../src/models/dvcnn.js';
import { Xoshiro128 } from '../src/random.js';
import { findRepoFile } from '../src/repo-files.js';
import { findPython, jsonAnswer, runTimed } from './child.js';
import { loadAverage, machine, machineLine, markdownTable, median } from './table.js';

const BATCH = 50;
const ROUNDS = 2;

interface Timing {
  minSeconds: number;
  medianSeconds: number;
  minCpuSeconds: number;
  medianCpuSeconds: number;
  steps: number;
}

interface Steps {
  wall: number[];
  cpu: number[];
}

interface Row {
  width: number;
  depth: number;
  batch: number;
  ours: Timing;
  torch: Timing | null;
  /** our min / PyTorch's min: wall seconds, CPU seconds */
  ratio: number | null;
  cpuRatio: number | null;
  /** the slow tfjs reference, where timed */
  reference?: Timing;
}

const timing = (t: Steps): Timing => ({
  minSeconds: Math.min(...t.wall),
  medianSeconds: median(t.wall),
  minCpuSeconds: Math.min(...t.cpu),
  medianCpuSeconds: median(t.cpu),
  steps: t.wall.length,
});
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

function repoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // dist-bench/bench/dvcnn.js -> <repo>; bench/dvcnn.ts run directly -> <repo>
  return here.includes('dist-bench') ? join(here, '..', '..') : join(here, '..');
}

/** Wall and CPU seconds of `repeats` timed steps (after one warm-up) of our step or of the tfjs reference. */
function ourSteps(width: number, depth: number, repeats: number, reference = false): Steps {
  const net = new Dvcnn({ width, depth, activation: 'sigmoid', triangle: 'alternate', biasInit: -2, classes: 10, seed: 0 });
  const x = tf.tensor2d(new Xoshiro128(1).fillGaussian(new Float32Array(BATCH * width)).map((v) => Math.abs(v) % 1), [BATCH, width]);
  const oneHot = tf.oneHot(tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i % 10), 'int32'), 10) as tf.Tensor2D;
  const times: Steps = { wall: [], cpu: [] };
  let sink = 0;
  for (let r = 0; r <= repeats; r++) {
    const t0 = performance.now();
    const c0 = cpuSeconds();
    sink += reference ? net.stepReference(x, oneHot, { lr: 1e-4 }) : net.step(x, oneHot, { lr: 1e-4 });
    if (r > 0) {
      // r = 0 is the warm-up
      times.wall.push((performance.now() - t0) / 1000);
      times.cpu.push(cpuSeconds() - c0);
    }
  }
  if (!Number.isFinite(sink)) throw new Error('non-finite loss');
  tf.dispose([x, oneHot]);
  net.dispose();
  return times;
}

interface TorchStep {
  minSeconds: number;
  medianSeconds: number;
  minCpuSeconds: number;
  medianCpuSeconds: number;
  repeats: number;
}

/** Seconds of PyTorch's step: `repeats` timed steps after a warm-up, one process. */
function torchSteps(python: string, width: number, depth: number, repeats: number): { times: TorchStep; version: string } {
  const run = runTimed(python, [findRepoFile('bench/torch/dvcnn_step.py'), `${width},${depth},${BATCH},${repeats}`]);
  const out = jsonAnswer<{ torch: string; steps: TorchStep[] }>('PyTorch (bench/torch/dvcnn_step.py)', run);
  return { times: out.steps[0], version: out.torch };
}

export async function run(opts: { quick: boolean }): Promise<void> {
  const { quick } = opts;
  await initBackend('wasm');
  const sizes: [width: number, depth: number, repeats: number][] = quick ? [[196, 100, 3]] : [[784, 100, 3], [196, 100, 5], [196, 1000, 2]];
  const py = findPython(['torch']);
  const python = 'python' in py ? py.python : null;
  const note = 'python' in py ? `PyTorch: ${py.python}` : `PyTorch: skipped, ${py.note}`;
  const m = machine();
  const startedAt = new Date().toISOString();
  const loadStart = loadAverage();
  let torchVersion: string | null = null;
  const rows: Row[] = [];
  for (const [width, depth, repeats] of sizes) {
    const ours: Steps = { wall: [], cpu: [] };
    const torchRounds: TorchStep[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      if (python) {
        const t = torchSteps(python, width, depth, repeats);
        torchVersion = t.version;
        torchRounds.push(t.times);
      }
      const o = ourSteps(width, depth, repeats);
      ours.wall.push(...o.wall);
      ours.cpu.push(...o.cpu);
    }
    // PyTorch reports each round's min and median; the row keeps the best min and the median of the medians
    const torch: Timing | null = torchRounds.length
      ? {
          minSeconds: Math.min(...torchRounds.map((t) => t.minSeconds)),
          medianSeconds: median(torchRounds.map((t) => t.medianSeconds)),
          minCpuSeconds: Math.min(...torchRounds.map((t) => t.minCpuSeconds)),
          medianCpuSeconds: median(torchRounds.map((t) => t.medianCpuSeconds)),
          steps: ROUNDS * repeats,
        }
      : null;
    const mine = timing(ours);
    rows.push({ width, depth, batch: BATCH, ours: mine, torch, ratio: torch ? mine.minSeconds / torch.minSeconds : null, cpuRatio: torch ? mine.minCpuSeconds / torch.minCpuSeconds : null });
  }
  if (!quick) {
    for (const [width, depth] of [[196, 100], [49, 100]]) {
      const reference = timing(ourSteps(width, depth, 2, true));
      const ours = rows.find((r) => r.width === width && r.depth === depth);
      if (ours) ours.reference = reference;
      else rows.push({ width, depth, batch: BATCH, ours: timing(ourSteps(width, depth, 5)), torch: null, ratio: null, cpuRatio: null, reference });
    }
  }
  const loadEnd = loadAverage();
  const cell = (t: Timing | null | undefined) => (t ? `${t.minSeconds.toFixed(4)} / ${t.medianSeconds.toFixed(4)} (cpu ${t.minCpuSeconds.toFixed(4)})` : '-');
  const ratio = (v: number | null) => (v === null ? '-' : v.toFixed(2));
  console.log(`\nDVCNN SGD step, batch ${BATCH}, sigmoid, ${startedAt}. ${machineLine(m, loadStart, loadEnd)}\n${note}${torchVersion ? ` (torch ${torchVersion}, one thread)` : ''}\n`);
  console.log(
    markdownTable(
      ['width', 'depth', 'ours s min / median (cpu min)', 'PyTorch s min / median (cpu min)', 'ours / PyTorch: wall, cpu', 'tfjs reference s min / median (cpu min)'],
      rows.map((r) => [String(r.width), String(r.depth), cell(r.ours), cell(r.torch), `${ratio(r.ratio)}, ${ratio(r.cpuRatio)}`, cell(r.reference)]),
    ),
  );
  const outDir = join(repoRoot(), 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, 'dvcnn.json'),
    `${JSON.stringify({ startedAt, quick, machine: m, loadAverage: { start: loadStart, end: loadEnd }, torch: torchVersion, note, steps: rows }, null, 2)}\n`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run({ quick: process.argv.includes('--quick') });
}
