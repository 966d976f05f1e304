/**
 * Training benchmark (issue 3, item 10): the time of one full-batch training step (the paper's setting:
 * 40,000 x 784, depth 5; W = 32 for every architecture, W = 16 and 64 for mlp and shortcut-residual) per backend,
 * with the first layer dense (tf.matMul on the input and X^T transposed once) and sparse (src/models/sparse.ts:
 * the input in CSR, X W0 and X^T dZ as sparse x dense products), and the split of a whole epoch between
 * training, the forward pass over the 30,000-image validation set, and the MI estimate.
 *
 * Seeded (weights from --seed 0), one warm-up step per variant, then `repeats` rounds in which the dense and the
 * sparse variant each take one step (interleaved, so both see the same load): min and median wall seconds and
 * CPU seconds of the process (process.cpuUsage; the machine's 2 cores are shared, so CPU seconds are the better
 * measure of the work; the load average is printed and stored). The two variants' losses must agree (float32).
 * Op groups (W = 32, fresh operands each call): the first layer's forward product and weight-gradient product,
 * dense and sparse, in CPU ms.
 * Backends: wasm and cpu always (cpu only in a reduced size: it is ~20x slower), tensorflow when
 * @tensorflow/tfjs-node is installed (dense only: the sparse products run on the in-process backends).
 * PyTorch for comparison when `python3 -c "import torch"` works.
 * Prints a table and writes bench/results/train.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, tf } from '../src/backend.js';
import { loadSplit } from '../src/data/splits.js';
import { type Arch, ARCHS, HodasNet, type NetInput } from '../src/models/hodas.js';
import { SPARSE_BACKENDS, SparseInput } from '../src/models/sparse.js';
import { trainRun } from '../src/train/index.js';

type FirstLayer = 'dense' | 'sparse';

interface StepRow {
  backend: string;
  arch: string;
  firstLayer: FirstLayer;
  n: number;
  width: number;
  depth: number;
  minSeconds: number;
  medianSeconds: number;
  minCpuSeconds: number;
  medianCpuSeconds: number;
  repeats: number;
  load1: [number, number];
}

interface OpRow {
  op: string;
  firstLayer: FirstLayer;
  shape: string;
  minCpuMs: number;
  medianCpuMs: number;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function timeSteps(backend: 'wasm' | 'cpu' | 'tensorflow', arch: Arch, width: number, n: number, repeats: number): Promise<StepRow[]> {
  await initBackend(backend);
  const data = loadSplit('paper', { limitTrain: n, limitVal: 5 });
  const x = tf.tensor2d(data.train.x, [data.train.n, data.train.d]);
  const xT = tf.transpose(x);
  const y = tf.tensor1d(data.train.labels, 'int32');
  const spec = { arch, width, depth: 5, inputDim: 784, classes: 10 };
  const variants: { firstLayer: FirstLayer; net: HodasNet; input: NetInput; xT: tf.Tensor2D | null; wall: number[]; cpu: number[]; loss: number }[] = [
    { firstLayer: 'dense', net: new HodasNet(spec, 0), input: x, xT, wall: [], cpu: [], loss: 0 },
  ];
  if (SPARSE_BACKENDS.includes(tf.getBackend())) {
    const sparse = new SparseInput(data.train.x, data.train.n, data.train.d);
    variants.push({ firstLayer: 'sparse', net: new HodasNet(spec, 0), input: { sparse, rows: null }, xT: null, wall: [], cpu: [], loss: 0 });
  }
  const load0 = loadavg()[0];
  for (let r = 0; r <= repeats; r++) {
    for (const v of variants) {
      const t0 = performance.now();
      const c0 = cpuNow();
      const loss = tf.tidy(() => v.net.step(v.input, v.xT, y, 1e-3).lossSum);
      v.loss = (await loss.data())[0];
      loss.dispose();
      // r = 0 is the warm-up
      if (r > 0) {
        v.cpu.push(cpuNow() - c0);
        v.wall.push((performance.now() - t0) / 1000);
      }
    }
  }
  const load1 = loadavg()[0];
  for (const v of variants) {
    if (!Number.isFinite(v.loss)) throw new Error('non-finite loss');
    // the same seed and the same steps: the losses agree to float32 rounding
    if (Math.abs(v.loss - variants[0].loss) > 1e-4 * Math.abs(variants[0].loss)) throw new Error(`${v.firstLayer} loss ${v.loss} != dense ${variants[0].loss}`);
    v.net.dispose();
  }
  tf.dispose([x, xT, y]);
  return variants.map((v) => ({
    backend,
    arch,
    firstLayer: v.firstLayer,
    n: data.train.n,
    width,
    depth: 5,
    minSeconds: Math.min(...v.wall),
    medianSeconds: median(v.wall),
    minCpuSeconds: Math.min(...v.cpu),
    medianCpuSeconds: median(v.cpu),
    repeats,
    load1: [load0, load1],
  }));
}

/** The first layer's two products in isolation, W = 32 (2W = 64 columns), on fresh operands as in a step. */
async function timeOps(n: number, repeats: number): Promise<OpRow[]> {
  await initBackend('wasm');
  const data = loadSplit('paper', { limitTrain: n, limitVal: 5 });
  const x = tf.tensor2d(data.train.x, [data.train.n, data.train.d]);
  const xT = tf.transpose(x);
  const sparse = new SparseInput(data.train.x, data.train.n, data.train.d);
  const c = 64;
  const w0 = tf.randomNormal([data.train.d, c], 0, 0.05, 'float32', 1);
  const g0 = tf.randomNormal([data.train.n, c], 0, 1, 'float32', 2);
  const ops: [string, FirstLayer, string, (w: tf.Tensor2D, g: tf.Tensor2D) => tf.Tensor][] = [
    ['X W0', 'dense', `[${n},784] x [784,${c}]`, (w) => tf.matMul(x, w)],
    ['X W0', 'sparse', `[${n},784] x [784,${c}]`, (w) => sparse.matMul(w)],
    ['X^T dZ', 'dense', `[784,${n}] x [${n},${c}]`, (_, g) => tf.matMul(xT, g)],
    ['X^T dZ', 'sparse', `[784,${n}] x [${n},${c}]`, (_, g) => sparse.matMulT(g)],
  ];
  const times = ops.map(() => [] as number[]);
  let sink = 0;
  for (let r = 0; r <= repeats; r++) {
    ops.forEach(([, , , f], i) => {
      // fresh operands (XNNPACK caches the packed right operand by tensor)
      const w = tf.mul(w0, 1) as tf.Tensor2D;
      const g = tf.mul(g0, 1) as tf.Tensor2D;
      const c0 = cpuNow();
      const out = f(w, g);
      sink += out.dataSync()[0];
      if (r > 0) times[i].push((cpuNow() - c0) * 1000);
      tf.dispose([w, g, out]);
    });
  }
  if (!Number.isFinite(sink)) throw new Error('non-finite product');
  tf.dispose([x, xT, w0, g0]);
  return ops.map(([op, firstLayer, shape], i) => ({ op, firstLayer, shape, minCpuMs: Math.min(...times[i]), medianCpuMs: median(times[i]) }));
}

function pytorchAvailable(): boolean {
  return spawnSync('python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
}

export async function run(opts: { quick: boolean }): Promise<void> {
  const quick = opts.quick;
  const nFull = quick ? 10_000 : 40_000;
  const repeats = quick ? 2 : 5;
  const rows: StepRow[] = [];
  const backends: ('wasm' | 'cpu' | 'tensorflow')[] = ['wasm', 'cpu'];
  try {
    await import('@tensorflow/tfjs-node' as string);
    backends.unshift('tensorflow');
  } catch {
    // not installed (optional dependency)
  }
  const grid: [Arch, number][] = [...ARCHS.map((a): [Arch, number] => [a, 32]), ['mlp', 16], ['mlp', 64], ['shortcut-residual', 16], ['shortcut-residual', 64]];
  for (const backend of backends) {
    for (const [arch, width] of grid) {
      // the cpu backend is ~20x slower: a reduced size, and only one configuration
      if (backend === 'cpu' && (arch !== 'mlp' || width !== 32)) continue;
      const n = backend === 'cpu' ? Math.min(nFull, 4000) : nFull;
      for (const r of await timeSteps(backend, arch, width, n, backend === 'cpu' ? 2 : repeats)) {
        rows.push(r);
        process.stderr.write(`  ${r.backend} ${r.arch} W=${r.width} ${r.firstLayer} n=${r.n}: cpu min ${r.minCpuSeconds.toFixed(3)} s\n`);
      }
    }
  }
  const ops = await timeOps(nFull, repeats);

  // the split of whole epochs on wasm (the default backend here): train, forward over validation, MI
  const dir = mkdtempSync(join(tmpdir(), 'infoflow-bench-train-'));
  let epochSplit: Record<string, unknown>[] = [];
  let epochNote = '';
  try {
    const res = await trainRun({
      arch: 'shortcut-residual',
      width: 32,
      depth: 5,
      epochs: 2,
      seed: 0,
      backend: 'wasm',
      out: join(dir, 'run'),
      limitTrain: quick ? 10_000 : null,
      limitVal: quick ? 5_000 : null,
      // the KSG estimate over all 30,000 images (128 dims) takes minutes: the MI over the first 5,000
      miSamples: quick ? 2_000 : 5_000,
      miEvery: 1,
    });
    epochSplit = res.rows.map((r) => ({ epoch: r.epoch, secondsTrain: r.secondsTrain, secondsForward: r.secondsForward, secondsMI: r.secondsMI }));
  } catch (e) {
    epochNote = `epoch split not measured: ${(e as Error).message}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const torch = pytorchAvailable();
  console.log(`\ntraining step, full batch, depth 5 (${cpus()[0]?.model ?? 'cpu'}; load average per row, start-end)`);
  console.log('backend     arch                 W  first    n       wall min / median s   cpu min / median s   load');
  for (const r of rows) {
    console.log(
      `${r.backend.padEnd(11)} ${r.arch.padEnd(18)} ${String(r.width).padStart(3)}  ${r.firstLayer.padEnd(6)} ${String(r.n).padStart(6)}  ` +
        `${r.minSeconds.toFixed(3).padStart(8)} / ${r.medianSeconds.toFixed(3).padEnd(8)}  ${r.minCpuSeconds.toFixed(3).padStart(8)} / ${r.medianCpuSeconds.toFixed(3).padEnd(8)}  ${r.load1.map((l) => l.toFixed(1)).join('-')}`,
    );
  }
  console.log(`\nfirst-layer products, wasm, W = 32, CPU ms (fresh operands):`);
  for (const o of ops) console.log(`  ${o.op.padEnd(7)} ${o.firstLayer.padEnd(6)} ${o.shape.padEnd(22)} min ${o.minCpuMs.toFixed(1).padStart(6)}  median ${o.medianCpuMs.toFixed(1).padStart(6)}`);
  console.log(torch ? 'PyTorch present but not timed here' : 'PyTorch: not installed on this machine (python3 -c "import torch" fails); issue 3 quotes 0.17 s per step on one core');
  if (epochSplit.length) {
    console.log(`\nepoch split (wasm, shortcut-residual W=32 depth 5, MI over ${quick ? 2000 : 5000} validation images):`);
    for (const e of epochSplit) console.log(`  epoch ${e.epoch}: train ${e.secondsTrain} s, forward ${e.secondsForward} s, MI ${e.secondsMI} s`);
  } else console.log(epochNote);

  const here = dirname(fileURLToPath(import.meta.url));
  // dist-bench/bench/train.js -> <repo>/bench/results; bench/train.ts run directly -> bench/results
  const repo = here.includes('dist-bench') ? join(here, '..', '..') : join(here, '..');
  const outDir = join(repo, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, 'train.json'),
    `${JSON.stringify({ quick, machine: { cpu: cpus()[0]?.model, cores: cpus().length, load1: loadavg()[0], node: process.version }, steps: rows, ops, epochSplit, epochNote, pytorch: torch }, null, 2)}\n`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run({ quick: process.argv.includes('--quick') });
}
