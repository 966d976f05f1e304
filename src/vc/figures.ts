/**
 * The DVCNN figures of Unterthiner & Hochreiter, for `reproduce --figure vc1|vc2|vc3`:
 *   vc1  training error per epoch for several depths (paper Figure 1)
 *   vc2  mean of the layer output y and of f per layer, before and after training (paper Figure 2)
 *   vc3  distribution of f per layer (quantile bands), before and after training (paper Figure 3)
 * Each writes <outDir>/figure-<id>/: figure-<id>.svg/.png, data.csv, data.json, verdicts.md, runs/<run>/.
 * Runs train --jobs at a time (default: the core count; vc1's depths, vc2/vc3's run and its uncentred
 * control), each in a child process (src/vc/child.ts); with --jobs 1 one after the other in this process. A
 * run with done.json and the same config is reused, an interrupted one resumes from its last epoch's
 * checkpoint (--force: starts again), and vc2/vc3 share their runs (those found in the sibling folder are
 * copied rather than trained twice). Training: plain SGD in the centred parametrisation (Dvcnn.setCenters;
 * docs/DVCNN.md says why).
 *
 * Presets (sized for a 2-core machine; 'full' is the paper's setting and needs a GPU-class budget):
 *   quick    seconds: 49 features (4x4 downsampling), 300 training images, 2 epochs, depths 1/3/6 and 12
 *   default  minutes: 196 features (2x2), 2,000 training images; vc1 depths 1/5/10/25 x 8 epochs (tanh), vc2/vc3
 *            the paper's 100-layer sigmoid net with bias -2 x 10 epochs, plus its uncentred control. At 196
 *            features a step costs ~4-10 ms per layer (bench/dvcnn.ts), so a 100-layer run is ~3-7 minutes;
 *            at 784 it is ~25x more.
 *   full     784 features, the paper's 10,000 / 2,000 split; vc1 depths 1/10/100/500/1000 x 100 epochs.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type BackendName, parseBackend } from '../backend.js';
import { ioError } from '../errors.js';
import { type FigureContext, type FigureDefinition, type FigureResult, type Preset, registerFigure } from '../figures/registry.js';
import { writeChart } from '../figures/render.js';
import { cliPath, lastErrorLine, readMetrics } from '../figures/runner.js';
import { type Claim, fmt, majority, writeVerdicts } from '../figures/verdicts.js';
import { DEFAULT_VC_TRAIN, type LayerStats, trainDvcnn, type VcMetricsRow, type VcTrainConfig } from './train.js';

export type VcFigureId = 'vc1' | 'vc2' | 'vc3';

interface VcRun {
  name: string;
  config: VcTrainConfig;
}

interface FinishedRun extends VcRun {
  dir: string;
  rows: VcMetricsRow[];
  statsBefore: LayerStats[];
  statsAfter: LayerStats[];
  status: 'done' | 'skipped' | 'failed';
  error?: string;
}

const SIZE: Record<Preset, Pick<VcTrainConfig, 'downsample' | 'limitTrain' | 'limitVal' | 'probe'>> = {
  quick: { downsample: 4, limitTrain: 300, limitVal: 100, probe: 100 },
  default: { downsample: 2, limitTrain: 2000, limitVal: 500, probe: 300 },
  full: { downsample: 1, limitTrain: undefined, limitVal: undefined, probe: 500 },
};

export const VC1_DEPTHS: Record<Preset, number[]> = { quick: [1, 3, 6], default: [1, 5, 10, 25], full: [1, 10, 100, 500, 1000] };
const VC1_EPOCHS: Record<Preset, number> = { quick: 2, default: 8, full: 100 };
/** the drift net: the paper's 100 layers (quick: 12) */
const VC2_DEPTH: Record<Preset, number> = { quick: 12, default: 100, full: 100 };
const VC2_EPOCHS: Record<Preset, number> = { quick: 2, default: 10, full: 100 };

/**
 * vc1: tanh with zero biases (no drift), every depth with the same hyperparameters (as the paper): centred SGD
 * at lr 0.1. Tanh's error signal grows ~140x over 200 layers (test/dvcnn-gradients.test.ts), so lr 0.3 made
 * the 25-layer net jump to a loss of 34 (docs/DVCNN.md).
 */
export function vc1Runs(preset: Preset): VcRun[] {
  return VC1_DEPTHS[preset].map((depth) => ({
    name: `dvcnn-tanh-d${depth}-centred`,
    config: { ...DEFAULT_VC_TRAIN, ...SIZE[preset], activation: 'tanh', biasInit: 0, depth, epochs: VC1_EPOCHS[preset], lr: 0.1, batchSize: 50, center: 'all' },
  }));
}

/**
 * vc2 and vc3: one sigmoid net with every bias at -2 (the paper's drift figures), trained by plain SGD in the
 * centred parametrisation (Dvcnn.setCenters) at lr 0.3: the untrained net is exactly the paper's, but without
 * centring the drifted inputs (~37 per unit at layer 100) make SGD unstable at any rate that moves the net
 * (docs/DVCNN.md, "Making the 100-layer net learn").
 */
export function driftRun(preset: Preset): VcRun {
  const depth = VC2_DEPTH[preset];
  return {
    name: `dvcnn-sigmoid-b-2-d${depth}-centred`,
    config: { ...DEFAULT_VC_TRAIN, ...SIZE[preset], activation: 'sigmoid', biasInit: -2, depth, epochs: VC2_EPOCHS[preset], lr: 0.3, batchSize: 50, center: 'all' },
  };
}

/**
 * The control beside vc2/vc3's run: the same net trained by plain SGD without centring at lr 0.01 (the rate the
 * earlier runs used). It does not learn, but it shows what uncentred SGD does to the drift and to f.
 */
export function driftControlRun(preset: Preset): VcRun {
  const depth = VC2_DEPTH[preset];
  return {
    name: `dvcnn-sigmoid-b-2-d${depth}-plain`,
    config: { ...DEFAULT_VC_TRAIN, ...SIZE[preset], activation: 'sigmoid', biasInit: -2, depth, epochs: VC2_EPOCHS[preset], lr: 0.01, batchSize: 50 },
  };
}

/** Runs `specs` --jobs at a time (child processes when more than one at once); results in spec order. */
async function runMany(specs: VcRun[], figureDir: string, ctx: FigureContext, backend: BackendName, siblings: string[]): Promise<FinishedRun[]> {
  const runs: FinishedRun[] = new Array(specs.length);
  const jobs = Math.max(1, Math.min(ctx.jobs, specs.length));
  let next = 0;
  const worker = async () => {
    while (next < specs.length) {
      const i = next++;
      runs[i] = await runOne(specs[i], figureDir, ctx, backend, siblings, jobs > 1);
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  return runs;
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** A finished run in `dir` made with exactly `config`, or undefined. */
function loadFinished(run: VcRun, dir: string): FinishedRun | undefined {
  const done = readJson<{ epochs: number }>(join(dir, 'done.json'));
  const cfg = readJson<Record<string, unknown>>(join(dir, 'config.json'));
  if (!done || !cfg) return undefined;
  for (const [k, v] of Object.entries(run.config)) if (v !== undefined && JSON.stringify(cfg[k]) !== JSON.stringify(v)) return undefined;
  const rows = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as VcMetricsRow);
  const statsBefore = readJson<LayerStats[]>(join(dir, 'layer-stats-epoch-0.json'));
  const statsAfter = readJson<LayerStats[]>(join(dir, `layer-stats-epoch-${done.epochs}.json`));
  if (!statsBefore || !statsAfter) return undefined;
  return { ...run, dir, rows, statsBefore, statsAfter, status: 'skipped' };
}

/** The worker script: dist/vc/child.js beside the CLI that src/figures/runner.ts spawns. */
export function childPath(): string {
  return join(dirname(cliPath()), 'vc', 'child.js');
}

/** Trains one run in a child process (src/vc/child.ts); never rejects: a failure is an outcome. */
function runInChild(run: VcRun, dir: string, ctx: FigureContext, backend: BackendName): Promise<FinishedRun> {
  const total = run.config.epochs + 1;
  return new Promise((resolveRun) => {
    const job = { config: run.config, outDir: dir, backend, resume: !ctx.force };
    const child = spawn(process.execPath, [childPath(), JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl).trim();
        out = out.slice(nl + 1);
        try {
          const row = JSON.parse(line) as VcMetricsRow;
          if (typeof row.epoch === 'number') ctx.progress.epoch(run.name, row, total);
        } catch {
          // not a metrics line
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      err = (err + chunk).slice(-20000);
    });
    const finish = (code: number | null, signal: string | null, spawnError?: Error) => {
      const lines = err.split('\n').map((l) => l.trim()).filter(Boolean);
      for (const l of lines) if (l.startsWith('warning: ')) ctx.progress.note(`${run.name}: ${l.slice(9)}`);
      const done = code === 0 ? loadFinished(run, dir) : undefined;
      if (done) {
        ctx.progress.runEnd(run.name, 'done');
        resolveRun({ ...done, status: 'done' });
        return;
      }
      const error =
        spawnError?.message ?? (signal ? `the run was killed (${signal})` : lastErrorLine(lines) || `the run's process exited with code ${code} without finishing`);
      ctx.progress.runEnd(run.name, 'failed', error);
      resolveRun({ ...run, dir, rows: [], statsBefore: [], statsAfter: [], status: 'failed', error });
    };
    child.on('error', (e) => finish(null, null, e));
    child.on('close', (code, signal) => finish(code, signal));
  });
}

async function runOne(run: VcRun, figureDir: string, ctx: FigureContext, backend: BackendName, siblings: string[], inChild = false): Promise<FinishedRun> {
  const dir = join(figureDir, 'runs', run.name);
  if (!ctx.force) {
    const here = loadFinished(run, dir);
    if (here) {
      ctx.progress.runEnd(run.name, 'skipped');
      return here;
    }
    for (const sib of siblings) {
      const other = loadFinished(run, join(sib, 'runs', run.name));
      if (other) {
        try {
          cpSync(other.dir, dir, { recursive: true });
        } catch (e) {
          throw ioError(dir, `cannot copy the shared run (${(e as Error).message}); choose a writable --out`, e);
        }
        ctx.progress.note(`reused ${other.dir}`);
        ctx.progress.runEnd(run.name, 'skipped');
        return { ...other, dir };
      }
    }
  }
  const total = run.config.epochs + 1;
  const recorded = readMetrics(dir).length;
  ctx.progress.runStart(run.name, total, recorded);
  if (inChild) return runInChild(run, dir, ctx, backend);
  try {
    const res = await trainDvcnn(run.config, {
      outDir: dir,
      backend,
      // --force: start again even from a finished run's last checkpoint
      resume: !ctx.force,
      onEpoch: (row) => ctx.progress.epoch(run.name, row, total),
    });
    for (const w of res.warnings) ctx.progress.note(`${run.name}: ${w}`);
    ctx.progress.runEnd(run.name, 'done');
    return { ...run, dir, rows: res.rows, statsBefore: res.statsBefore, statsAfter: res.statsAfter, status: 'done' };
  } catch (e) {
    // a bad option is the user's to fix: it stops the figure; anything else fails this run only
    if ((e as { kind?: string }).kind === 'usage') throw e;
    const error = (e as Error).message.split('\n')[0];
    ctx.progress.runEnd(run.name, 'failed', error);
    return { ...run, dir, rows: [], statsBefore: [], statsAfter: [], status: 'failed', error };
  }
}

function writeData(figureDir: string, rows: Record<string, unknown>[], extra: object): string[] {
  const csv = join(figureDir, 'data.csv');
  const json = join(figureDir, 'data.json');
  const cols = rows.length ? Object.keys(rows[0]) : [];
  try {
    writeFileSync(csv, `${[cols.join(','), ...rows.map((r) => cols.map((c) => String(r[c] ?? '')).join(','))].join('\n')}\n`);
    writeFileSync(json, `${JSON.stringify({ ...extra, rows }, null, 2)}\n`);
  } catch (e) {
    throw ioError(figureDir, `cannot write the figure data (${(e as Error).message}); choose a writable --out`, e);
  }
  return [csv, json];
}

const pct = (x: number) => `${fmt(100 * x, 1)}%`;

// ---------------------------------------------------------------- claims (computed from the data)

export function vc1Claims(runs: { depth: number; rows: VcMetricsRow[] }[]): Claim[] {
  const ok = runs.filter((r) => r.rows.length > 1);
  const fell = ok.filter((r) => {
    const first = r.rows[0].trainError;
    const best = Math.min(...r.rows.map((x) => x.trainError));
    return Number.isFinite(best) && best < first - 0.05;
  });
  const best = ok.map((r) => ({ depth: r.depth, err: Math.min(...r.rows.map((x) => x.trainError)) })).sort((a, b) => a.depth - b.depth);
  let pairs = 0;
  let agree = 0;
  for (let i = 0; i < best.length; i++) for (let j = i + 1; j < best.length; j++) {
    pairs++;
    if (best[j].err < best[i].err - 0.005) agree++;
  }
  const table = best.map((b) => `depth ${b.depth}: ${pct(b.err)}`).join(', ');
  return [
    {
      claim: 'DVCNNs of every depth train: the training error falls (no vanishing gradients, Figure 1)',
      supported: majority(fell.length, ok.length),
      evidence: `${fell.length} of ${ok.length} depths lowered their training error by more than 5 points below the untrained net's (best: ${table})`,
    },
    {
      claim: 'deeper nets reach a lower training error',
      supported: majority(agree, pairs),
      evidence: `${agree} of ${pairs} pairs of depths have the deeper net at least 0.5 points lower (best training error: ${table})`,
    },
  ];
}

/** Whether a run learned at all: its training error ended at least 10 points below the untrained net's. */
export function converged(rows: VcMetricsRow[]): boolean {
  return rows.length > 1 && rows[rows.length - 1].trainError < rows[0].trainError - 0.1;
}

/** vc2/vc3 phases: the untrained net, after centred SGD (it learns), after plain uncentred SGD (the control) */
const PHASES = ['before training', 'after training', 'after plain SGD, no centring (control)'] as const;

/** The uncentred control run's end state, for the evidence lines. */
interface Control {
  after: LayerStats[];
  rows: VcMetricsRow[];
}

function controlNote(c: Control | undefined, what: string): string {
  if (!c || c.after.length === 0) return '';
  const last = c.rows[c.rows.length - 1];
  return `; control, plain SGD without centring (lr 0.01, ${pct(last.trainError)} training error after ${last.epoch} epochs${converged(c.rows) ? '' : ': it did not learn'}): ${what}`;
}

export function vc2Claims(before: LayerStats[], after: LayerStats[], rows: VcMetricsRow[], control?: Control): Claim[] {
  if (before.length === 0 || after.length === 0) {
    return [{ claim: 'drift (Figure 2)', supported: null, evidence: 'the run did not finish' }];
  }
  const L = before.length;
  let rising = 0;
  for (let l = 1; l < L; l++) if (before[l].meanY > before[l - 1].meanY) rising++;
  const topB = before[L - 1].meanY;
  const topA = after[L - 1].meanY;
  const last = rows[rows.length - 1];
  const trained = `after ${last.epoch} epochs at ${pct(last.trainError)} training error (${pct(rows[0].trainError)} untrained)`;
  const learned = converged(rows);
  return [
    {
      claim: 'untrained, the mean activation grows from layer to layer (drift effect)',
      supported: majority(rising, L - 1) === true && topB > before[0].meanY + 1 ? true : rising <= 0.25 * (L - 1) ? false : null,
      evidence: `mean of y rises in ${rising} of ${L - 1} layer steps, from ${fmt(before[0].meanY)} (layer 1) to ${fmt(topB)} (layer ${L})`,
    },
    {
      claim: 'untrained, the top layer mean reaches over 70 (100 layers, 784 units)',
      supported: L < 100 ? null : topB > 70,
      evidence: `top layer mean ${fmt(topB)} at ${L} layers${L < 100 ? ' (fewer than the paper\'s 100 layers: not comparable)' : ''}; the height depends on width and weight init, which the paper does not give`,
    },
    {
      claim: 'after training the drift is still there but much less pronounced',
      supported: !learned ? null : topA < 0.5 * topB && topA > before[0].meanY ? true : topA >= 0.9 * topB ? false : null,
      evidence: `${learned ? '' : 'the net did not learn (training error within 10 points of chance), so this is not the paper\'s converged net: '}top layer mean ${fmt(topB)} before, ${fmt(topA)} after (${fmt((100 * topA) / topB, 0)}% of before), ${trained}${controlNote(control, control && control.after.length ? `top layer mean ${fmt(control.after[L - 1].meanY)} (${fmt((100 * control.after[L - 1].meanY) / topB, 0)}% of before)` : '')}`,
    },
  ];
}

export function vc3Claims(before: LayerStats[], after: LayerStats[], rows: VcMetricsRow[], control?: Control): Claim[] {
  if (before.length === 0 || after.length === 0) {
    return [{ claim: 'distribution of f (Figure 3)', supported: null, evidence: 'the run did not finish' }];
  }
  const L = before.length;
  const avg = (s: LayerStats[], k: keyof LayerStats) => s.reduce((a, x) => a + (x[k] as number), 0) / s.length;
  const zb = avg(before, 'nearZero');
  const za = avg(after, 'nearZero');
  let lower = 0;
  // a change below 0.01 (on f's 0..1 scale) does not count
  for (let l = 0; l < L; l++) if (after[l].q50 < before[l].q50 - 0.01) lower++;
  const last = rows[rows.length - 1];
  const learned = converged(rows);
  const caveat = learned ? '' : 'the net did not learn (training error within 10 points of chance), so this is not the paper\'s converged net: ';
  return [
    {
      claim: 'trained nets push most non-linearities to zero',
      supported: !learned ? null : za > 0.5 && za > zb + 0.05 ? true : za <= zb + 0.05 ? false : null,
      evidence: `${caveat}share of f < 0.05 over all layers: ${pct(zb)} before, ${pct(za)} after (${last.epoch} epochs, ${pct(last.trainError)} training error)${controlNote(control, control && control.after.length ? `${pct(avg(control.after, 'nearZero'))} after` : '')}`,
    },
    {
      claim: 'the typical (median) value of f falls with training',
      supported: learned ? majority(lower, L) : null,
      evidence: `${caveat}median of f lower by more than 0.01 after training in ${lower} of ${L} layers (mean median ${fmt(avg(before, 'q50'), 3)} -> ${fmt(avg(after, 'q50'), 3)})${controlNote(control, control && control.after.length ? `mean median ${fmt(avg(control.after, 'q50'), 3)}` : '')}`,
    },
  ];
}

// ---------------------------------------------------------------- charts

function vc1Spec(points: Record<string, unknown>[], title: string): object {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 420,
    height: 280,
    data: { values: points },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
      y: { field: 'trainError', type: 'quantitative', title: 'training error', axis: { format: '.0%' } },
      color: { field: 'depth', type: 'ordinal', title: 'layers' },
    },
  };
}

function vc2Spec(points: Record<string, unknown>[], title: string): object {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: points },
    facet: { column: { field: 'quantity', type: 'nominal', title: null, sort: ['mean of layer output y = x + f', 'mean of f'] } },
    spec: {
      width: 320,
      height: 240,
      mark: { type: 'line' },
      encoding: {
        x: { field: 'layer', type: 'quantitative', title: 'layer' },
        y: { field: 'value', type: 'quantitative', title: 'mean over units and images' },
        color: { field: 'phase', type: 'nominal', title: null, sort: [...PHASES], legend: { labelLimit: 400, orient: 'bottom', direction: 'vertical' } },
        // before and after can coincide (centred SGD leaves the drift): dashes keep both visible
        strokeDash: { field: 'phase', type: 'nominal', title: null, sort: [...PHASES] },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

function vc3Spec(points: Record<string, unknown>[], title: string): object {
  const enc = { x: { field: 'layer', type: 'quantitative', title: 'layer' } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: points },
    facet: { column: { field: 'phase', type: 'nominal', title: null, sort: [...PHASES] } },
    spec: {
      width: 260,
      height: 240,
      layer: [
        { mark: { type: 'area', opacity: 0.25, color: '#4c78a8' }, encoding: { ...enc, y: { field: 'q05', type: 'quantitative', title: 'f (5-95%, 25-75%, median)', scale: { domain: [0, 1] } }, y2: { field: 'q95' } } },
        { mark: { type: 'area', opacity: 0.5, color: '#4c78a8' }, encoding: { ...enc, y: { field: 'q25', type: 'quantitative' }, y2: { field: 'q75' } } },
        { mark: { type: 'line', color: '#1f3b5c' }, encoding: { ...enc, y: { field: 'q50', type: 'quantitative' } } },
        { mark: { type: 'line', color: '#e45756', strokeDash: [4, 3] }, encoding: { ...enc, y: { field: 'nearZero', type: 'quantitative' } } },
      ],
    },
  };
}

// ---------------------------------------------------------------- the figures

export async function runVcFigure(id: VcFigureId, ctx: FigureContext): Promise<FigureResult> {
  const figureDir = join(ctx.outDir, `figure-${id}`);
  const backend = parseBackend(ctx.backend || 'auto');
  const base = join(figureDir, `figure-${id}`);
  const files: string[] = [];
  const failed: { run: string; error: string }[] = [];
  let claims: Claim[];
  if (id === 'vc1') {
    // --jobs runs at once, each in its own process (one wasm thread each); --jobs 1: one after the other, here
    const runs = await runMany(vc1Runs(ctx.preset), figureDir, ctx, backend, []);
    for (const r of runs) if (r.status === 'failed') failed.push({ run: r.name, error: r.error ?? 'failed' });
    const points = runs.flatMap((r) => r.rows.map((row) => ({ depth: r.config.depth, epoch: row.epoch, trainError: row.trainError, trainLoss: row.trainLoss, valError: row.valError })));
    files.push(...writeData(figureDir, points, { figure: id, preset: ctx.preset, runs: runs.map((r) => ({ name: r.name, config: r.config })) }));
    const f = SIZE[ctx.preset];
    const chart = await writeChart(vc1Spec(points, `DVCNN training error by depth (MNIST-bg-rand, ${(28 / f.downsample) ** 2} features, tanh)`), base);
    files.push(chart.svg, chart.png);
    claims = vc1Claims(runs.map((r) => ({ depth: r.config.depth, rows: r.rows })));
  } else {
    const sibling = join(ctx.outDir, `figure-${id === 'vc2' ? 'vc3' : 'vc2'}`);
    const [r, plain] = await runMany([driftRun(ctx.preset), driftControlRun(ctx.preset)], figureDir, ctx, backend, [sibling]);
    for (const x of [r, plain]) if (x.status === 'failed') failed.push({ run: x.name, error: x.error ?? 'failed' });
    const phases = [
      [PHASES[0], r.statsBefore],
      [PHASES[1], r.statsAfter],
      [PHASES[2], plain.statsAfter],
    ] as const;
    const control = plain.rows.length ? { after: plain.statsAfter, rows: plain.rows } : undefined;
    if (id === 'vc2') {
      const points = phases.flatMap(([phase, stats]) =>
        stats.flatMap((s) => [
          { phase, layer: s.layer, quantity: 'mean of layer output y = x + f', value: s.meanY },
          { phase, layer: s.layer, quantity: 'mean of f', value: s.meanF },
        ]),
      );
      files.push(...writeData(figureDir, points, { figure: id, preset: ctx.preset, run: { name: r.name, config: r.config }, metrics: r.rows, control: { name: plain.name, config: plain.config, metrics: plain.rows } }));
      const chart = await writeChart(vc2Spec(points, `Drift in a ${r.config.depth}-layer sigmoid DVCNN, bias -2 (trained: centred SGD, lr ${r.config.lr})`), base);
      files.push(chart.svg, chart.png);
      claims = r.rows.length ? vc2Claims(r.statsBefore, r.statsAfter, r.rows, control) : vc2Claims([], [], []);
    } else {
      const points = phases.flatMap(([phase, stats]) => stats.map((s) => ({ phase, ...s })));
      files.push(...writeData(figureDir, points, { figure: id, preset: ctx.preset, run: { name: r.name, config: r.config }, metrics: r.rows, control: { name: plain.name, config: plain.config, metrics: plain.rows } }));
      const chart = await writeChart(vc3Spec(points, `Distribution of f per layer (dashed: share of f < 0.05), ${r.config.depth}-layer sigmoid DVCNN`), base);
      files.push(chart.svg, chart.png);
      claims = r.rows.length ? vc3Claims(r.statsBefore, r.statsAfter, r.rows, control) : vc3Claims([], [], []);
    }
  }
  const verdicts = join(figureDir, 'verdicts.md');
  const notes = [
    `Preset '${ctx.preset}'. Data: MNIST with a uniform random background (MNIST-bg-rand), a substitute for the paper's MNIST-bg-img; see docs/DVCNN.md.`,
  ];
  if (ctx.preset !== 'full') notes.push('Smaller than the paper (fewer features, images and epochs; see docs/DVCNN.md): verdicts are about this run, not the paper.');
  if (id !== 'vc1') {
    notes.push(
      "Trained with plain SGD in the centred parametrisation (the paper's SGD without centring does not learn here; see docs/DVCNN.md). A centred weight update barely moves a unit's mean pre-activation (its input has mean ~0), so the drift can fall mainly through the biases: the 'after' verdicts are about this optimiser. The control ('after plain SGD, no centring') is the paper's uncentred SGD, which did not learn.",
    );
  }
  writeVerdicts(verdicts, `Figure ${id}: verdicts`, claims, notes);
  files.push(verdicts);
  for (const f of files) ctx.progress.note(`wrote ${f}`);
  return { dir: figureDir, files, failed, verdicts: claims };
}

const TITLES: Record<VcFigureId, string> = {
  vc1: 'DVCNN training error per epoch for several depths (Unterthiner & Hochreiter, Figure 1)',
  vc2: 'Mean activation per layer of a 100-layer sigmoid DVCNN, before and after training (Figure 2)',
  vc3: 'Distribution of f per layer, before and after training (Figure 3)',
};

export const VC_FIGURES: FigureDefinition[] = (['vc1', 'vc2', 'vc3'] as const).map((id) => ({
  id,
  title: TITLES[id],
  presets:
    id === 'vc1'
      ? {
          quick: `depths ${VC1_DEPTHS.quick.join('/')}, 49 features, 300 images, ${VC1_EPOCHS.quick} epochs`,
          default: `depths ${VC1_DEPTHS.default.join('/')}, 196 features, 2,000 images, ${VC1_EPOCHS.default} epochs`,
          full: `depths ${VC1_DEPTHS.full.join('/')}, 784 features, 10,000 images, ${VC1_EPOCHS.full} epochs`,
        }
      : {
          quick: `${VC2_DEPTH.quick} layers, 49 features, 300 images, ${VC2_EPOCHS.quick} epochs`,
          default: `${VC2_DEPTH.default} layers, 196 features, 2,000 images, ${VC2_EPOCHS.default} epochs (and the uncentred control run)`,
          full: `${VC2_DEPTH.full} layers, 784 features, 10,000 images, ${VC2_EPOCHS.full} epochs`,
        },
  run: (ctx: FigureContext) => runVcFigure(id, ctx),
}));

/** Adds vc1, vc2 and vc3 to the figure registry (idempotent). */
export function registerVcFigures(): void {
  for (const def of VC_FIGURES) registerFigure(def);
}

registerVcFigures();

/** For tests: whether a figure folder holds every file a figure writes. */
export function figureComplete(figureDir: string, id: string): boolean {
  return ['svg', 'png'].every((e) => existsSync(join(figureDir, `figure-${id}.${e}`))) && ['data.csv', 'data.json', 'verdicts.md'].every((f) => existsSync(join(figureDir, f)));
}
