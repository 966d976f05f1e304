/**
 * Training benchmark (issue 3, item 10): the time of one full-batch training step (the paper's setting:
 * 40,000 x 784, W = 32, depth 5) per backend and architecture, and the split of a whole epoch between training,
 * the forward pass over the 30,000-image validation set, and the MI estimate.
 *
 * Seeded (weights from --seed 0), one warm-up step, then `repeats` timed steps: min and median wall seconds.
 * Backends: wasm and cpu always (cpu only in a reduced size: it is ~20x slower), tensorflow when
 * @tensorflow/tfjs-node is installed. PyTorch for comparison when `python3 -c "import torch"` works.
 * Prints a table and writes bench/results/train.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, tf } from '../src/backend.js';
import { loadSplit } from '../src/data/splits.js';
import { ARCHS, HodasNet } from '../src/models/hodas.js';
import { trainRun } from '../src/train/index.js';

interface StepRow {
  backend: string;
  arch: string;
  n: number;
  width: number;
  depth: number;
  minSeconds: number;
  medianSeconds: number;
  repeats: number;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function timeSteps(backend: 'wasm' | 'cpu' | 'tensorflow', arch: (typeof ARCHS)[number], n: number, repeats: number): Promise<StepRow> {
  await initBackend(backend);
  const data = loadSplit('paper', { limitTrain: n, limitVal: 5 });
  const x = tf.tensor2d(data.train.x, [data.train.n, data.train.d]);
  const xT = tf.transpose(x);
  const y = tf.tensor1d(data.train.labels, 'int32');
  const net = new HodasNet({ arch, width: 32, depth: 5, inputDim: 784, classes: 10 }, 0);
  const times: number[] = [];
  let sink = 0;
  for (let r = 0; r <= repeats; r++) {
    const t0 = performance.now();
    const loss = tf.tidy(() => net.step(x, xT, y, 1e-3).lossSum);
    sink += (await loss.data())[0];
    loss.dispose();
    if (r > 0) times.push((performance.now() - t0) / 1000); // r = 0 is the warm-up
  }
  if (!Number.isFinite(sink)) throw new Error('non-finite loss');
  tf.dispose([x, xT, y]);
  net.dispose();
  return { backend, arch, n: data.train.n, width: 32, depth: 5, minSeconds: Math.min(...times), medianSeconds: median(times), repeats };
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
  for (const backend of backends) {
    for (const arch of ARCHS) {
      // the cpu backend is ~20x slower: a reduced size, and only one architecture
      if (backend === 'cpu' && arch !== 'mlp') continue;
      const n = backend === 'cpu' ? Math.min(nFull, 4000) : nFull;
      rows.push(await timeSteps(backend, arch, n, backend === 'cpu' ? 2 : repeats));
      const r = rows[rows.length - 1];
      process.stderr.write(`  ${r.backend} ${r.arch} n=${r.n}: min ${r.minSeconds.toFixed(3)} s\n`);
    }
  }

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
  console.log(`\ntraining step, full batch, W = 32, depth 5 (${cpus()[0]?.model ?? 'cpu'}, load ${loadavg()[0].toFixed(1)})`);
  console.log('backend     arch                    n   min s  median s');
  for (const r of rows) {
    console.log(`${r.backend.padEnd(11)} ${r.arch.padEnd(18)} ${String(r.n).padStart(6)}  ${r.minSeconds.toFixed(3).padStart(6)}  ${r.medianSeconds.toFixed(3).padStart(8)}`);
  }
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
    `${JSON.stringify({ quick, machine: { cpu: cpus()[0]?.model, cores: cpus().length, load1: loadavg()[0], node: process.version }, steps: rows, epochSplit, epochNote, pytorch: torch }, null, 2)}\n`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run({ quick: process.argv.includes('--quick') });
}
