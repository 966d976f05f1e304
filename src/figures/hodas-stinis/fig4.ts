/**
 * Figure 4 of Hodas & Stinis (2018): MLP vs "MLP w/ Shortcut" at (A) several widths and (B) several
 * depths; each seed a thin trace, the mean over seeds bold. x = MI first-last layer (bits), y = test
 * error, each epoch a point. The claims (paper-claims.ts) are those of the paper's sections 3 and 4.
 */
import { type FigureDefinition, type Preset, presetTexts } from '../pipeline/figure.js';
import { DEEP_DEPTH, FIGURE_4_CLAIMS, SHALLOW_DEPTH } from './paper-claims.js';
import {
  type FigurePreset, type PanelRun, PRESET_SIZE, type PresetSize, type VerdictCondition, bothEvaluations, commonConditions, runTrajectoryFigure,
} from './trajectory.js';

export interface Fig4Plan {
  /** widths of panel A, at depth depthA */
  widths: number[];
  depthA: number;
  /** depths of panel B, at width widthB */
  depths: number[];
  widthB: number;
  seeds: number[];
  /** MI schedule: the claims read the MI after epoch 1 and at the end */
  mi: Record<string, number>;
}

/** Figure 4's presets in one place (cost model and measurements: docs/FIGURES.md, "Presets"). */
export const FIG4_PRESETS: Record<Preset, FigurePreset<Fig4Plan>> = {
  quick: {
    plan: { widths: [8, 16], depthA: 5, depths: [3, 12], widthB: 8, seeds: [0, 1], mi: {} },
    size: PRESET_SIZE.quick,
    text: 'MLP and MLP w/ Shortcut at W=8,16 (A, depth 5) and depths 3,12 (B, W=8), seeds 0-1; 5 epochs of minibatches of 200 on 2,000 / 500 images',
  },
  default: {
    plan: { widths: [8, 16, 32], depthA: 5, depths: [2, 5, 10, 20], widthB: 16, seeds: [0, 1, 2, 3, 4], mi: { 'mi-dense': 3, 'mi-every': 50 } },
    size: PRESET_SIZE.default,
    text:
      'MLP and MLP w/ Shortcut at W=8,16,32 (A, depth 5) and depths 2,5,10,20 (B, W=16), seeds 0-4; full batch until the test error plateaus (cap 300 epochs); ' +
      'BatchNorm moving averages (batch statistics as a variant); MI over all 30,000 validation images with its band, every epoch to 3, then every 50',
  },
  full: {
    plan: { widths: [16, 32, 64, 128], depthA: 5, depths: [2, 5, 10, 20, 40], widthB: 32, seeds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], mi: { 'mi-every': 1 } },
    size: { ...PRESET_SIZE.default, epochs: 1000 },
    text: 'W=16..128 (A) and depths 2..40 (B), seeds 0-9; full batch until the plateau (cap 1,000 epochs); MI over all 30,000 images with its band at every epoch',
  },
};

const LABEL: Record<'mlp' | 'shortcut', string> = { mlp: 'MLP', shortcut: 'MLP w/ Shortcut' };

export function fig4Runs(preset: Preset): PanelRun[] {
  const p = FIG4_PRESETS[preset].plan;
  const runs: PanelRun[] = [];
  for (const arch of ['mlp', 'shortcut'] as const) {
    for (const width of p.widths) {
      for (const seed of p.seeds) runs.push({ panel: 'A', series: LABEL[arch], group: `W=${width}`, arch, width, depth: p.depthA, seed, options: p.mi });
    }
    for (const depth of p.depths) {
      for (const seed of p.seeds) runs.push({ panel: 'B', series: LABEL[arch], group: `L=${depth}`, arch, width: p.widthB, depth, seed, options: p.mi });
    }
  }
  return runs;
}

export function fig4Verdicts(p: Fig4Plan, size: PresetSize): VerdictCondition[] {
  return bothEvaluations((bn, traces) => {
    const c = commonConditions(size, bn, traces);
    const panels = `A: widths ${p.widths.join(', ')} at depth ${p.depthA}; B: depths ${p.depths.join(', ')} at W=${p.widthB} ("deep": depth >= ${DEEP_DEPTH}, "shallow": depth <= ${SHALLOW_DEPTH}); seeds: ${p.seeds.length}`;
    return [c.evaluation, c.schedule, panels, c.mi];
  });
}

export const FIGURE_4: FigureDefinition = {
  id: '4',
  title: 'Figure 4 (Hodas & Stinis 2018)',
  presets: presetTexts(FIG4_PRESETS),
  run: (ctx) => {
    const { plan, size } = FIG4_PRESETS[ctx.preset];
    return runTrajectoryFigure(
      {
        id: '4',
        title: 'Figure 4 (Hodas & Stinis 2018)',
        runs: fig4Runs(ctx.preset),
        panels: [
          { id: 'A', title: `(A) Layer widths (depth ${plan.depthA})`, seriesTitle: 'Network', seriesOrder: ['MLP', 'MLP w/ Shortcut'], groupTitle: 'Width' },
          { id: 'B', title: `(B) Numbers of hidden layers (W=${plan.widthB})`, seriesTitle: 'Network', seriesOrder: ['MLP', 'MLP w/ Shortcut'], groupTitle: 'Depth' },
        ],
        claims: FIGURE_4_CLAIMS,
        verdicts: fig4Verdicts(plan, size),
        notes: ['The networks with a shortcut are labelled "MLP w/ Shortcut", as in the paper. Test error = error on the validation ensemble; MI between the first and last hidden layers (KSG, k=3, bits).'],
        size,
      },
      ctx,
    );
  },
};
