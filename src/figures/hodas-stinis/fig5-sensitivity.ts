/**
 * Figure 5's sensitivity variants (docs/FIGURES.md, "Sensitivity"): the same claims under
 * - minibatches of 128 (Keras's MNIST example's size; 313 steps an epoch), where "largely trained within
 *   one epoch" can be tested at all: with the paper's batch of 60,000 an epoch is one step;
 * - depth 5, where Res has a single skip (the depth of the earlier default);
 * - depth 9, where Res has three skips.
 * Each is a panel-B set of the four nets at W=32 (Res also drawn as the panel-A trace the 5A claims read).
 */
import { type FigureDefinition, type Preset, presetTexts } from '../pipeline/figure.js';
import { FIGURE_5_CLAIMS } from './paper-claims.js';
import { type Fig5Plan, fig5Conditions, fig5PlanRuns, resSkips } from './fig5.js';
import { type FigurePreset, KERAS_BN, type PanelRun, PRESET_SIZE, type PresetSize, type VerdictCondition, primaryView, runTrajectoryFigure } from './trajectory.js';
import type { Trace } from './traces.js';

interface Variant {
  id: string;
  heading: string;
  plan: Fig5Plan;
  /** a run-name prefix when the run names alone would not tell the variant apart */
  prefix: string;
  size: PresetSize;
}

interface SensitivityPlan {
  variants: Variant[];
}

const sparseMi = { 'mi-dense': 3, 'mi-every': 50 };
const seeds = (n: number) => Array.from({ length: n }, (_, i) => i);

function depthVariant(depth: number, nSeeds: number, size: PresetSize): Variant {
  const skips = resSkips(depth);
  return {
    id: `d${depth}`,
    heading: `Variant: depth ${depth} (Res: ${skips} skip${skips === 1 ? '' : 's'})`,
    prefix: '',
    plan: { widths: [32], seedsA: seeds(nSeeds), widthB: 32, seedsB: seeds(nSeeds), depth, miRes: sparseMi, miOthers: sparseMi },
    size,
  };
}

function minibatchVariant(nSeeds: number, epochs: number, width: number, size: PresetSize): Variant {
  return {
    id: 'b128',
    heading: 'Variant: minibatches of 128',
    prefix: 'b128-',
    plan: { widths: [width], seedsA: seeds(nSeeds), widthB: width, seedsB: seeds(nSeeds), depth: 7, miRes: { 'mi-dense': 10, 'mi-every': 5 }, miOthers: { 'mi-dense': 10, 'mi-every': 5 } },
    // a fixed length (the plateau rule starts at epoch 50): a W=32 MLP with minibatches of 128 is within 0.4 points of its best by epoch 10-20 (docs/FIGURES.md)
    size: { epochs, options: { ...size.options, 'until-plateau': false, 'batch-size': 128 } },
  };
}

export const FIG5S_PRESETS: Record<Preset, FigurePreset<SensitivityPlan>> = {
  quick: {
    plan: {
      variants: [
        minibatchVariant(2, PRESET_SIZE.quick.epochs, 16, PRESET_SIZE.quick),
        { ...depthVariant(5, 2, PRESET_SIZE.quick), plan: { ...depthVariant(5, 2, PRESET_SIZE.quick).plan, widths: [16], widthB: 16 } },
      ],
    },
    size: PRESET_SIZE.quick,
    text: 'the four nets at W=16 under minibatches of 128 and at depth 5, seeds 0-1, on the quick data (2,000 / 500 images, 5 epochs)',
  },
  default: {
    plan: { variants: [minibatchVariant(5, 20, 32, PRESET_SIZE.default), depthVariant(5, 4, PRESET_SIZE.default), depthVariant(9, 4, PRESET_SIZE.default)] },
    size: PRESET_SIZE.default,
    text:
      'the four nets at W=32: minibatches of 128 (depth 7, 20 epochs, 5 seeds), depth 5 and depth 9 (full batch until the plateau, cap 300; 4 seeds); ' +
      'moving-average evaluation; MI over all 30,000 images with its band',
  },
  full: {
    plan: { variants: [minibatchVariant(10, 100, 64, PRESET_SIZE.default), depthVariant(5, 10, { ...PRESET_SIZE.default, epochs: 1000 }), depthVariant(11, 10, { ...PRESET_SIZE.default, epochs: 1000 })] },
    size: { ...PRESET_SIZE.default, epochs: 1000 },
    text: 'the variants with 10 seeds, minibatches at W=64 for 100 epochs, the depths with a cap of 1,000 epochs',
  },
};

/** A variant's runs, tagged with its id (the group), each with the variant's own size. */
function variantRuns(v: Variant): PanelRun[] {
  return fig5PlanRuns(v.plan, v.prefix).map((r) => ({ ...r, group: v.id, epochs: v.size.epochs, options: { ...v.size.options, ...r.options } }));
}

export function fig5SensitivityRuns(preset: Preset): { runs: PanelRun[]; variants: Variant[] } {
  const variants = FIG5S_PRESETS[preset].plan.variants;
  return { runs: variants.flatMap(variantRuns), variants };
}

/** Runs of a variant: its group tag. */
const ofVariant = (v: Variant) => (t: Trace) => t.group === v.id;

export const FIGURE_5_SENSITIVITY: FigureDefinition = {
  id: '5-sensitivity',
  title: 'Figure 5 sensitivity (Hodas & Stinis 2018)',
  presets: presetTexts(FIG5S_PRESETS),
  run: async (ctx) => {
    const { variants } = fig5SensitivityRuns(ctx.preset);
    const verdicts: VerdictCondition[] = variants.map((v) => ({
      heading: v.heading,
      conditions: (t) => fig5Conditions(v.plan, v.size, KERAS_BN, t.filter(ofVariant(v))),
      runs: (t) => primaryView(t.filter(ofVariant(v))),
    }));
    const runs = variants.flatMap(variantRuns);
    return runTrajectoryFigure(
      {
        id: '5-sensitivity',
        title: 'Figure 5 sensitivity (Hodas & Stinis 2018)',
        runs,
        panels: variants.map((v) => ({
          id: v.id,
          title: v.heading.replace('Variant: ', ''),
          seriesTitle: 'Network',
          seriesOrder: ['MLP', 'S', 'Res', 'S Res'],
          select: (r) => r.group === v.id && r.panel === 'B',
        })),
        claims: FIGURE_5_CLAIMS,
        verdicts,
        notes: ['MLP, Multilayer Perceptron; S, Shortcut; Res, Residual Network; S Res, Shortcut Residual Network. The primary results: figure 5.'],
        // every run carries its variant's own size
        size: { epochs: Math.max(...variants.map((v) => v.size.epochs)), options: {} },
      },
      ctx,
    );
  },
};
