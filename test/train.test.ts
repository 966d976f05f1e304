import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { initBackend } from '../src/backend.js';
import { InfoflowError } from '../src/errors.js';
import { readNpy } from '../src/npy/index.js';
import { trainRun, withLoadTimeout } from '../src/train/index.js';

const root = mkdtempSync(join(tmpdir(), 'infoflow-train-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');
// the MI engine is another module; the MI columns are checked when it is built
const haveMI = existsSync(join(import.meta.dirname, '..', 'dist', 'mi', 'index.js'));
const tiny = { width: 4, depth: 5, limitTrain: 300, limitVal: 60, backend: 'wasm', miEvery: haveMI ? 1 : 0 };

const jsonl = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

describe('loading never hangs', () => {
  it('a backend or worker pool that never loads fails with one line after the limit', async () => {
    const never = new Promise<number>(() => {});
    const err = await withLoadTimeout(never, 'the MI estimator (src/mi/)', 0.05).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfoflowError);
    expect((err as Error).message).toMatch(/MI estimator.*did not load within 0.05 s/);
    expect((err as Error).message).not.toContain('\n');
    expect(await withLoadTimeout(Promise.resolve(7), 'x', 0.05)).toBe(7);
  });
});

describe('backend selection', () => {
  it.skipIf(installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu'))('auto falls back to wasm and says why', async () => {
    const info = await initBackend('auto');
    expect(info.name).toBe('wasm');
    expect(info.note).toBe('auto (tfjs-node-gpu: not installed; tfjs-node: not installed)');
  });
});

describe('trainRun', () => {
  it('writes a run directory with one row per epoch, epoch 0 untrained', async () => {
    const out = join(root, 'lib');
    const seen: number[] = [];
    const r = await trainRun({ ...tiny, arch: 'residual', epochs: 3, out, dumpActivations: '0,last' }, { onEpoch: (row) => seen.push(row.epoch) });
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(r.rows.map((x) => x.epoch)).toEqual([0, 1, 2, 3]);
    const rows = jsonl(out);
    expect(rows).toEqual(r.rows);
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(['epoch', 'trainLoss', 'trainError', 'valError', 'mi', 'secondsTrain', 'secondsForward', 'secondsMI']);
      expect(row.valError).toBeGreaterThanOrEqual(0);
      expect(row.valError).toBeLessThanOrEqual(1);
      if (haveMI) expect(row.mi).toBeGreaterThan(0);
      else expect(row.mi).toBeNull();
    }
    // the untrained net is near chance; three full-batch steps lower the training loss
    expect(rows[0].trainError).toBeGreaterThan(0.6);
    expect(rows[3].trainLoss).toBeLessThan(rows[1].trainLoss);
    const csv = readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('epoch,trainLoss,trainError,valError,mi,secondsTrain,secondsForward,secondsMI');
    expect(csv.length).toBe(5);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ arch: 'residual', width: 4, depth: 5, epochs: 3, backendUsed: 'wasm', nTrain: 300, nVal: 60, widths: [8, 4, 4, 4, 8] });
    expect(existsSync(join(out, 'done.json'))).toBe(true);
    expect(existsSync(join(out, 'checkpoint', 'state.json'))).toBe(true);
    const first = readNpy(join(out, 'activations', 'epoch-0-first.npy'));
    const last = readNpy(join(out, 'activations', 'epoch-3-last.npy'));
    expect(first.shape).toEqual([60, 8]);
    expect(last.shape).toEqual([60, 8]);
    expect(Math.max(...Array.from(first.data, Math.abs))).toBeLessThanOrEqual(1); // tanh outputs
    expect(existsSync(join(out, 'activations', 'epoch-1-first.npy'))).toBe(false);
  });

  it('minibatches: several steps per epoch, and the MI schedule leaves nulls', async () => {
    const out = join(root, 'mini');
    const r = await trainRun({ ...tiny, arch: 'mlp', epochs: 3, out, batchSize: 64, miEvery: haveMI ? 2 : 0 });
    expect(r.rows.length).toBe(4);
    expect(r.rows[3].trainLoss).toBeLessThan(r.rows[0].trainLoss);
    if (!haveMI) return;
    expect(r.rows.map((x) => x.mi === null)).toEqual([false, true, false, false]);
    // --mi-samples: the MI over the first 30 validation images only; the errors still over all 60
    const sub = await trainRun({ ...tiny, arch: 'mlp', epochs: 3, out: join(root, 'mini-sub'), batchSize: 64, miEvery: 2, miSamples: 30 });
    expect(sub.rows.map((x) => x.valError)).toEqual(r.rows.map((x) => x.valError));
    expect(sub.rows[0].mi).not.toBe(r.rows[0].mi);
  });

  it('refuses a non-empty run directory, and a resume with another config', async () => {
    const out = join(root, 'lib');
    await expect(trainRun({ ...tiny, arch: 'residual', epochs: 3, out })).rejects.toThrow(/is not empty; use --resume .* --force/);
    const err = await trainRun({ ...tiny, arch: 'mlp', width: 5, epochs: 3, out }, {}, { resume: true }).catch((e) => e);
    expect(err).toBeInstanceOf(InfoflowError);
    expect(err.message).toMatch(/--resume with a different config \(arch: "residual" -> "mlp", width: 4 -> 5\)/);
    expect(err.message.includes('\n')).toBe(false);
    // nothing was overwritten
    expect(jsonl(out).length).toBe(4);
  });
});

function runCli(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
}

describe('train command', () => {
  const base = ['train', '--arch', 'shortcut-residual', '--width', '8', '--depth', '5', '--seed', '3', '--limit-train', '4000', '--limit-val', '200', '--backend', 'wasm', '--mi-every', haveMI ? '1' : '0'];

  it('a run killed after epoch 2 resumes with every epoch exactly once and the same results', async () => {
    const epochs = 7;
    const killed = join(root, 'killed');
    const child = spawn(process.execPath, [cli, ...base, '--epochs', String(epochs), '--out', killed, '--json', '--quiet']);
    let buf = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.split('\n').some((l) => l.includes('"epoch":2,'))) child.kill('SIGKILL');
      });
      child.on('exit', () => resolve());
    });
    expect(child.signalCode).toBe('SIGKILL');
    expect(existsSync(join(killed, 'done.json'))).toBe(false);
    const resumed = runCli([...base, '--epochs', String(epochs), '--out', killed, '--json', '--resume']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming killed after epoch [2-6]/);
    // --json: every stdout line is one JSON object with the run name
    const lines = resumed.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.every((l) => l.run === 'killed')).toBe(true);

    const whole = join(root, 'whole');
    const straight = runCli([...base, '--epochs', String(epochs), '--out', whole, '--quiet']);
    expect(straight.status, straight.stderr).toBe(0);
    expect(straight.stdout).toBe('');

    const a = jsonl(killed);
    const b = jsonl(whole);
    expect(a.map((r) => r.epoch)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const strip = (r: Record<string, unknown>) => ({ epoch: r.epoch, trainLoss: r.trainLoss, trainError: r.trainError, valError: r.valError, mi: r.mi });
    // the wasm backend runs single-threaded: the resumed run repeats the uninterrupted one exactly
    expect(a.map(strip)).toEqual(b.map(strip));
    const csvEpochs = readFileSync(join(killed, 'metrics.csv'), 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[0]));
    expect(csvEpochs).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  }, 120_000);

  it('bad input: a one-line InfoflowError naming the option', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ arch: 'cnn' }, /^--arch: unknown architecture 'cnn'; use one of mlp, shortcut, residual, shortcut-residual$/],
      [{ width: '0' }, /^--width: must be an integer in \[1, 4096\]; got '0'$/],
      [{ depth: '1' }, /^--depth: must be an integer in \[2, 100\] \(hidden layers\); got '1'$/],
      [{ epochs: 'ten' }, /^--epochs: must be an integer/],
      [{ lr: '-1' }, /^--lr: must be a positive number/],
      [{ backend: 'gpu' }, /^--backend: unknown backend 'gpu'; use one of auto, tensorflow-gpu, tensorflow, wasm, cpu$/],
      [{ split: 'x' }, /^--split: unknown split 'x'/],
      [{ dumpActivations: '0,99' }, /^--dump-activations: must be an integer in \[0, 2\]/],
      [{ miSamples: '2' }, /^--mi-samples: must be an integer in \[5, 70000\]/],
      [{ miEvry: 0 }, /^miEvry: not a train config key; did you mean 'miEvery'\?$/],
    ];
    for (const [opts, re] of cases) {
      const err = await trainRun({ epochs: 2, out: join(root, 'bad'), limitTrain: 100, limitVal: 20, ...opts }).catch((e) => e);
      expect(err, JSON.stringify(opts)).toBeInstanceOf(InfoflowError);
      expect(err.message).toMatch(re);
    }
    // validation happens before anything is written
    expect(existsSync(join(root, 'bad'))).toBe(false);
  });

  it('the CLI prints bad input as one line on stderr and exits 2', () => {
    const cases: [string[], RegExp][] = [
      [['--arch', 'cnn'], /^infoflow: --arch: unknown architecture 'cnn'/],
      [['--backend', 'tensorflow'], /^infoflow: --backend: tensorflow needs the optional package @tensorflow\/tfjs-node, which is not installed .*npm install/],
    ];
    for (const [args, re] of cases) {
      const r = runCli(['train', '--epochs', '2', '--out', join(root, `bad-${args.join('')}`), '--limit-train', '100', '--limit-val', '20', ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr.trim().split('\n').length).toBe(1);
    }
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    const r = runCli(['train', '--epochs', '1', '--out', join(file, 'run')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot write the run directory.*choose a writable --out/);
  }, 60_000);
});
