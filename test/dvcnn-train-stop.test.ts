import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBackgroundMnist } from '../src/data/background.js';
import { DEFAULT_DVCNN_TRAIN, DVCNN_PLATEAU, type DvcnnTrainConfig } from '../src/train/dvcnn-config.js';
import { readTestResult, trainDvcnn } from '../src/train/dvcnn.js';

const out = mkdtempSync(join(tmpdir(), 'infoflow-vc-stop-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

// tiny: 2 layers of 49 units, 50 training images (one step per epoch)
const tiny: DvcnnTrainConfig = { ...DEFAULT_DVCNN_TRAIN, width: 49, depth: 2, limitTrain: 50, limitVal: 50, probe: 20 };

describe('train-dvcnn: stopping rule, test error, weight mean', () => {
  it('--stop plateau ends a run whose validation error does not move at the first epoch the rule allows', async () => {
    // a rate too small to change any prediction: the validation error is flat, so the rule fires at its first chance
    const r = await trainDvcnn({ ...tiny, lr: 1e-12, epochs: 40, stop: 'plateau' }, { outDir: join(out, 'plateau') });
    expect(r.stoppedBy).toBe('plateau');
    expect(r.rows.at(-1)?.epoch).toBe(DVCNN_PLATEAU.minEpochs);
    expect(JSON.parse(readFileSync(join(out, 'plateau', 'done.json'), 'utf8')).stoppedBy).toBe('plateau');
    // the same run capped: all its epochs
    const capped = await trainDvcnn({ ...tiny, lr: 1e-12, epochs: 12, stop: 'cap' });
    expect([capped.stoppedBy, capped.rows.length]).toEqual(['cap', 13]);
  });

  it('--limit-test N scores the first N test images after the last epoch (test.json)', async () => {
    const dir = join(out, 'test');
    const r = await trainDvcnn({ ...tiny, epochs: 0, limitTest: 300 }, { outDir: dir });
    // untrained, the output layer is zero: every logit ties and argmax picks class 0
    const labels = loadBackgroundMnist({ downsample: 4, limitTrain: 1, limitVal: 1, withTest: true, limitTest: 300 }).test?.labels ?? new Uint8Array();
    const notZero = labels.filter((l) => l !== 0).length / labels.length;
    expect(r.test?.n).toBe(300);
    expect(r.test?.testError).toBeCloseTo(notZero, 10);
    expect(readTestResult(dir)).toEqual(r.test);
    expect((await trainDvcnn({ ...tiny, epochs: 0 })).test).toBeUndefined();
  });

  it('--weight-mean shifts every unmasked initial weight: a positive mean raises the untrained mean of f', async () => {
    const zero = await trainDvcnn({ ...tiny, epochs: 0, triangle: 'upper' });
    const pos = await trainDvcnn({ ...tiny, epochs: 0, triangle: 'upper', weightMean: 0.05 });
    const neg = await trainDvcnn({ ...tiny, epochs: 0, triangle: 'upper', weightMean: -0.05 });
    expect(pos.statsBefore[0].meanF).toBeGreaterThan(zero.statsBefore[0].meanF + 0.05);
    expect(neg.statsBefore[0].meanF).toBeLessThan(zero.statsBefore[0].meanF - 0.02);
    // the norm of y is the root of the sum of squares per image: at least sqrt(width) x |mean| (Cauchy-Schwarz)
    for (const s of pos.statsBefore) expect(s.normY).toBeGreaterThanOrEqual(Math.sqrt(49) * Math.abs(s.meanY) - 1e-4);
  });
});
