import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InfoflowError } from '../src/errors.js';
import { DEFAULT_VC_TRAIN, TrainingStopped, trainDvcnn, validateTrainConfig, type VcTrainConfig } from '../src/vc/train.js';

const out = mkdtempSync(join(tmpdir(), 'infoflow-vc-resume-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

// small and fast: 6 layers of 49 units, 300 images, 4 epochs; centred, so the centres travel in the checkpoint
const config: VcTrainConfig = {
  ...DEFAULT_VC_TRAIN,
  downsample: 4,
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

function state(dir: string): { epoch: number; variables: Record<string, { data: string }> } {
  return JSON.parse(readFileSync(join(dir, 'checkpoint', 'state.json'), 'utf8'));
}

function sameFinal(a: string, b: string): void {
  expect(metrics(b)).toEqual(metrics(a));
  expect(readFileSync(join(b, 'metrics.csv'), 'utf8').trim().split('\n').length).toBe(config.epochs + 2);
  const sa = state(a);
  const sb = state(b);
  expect(sb.epoch).toBe(config.epochs);
  expect(Object.keys(sb.variables).sort()).toEqual(Object.keys(sa.variables).sort());
  for (const k of Object.keys(sa.variables)) expect(sb.variables[k].data, k).toBe(sa.variables[k].data);
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
    const res = await trainDvcnn(config, { outDir: dir, backend: 'wasm', onEpoch: (r) => epochs.push(r.epoch) });
    expect(epochs).toEqual([3, 4]);
    expect(res.rows.map((r) => r.epoch)).toEqual([0, 1, 2, 3, 4]);
    sameFinal(whole, dir);
  });

  it('a child process killed with SIGKILL mid-run resumes to the same final weights and metrics', async () => {
    const child = resolve('dist/vc/child.js');
    if (!existsSync(child)) throw new Error('dist/vc/child.js missing: run npm run build (npm test does)');
    const dir = join(out, 'killed');
    await new Promise<void>((done) => {
      const p = spawn(process.execPath, [child, JSON.stringify({ config, outDir: dir, backend: 'wasm' })], { stdio: ['ignore', 'pipe', 'inherit'] });
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
    await trainDvcnn(config, { outDir: dir, backend: 'wasm' });
    sameFinal(whole, dir);
  });

  it('a run directory made with another config starts again', async () => {
    const dir = join(out, 'stopped');
    const res = await trainDvcnn({ ...config, epochs: 1, lr: 0.1 }, { outDir: dir, backend: 'wasm' });
    expect(res.rows.map((r) => r.epoch)).toEqual([0, 1]);
    expect(metrics(dir).length).toBe(2);
    expect(state(dir).epoch).toBe(1);
  });
});

describe('training options', () => {
  it('refuses an unknown centring or rate scaling and a bad clip norm with one line naming the option', () => {
    const bad: [Partial<VcTrainConfig>, RegExp][] = [
      [{ center: 'some' as never }, /^--center: unknown centring 'some'; use none, output, all$/],
      [{ lrScaling: 'adam' as never }, /^--lr-scaling: unknown scaling 'adam'/],
      [{ clipNorm: 0 }, /^--clip-norm: must be a number > 0/],
      [{ lr: -1 }, /^--lr: /],
    ];
    for (const [over, re] of bad) {
      expect(() => validateTrainConfig({ ...config, ...over })).toThrow(InfoflowError);
      expect(() => validateTrainConfig({ ...config, ...over })).toThrow(re);
    }
  });
});
