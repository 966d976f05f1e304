import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { vc1Claims, vc2Claims, vc3Claims } from '../src/figures/dvcnn/claims.js';
import { figureComplete, runDvcnnFigure } from '../src/figures/dvcnn/figures.js';
import { VC1_PLAN } from '../src/figures/dvcnn/runs.js';
import { getFigure } from '../src/figures/index.js';
import type { FigureContext, FigureProgress } from '../src/figures/pipeline/figure.js';
import type { LayerStats } from '../src/train/dvcnn.js';
import type { MetricsRow } from '../src/train/metrics.js';
import { readRectangularCsv } from './csv-rectangular.js';

const VC1_DEPTHS = { quick: VC1_PLAN.quick.depths };
const out = mkdtempSync(join(tmpdir(), 'infoflow-vc-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function ctx(notes: string[], events: string[]): FigureContext {
  const progress: FigureProgress = {
    runStart: (run) => events.push(`start ${run}`),
    epoch: () => {},
    runEnd: (run, status) => events.push(`${status} ${run}`),
    note: (m) => notes.push(m),
    stop: () => {},
  };
  return { preset: 'quick', outDir: out, jobs: 1, quiet: true, json: false, force: false, backend: 'auto', progress };
}

function row(epoch: number, trainError: number): MetricsRow {
  return { epoch, trainLoss: 1, trainError, valError: trainError, valLoss: 1, mi: null, secondsTrain: 0, secondsForward: 0, secondsMI: 0 };
}

function stats(meanY: (l: number) => number, nearZero: number, q50: number, layers = 10): LayerStats[] {
  return Array.from({ length: layers }, (_, i) => ({ layer: i + 1, meanF: 0.1, meanY: meanY(i + 1), q05: 0, q25: 0, q50, q75: 0, q95: 0, nearZero }));
}

describe('vc claims are computed from the data', () => {
  it('vc1: falling errors and deeper-is-better are recognised, and their opposites are not', () => {
    const good = [1, 5, 10].map((depth) => ({ depth, rows: [row(0, 0.9), row(1, 0.5 - depth / 100)] }));
    expect(vc1Claims(good).map((c) => c.supported)).toEqual([true, true]);
    const flat = [1, 5, 10].map((depth) => ({ depth, rows: [row(0, 0.9), row(1, 0.89 + depth / 1000)] }));
    expect(vc1Claims(flat).map((c) => c.supported)).toEqual([false, false]);
  });
  it('vc2: drift before, much less after', () => {
    const before = stats((l) => 0.7 * l, 0.1, 0.3, 100);
    const after = stats((l) => 0.7 + 0.1 * l, 0.8, 0.01, 100);
    const c = vc2Claims(before, after, [row(0, 0.9), row(5, 0.1)]);
    expect(c.map((x) => x.supported)).toEqual([true, false, true]);
    expect(c[1].evidence).toContain('70.00');
    expect(vc2Claims(before, before, [row(0, 0.9), row(5, 0.2)])[2].supported).toBe(false);
    // a net that did not learn says nothing about the converged net
    expect(vc2Claims(before, after, [row(0, 0.9), row(5, 0.88)])[2].supported).toBe(null);
    expect(vc2Claims(before, after, [row(0, 0.9), row(5, 0.88)])[2].evidence).toMatch(/did not learn/);
  });
  it('vc3: non-linearities pushed to zero', () => {
    expect(vc3Claims(stats(() => 1, 0.1, 0.3), stats(() => 1, 0.8, 0.01), [row(0, 0.9), row(3, 0.2)]).map((c) => c.supported)).toEqual([true, true]);
    expect(vc3Claims(stats(() => 1, 0.5, 0.1), stats(() => 1, 0.2, 0.3), [row(0, 0.9), row(3, 0.3)]).map((c) => c.supported)).toEqual([false, false]);
    expect(vc3Claims(stats(() => 1, 0.1, 0.3), stats(() => 1, 0.8, 0.01), [row(0, 0.9), row(3, 0.85)]).map((c) => c.supported)).toEqual([null, null]);
  });
});

describe('reproduce --figure vc1|vc2|vc3 --quick', () => {
  it('is registered under its ids', () => {
    for (const id of ['vc1', 'vc2', 'vc3']) expect(getFigure(id).id).toBe(id);
  });

  it('vc2 writes SVG, PNG, data and verdicts; vc3 reuses its run instead of training again', async () => {
    const notes: string[] = [];
    const events: string[] = [];
    const r2 = await runDvcnnFigure('vc2', ctx(notes, events));
    expect(r2.failed).toEqual([]);
    expect(figureComplete(r2.dir, 'vc2')).toBe(true);
    expect(readFileSync(join(r2.dir, 'figure-vc2.png')).subarray(1, 4).toString()).toBe('PNG');
    const data = JSON.parse(readFileSync(join(r2.dir, 'data.json'), 'utf8')) as { rows: unknown[] };
    // 12 layers x 3 phases (before, after, after the uncentred control) x 2 quantities
    expect(data.rows.length).toBe(72);
    // the control's phase has a comma in it: data.csv must quote it
    const csv = readRectangularCsv(join(r2.dir, 'data.csv'));
    expect(csv.length).toBe(72);
    expect(csv.filter((r) => r.phase === 'after plain SGD, no centring (control)').length).toBe(24);
    expect(r2.verdicts.length).toBe(3);
    // the untrained quick net drifts: the claim is computed as supported
    expect(r2.verdicts[0].supported).toBe(true);
    const run = join(r2.dir, 'runs', 'dvcnn-sigmoid-b-2-d12-centred');
    for (const f of ['config.json', 'metrics.jsonl', 'metrics.csv', 'done.json', 'layer-stats-epoch-0.json']) expect(existsSync(join(run, f))).toBe(true);
    expect(readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').length).toBe(3);

    const events3: string[] = [];
    const r3 = await runDvcnnFigure('vc3', ctx(notes, events3));
    expect(events3).toEqual(['skipped dvcnn-sigmoid-b-2-d12-centred', 'skipped dvcnn-sigmoid-b-2-d12-plain']);
    expect(r3.verdicts[0].evidence).toMatch(/control, plain SGD without centring/);
    expect(figureComplete(r3.dir, 'vc3')).toBe(true);
    expect(readRectangularCsv(join(r3.dir, 'data.csv')).length).toBe(36);
    expect(readFileSync(join(r3.dir, 'verdicts.md'), 'utf8')).toMatch(/trained nets push most non-linearities to zero \| \*\*(yes|no|inconclusive)\*\*/);
  });

  it('a figure folder made with another configuration is refused; --force trains it again from scratch', async () => {
    const manifest = join(out, 'figure-vc2', 'figure.json');
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { runs: { options: Record<string, unknown> }[] };
    m.runs[0].options.lr = 0.2;
    writeFileSync(manifest, JSON.stringify(m));
    await expect(runDvcnnFigure('vc2', ctx([], []))).rejects.toThrow(/figure-vc2: was made with another configuration.*--force/);
    // without vc3's finished copies of the same runs, which would be reused
    rmSync(join(out, 'figure-vc3'), { recursive: true, force: true });
    const seen: number[] = [];
    const c = ctx([], []);
    const progress = { ...c.progress, epoch: (run: string, row: { epoch: number }) => void (run.endsWith('-centred') && seen.push(row.epoch)) };
    const r = await runDvcnnFigure('vc2', { ...c, force: true, progress });
    expect(r.failed).toEqual([]);
    expect(seen).toEqual([0, 1, 2]);
  });

  it('vc1 trains every quick depth and plots them', async () => {
    const events: string[] = [];
    const r = await runDvcnnFigure('vc1', ctx([], events));
    expect(r.failed).toEqual([]);
    expect(events.filter((e) => e.startsWith('done')).length).toBe(VC1_DEPTHS.quick.length);
    expect(figureComplete(r.dir, 'vc1')).toBe(true);
    const csv = readFileSync(join(r.dir, 'data.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('depth,epoch,trainError,trainLoss,valError');
    expect(readRectangularCsv(join(r.dir, 'data.csv')).length).toBe(VC1_DEPTHS.quick.length * 3);
  });

  it('vc1 with --jobs 2 trains its depths two at a time, with the same numbers as one after the other', async () => {
    if (!existsSync(resolve('dist/cli.js'))) throw new Error('dist/cli.js missing: run npm run build (npm test does)');
    const events: string[] = [];
    const parallel = join(out, 'jobs2');
    const r = await runDvcnnFigure('vc1', { ...ctx([], events), jobs: 2, outDir: parallel });
    expect(r.failed).toEqual([]);
    expect(events.filter((e) => e.startsWith('done')).length).toBe(VC1_DEPTHS.quick.length);
    const rows = (dir: string) => (JSON.parse(readFileSync(join(dir, 'data.json'), 'utf8')) as { rows: unknown[] }).rows;
    expect(rows(r.dir)).toEqual(rows(join(out, 'figure-vc1')));
  });

  it('the CLI runs reproduce --figure vc2 --quick end to end', () => {
    const cli = resolve('dist/cli.js');
    if (!existsSync(cli)) throw new Error('dist/cli.js missing: run npm run build (npm test does)');
    const dir = join(out, 'cli');
    const res = spawnSync(process.execPath, [cli, 'reproduce', '--figure', 'vc2', '--quick', '--out', dir, '--quiet'], { encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    expect(figureComplete(join(dir, 'figure-vc2'), 'vc2')).toBe(true);
  });
});
