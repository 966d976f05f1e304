/**
 * The runs of the DVCNN figures: each is a `train-dvcnn` config, so a run spec is its config written as
 * flags. Every preset trains the paper's net with the paper's optimiser (plain SGD, one schedule for every
 * run, chosen on the validation set: docs/DVCNN.md, "The learning rate") for the preset's epochs (the full
 * preset: until the validation error plateaus); centred SGD is an ablation beside vc2/vc3's runs. 'default' keeps the paper's
 * 784 units and cuts images, epochs and the deepest depths to fit 2 hours on 2 cores (docs/DVCNN.md,
 * "Presets"); 'full' is the paper's sizes; 'quick' checks the pipeline in seconds.
 */
import { type DvcnnTrainConfig, DEFAULT_DVCNN_TRAIN, flagOf } from '../../train/dvcnn-config.js';
import { type LayerStats, readLayerStats, readTestResult, type TestResult } from '../../train/dvcnn.js';
import type { MetricsRow } from '../../train/metrics.js';
import type { Activation } from '../../models/dvcnn.js';
import type { Preset } from '../pipeline/figure.js';
import type { RunOutcome, RunSpec } from '../pipeline/runner.js';

/**
 * Plain SGD's schedule for every run: lr 0.01 for the first 4 epochs (it removes the drift: the 100-layer net's
 * top-layer mean of y 36.4 -> 4.6), then 1e-4, the rate of the lowest validation error after 40 epochs in the
 * sweep of docs/DVCNN.md ("The learning rate"). One rate alone cannot train the 100-layer net: those that keep
 * it stable (1e-5 and below) leave it at chance.
 */
export const PLAIN_SCHEDULE = { lrStart: 0.01, lrStartEpochs: 4, lr: 0.0001 } as const;
/** The centred ablation's rate (the best of the centred sweep at 196 and 49 features, docs/DVCNN.md). */
export const CENTRED_LR = 0.3;

/** The sigmoid net of the paper's Figures 2 and 3. */
const DRIFT_NET = { activation: 'sigmoid', biasInit: -2 } as const;

export interface DvcnnPlan {
  /** data and length, shared by every run of the preset */
  size: Partial<DvcnnTrainConfig>;
  seeds: number[];
  /** the seeds of the centred ablation (a subset of `seeds`) and of the activation and bias-init runs */
  ablationSeeds: number[];
  initSeeds: number[];
  /** vc1's depths */
  depths: number[];
  /** vc2/vc3's drift net depth (the paper: 100) */
  driftDepth: number;
  /** depth of the activation and bias-init runs whose test error is compared (section 3.2's claims) */
  initDepth: number;
  /** their activations and bias inits, and the test images each is scored on */
  inits: { activation: Activation; biases: number[] }[];
  limitTest: number;
  text: { vc1: string; drift: string };
}

const BIASES = [-2, -1, 0, 1, 2];

export const PLANS: Record<Preset, DvcnnPlan> = {
  quick: {
    size: { width: 49, limitTrain: 300, limitVal: 100, probe: 100, epochs: 2, stop: 'cap' },
    seeds: [0, 1],
    ablationSeeds: [0],
    initSeeds: [0],
    depths: [1, 3, 6],
    driftDepth: 12,
    initDepth: 6,
    inits: [{ activation: 'sigmoid', biases: [-2, 0] }, { activation: 'relu', biases: [0] }],
    limitTest: 200,
    text: {
      vc1: 'depths 1/3/6 x 2 seeds, 49 features, 300 images, 2 epochs',
      drift: '12 layers x 2 seeds (plain SGD; centred ablation: seed 0), init runs at 6 layers x 1 seed, 49 features, 300 images, 2 epochs',
    },
  },
  default: {
    size: { width: 784, limitTrain: 500, limitVal: 250, probe: 200, epochs: 40, stop: 'cap' },
    seeds: [0, 1, 2],
    ablationSeeds: [0, 1, 2],
    initSeeds: [0, 1, 2],
    depths: [1, 10, 100, 300],
    driftDepth: 100,
    initDepth: 10,
    inits: [{ activation: 'sigmoid', biases: BIASES }, { activation: 'tanh', biases: BIASES }, { activation: 'relu', biases: [0] }],
    limitTest: 10_000,
    text: {
      vc1: 'depths 1/10/100/300 x 3 seeds, 784 units, 500 training / 250 validation images, 40 epochs',
      drift: '100 layers x 3 seeds (plain SGD; centred ablation beside), init runs at 10 layers scored on 10,000 test images, 784 units, 500 / 250 images, 40 epochs',
    },
  },
  full: {
    size: { width: 784, probe: 500, epochs: 200, stop: 'plateau' },
    seeds: [0, 1, 2, 3, 4],
    ablationSeeds: [0, 1, 2, 3, 4],
    initSeeds: [0, 1, 2, 3, 4],
    depths: [1, 10, 100, 500, 1000],
    driftDepth: 100,
    initDepth: 100,
    inits: [{ activation: 'sigmoid', biases: BIASES }, { activation: 'tanh', biases: BIASES }, { activation: 'relu', biases: [0] }],
    limitTest: 50_000,
    text: {
      vc1: "depths 1/10/100/500/1000 x 5 seeds, 784 units, the paper's 10,000 / 2,000 images, up to 200 epochs (plateau)",
      drift: "100 layers x 5 seeds, init runs at 100 layers, 784 units, the paper's 10,000 / 2,000 / 50,000 images, up to 200 epochs (plateau)",
    },
  },
};

/** The --help sentences of vc1 and of vc2/vc3. */
export const VC1_PLAN: Record<Preset, { text: string }> = { quick: { text: PLANS.quick.text.vc1 }, default: { text: PLANS.default.text.vc1 }, full: { text: PLANS.full.text.vc1 } };
export const DRIFT_PLAN: Record<Preset, { text: string }> = { quick: { text: PLANS.quick.text.drift }, default: { text: PLANS.default.text.drift }, full: { text: PLANS.full.text.drift } };

export type RunRole = 'depth' | 'drift' | 'drift-centred' | 'init';

export interface DvcnnRun {
  name: string;
  role: RunRole;
  config: DvcnnTrainConfig;
}

function configOf(preset: Preset, over: Partial<DvcnnTrainConfig>): DvcnnTrainConfig {
  return { ...DEFAULT_DVCNN_TRAIN, ...PLANS[preset].size, batchSize: 50, ...over };
}

const biasName = (b: number) => (b < 0 ? `m${-b}` : `p${b}`);

/** vc1: the drift net at every depth and seed, the same hyperparameters everywhere (as the paper). */
export function vc1Runs(preset: Preset): DvcnnRun[] {
  const p = PLANS[preset];
  return p.depths.flatMap((depth) =>
    p.seeds.map((seed) => ({ name: `depth-d${depth}-s${seed}`, role: 'depth' as const, config: configOf(preset, { ...DRIFT_NET, depth, seed, ...PLAIN_SCHEDULE }) })),
  );
}

/**
 * vc2 and vc3: the paper's 100-layer sigmoid net (bias -2) by plain SGD, each seed beside its centred
 * ablation (same initial net), and the activation / bias-init runs of section 3.2 scored on the test set.
 */
export function driftRuns(preset: Preset, withInits = true): DvcnnRun[] {
  const p = PLANS[preset];
  const drift = p.seeds.flatMap((seed) => [
    { name: `drift-d${p.driftDepth}-s${seed}`, role: 'drift' as const, config: configOf(preset, { ...DRIFT_NET, depth: p.driftDepth, seed, ...PLAIN_SCHEDULE }) },
    ...(p.ablationSeeds.includes(seed)
      ? [{ name: `drift-d${p.driftDepth}-centred-s${seed}`, role: 'drift-centred' as const, config: configOf(preset, { ...DRIFT_NET, depth: p.driftDepth, seed, lr: CENTRED_LR, center: 'all' as const }) }]
      : []),
  ]);
  if (!withInits) return drift;
  const inits = p.inits.flatMap(({ activation, biases }) =>
    biases.flatMap((biasInit) =>
      p.initSeeds.map((seed) => ({
        name: `init-${activation}-b${biasName(biasInit)}-d${p.initDepth}-s${seed}`,
        role: 'init' as const,
        config: configOf(preset, { activation, biasInit, depth: p.initDepth, seed, ...PLAIN_SCHEDULE, limitTest: p.limitTest }),
      })),
    ),
  );
  return [...drift, ...inits];
}

/** The runner's spec of a run: `train-dvcnn` with every config value as a flag. */
export function dvcnnSpec(run: Pick<DvcnnRun, 'name' | 'config'>): RunSpec {
  const options: RunSpec['options'] = {};
  for (const [key, value] of Object.entries(run.config)) {
    if (key !== 'epochs' && value !== undefined) options[flagOf(key).slice(2)] = value as string | number;
  }
  return { name: run.name, command: 'train-dvcnn', epochs: run.config.epochs, options };
}

/** A run as the figures read it back: its rows, its layer statistics before and after, its test result. */
export interface FinishedRun extends DvcnnRun {
  rows: MetricsRow[];
  statsBefore: LayerStats[];
  statsAfter: LayerStats[];
  test?: TestResult;
  /** the run ended without the whole of its training: the runner reported it failed */
  failed: boolean;
}

/** Reads the layer statistics and the test result of a run's directory ([] / undefined where absent). */
export function finishedRun(run: DvcnnRun, outcome: RunOutcome): FinishedRun {
  const failed = outcome.status === 'failed';
  const last = failed ? undefined : outcome.rows.at(-1)?.epoch;
  return {
    ...run,
    rows: outcome.rows,
    statsBefore: readLayerStats(outcome.dir, 0) ?? [],
    statsAfter: last === undefined ? [] : (readLayerStats(outcome.dir, last) ?? []),
    test: failed ? undefined : readTestResult(outcome.dir),
    failed,
  };
}
