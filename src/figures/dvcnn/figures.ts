/**
 * The DVCNN figures of Unterthiner & Hochreiter, for `reproduce --figure vc1|vc2|vc3`:
 *   vc1  training error per epoch for several depths (paper Figure 1)
 *   vc2  mean of the layer output y and of f per layer, before and after training (paper Figure 2); its
 *        verdicts also judge section 3.2's claims on activations and bias inits (their runs' test errors)
 *   vc3  distribution of f per layer (quantile bands), before and after training (paper Figure 3)
 * Each writes <outDir>/figure-<id>/: figure-<id>.svg/.png, data.csv, data.json, verdicts.md, runs/<run>/.
 * The runs (runs.ts) are `train-dvcnn` children of the one runner; vc2 and vc3 share theirs (a finished
 * run in the sibling folder is copied rather than trained twice).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describeOptimiser } from '../../train/dvcnn-config.js';
import { writeData } from '../pipeline/data.js';
import { type FigureContext, type FigureDefinition, type FigureResult, presetTexts } from '../pipeline/figure.js';
import { writeChart } from '../pipeline/render.js';
import { runAll } from '../pipeline/runner.js';
import { PHASES, vc1Spec, vc2Spec, vc3Spec } from './charts.js';
import { bestTrainError, errorFall, numericalProblem, vc1Claims, vc2Claims, vc3Claims } from './claims.js';
import { DRIFT_PLAN, driftRuns, type DvcnnRun, dvcnnSpec, type FinishedRun, finishedRun, VC1_PLAN, vc1Runs } from './runs.js';
import { asClaim, judgeDvcnn, writeDvcnnVerdicts } from './verdicts.js';

export type DvcnnFigureId = 'vc1' | 'vc2' | 'vc3';

/** Runs `runs` through the one runner and reads each back with its layer statistics. */
async function trainAll(id: DvcnnFigureId, figureDir: string, runs: DvcnnRun[], ctx: FigureContext, reuseFrom: string[] = []): Promise<{ finished: FinishedRun[]; failed: { run: string; error: string }[] }> {
  const outcomes = await runAll(id, figureDir, runs.map(dvcnnSpec), ctx, { reuseFrom });
  return {
    finished: runs.map((r, i) => finishedRun(r, outcomes[i])),
    failed: outcomes.filter((o) => o.status === 'failed').map((o) => ({ run: o.spec.name, error: o.error ?? 'failed' })),
  };
}

/** vc2/vc3's per-layer rows: before training (plain runs; the centred ablation starts from the same net) and after each optimiser. */
function phaseStats(runs: FinishedRun[]) {
  const drift = runs.filter((r) => r.role === 'drift');
  const centred = runs.filter((r) => r.role === 'drift-centred');
  return [
    ...drift.map((r) => ({ phase: PHASES[0], seed: r.config.seed, stats: r.statsBefore })),
    ...drift.map((r) => ({ phase: PHASES[1], seed: r.config.seed, stats: r.statsAfter })),
    ...centred.map((r) => ({ phase: PHASES[2], seed: r.config.seed, stats: r.statsAfter })),
  ];
}

/** What data.json records of each run: its config and how it ended. */
function runSummary(r: FinishedRun) {
  return { name: r.name, role: r.role, config: r.config, epochs: r.rows.at(-1)?.epoch ?? null, failed: r.failed, bestTrainError: bestTrainError(r.rows) ?? null, errorFall: errorFall(r.rows) ?? null, numericalProblem: numericalProblem(r.rows), test: r.test ?? null };
}

export async function runDvcnnFigure(id: DvcnnFigureId, ctx: FigureContext): Promise<FigureResult> {
  const figureDir = join(ctx.outDir, `figure-${id}`);
  const base = join(figureDir, `figure-${id}`);
  const files: string[] = [];
  const sibling = join(ctx.outDir, `figure-${id === 'vc2' ? 'vc3' : 'vc2'}`);
  const runs = id === 'vc1' ? vc1Runs(ctx.preset) : driftRuns(ctx.preset, id === 'vc2');
  const trained = await trainAll(id, figureDir, runs, ctx, id === 'vc1' ? [] : [sibling]);
  const finished = trained.finished;
  const extra = { figure: id, preset: ctx.preset, runs: finished.map(runSummary) };
  const c0 = finished[0].config;
  let claims;
  if (id === 'vc1') {
    const points = finished.flatMap((r) => r.rows.map((row) => ({ depth: r.config.depth, seed: r.config.seed, epoch: row.epoch, trainError: row.trainError, trainLoss: row.trainLoss, valError: row.valError })));
    files.push(...writeData(figureDir, points, { extra }));
    const chart = await writeChart(vc1Spec(points, `DVCNN training error by depth (MNIST-bg-rand, ${c0.width} units, ${c0.activation}, bias ${c0.biasInit}, ${describeOptimiser(c0)}; band: ±1 sd over seeds)`), base);
    files.push(chart.svg, chart.png);
    claims = vc1Claims(finished);
  } else if (id === 'vc2') {
    const quantities = [
      ['mean of layer output y = x + f', 'meanY'],
      ['mean of f', 'meanF'],
    ] as const;
    const points = phaseStats(finished).flatMap(({ phase, seed, stats }) => stats.flatMap((s) => quantities.map(([quantity, key]) => ({ phase, seed, layer: s.layer, quantity, value: s[key] }))));
    files.push(...writeData(figureDir, points, { extra }));
    const chart = await writeChart(vc2Spec(points, `Drift in a ${finished.find((r) => r.role === 'drift')?.config.depth}-layer sigmoid DVCNN, bias -2, ${c0.width} units (lines: mean over seeds; band: ±1 sd)`), base);
    files.push(chart.svg, chart.png);
    claims = vc2Claims(finished);
  } else {
    const points = phaseStats(finished).flatMap(({ phase, seed, stats }) => stats.map((s) => ({ phase, seed, layer: s.layer, q05: s.q05, q25: s.q25, q50: s.q50, q75: s.q75, q95: s.q95, nearZero: s.nearZero })));
    files.push(...writeData(figureDir, points, { extra }));
    const chart = await writeChart(vc3Spec(points, `Distribution of f per layer (mean over seeds; dashed: share of f < 0.05), ${c0.depth}-layer sigmoid DVCNN, ${c0.width} units`), base);
    files.push(chart.svg, chart.png);
    claims = vc3Claims(finished);
  }
  const verdicts = judgeDvcnn(claims);
  const path = join(figureDir, 'verdicts.md');
  const notes = [
    `Preset '${ctx.preset}'. Data: MNIST with a uniform random background (MNIST-bg-rand), a substitute for the paper's MNIST-bg-img; see docs/DVCNN.md.`,
    'Every claim is judged three-way (src/stats): the 95 % t interval of the per-seed (or per-run) effect against the rule in its row; fewer than 2 values are inconclusive.',
  ];
  if (ctx.preset !== 'full') notes.push('Smaller than the paper (images, epochs and, for vc1, the deepest depths; see docs/DVCNN.md, "Presets"): verdicts are about these runs, not the paper.');
  writeDvcnnVerdicts(path, `Figure ${id}: verdicts`, verdicts, notes);
  files.push(path);
  for (const f of files) ctx.progress.note(`wrote ${f}`);
  return { dir: figureDir, files, failed: trained.failed, verdicts: verdicts.map(asClaim) };
}

const TITLES: Record<DvcnnFigureId, string> = {
  vc1: 'DVCNN training error per epoch for several depths (Unterthiner & Hochreiter, Figure 1)',
  vc2: 'Mean activation per layer of a 100-layer sigmoid DVCNN, before and after training (Figure 2), and the activation and bias-init claims of section 3.2',
  vc3: 'Distribution of f per layer, before and after training (Figure 3)',
};

const PRESET_TEXT: Record<DvcnnFigureId, FigureDefinition['presets']> = { vc1: presetTexts(VC1_PLAN), vc2: presetTexts(DRIFT_PLAN), vc3: presetTexts(DRIFT_PLAN) };

export const DVCNN_FIGURES: FigureDefinition[] = (['vc1', 'vc2', 'vc3'] as const).map((id) => ({
  id,
  title: TITLES[id],
  presets: PRESET_TEXT[id],
  run: (ctx: FigureContext) => runDvcnnFigure(id, ctx),
}));

/** For tests: whether a figure folder holds every file a figure writes. */
export function figureComplete(figureDir: string, id: string): boolean {
  return ['svg', 'png'].every((e) => existsSync(join(figureDir, `figure-${id}.${e}`))) && ['data.csv', 'data.json', 'verdicts.md'].every((f) => existsSync(join(figureDir, f)));
}
