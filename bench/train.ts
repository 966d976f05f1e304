/**
 * Training benchmark: the time of one full-batch training step (the paper's setting: 40,000 x 784, depth 5;
 * W = 32 for every architecture, W = 16 and 64 for mlp and shortcut-residual) per backend, with the first layer
 * dense (tf.matMul on the input and X^T transposed once) and sparse (src/models/sparse.ts: the input in CSR,
 * X W0 and X^T dZ as sparse x dense products); side by side with PyTorch on one thread (bench/torch/
 * train_step.py: the same mlp from the same initial weights, W = 16, 32, 64, the step and the forward pass over
 * the 30,000 validation images); and the split of a Figure 5 epoch between training, the forward pass over the
 * 30,000-image validation set and the MI estimate over all of it.
 *
 * Seeded (weights from --seed 0), one warm-up step per variant, then `repeats` rounds in which the dense and the
 * sparse variant each take one step (interleaved, so both see the same load): min and median wall seconds and
 * CPU seconds of the process (process.cpuUsage; the machine's 2 cores are shared, so CPU seconds are the better
 * measure of the work; the load average is printed and stored). The two variants' losses must agree (float32),
 * and PyTorch's first-step loss must agree with ours (the same network from the same weights).
 * Op groups (W = 32, fresh operands each call): the first layer's forward product and weight-gradient product,
 * dense and sparse, in CPU ms.
 * Backends: wasm and cpu always (cpu only in a reduced size: it is ~20x slower), tensorflow when
 * @tensorflow/tfjs-node is installed (dense only: the sparse products run on the in-process backends).
 * PyTorch when a Python with torch is found (bench/child.ts: $BENCH_PYTHON, python3, /usr/bin/python3), else a note;
 * per width TRAIN_BENCH_ROUNDS (default 3, 1 with --quick) rounds of our steps and forward passes, then PyTorch's
 * (a new Python process each), so both sides of a round see the same machine; the ratio is of the medians over
 * all rounds, with the range of the rounds' own ratios.
 * TRAIN_BENCH_PARTS (comma list of steps, ops, torch, split; default all) runs a part alone.
 * Prints tables and writes bench/results/train.json: one section per part (steps, ops, torch, split), each with
 * its run's time, machine and load; a run replaces the sections of the parts it ran.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, tf } from '../src/backend.js';
import { loadSplit, type Split } from '../src/data/splits.js';
import { type Arch, ARCHS, HodasNet, type NetInput } from '../src/models/hodas.js';
import { SPARSE_BACKENDS, SparseInput } from '../src/models/sparse.js';
import { writeNpy } from '../src/npy/index.js';
import { findRepoFile } from '../src/repo-files.js';
import { trainRun } from '../src/train/index.js';
import { findPython, jsonAnswer, runTimed } from './child.js';
import { loadAverage, machine, machineLine, markdownTable, median } from './table.js';

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
  /** the loss (mean over the batch) of every step, the warm-up first: at the initial weights */
  losses: number[];
  /** CPU seconds of each timed step */
  cpuSamples: number[];
}

interface OpRow {
  op: string;
  firstLayer: FirstLayer;
  shape: string;
  minCpuMs: number;
  medianCpuMs: number;
}

/** Seconds of repeated runs (CPU seconds of the process and wall seconds). */
interface Times {
  cpuSeconds: number[];
  seconds: number[];
}

/** What bench/torch/train_step.py prints. */
interface TorchAnswer {
  torch: string;
  threads: number;
  widths: { width: number; depth: number; n: number; step: Times; losses: number[]; forward: Times & { n: number }; valErrors: number }[];
}

/** One width's rounds: ours[i] and torch[i] ran one after the other (torch empty without PyTorch). */
interface SideBySideRow {
  width: number;
  ours: { step: StepRow; forward: Times & { n: number } }[];
  torch: TorchAnswer['widths'][number][];
}

const DEPTH = 5;
/** float32 sums in another order: the two first-step losses agree to about 1e-6; 1e-4 says the networks are the same */
const LOSS_TOL = 1e-4;
const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const minMedian = (v: number[]) => `${Math.min(...v).toFixed(3)} / ${median(v).toFixed(3)}`;

/** Steps of the net with a dense and (where the backend has it) a sparse first layer, interleaved; `sparseOnly`: only the sparse one. */
async function timeSteps(backend: 'wasm' | 'cpu' | 'tensorflow', arch: Arch, width: number, n: number, repeats: number, sparseOnly = false): Promise<StepRow[]> {
  await initBackend(backend);
  const data = loadSplit('paper', { limitTrain: n, limitVal: 5 });
  const x = tf.tensor2d(data.train.x, [data.train.n, data.train.d]);
  const xT = tf.transpose(x);
  const y = tf.tensor1d(data.train.labels, 'int32');
  const spec = { arch, width, depth: DEPTH, inputDim: 784, classes: 10 };
  const variants: { firstLayer: FirstLayer; net: HodasNet; input: NetInput; xT: tf.Tensor2D | null; wall: number[]; cpu: number[]; losses: number[] }[] = [];
  if (!sparseOnly || !SPARSE_BACKENDS.includes(tf.getBackend())) {
    variants.push({ firstLayer: 'dense', net: new HodasNet(spec, 0), input: x, xT, wall: [], cpu: [], losses: [] });
  }
  if (SPARSE_BACKENDS.includes(tf.getBackend())) {
    const sparse = new SparseInput(data.train.x, data.train.n, data.train.d);
    variants.push({ firstLayer: 'sparse', net: new HodasNet(spec, 0), input: { sparse, rows: null }, xT: null, wall: [], cpu: [], losses: [] });
  }
  const load0 = loadAverage1();
  for (let r = 0; r <= repeats; r++) {
    for (const v of variants) {
      const t0 = performance.now();
      const c0 = cpuNow();
      const loss = tf.tidy(() => v.net.step(v.input, v.xT, y, 1e-3).lossSum);
      v.losses.push((await loss.data())[0] / data.train.n);
      loss.dispose();
      // r = 0 is the warm-up
      if (r > 0) {
        v.cpu.push(cpuNow() - c0);
        v.wall.push((performance.now() - t0) / 1000);
      }
    }
  }
  const load1 = loadAverage1();
  for (const v of variants) {
    const last = v.losses[v.losses.length - 1];
    if (!Number.isFinite(last)) throw new Error('non-finite loss');
    // the same seed and the same steps: the losses agree to float32 rounding
    const ref = variants[0].losses[v.losses.length - 1];
    if (Math.abs(last - ref) > 1e-4 * Math.abs(ref)) throw new Error(`${v.firstLayer} loss ${last} != dense ${ref}`);
    v.net.dispose();
  }
  tf.dispose([x, xT, y]);
  return variants.map((v) => ({
    backend,
    arch,
    firstLayer: v.firstLayer,
    n: data.train.n,
    width,
    depth: DEPTH,
    minSeconds: Math.min(...v.wall),
    medianSeconds: median(v.wall),
    minCpuSeconds: Math.min(...v.cpu),
    medianCpuSeconds: median(v.cpu),
    repeats,
    load1: [load0, load1],
    losses: v.losses,
    cpuSamples: v.cpu,
  }));
}

const loadAverage1 = () => Number(loadAverage().split(' ')[0]);

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

/**
 * Our forward pass over the validation images as `infoflow train` runs it every epoch (wasm, the input in CSR,
 * BatchNorm on the set's own statistics, the first and last activations read back, the error count).
 */
async function timeForward(data: Split, width: number, repeats: number): Promise<Times & { n: number }> {
  await initBackend('wasm');
  const net = new HodasNet({ arch: 'mlp', width, depth: DEPTH, inputDim: data.val.d, classes: 10 }, 0);
  const sparse = SparseInput.maybe(data.val.x, data.val.n, data.val.d);
  const input: NetInput = sparse ? { sparse, rows: null } : tf.tensor2d(data.val.x, [data.val.n, data.val.d]);
  const labels = tf.tensor1d(data.val.labels, 'int32');
  const out: Times & { n: number } = { cpuSeconds: [], seconds: [], n: data.val.n };
  for (let r = 0; r <= repeats; r++) {
    const t0 = performance.now();
    const c0 = cpuNow();
    const [errors, first, last] = tf.tidy(() => {
      const f = net.forward(input, 'batch');
      return [tf.sum(tf.cast(tf.notEqual(tf.argMax(f.logits, 1), labels), 'float32')), f.first, f.last];
    });
    const e = (await errors.data())[0];
    await first.data();
    await last.data();
    tf.dispose([errors, first, last]);
    if (!Number.isFinite(e)) throw new Error('non-finite forward pass');
    if (r > 0) {
      out.cpuSeconds.push(cpuNow() - c0);
      out.seconds.push((performance.now() - t0) / 1000);
    }
  }
  net.dispose();
  tf.dispose([labels, ...(input instanceof tf.Tensor ? [input] : [])]);
  return out;
}

/** The images, labels and each width's seed-0 initial weights as .npy files for bench/torch/train_step.py, in a new temp folder. */
function writeTorchInputs(data: Split, widths: number[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'infoflow-bench-torch-'));
  const labels = (l: Uint8Array) => Float32Array.from(l);
  writeNpy(join(dir, 'x_train.npy'), data.train.x, [data.train.n, data.train.d]);
  writeNpy(join(dir, 'y_train.npy'), labels(data.train.labels), [data.train.n]);
  writeNpy(join(dir, 'x_val.npy'), data.val.x, [data.val.n, data.val.d]);
  writeNpy(join(dir, 'y_val.npy'), labels(data.val.labels), [data.val.n]);
  for (const width of widths) {
    const net = new HodasNet({ arch: 'mlp', width, depth: DEPTH, inputDim: data.train.d, classes: 10 }, 0);
    for (const [key, v] of Object.entries(net.exportState())) if (key.startsWith('p:')) writeNpy(join(dir, `W${width}_${key.slice(2)}.npy`), v.data, v.shape);
    net.dispose();
  }
  return dir;
}

/** PyTorch's step and forward pass for the mlp at one width, on the inputs in `dir` (one Python process). */
function timeTorch(python: string, dir: string, width: number, repeats: number): TorchAnswer {
  const run = runTimed(python, [findRepoFile('bench/torch/train_step.py'), dir, String(repeats), String(DEPTH), String(width)]);
  return jsonAnswer<TorchAnswer>('PyTorch (bench/torch/train_step.py)', run);
}

/** Figure 5's epoch, measured: residual nets at W = 16, 32, 64, MI over all validation images (one worker, as in a figure run). */
async function epochSplit(quick: boolean): Promise<{ rows: Record<string, unknown>[]; note: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'infoflow-bench-train-'));
  const rows: Record<string, unknown>[] = [];
  try {
    for (const width of quick ? [16] : [16, 32, 64]) {
      const res = await trainRun({
        arch: 'residual',
        width,
        depth: DEPTH,
        epochs: quick ? 2 : 3,
        seed: 0,
        backend: 'wasm',
        out: join(dir, `run-${width}`),
        limitTrain: quick ? 10_000 : null,
        limitVal: quick ? 5_000 : null,
        miEvery: 1,
      });
      for (const r of res.rows) {
        if (r.epoch > 0) rows.push({ arch: 'residual', width, epoch: r.epoch, secondsTrain: r.secondsTrain, secondsForward: r.secondsForward, secondsMI: r.secondsMI, mi: r.mi, load1: loadAverage1() });
      }
    }
    return { rows, note: '' };
  } catch (e) {
    return { rows, note: `epoch split not measured: ${(e as Error).message}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function sideBySideTable(rows: SideBySideRow[]): string {
  const all = (v: number[][]) => v.flat();
  const ratios = (a: number[][], b: number[][]) => {
    const r = a.map((x, i) => median(x) / median(b[i]));
    return `${(median(all(a)) / median(all(b))).toFixed(2)} (${Math.min(...r).toFixed(2)}-${Math.max(...r).toFixed(2)})`;
  };
  return markdownTable(
    ['W', 'step, ours (wasm, sparse first layer): cpu s min / median', 'step, PyTorch 1 thread', 'ours / PyTorch (per round)', `forward ${rows[0]?.ours[0]?.forward.n ?? ''} images, ours`, 'forward, PyTorch', 'ours / PyTorch (per round)', 'first-step loss ours / PyTorch'],
    rows.map((r) => {
      const ourSteps = r.ours.map((o) => o.step.cpuSamples);
      const ourForward = r.ours.map((o) => o.forward.cpuSeconds);
      const torchSteps = r.torch.map((t) => t.step.cpuSeconds);
      const torchForward = r.torch.map((t) => t.forward.cpuSeconds);
      const has = r.torch.length === r.ours.length && r.torch.length > 0;
      return [
        String(r.width),
        minMedian(all(ourSteps)),
        has ? minMedian(all(torchSteps)) : '-',
        has ? ratios(ourSteps, torchSteps) : '-',
        minMedian(all(ourForward)),
        has ? minMedian(all(torchForward)) : '-',
        has ? ratios(ourForward, torchForward) : '-',
        `${r.ours[0].step.losses[0].toFixed(6)} / ${has ? r.torch[0].losses[0].toFixed(6) : '-'}`,
      ];
    }),
  );
}

export async function run(opts: { quick: boolean }): Promise<void> {
  const quick = opts.quick;
  const nFull = quick ? 10_000 : 40_000;
  const repeats = quick ? 2 : 5;
  const parts = new Set((process.env.TRAIN_BENCH_PARTS ?? 'steps,ops,torch,split').split(','));
  const m = machine();
  const loadStart = loadAverage();
  const startedAt = new Date().toISOString();
  const rows: StepRow[] = [];
  const backends: ('wasm' | 'cpu' | 'tensorflow')[] = ['wasm', 'cpu'];
  try {
    await import('@tensorflow/tfjs-node' as string);
    backends.unshift('tensorflow');
  } catch {
    // not installed (optional dependency)
  }
  const grid: [Arch, number][] = [...ARCHS.map((a): [Arch, number] => [a, 32]), ['mlp', 16], ['mlp', 64], ['shortcut-residual', 16], ['shortcut-residual', 64]];
  for (const backend of parts.has('steps') ? backends : []) {
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
  const ops = parts.has('ops') ? await timeOps(nFull, repeats) : [];

  // side by side with PyTorch: per width, rounds of our steps and forward passes then PyTorch's, one thread each, so
  // that a change in the machine's speed (hosts here vary minute to minute) falls on both sides of each round
  const widths = quick ? [16, 32] : [16, 32, 64];
  const rounds = Number(process.env.TRAIN_BENCH_ROUNDS ?? (quick ? 1 : 3));
  if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error(`TRAIN_BENCH_ROUNDS must be a whole number >= 1; got ${process.env.TRAIN_BENCH_ROUNDS}`);
  const sideBySide: SideBySideRow[] = [];
  let torchInfo: { version: string; threads: number; python: string } | null = null;
  let torchNote = '';
  if (parts.has('torch')) {
    const data = loadSplit('paper', { limitTrain: nFull, limitVal: quick ? 10_000 : undefined });
    const py = findPython(['torch', 'numpy']);
    await initBackend('wasm');
    if (!('python' in py)) torchNote = `PyTorch skipped: ${py.note}`;
    const dir = 'python' in py ? writeTorchInputs(data, widths) : null;
    try {
      for (const width of widths) {
        const row: SideBySideRow = { width, ours: [], torch: [] };
        for (let round = 0; round < rounds; round++) {
          const [sparse] = await timeSteps('wasm', 'mlp', width, nFull, repeats, true);
          const forward = await timeForward(data, width, repeats);
          row.ours.push({ step: sparse, forward });
          if (!dir || !('python' in py)) continue;
          const t = timeTorch(py.python, dir, width, repeats);
          torchInfo = { version: t.torch, threads: t.threads, python: py.python };
          const torch = t.widths[0];
          // the same network from the same weights: the first step (at the initial weights) has the same loss
          if (Math.abs(torch.losses[0] - sparse.losses[0]) > LOSS_TOL * sparse.losses[0]) {
            throw new Error(`W=${width}: PyTorch's first-step loss ${torch.losses[0]} != ours ${sparse.losses[0]}: the two networks differ`);
          }
          row.torch.push(torch);
          process.stderr.write(`  side by side W=${width}, round ${round + 1}/${rounds}: ours ${sparse.medianCpuSeconds.toFixed(3)} s, PyTorch ${median(torch.step.cpuSeconds).toFixed(3)} s (cpu, median)\n`);
        }
        sideBySide.push(row);
      }
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  }
  const split = parts.has('split') ? await epochSplit(quick) : { rows: [], note: 'epoch split not run (TRAIN_BENCH_PARTS)' };
  const loadEnd = loadAverage();

  console.log(`\nTraining benchmark, ${startedAt}. ${machineLine(m, loadStart, loadEnd)}`);
  if (rows.length) {
    console.log(`\ntraining step, full batch, depth ${DEPTH}; load average (1 min) per row, start-end\n`);
    console.log(
      markdownTable(
        ['backend', 'arch', 'W', 'first layer', 'n', 'wall s min / median', 'cpu s min / median', 'load'],
        rows.map((r) => [r.backend, r.arch, String(r.width), r.firstLayer, String(r.n), `${r.minSeconds.toFixed(3)} / ${r.medianSeconds.toFixed(3)}`, `${r.minCpuSeconds.toFixed(3)} / ${r.medianCpuSeconds.toFixed(3)}`, r.load1.map((l) => l.toFixed(1)).join('-')]),
      ),
    );
  }
  if (ops.length) {
    console.log(`\nfirst-layer products, wasm, W = 32, CPU ms (fresh operands):\n`);
    console.log(markdownTable(['op', 'first layer', 'shape', 'cpu ms min', 'cpu ms median'], ops.map((o) => [o.op, o.firstLayer, o.shape, o.minCpuMs.toFixed(1), o.medianCpuMs.toFixed(1)])));
  }
  if (sideBySide.length) {
    const who = torchInfo ? `PyTorch ${torchInfo.version} (${torchInfo.python}, ${torchInfo.threads} thread)` : torchNote;
    console.log(`\nside by side, mlp depth ${DEPTH}, ${nFull} x 784 full batch, RMSprop, the same initial weights; CPU seconds over ${rounds} round(s) of ${repeats} steps each side; ours: wasm backend, one thread; ${who}\n`);
    console.log(sideBySideTable(sideBySide));
  }
  if (split.rows.length) {
    console.log(`\nepoch split (wasm, residual depth ${DEPTH}, MI over all ${quick ? 5000 : 30000} validation images, one MI worker), seconds:\n`);
    console.log(markdownTable(['W', 'epoch', 'training step', 'forward pass', 'MI', 'load (1 min)'], split.rows.map((e) => [e.width, e.epoch, e.secondsTrain, e.secondsForward, e.secondsMI, e.load1].map(String))));
  }
  if (split.note) console.log(split.note);

  const here = dirname(fileURLToPath(import.meta.url));
  // dist-bench/bench/train.js -> <repo>/bench/results; bench/train.ts run directly -> bench/results
  const repo = here.includes('dist-bench') ? join(here, '..', '..') : join(here, '..');
  const outDir = join(repo, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'train.json');
  const result: Record<string, unknown> = { startedAt, quick, machine: m, loadAverage: { start: loadStart, end: loadEnd }, parts: [...parts] };
  // the parts this run measured replace theirs in the file; the others keep their earlier results (and their run's header)
  const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>) : {};
  const measured: Record<string, Record<string, unknown>> = {
    steps: { ...result, steps: rows },
    ops: { ...result, ops },
    torch: { ...result, torch: torchInfo, torchNote, sideBySide },
    split: { ...result, epochSplit: split.rows, epochNote: split.note },
  };
  const out = Object.fromEntries(Object.entries(measured).map(([part, value]) => [part, parts.has(part) || !previous[part] ? value : previous[part]]));
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run({ quick: process.argv.includes('--quick') });
}
