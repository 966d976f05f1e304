/**
 * The runs of the DVCNN figures: each is a `train-dvcnn` config, so a run spec is its config written as
 * flags. Presets are overrides of DEFAULT_DVCNN_TRAIN (src/train/dvcnn-config.ts), sized for a 2-core
 * machine; 'full' is the paper's setting and needs a GPU-class budget.
 */
import { type DvcnnTrainConfig, DEFAULT_DVCNN_TRAIN, flagOf } from '../../train/dvcnn-config.js';
import { type LayerStats, readLayerStats } from '../../train/dvcnn.js';
import type { MetricsRow } from '../../train/metrics.js';
import type { Preset } from '../pipeline/figure.js';
import type { RunOutcome, RunSpec } from '../pipeline/runner.js';

/** Data size per preset: the features (width), the images, the probe images of the layer statistics. */
const SIZE: Record<Preset, Partial<DvcnnTrainConfig>> = {
  // seconds: 4x4 block means, 300 training images
  quick: { width: 49, limitTrain: 300, limitVal: 100, probe: 100 },
  // minutes: 2x2 block means, 2,000 training images
  default: { width: 196, limitTrain: 2000, limitVal: 500, probe: 300 },
  // the paper's 784 units and 10,000 / 2,000 split
  full: { width: 784, probe: 500 },
};

/** vc1's presets: the depths, the epochs of each, and a sentence for --help. */
export const VC1_PLAN: Record<Preset, { depths: number[]; epochs: number; text: string }> = {
  quick: { depths: [1, 3, 6], epochs: 2, text: 'depths 1/3/6, 49 features, 300 images, 2 epochs' },
  default: { depths: [1, 5, 10, 25], epochs: 8, text: 'depths 1/5/10/25, 196 features, 2,000 images, 8 epochs' },
  full: { depths: [1, 10, 100, 500, 1000], epochs: 100, text: 'depths 1/10/100/500/1000, 784 features, 10,000 images, 100 epochs' },
};

/** vc2's and vc3's presets: the drift net's depth (the paper's 100 layers; quick: 12) and epochs. */
export const DRIFT_PLAN: Record<Preset, { depth: number; epochs: number; text: string }> = {
  quick: { depth: 12, epochs: 2, text: '12 layers, 49 features, 300 images, 2 epochs' },
  default: { depth: 100, epochs: 10, text: '100 layers, 196 features, 2,000 images, 10 epochs (and the uncentred control run)' },
  full: { depth: 100, epochs: 100, text: '100 layers, 784 features, 10,000 images, 100 epochs' },
};

export interface DvcnnRun {
  name: string;
  config: DvcnnTrainConfig;
}

/**
 * vc1: tanh with zero biases (no drift), every depth with the same hyperparameters (as the paper): centred SGD
 * at lr 0.1. Tanh's error signal grows ~140x over 200 layers (test/dvcnn-gradients.test.ts), so a higher rate
 * makes the deeper nets jump (docs/DVCNN.md).
 */
export function vc1Runs(preset: Preset): DvcnnRun[] {
  const { depths, epochs } = VC1_PLAN[preset];
  return depths.map((depth) => ({
    name: `dvcnn-tanh-d${depth}-centred`,
    config: { ...DEFAULT_DVCNN_TRAIN, ...SIZE[preset], activation: 'tanh', biasInit: 0, depth, epochs, lr: 0.1, batchSize: 50, center: 'all' },
  }));
}

/**
 * vc2 and vc3: one sigmoid net with every bias at -2 (the paper's drift figures), trained by plain SGD in the
 * centred parametrisation at lr 0.3: the untrained net is exactly the paper's, but without centring the
 * drifted inputs make SGD unstable at any rate that moves the net (docs/DVCNN.md, "Making the 100-layer net learn").
 */
export function driftRun(preset: Preset): DvcnnRun {
  const { depth, epochs } = DRIFT_PLAN[preset];
  return {
    name: `dvcnn-sigmoid-b-2-d${depth}-centred`,
    config: { ...DEFAULT_DVCNN_TRAIN, ...SIZE[preset], activation: 'sigmoid', biasInit: -2, depth, epochs, lr: 0.3, batchSize: 50, center: 'all' },
  };
}

/** The control beside vc2/vc3's run: the same net by plain SGD without centring at lr 0.01. It does not learn. */
export function driftControlRun(preset: Preset): DvcnnRun {
  const { depth, epochs } = DRIFT_PLAN[preset];
  return {
    name: `dvcnn-sigmoid-b-2-d${depth}-plain`,
    config: { ...DEFAULT_DVCNN_TRAIN, ...SIZE[preset], activation: 'sigmoid', biasInit: -2, depth, epochs, lr: 0.01, batchSize: 50 },
  };
}

/** The runner's spec of a run: `train-dvcnn` with every config value as a flag. */
export function dvcnnSpec(run: DvcnnRun): RunSpec {
  const options: RunSpec['options'] = {};
  for (const [key, value] of Object.entries(run.config)) {
    if (key !== 'epochs' && value !== undefined) options[flagOf(key).slice(2)] = value as string | number;
  }
  return { name: run.name, command: 'train-dvcnn', epochs: run.config.epochs, options };
}

/** A run as the figures read it back: its rows and its layer statistics before and after training. */
export interface FinishedRun extends DvcnnRun {
  rows: MetricsRow[];
  statsBefore: LayerStats[];
  statsAfter: LayerStats[];
}

/** Reads the layer statistics of a run's directory ([] where the run did not get that far). */
export function finishedRun(run: DvcnnRun, outcome: RunOutcome): FinishedRun {
  const last = outcome.status === 'failed' ? undefined : outcome.rows.at(-1)?.epoch;
  return {
    ...run,
    rows: outcome.rows,
    statsBefore: readLayerStats(outcome.dir, 0) ?? [],
    statsAfter: last === undefined ? [] : (readLayerStats(outcome.dir, last) ?? []),
  };
}
