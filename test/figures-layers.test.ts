import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getFigure } from '../src/figures/index.js';
import { dataProcessingClaim, layersRuns, runLayersFigure, shownEpochs } from '../src/figures/layers/figure.js';
import type { FigureContext } from '../src/figures/pipeline/figure.js';
import { type MiLayerRow, readMiLayers } from '../src/train/mi-layers.js';
import { readRectangularCsv } from './csv-rectangular.js';

const out = mkdtempSync(join(tmpdir(), 'infoflow-layers-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const ctx = (notes: string[]): FigureContext => ({
  preset: 'quick',
  outDir: out,
  jobs: 2,
  quiet: true,
  json: false,
  force: false,
  backend: 'auto',
  progress: { runStart: () => {}, epoch: () => {}, runEnd: () => {}, note: (m) => notes.push(m), stop: () => {} },
});

const row = (epoch: number, a: number, b: number, mi: number): MiLayerRow => ({ epoch, layer_a: a, layer_b: b, mi, seconds: 0 });

describe('reproduce --figure layers', () => {
  it('shows the first, second, a middle and the last MI epoch', () => {
    expect(shownEpochs([0, 1, 2])).toEqual([0, 1, 2]);
    expect(shownEpochs([0, 5, 10, 15, 20, 25, 30])).toEqual([0, 5, 15, 30]);
  });

  it('checks the data-processing inequality on the MLP rows', () => {
    const holds = dataProcessingClaim([row(0, 1, 2, 3), row(0, 1, 5, 2.9), row(1, 1, 2, 3), row(1, 1, 5, 3.05)], 5);
    expect(holds.supported).toBe(true);
    expect(holds.evidence).toMatch(/^2 of 2 MI epochs hold it; last epoch 1: I\(1;5\) = 3\.05, I\(1;2\) = 3\.00 bits$/);
    const broken = dataProcessingClaim([row(0, 1, 2, 3), row(0, 1, 5, 3.5)], 5);
    expect(broken.supported).toBe(false);
    expect(broken.evidence).toMatch(/broken at epochs 0$/);
    expect(dataProcessingClaim([], 5).supported).toBeNull();
  });

  it('--quick trains the four nets with --mi-layers all and draws their matrices; data.csv is every row of every mi-layers.csv', async () => {
    expect(getFigure('layers').id).toBe('layers');
    const notes: string[] = [];
    const r = await runLayersFigure(ctx(notes));
    expect(r.failed).toEqual([]);
    for (const f of ['figure-layers.svg', 'figure-layers.png', 'data.csv', 'data.json', 'verdicts.md']) expect(existsSync(join(r.dir, f)), f).toBe(true);
    expect(readFileSync(join(r.dir, 'figure-layers.png')).subarray(1, 4).toString()).toBe('PNG');
    const csv = readRectangularCsv(join(r.dir, 'data.csv'));
    // 4 nets x 4 epochs (0..3) x 10 pairs of 5 layers
    expect(csv.length).toBe(160);
    const runs = layersRuns('quick');
    for (const run of runs) {
      const name = `${run.arch}-w${run.width}-d${run.depth}-s${run.seed}`;
      const rows = readMiLayers(join(r.dir, 'runs', name));
      expect(csv.filter((c) => c.run === name).map((c) => [Number(c.epoch), Number(c.layer_a), Number(c.layer_b), Number(c.mi)])).toEqual(rows.map((x) => [x.epoch, x.layer_a, x.layer_b, x.mi]));
      // the first-last pair is the metrics row's MI
      const metrics = readFileSync(join(r.dir, 'runs', name, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      for (const m of metrics) expect(rows.find((x) => x.epoch === m.epoch && x.layer_a === 1 && x.layer_b === 5)!.mi).toBe(m.mi);
    }
    expect(r.verdicts).toHaveLength(1);
    expect(r.verdicts[0].supported).not.toBeNull();
    expect(readFileSync(join(r.dir, 'verdicts.md'), 'utf8')).toMatch(/data-processing inequality/);
    expect(notes.some((n) => n.endsWith('figure-layers.png'))).toBe(true);
  }, 180_000);
});
