/**
 * Figure 5 of Hodas & Stinis (2018): (A) residual networks of several widths, no shortcut; (B) MLP, S,
 * Res and S Res at one width. x = MI first-last layer (bits), y = test error, each epoch a point. The
 * claims (paper-claims.ts) are judged on the primary runs and on the batch-statistics variant recorded in
 * the same runs; figure '5-sensitivity' gives the minibatch and depth variants (docs/FIGURES.md).
 */
import { residualSources } from '../../models/hodas.js';
import { type FigureDefinition, type Preset, presetTexts } from '../pipeline/figure.js';
import { FIGURE_5_CLAIMS } from './paper-claims.js';
import {
  ARCH_LABEL, type Arch, type FigurePreset, type PanelRun, PRESET_SIZE, type PresetSize, type VerdictCondition, bothEvaluations, commonConditions,
  runTrajectoryFigure,
} from './trajectory.js';
import type { Trace } from './traces.js';

export interface Fig5Plan {
  /** widths of panel A (residual nets), each with seedsA (the one at widthB has seedsB) */
  widths: number[];
  seedsA: number[];
  /** the width of panel B (the four architectures) and its seeds */
  widthB: number;
  seedsB: number[];
  /** hidden layers; depth 7 gives Res two skips (1-based layers 2 -> 4 and 4 -> 6) */
  depth: number;
  /** MI schedule of the residual nets, whose MI peak a claim reads */
  miRes: Record<string, number>;
  /** MI schedule of the others: the claims read their MI after epoch 1 and at the end */
  miOthers: Record<string, number>;
}

/** Figure 5's presets in one place (cost model and measurements: docs/FIGURES.md, "Presets"). */
export const FIG5_PRESETS: Record<Preset, FigurePreset<Fig5Plan>> = {
  quick: {
    plan: { widths: [8, 16], seedsA: [0], widthB: 16, seedsB: [0, 1], depth: 7, miRes: {}, miOthers: {} },
    size: PRESET_SIZE.quick,
    text: 'Res at W=8 (seed 0), 16 (A); MLP, S, Res, S Res at W=16 (B, seeds 0-1); depth 7; 5 epochs of minibatches of 200 on 2,000 training / 500 validation images',
  },
  default: {
    plan: {
      widths: [8, 16, 32], seedsA: [0, 1, 2, 3, 4], widthB: 32, seedsB: [0, 1, 2, 3, 4, 5, 6], depth: 7,
      miRes: { 'mi-dense': 10, 'mi-every': 25 }, miOthers: { 'mi-dense': 3, 'mi-every': 50 },
    },
    size: PRESET_SIZE.default,
    text:
      'Res at W=8,16,32 (A; 5 seeds, 7 at W=32); MLP, S, Res, S Res at W=32 (B; 7 seeds); depth 7; full batch until the test error plateaus (cap 300 epochs); ' +
      'BatchNorm moving averages at evaluation (batch statistics as a variant); MI over all 30,000 validation images with its band, every epoch to 10 then every 25 (Res) or to 3 then every 50 (the others)',
  },
  full: {
    plan: {
      widths: [16, 32, 64, 128], seedsA: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], widthB: 64, seedsB: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], depth: 7,
      miRes: { 'mi-every': 1 }, miOthers: { 'mi-every': 1 },
    },
    size: { ...PRESET_SIZE.default, epochs: 1000 },
    text: 'Res at W=16..128 (A); the four nets at W=64 (B); depth 7; seeds 0-9; full batch until the plateau (cap 1,000 epochs); MI over all 30,000 images with its band at every epoch',
  },
};

const ARCHS_B: Arch[] = ['mlp', 'shortcut', 'residual', 'shortcut-residual'];

/** How many residual sums a Res net of this depth has. */
export function resSkips(depth: number): number {
  return residualSources({ arch: 'residual', depth }).filter((s) => s >= 0).length;
}

/** The runs of panels A and B for a plan (a run at the panel-B width appears in both). */
export function fig5PlanRuns(p: Fig5Plan, prefix = '', extra: Record<string, string | number | boolean> = {}): PanelRun[] {
  const runs: PanelRun[] = [];
  const mi = (arch: Arch) => (arch === 'residual' ? p.miRes : p.miOthers);
  for (const width of p.widths) {
    for (const seed of width === p.widthB ? p.seedsB : p.seedsA) {
      runs.push({ panel: 'A', series: `W=${width}`, group: '', arch: 'residual', width, depth: p.depth, seed, prefix, options: { ...mi('residual'), ...extra } });
    }
  }
  for (const arch of ARCHS_B) {
    for (const seed of p.seedsB) runs.push({ panel: 'B', series: ARCH_LABEL[arch], group: '', arch, width: p.widthB, depth: p.depth, seed, prefix, options: { ...mi(arch), ...extra } });
  }
  return runs;
}

export function fig5Runs(preset: Preset): PanelRun[] {
  return fig5PlanRuns(FIG5_PRESETS[preset].plan);
}

/** The conditions lines of a Figure 5 verdict table. */
export function fig5Conditions(p: Fig5Plan, size: PresetSize, bn: string, traces: readonly Trace[]): string[] {
  const c = commonConditions(size, bn, traces);
  const nets = `depth ${p.depth} (Res: ${resSkips(p.depth)} skips); widths: A ${p.widths.join(', ')}, B ${p.widthB}; seeds: A ${p.seedsA.length} (${p.seedsB.length} at W=${p.widthB}), B ${p.seedsB.length}`;
  return [c.evaluation, c.schedule, nets, c.mi];
}

export function fig5Verdicts(p: Fig5Plan, size: PresetSize): VerdictCondition[] {
  return bothEvaluations((bn, traces) => fig5Conditions(p, size, bn, traces));
}

export const FIGURE_5: FigureDefinition = {
  id: '5',
  title: 'Figure 5 (Hodas & Stinis 2018)',
  presets: presetTexts(FIG5_PRESETS),
  run: (ctx) => {
    const { plan, size } = FIG5_PRESETS[ctx.preset];
    return runTrajectoryFigure(
      {
        id: '5',
        title: 'Figure 5 (Hodas & Stinis 2018)',
        runs: fig5Runs(ctx.preset),
        panels: [
          { id: 'A', title: `(A) ResNets of several widths, no shortcut (depth ${plan.depth})`, seriesTitle: 'Width' },
          { id: 'B', title: `(B) Architectures at W=${plan.widthB} (depth ${plan.depth})`, seriesTitle: 'Network', seriesOrder: ['MLP', 'S', 'Res', 'S Res'] },
        ],
        claims: FIGURE_5_CLAIMS,
        verdicts: fig5Verdicts(plan, size),
        notes: [
          'MLP, Multilayer Perceptron; S, Shortcut; Res, Residual Network; S Res, Shortcut Residual Network.',
          'Test error = error on the validation ensemble (BatchNorm moving averages, as Keras); MI between the first and last hidden layers (KSG, k=3, bits).',
        ],
        size,
      },
      ctx,
    );
  },
};
