/**
 * The DVCNN figures of Unterthiner & Hochreiter, for `reproduce --figure vc1|vc2|vc3`:
 *   vc1  training error per epoch for several depths (paper Figure 1)
 *   vc2  mean of the layer output y and of f per layer, before and after training (paper Figure 2)
 *   vc3  distribution of f per layer (quantile bands), before and after training (paper Figure 3)
 * Each writes <outDir>/figure-<id>/: figure-<id>.svg/.png, data.csv, data.json, verdicts.md, runs/<run>/.
 * The runs (runs.ts) are `train-dvcnn` children of the one runner; vc2 and vc3 share theirs (a finished
 * run in the sibling folder is copied rather than trained twice).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeData } from '../pipeline/data.js';
import { type FigureContext, type FigureDefinition, type FigureResult, presetTexts } from '../pipeline/figure.js';
import { writeChart } from '../pipeline/render.js';
import { runAll } from '../pipeline/runner.js';
import { type Claim, writeVerdicts } from '../pipeline/verdicts.js';
import { vc1Spec, vc2Spec, vc3Spec } from './charts.js';
import { PHASES, vc1Claims, vc2Claims, vc3Claims } from './claims.js';
import { DRIFT_PLAN, type DvcnnRun, driftControlRun, driftRun, dvcnnSpec, type FinishedRun, finishedRun, VC1_PLAN, vc1Runs } from './runs.js';

export type DvcnnFigureId = 'vc1' | 'vc2' | 'vc3';

/** Runs `runs` through the one runner and reads each back with its layer statistics. */
async function trainAll(id: DvcnnFigureId, figureDir: string, runs: DvcnnRun[], ctx: FigureContext, reuseFrom: string[] = []): Promise<{ finished: FinishedRun[]; failed: { run: string; error: string }[] }> {
  const outcomes = await runAll(id, figureDir, runs.map(dvcnnSpec), ctx, { reuseFrom });
  return {
    finished: runs.map((r, i) => finishedRun(r, outcomes[i])),
    failed: outcomes.filter((o) => o.status === 'failed').map((o) => ({ run: o.spec.name, error: o.error ?? 'failed' })),
  };
}

export async function runDvcnnFigure(id: DvcnnFigureId, ctx: FigureContext): Promise<FigureResult> {
  const figureDir = join(ctx.outDir, `figure-${id}`);
  const base = join(figureDir, `figure-${id}`);
  const files: string[] = [];
  let failed: { run: string; error: string }[];
  let claims: Claim[];
  if (id === 'vc1') {
    const trained = await trainAll(id, figureDir, vc1Runs(ctx.preset), ctx);
    const runs = trained.finished;
    failed = trained.failed;
    const points = runs.flatMap((r) => r.rows.map((row) => ({ depth: r.config.depth, epoch: row.epoch, trainError: row.trainError, trainLoss: row.trainLoss, valError: row.valError })));
    files.push(...writeData(figureDir, points, { extra: { figure: id, preset: ctx.preset, runs: runs.map((r) => ({ name: r.name, config: r.config })) } }));
    const chart = await writeChart(vc1Spec(points, `DVCNN training error by depth (MNIST-bg-rand, ${runs[0].config.width} features, tanh)`), base);
    files.push(chart.svg, chart.png);
    claims = vc1Claims(runs.map((r) => ({ depth: r.config.depth, rows: r.rows })));
  } else {
    const sibling = join(ctx.outDir, `figure-${id === 'vc2' ? 'vc3' : 'vc2'}`);
    const trained = await trainAll(id, figureDir, [driftRun(ctx.preset), driftControlRun(ctx.preset)], ctx, [sibling]);
    const [r, plain] = trained.finished;
    failed = trained.failed;
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
      files.push(...writeData(figureDir, points, { extra: { figure: id, preset: ctx.preset, run: { name: r.name, config: r.config }, metrics: r.rows, control: { name: plain.name, config: plain.config, metrics: plain.rows } } }));
      const chart = await writeChart(vc2Spec(points, `Drift in a ${r.config.depth}-layer sigmoid DVCNN, bias -2 (trained: centred SGD, lr ${r.config.lr})`), base);
      files.push(chart.svg, chart.png);
      claims = r.rows.length ? vc2Claims(r.statsBefore, r.statsAfter, r.rows, control) : vc2Claims([], [], []);
    } else {
      const points = phases.flatMap(([phase, stats]) => stats.map((s) => ({ phase, ...s })));
      files.push(...writeData(figureDir, points, { extra: { figure: id, preset: ctx.preset, run: { name: r.name, config: r.config }, metrics: r.rows, control: { name: plain.name, config: plain.config, metrics: plain.rows } } }));
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

const TITLES: Record<DvcnnFigureId, string> = {
  vc1: 'DVCNN training error per epoch for several depths (Unterthiner & Hochreiter, Figure 1)',
  vc2: 'Mean activation per layer of a 100-layer sigmoid DVCNN, before and after training (Figure 2)',
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
