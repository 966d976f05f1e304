import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { vc1Claims, vc2Claims, vc3Claims } from '../src/figures/dvcnn/claims.js';
import { figureComplete, runDvcnnFigure } from '../src/figures/dvcnn/figures.js';
import { driftRuns, type FinishedRun, PLANS, vc1Runs } from '../src/figures/dvcnn/runs.js';
import { formatDvcnnVerdicts, judgeDvcnn } from '../src/figures/dvcnn/verdicts.js';
import { getFigure } from '../src/figures/index.js';
import type { FigureContext, FigureProgress } from '../src/figures/pipeline/figure.js';
import { DEFAULT_DVCNN_TRAIN, type DvcnnTrainConfig } from '../src/train/dvcnn-config.js';
import type { LayerStats } from '../src/train/dvcnn.js';
import type { MetricsRow } from '../src/train/metrics.js';
import { readRectangularCsv } from './csv-rectangular.js';

const QUICK = PLANS.quick;
// each quick figure trains its runs as child processes; on the shared 2 cores under others' load they take minutes
const HEAVY_MS = 400_000;
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

function row(epoch: number, trainError: number, trainLoss = 1): MetricsRow {
  return { epoch, trainLoss, trainError, valError: trainError, valLoss: 1, mi: null, secondsTrain: 0, secondsForward: 0, secondsMI: 0 };
}

function stats(meanY: (l: number) => number, nearZero: number, layers = 100): LayerStats[] {
  return Array.from({ length: layers }, (_, i) => ({ layer: i + 1, meanF: 0.1, meanY: meanY(i + 1), normY: 28 * meanY(i + 1), q05: 0, q25: 0, q50: 0.1, q75: 0, q95: 0, nearZero }));
}

/** A synthetic finished run; `noise` (per seed) keeps the per-seed values from being identical. */
function run(role: FinishedRun['role'], over: Partial<DvcnnTrainConfig>, rows: MetricsRow[], extra: Partial<FinishedRun> = {}): FinishedRun {
  const config = { ...DEFAULT_DVCNN_TRAIN, ...over };
  return { name: `${role}-${config.activation}-${config.biasInit}-d${config.depth}-s${config.seed}`, role, config, rows, statsBefore: [], statsAfter: [], failed: false, ...extra };
}

const outcomes = (runs: FinishedRun[], claims: typeof vc1Claims) => judgeDvcnn(claims(runs)).map((v) => v.outcome);
const SEEDS = [0, 1, 2, 3];

describe('vc claims, judged three-way on synthetic runs with known answers', () => {
  it('vc1: every depth training and deeper-is-lower are supported; a flat run and shallower-is-lower are not', () => {
    const good = [1, 10, 100].flatMap((depth) => SEEDS.map((seed) => run('depth', { depth, seed }, [row(0, 0.9), row(1, 0.5 - depth / 1000 - seed / 1000)])));
    expect(outcomes(good, vc1Claims)).toEqual(['supported', 'supported']);
    const flat = [1, 10, 100].flatMap((depth) => SEEDS.map((seed) => run('depth', { depth, seed }, [row(0, 0.9), row(1, 0.89 - seed / 1000 + depth / 1000)])));
    expect(outcomes(flat, vc1Claims)).toEqual(['not supported', 'not supported']);
    // one seed: no interval, whatever the values
    expect(outcomes(good.filter((r) => r.config.seed === 0), vc1Claims)).toEqual(['inconclusive', 'inconclusive']);
  });

  it('vc2: drift to over 70 and much less after a net that learned; the opposites, and a net that did not learn', () => {
    const before = (s: number) => stats((l) => 0.75 * l + s / 10, 0.1);
    const drift = (after: (s: number) => LayerStats[], last: number) =>
      SEEDS.map((seed) => run('drift', { depth: 100, seed }, [row(0, 0.9), row(5, last + seed / 100)], { statsBefore: before(seed), statsAfter: after(seed) }));
    const less = drift((s) => stats((l) => 0.1 * l + s / 10, 0.8), 0.1);
    const v = judgeDvcnn(vc2Claims(less));
    expect(v.map((x) => x.outcome).slice(0, 2)).toEqual(['supported', 'supported']);
    // the top layer's mean is 75.x: over 70 by about 5
    expect(v[0].parts[1].interval.estimate).toBeCloseTo(75 + 0.15 - 70, 5);
    const same = drift((s) => before(s), 0.1);
    expect(judgeDvcnn(vc2Claims(same))[1].outcome).toBe('not supported');
    // a net that did not learn (training error within 10 points of the untrained net's) is not the paper's converged net
    const stuck = drift((s) => stats((l) => 0.1 * l + s / 10, 0.8), 0.88);
    expect(judgeDvcnn(vc2Claims(stuck))[1].parts[0].outcome).toBe('not supported');
    // ... so the claim about trained nets cannot be tested: inconclusive, though its drift part is supported
    expect(judgeDvcnn(vc2Claims(stuck))[1].parts[1].outcome).toBe('supported');
    expect(judgeDvcnn(vc2Claims(stuck))[1].outcome).toBe('inconclusive');
    const low = SEEDS.map((seed) => run('drift', { depth: 100, seed }, [row(0, 0.9), row(5, 0.1)], { statsBefore: stats((l) => 0.3 * l + seed / 10, 0.1), statsAfter: stats(() => 1, 0.1) }));
    expect(judgeDvcnn(vc2Claims(low))[0].parts.map((p) => p.outcome)).toEqual(['supported', 'not supported']);
  });

  it('vc2: ReLU problems, sigmoid and tanh training, bias inits of ±2 generalising best', () => {
    const test = (testError: number) => ({ epoch: 5, n: 1000, testError, testLoss: 1 });
    const inits = SEEDS.flatMap((seed) => [
      run('init', { activation: 'relu', biasInit: 0, seed }, [row(0, 0.9), row(1, 0.9, Number.NaN)]),
      ...(['sigmoid', 'tanh'] as const).flatMap((activation) =>
        [-2, -1, 0, 1, 2].map((biasInit) => run('init', { activation, biasInit, seed }, [row(0, 0.9), row(5, 0.3)], { test: test(0.2 + 0.02 * Math.abs(3 - Math.abs(biasInit)) * (Math.abs(biasInit) < 2 ? 1 : 0) + seed / 1000) })),
      ),
    ]);
    const v = judgeDvcnn(vc2Claims(inits));
    const byId = Object.fromEntries(v.map((x) => [x.claim.id, x]));
    expect(byId['vc2-relu'].outcome).toBe('supported');
    expect(byId['vc2-sigmoid-tanh'].outcome).toBe('supported');
    expect(byId['vc2-bias'].outcome).toBe('supported');
    // +-2 is 6 points better than 0 and 4 points better than +-1
    expect(byId['vc2-bias'].parts[0].interval.estimate).toBeCloseTo(0.06, 6);
    expect(byId['vc2-bias'].parts[1].interval.estimate).toBeCloseTo(0.04, 6);
    // reversed: +-2 worst; and a ReLU that stays finite
    const reversed = inits.map((r) => (r.test ? { ...r, test: test(0.4 - r.test.testError) } : { ...r, rows: [row(0, 0.9), row(1, 0.5 + r.config.seed / 100)] }));
    const w = Object.fromEntries(judgeDvcnn(vc2Claims(reversed)).map((x) => [x.claim.id, x.outcome]));
    expect([w['vc2-relu'], w['vc2-bias']]).toEqual(['not supported', 'not supported']);
  });

  it('vc3: most non-linearities pushed to zero, and not', () => {
    const mk = (after: number) => SEEDS.map((seed) => run('drift', { depth: 100, seed }, [row(0, 0.9), row(3, 0.2)], { statsBefore: stats(() => 1, 0.3 + seed / 100), statsAfter: stats(() => 1, after + seed / 100) }));
    expect(judgeDvcnn(vc3Claims(mk(0.8)))[0].outcome).toBe('supported');
    expect(judgeDvcnn(vc3Claims(mk(0.3)))[0].outcome).toBe('not supported');
    // no centred runs given: nothing measured, inconclusive
    expect(judgeDvcnn(vc3Claims(mk(0.8)))[1].outcome).toBe('inconclusive');
  });

  it('the table names effect, interval, n, rule and conditions in every row', () => {
    const runs = [1, 10].flatMap((depth) => SEEDS.map((seed) => run('depth', { depth, seed, limitTrain: 500 }, [row(0, 0.9), row(1, 0.5 - depth / 1000 - seed / 1000)])));
    const md = formatDvcnnVerdicts('t', judgeDvcnn(vc1Claims(runs)));
    expect(md).toMatch(/\| Claim \(paper, section\) \| Verdict \| Effect \| Estimate \[95 % CI\] \| n \| Rule \| Part \| Conditions \|/);
    expect(md).toMatch(/10 layers: untrained minus best training error, per seed \| \+41\.\d\d points \[\+4\d\.\d\d, \+41\.\d\d\] \| 4 \| supported if the 95 % interval lies above \+5\.00 points/);
    expect(md).toContain('784 units, sigmoid, bias -2, depths 1/10, plain SGD lr 0.01, batch 50, 500 training / 2000 validation images');
  });
});

describe('presets', () => {
  it('train every run with plain SGD at one rate; the default keeps 784 units; the centred runs are the ablation', () => {
    for (const preset of ['quick', 'default', 'full'] as const) {
      const runs = [...vc1Runs(preset), ...driftRuns(preset)];
      const plain = runs.filter((r) => r.role !== 'drift-centred');
      expect(new Set(plain.map((r) => `${r.config.lr} ${r.config.center}`)).size).toBe(1);
      expect(plain[0].config.center).toBe('none');
      expect(runs.filter((r) => r.role === 'drift-centred').every((r) => r.config.center === 'all')).toBe(true);
      expect(new Set(runs.map((r) => r.name)).size).toBe(runs.length);
    }
    expect(vc1Runs('default').every((r) => r.config.width === 784)).toBe(true);
    expect(driftRuns('default').every((r) => r.config.width === 784)).toBe(true);
    expect(Math.max(...PLANS.full.depths)).toBe(1000);
    expect(driftRuns('full').find((r) => r.role === 'init')?.config.limitTest).toBe(50_000);
  });
});

describe('reproduce --figure vc1|vc2|vc3 --quick', () => {
  it('is registered under its ids', () => {
    for (const id of ['vc1', 'vc2', 'vc3']) expect(getFigure(id).id).toBe(id);
  });

  it('vc2 writes SVG, PNG, data and verdicts; vc3 reuses its runs instead of training again', async () => {
    const notes: string[] = [];
    const events: string[] = [];
    const r2 = await runDvcnnFigure('vc2', { ...ctx(notes, events), jobs: 2 });
    expect(r2.failed).toEqual([]);
    expect(figureComplete(r2.dir, 'vc2')).toBe(true);
    expect(readFileSync(join(r2.dir, 'figure-vc2.png')).subarray(1, 4).toString()).toBe('PNG');
    const L = QUICK.driftDepth;
    // per layer and seed: before and after plain SGD (every seed), after centred SGD (the ablation's seeds)
    const curves = 2 * QUICK.seeds.length + QUICK.ablationSeeds.length;
    const csv = readRectangularCsv(join(r2.dir, 'data.csv'));
    expect(csv.length).toBe(L * curves * 2);
    expect(csv.filter((r) => r.phase === 'after centred SGD (ablation)').length).toBe(L * QUICK.ablationSeeds.length * 2);
    // untrained drift, after plain SGD, after centred SGD, ReLU, sigmoid and tanh, bias inits
    expect(r2.verdicts.length).toBe(6);
    const md = readFileSync(join(r2.dir, 'verdicts.md'), 'utf8');
    expect(md).toMatch(/Estimate \[95 % CI\] \| n \| Rule/);
    // the init runs were scored on the test images
    const data = JSON.parse(readFileSync(join(r2.dir, 'data.json'), 'utf8')) as { runs: { role: string; test: { n: number } | null }[] };
    const inits = data.runs.filter((r) => r.role === 'init');
    expect(inits.length).toBe(3);
    expect(inits.every((r) => r.test?.n === QUICK.limitTest)).toBe(true);
    const run = join(r2.dir, 'runs', `drift-d${L}-s0`);
    for (const f of ['config.json', 'metrics.jsonl', 'metrics.csv', 'done.json', 'layer-stats-epoch-0.json']) expect(existsSync(join(run, f))).toBe(true);
    expect(readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').length).toBe(3);

    const events3: string[] = [];
    const r3 = await runDvcnnFigure('vc3', ctx(notes, events3));
    expect(events3.sort()).toEqual([`skipped drift-d${L}-centred-s0`, `skipped drift-d${L}-s0`, `skipped drift-d${L}-s1`]);
    expect(figureComplete(r3.dir, 'vc3')).toBe(true);
    expect(readRectangularCsv(join(r3.dir, 'data.csv')).length).toBe(L * curves);
    expect(readFileSync(join(r3.dir, 'verdicts.md'), 'utf8')).toMatch(/trained nets \(plain SGD\) push most non-linearities to zero.*\| \*\*(supported|not supported|inconclusive)\*\*/);
  }, HEAVY_MS);

  it('a figure folder made with another configuration is refused; --force trains it again from scratch', async () => {
    const manifest = join(out, 'figure-vc3', 'figure.json');
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { runs: { options: Record<string, unknown> }[] };
    m.runs[0].options.lr = 0.2;
    writeFileSync(manifest, JSON.stringify(m));
    await expect(runDvcnnFigure('vc3', ctx([], []))).rejects.toThrow(/figure-vc3: was made with another configuration.*--force/);
    // without vc2's finished copies of the same runs, which would be reused
    rmSync(join(out, 'figure-vc2'), { recursive: true, force: true });
    const seen: number[] = [];
    const c = ctx([], []);
    const progress = { ...c.progress, epoch: (run: string, row: { epoch: number }) => void (run === `drift-d${QUICK.driftDepth}-s0` && seen.push(row.epoch)) };
    const r = await runDvcnnFigure('vc3', { ...c, force: true, progress });
    expect(r.failed).toEqual([]);
    expect(seen).toEqual([0, 1, 2]);
  }, HEAVY_MS);

  it('vc1 trains every quick depth and plots them', async () => {
    const events: string[] = [];
    const r = await runDvcnnFigure('vc1', ctx([], events));
    expect(r.failed).toEqual([]);
    expect(events.filter((e) => e.startsWith('done')).length).toBe(QUICK.depths.length * QUICK.seeds.length);
    expect(figureComplete(r.dir, 'vc1')).toBe(true);
    const csv = readFileSync(join(r.dir, 'data.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('depth,seed,epoch,trainError,trainLoss,valError');
    expect(readRectangularCsv(join(r.dir, 'data.csv')).length).toBe(QUICK.depths.length * QUICK.seeds.length * 3);
    expect(r.verdicts.length).toBe(2);
  }, HEAVY_MS);

  it('vc1 with --jobs 2 trains its depths two at a time, with the same numbers as one after the other', async () => {
    if (!existsSync(resolve('dist/cli.js'))) throw new Error('dist/cli.js missing: run npm run build (npm test does)');
    const events: string[] = [];
    const parallel = join(out, 'jobs2');
    const r = await runDvcnnFigure('vc1', { ...ctx([], events), jobs: 2, outDir: parallel });
    expect(r.failed).toEqual([]);
    expect(events.filter((e) => e.startsWith('done')).length).toBe(QUICK.depths.length * QUICK.seeds.length);
    const rows = (dir: string) => (JSON.parse(readFileSync(join(dir, 'data.json'), 'utf8')) as { rows: unknown[] }).rows;
    expect(rows(r.dir)).toEqual(rows(join(out, 'figure-vc1')));
  }, HEAVY_MS);

  it('the CLI runs reproduce --figure vc3 --quick end to end', () => {
    const cli = resolve('dist/cli.js');
    if (!existsSync(cli)) throw new Error('dist/cli.js missing: run npm run build (npm test does)');
    const dir = join(out, 'cli');
    const res = spawnSync(process.execPath, [cli, 'reproduce', '--figure', 'vc3', '--quick', '--out', dir, '--quiet'], { encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    expect(figureComplete(join(dir, 'figure-vc3'), 'vc3')).toBe(true);
  }, HEAVY_MS);
});
