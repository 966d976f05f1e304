/**
 * Run-directory checkpoints (src/train/rundir.ts): state.json beside a raw float32 data file, read back bit for
 * bit; the old format (base64 inside state.json) still resumes; one data file is kept; a damaged pair is a
 * clear error naming the file.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InfoflowError } from '../src/errors.js';
import { DVCNN_METRIC_COLUMNS } from '../src/train/metrics.js';
import { type Checkpoint, RunDir } from '../src/train/rundir.js';

const root = mkdtempSync(join(tmpdir(), 'infoflow-checkpoint-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function sample(epoch: number): Checkpoint {
  // values that survive only a bit-exact round trip: subnormals, -0, NaN-free extremes
  const a = Float32Array.from({ length: 12 }, (_, i) => (i - 5.5) / 3 + epoch);
  a[0] = -0;
  a[1] = 1.4e-45;
  a[2] = 3.4e38;
  // a view into a larger buffer: only its own bytes may be written
  const big = new Float32Array(8).fill(7);
  const b = big.subarray(2, 5);
  b.set([1, 2, 3]);
  return { epoch, variables: { a: { shape: [3, 4], data: a }, b: { shape: [3], data: b } }, extra: { steps: epoch * 10, order: [2, 0, 1] } };
}

function errorOf(f: () => unknown): InfoflowError {
  try {
    f();
  } catch (e) {
    if (e instanceof InfoflowError) return e;
    throw e;
  }
  throw new Error('expected an InfoflowError');
}

describe('checkpoints', () => {
  it('round-trips every variable bit for bit and keeps only the current data file', () => {
    const run = new RunDir(join(root, 'round'), DVCNN_METRIC_COLUMNS);
    run.saveCheckpoint(sample(1));
    run.saveCheckpoint(sample(2));
    expect(readdirSync(run.path('checkpoint')).sort()).toEqual(['state.json', 'variables-2.f32']);
    const back = run.loadCheckpoint()!;
    const want = sample(2);
    expect(back.epoch).toBe(2);
    expect(back.extra).toEqual(want.extra);
    for (const k of ['a', 'b']) {
      expect(back.variables[k].shape).toEqual(want.variables[k].shape);
      expect(Buffer.from(back.variables[k].data.buffer)).toEqual(Buffer.from(want.variables[k].data.slice().buffer));
    }
    expect(readFileSync(run.path('checkpoint', 'variables-2.f32')).length).toBe((12 + 3) * 4);
  });

  it('reads the earlier format (every variable base64 inside state.json)', () => {
    const run = new RunDir(join(root, 'format1'), DVCNN_METRIC_COLUMNS);
    run.saveCheckpoint(sample(0));
    const want = sample(3);
    const variables = Object.fromEntries(
      Object.entries(want.variables).map(([k, v]) => [k, { shape: v.shape, data: Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength).toString('base64') }]),
    );
    writeFileSync(run.path('checkpoint', 'state.json'), JSON.stringify({ format: 1, epoch: 3, extra: want.extra, variables }));
    const back = run.loadCheckpoint()!;
    expect(back.epoch).toBe(3);
    expect(Array.from(back.variables.b.data)).toEqual([1, 2, 3]);
    expect(Array.from(back.variables.a.data)).toEqual(Array.from(want.variables.a.data));
  });

  it('a truncated data file or a state.json naming another file is an error naming the file and the fix', () => {
    const run = new RunDir(join(root, 'damaged'), DVCNN_METRIC_COLUMNS);
    run.saveCheckpoint(sample(4));
    const data = run.path('checkpoint', 'variables-4.f32');
    truncateSync(data, 20);
    const e = errorOf(() => run.loadCheckpoint());
    expect(e.message).toBe(`${data}: holds 20 bytes where state.json expects 60 (a damaged checkpoint); start again with --force`);
    const state = run.path('checkpoint', 'state.json');
    writeFileSync(state, JSON.stringify({ ...JSON.parse(readFileSync(state, 'utf8')), data: '../../etc/passwd' }));
    expect(errorOf(() => run.loadCheckpoint()).message).toMatch(/state\.json: names no data file \("\.\.\/\.\.\/etc\/passwd"\); start again with --force$/);
    writeFileSync(state, JSON.stringify({ ...JSON.parse(readFileSync(state, 'utf8')), data: 'variables-9.f32' }));
    expect(errorOf(() => run.loadCheckpoint()).message).toMatch(/variables-9\.f32: the checkpoint's data file cannot be read \(.*\); start again with --force$/);
  });
});
