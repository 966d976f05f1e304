import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InfoflowError } from '../src/errors.js';
import { dvcnnSpec } from '../src/figures/dvcnn/runs.js';
import { trainArgs } from '../src/figures/pipeline/runner.js';
import { DEFAULT_DVCNN_TRAIN, type DvcnnTrainConfig, lrOfEpoch, resolveDvcnnConfig } from '../src/train/dvcnn-config.js';
import { TrainingStopped, trainDvcnn } from '../src/train/dvcnn.js';
import { DVCNN_METRIC_COLUMNS } from '../src/train/metrics.js';
import { type Checkpoint, RunDir } from '../src/train/rundir.js';

const out = mkdtempSync(join(tmpdir(), 'infoflow-vc-resume-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

// small and fast: 6 layers of 49 units, 300 images, 4 epochs; centred, so the centres travel in the checkpoint
const config: DvcnnTrainConfig = {
  ...DEFAULT_DVCNN_TRAIN,
  width: 49,
  limitTrain: 300,
  limitVal: 100,
  probe: 50,
  depth: 6,
  epochs: 4,
  lr: 0.3,
  center: 'all',
  lrScaling: 'moment',
};

/** metrics without the wall-clock columns */
function metrics(dir: string): Record<string, unknown>[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const { secondsTrain, secondsForward, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });
}

function state(dir: string): Checkpoint {
  const ck = new RunDir(dir, DVCNN_METRIC_COLUMNS).loadCheckpoint();
  if (!ck) throw new Error(`${dir} has no checkpoint`);
  return ck;
}

function sameFinal(a: string, b: string): void {
  expect(metrics(b)).toEqual(metrics(a));
  expect(readFileSync(join(b, 'metrics.csv'), 'utf8').trim().split('\n').length).toBe(config.epochs + 2);
  const sa = state(a);
  const sb = state(b);
  expect(sb.epoch).toBe(config.epochs);
  expect(Object.keys(sb.variables).sort()).toEqual(Object.keys(sa.variables).sort());
  for (const k of Object.keys(sa.variables)) expect(sb.variables[k].data, k).toEqual(sa.variables[k].data);
  expect(existsSync(join(b, 'done.json'))).toBe(true);
}

describe('DVCNN runs resume from their checkpoints', () => {
  const whole = join(out, 'whole');

  it('an uninterrupted run writes a checkpoint per epoch', async () => {
    const res = await trainDvcnn(config, { outDir: whole, backend: 'wasm' });
    expect(res.rows.map((r) => r.epoch)).toEqual([0, 1, 2, 3, 4]);
    expect(state(whole).epoch).toBe(4);
    // 6 layers (a, b), the output layer, 7 centres
    expect(Object.keys(state(whole).variables).length).toBe(6 * 2 + 2 + 7);
  });

  it('stopped after epoch 2, then resumed: same rows and bit-identical weights; a row newer than the checkpoint is redone', async () => {
    const dir = join(out, 'stopped');
    await expect(trainDvcnn(config, { outDir: dir, backend: 'wasm', stopAfterEpoch: 2 })).rejects.toBeInstanceOf(TrainingStopped);
    expect(metrics(dir).length).toBe(3);
    // a kill between epoch 3's metrics row and its checkpoint leaves this row (and a torn line) behind
    appendFileSync(join(dir, 'metrics.jsonl'), `${JSON.stringify({ ...metrics(dir)[2], epoch: 3, trainLoss: 99 })}\n{"epoch": 4, "tr`);
    const epochs: number[] = [];
    const res = await trainDvcnn(config, { outDir: dir, backend: 'wasm', resume: true, onEpoch: (r) => epochs.push(r.epoch) });
    // the rows already recorded are replayed first (as `train` does), then epochs 3 and 4 run
    expect(epochs).toEqual([0, 1, 2, 3, 4]);
    expect(res.rows.map((r) => r.epoch)).toEqual([0, 1, 2, 3, 4]);
    sameFinal(whole, dir);
  });

  it('train-dvcnn killed with SIGKILL mid-run resumes to the same final weights and metrics', async () => {
    const cli = resolve('dist/cli.js');
    if (!existsSync(cli)) throw new Error('dist/cli.js missing: run npm run build (npm test does)');
    const dir = join(out, 'killed');
    // the command line the figures' runner gives this config
    const spec = dvcnnSpec({ name: 'killed', config });
    const args = [cli, ...trainArgs(spec, dir, 'wasm', false), '--quiet'];
    await new Promise<void>((done) => {
      const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      p.stdout.setEncoding('utf8');
      p.stdout.on('data', (chunk: string) => {
        text += chunk;
        // killed as soon as it reports epoch 2: before or after that epoch's checkpoint, either must resume
        if (/"epoch":2\b/.test(text)) p.kill('SIGKILL');
      });
      p.on('close', () => done());
    });
    expect(existsSync(join(dir, 'done.json'))).toBe(false);
    const before = metrics(dir).length;
    expect(before).toBeGreaterThanOrEqual(3);
    expect(before).toBeLessThan(config.epochs + 1);
    const resumed = spawnSync(process.execPath, [cli, ...trainArgs(spec, dir, 'wasm', true), '--quiet'], { encoding: 'utf8' });
    expect(resumed.status, resumed.stderr).toBe(0);
    sameFinal(whole, dir);
  });

  it('a run directory made with another config is refused, naming the differences, unless --force', async () => {
    const dir = join(out, 'stopped');
    const other = { ...config, epochs: 1, lr: 0.1, depth: 5 };
    await expect(trainDvcnn(other, { outDir: dir, backend: 'wasm', resume: true })).rejects.toThrow(
      /config\.json: --resume with a different config \(depth: 6 -> 5, lr: 0\.3 -> 0\.1\); use the same options, or --force to start again$/,
    );
    await expect(trainDvcnn(other, { outDir: dir, backend: 'wasm' })).rejects.toThrow(/is not empty; use --resume .* --force/);
    const res = await trainDvcnn(other, { outDir: dir, backend: 'wasm', force: true });
    expect(res.rows.map((r) => r.epoch)).toEqual([0, 1]);
    expect(metrics(dir).length).toBe(2);
    expect(state(dir).epoch).toBe(1);
    expect(existsSync(join(dir, 'layer-stats-epoch-4.json'))).toBe(false);
  });
});

describe('training options', () => {
  it('refuses a bad value or an unknown key with one line naming the option', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ center: 'some' }, /^--center: unknown value 'some'; use none, output, all$/],
      [{ lrScaling: 'adam' }, /^--lr-scaling: unknown value 'adam'/],
      [{ clipNorm: 0 }, /^--clip-norm: must be a positive number/],
      [{ lr: -1 }, /^--lr: /],
      [{ width: 100 }, /^--width: must be 784, 196 or 49/],
      [{ lrStart: 0.01 }, /^--lr-start-epochs: is needed too: --lr-start RATE and --lr-start-epochs N go together/],
      [{ lrStartEpochs: 3 }, /^--lr-start: is needed too/],
      [{ lrStart: 0.01, lrStartEpochs: 0 }, /^--lr-start-epochs: /],
      [{ lrr: 0.1 }, /^lrr: not a train-dvcnn config key; did you mean 'lr'\?$/],
      [{ biasInt: 0 }, /^biasInt: not a train-dvcnn config key; did you mean 'biasInit'\?$/],
    ];
    for (const [over, re] of bad) {
      expect(() => resolveDvcnnConfig({ ...config, ...over })).toThrow(InfoflowError);
      expect(() => resolveDvcnnConfig({ ...config, ...over })).toThrow(re);
    }
  });

  it('the two-step schedule: lrStart for the first lrStartEpochs epochs, then lr', () => {
    const schedule = { lr: 0.001, lrStart: 0.01, lrStartEpochs: 2 };
    expect([1, 2, 3, 10].map((e) => lrOfEpoch(schedule, e))).toEqual([0.01, 0.01, 0.001, 0.001]);
    expect(lrOfEpoch({ lr: 0.001 }, 1)).toBe(0.001);
  });

  it('the trainer steps at lrStart in the first epochs: the same rows as one rate when lrStart = lr, other rows when not', async () => {
    const small = { ...config, center: 'none' as const, lrScaling: 'none' as const, depth: 3, epochs: 2, lr: 0.001 };
    const rows = async (name: string, over: Partial<DvcnnTrainConfig>) => {
      await trainDvcnn({ ...small, ...over }, { outDir: join(out, name), backend: 'wasm' });
      return metrics(join(out, name));
    };
    const one = await rows('lr-one', {});
    expect(await rows('lr-same-start', { lrStart: 0.001, lrStartEpochs: 1 })).toEqual(one);
    const started = await rows('lr-big-start', { lrStart: 1, lrStartEpochs: 1 });
    expect(started[0]).toEqual(one[0]);
    expect(started[1].trainLoss).not.toBe(one[1].trainLoss);
  });

  it('train-dvcnn takes every config key as a flag, and prints one JSON object per epoch with --json', () => {
    const cli = resolve('dist/cli.js');
    const help = spawnSync(process.execPath, [cli, 'train-dvcnn', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    for (const key of Object.keys(DEFAULT_DVCNN_TRAIN)) expect(help.stdout).toContain(`--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} `);
    const dir = join(out, 'cli-json');
    const r = spawnSync(process.execPath, [cli, 'train-dvcnn', '--width', '49', '--depth', '2', '--limit-train', '100', '--limit-val', '50', '--probe', '20', '--epochs', '1', '--out', dir, '--json', '--backend', 'wasm'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.epoch)).toEqual([0, 1]);
    for (const l of lines) for (const k of ['run', 'trainError', 'secondsTrain', 'valLoss']) expect(l).toHaveProperty(k);
    const bad = spawnSync(process.execPath, [cli, 'train-dvcnn', '--out', join(out, 'bad'), '--center', 'sometimes'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe("infoflow: --center: unknown value 'sometimes'; use none, output, all");
  });
});
