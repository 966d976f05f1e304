/**
 * A DVCNN training run's config (`train-dvcnn`): defaults in code, CLI flags or library callers override
 * them; every value is checked here, and an unknown key is refused. Each key is a CLI flag (camelCase ->
 * --kebab-case), so a figure's run is its config written as flags.
 */
import { BACKGROUNDS, type Background } from '../data/background.js';
import { usageError } from '../errors.js';
import { ACTIVATIONS, type DvcnnConfig, MAX_DEPTH, TRIANGLES } from '../models/dvcnn.js';
import { choiceOption, finiteOption, intOption, positiveOption, rejectUnknownKeys } from './options.js';
import { PLATEAU } from './plateau.js';

export const CENTER_MODES = ['none', 'output', 'all'] as const;
/** 'output': only the softmax layer's input is centred; 'all': every layer's (Dvcnn.setCenters) */
export type CenterMode = (typeof CENTER_MODES)[number];

export const LR_SCALINGS = ['none', 'moment', 'moment-epoch'] as const;

/** When a run ends: after `epochs` ('cap'), or earlier once its validation error has plateaued (DVCNN_PLATEAU). */
export const STOP_RULES = ['cap', 'plateau'] as const;
export type StopRule = (typeof STOP_RULES)[number];

/**
 * train's plateau rule (src/train/plateau.ts: < 0.1 points of validation error gained over the last 20 % of
 * the epochs) from epoch 10 instead of 50: DVCNN budgets here are tens of epochs, and the net overfits early.
 */
export const DVCNN_PLATEAU = { ...PLATEAU, minEpochs: 10 } as const;
export type LrScaling = (typeof LR_SCALINGS)[number];

/** Units per layer = input features: MNIST's 28x28 pixels, or their 2x2 or 4x4 block means. */
export const DVCNN_WIDTHS = [784, 196, 49] as const;

/**
 * The network (width 784, 196 or 49; depth 1..1000; activation; triangle: which triangle each layer's weight
 * mask keeps, alternating by default; biasInit, the paper's drift runs use -2; weightStd, undefined:
 * 1/sqrt(width); seed, also of the minibatch order) and how it is trained on which data.
 */
export interface DvcnnTrainConfig extends Omit<DvcnnConfig, 'classes'> {
  /** MNIST digits over uniform noise ('random', the substitute for MNIST-bg-img) or on black ('plain') */
  background: Background;
  /** seed of the background noise */
  dataSeed: number;
  /** the first N of the 10,000 training / 2,000 validation images; undefined: all */
  limitTrain?: number;
  limitVal?: number;
  /** test images (of 50,000) whose error is measured once, after the last epoch (test.json); 0: none */
  limitTest: number;
  /** mean of the initial hidden weights (added to every unmasked entry); the paper gives no init */
  weightMean: number;
  /** the most epochs; with stop 'plateau' the run may end earlier */
  epochs: number;
  stop: StopRule;
  /** plain SGD learning rate (after the first `lrStartEpochs` epochs, when those are set) */
  lr: number;
  /**
   * a two-step schedule: plain SGD at `lrStart` for the first `lrStartEpochs` epochs, then at `lr`. A large
   * first rate removes the drift (the top layers' inputs of ~36 make a common direction too stiff for any rate
   * that moves the digit's directions; docs/DVCNN.md, "The learning rate"); undefined: `lr` throughout
   */
  lrStart?: number;
  lrStartEpochs?: number;
  batchSize: number;
  /** validation images whose per-layer statistics are recorded before and after training */
  probe: number;
  /**
   * per-layer learning rates: 'none' (one rate), 'moment' (layer l's rate = lr * min(1, m_0 / m_l), m_l the mean
   * square of its input over the first training images, measured once before training) or 'moment-epoch'
   * (the same, measured again at the start of every epoch)
   */
  lrScaling: LrScaling;
  /** per-layer gradient-norm clipping; undefined: none */
  clipNorm?: number;
  /**
   * centred parametrisation: each layer's weights act on its input minus that input's mean over the first
   * training images, measured once on the untrained net (the untrained function is unchanged)
   */
  center: CenterMode;
}

export const DEFAULT_DVCNN_TRAIN: DvcnnTrainConfig = {
  width: 784,
  depth: 10,
  activation: 'sigmoid',
  triangle: 'alternate',
  biasInit: -2,
  weightStd: undefined,
  seed: 0,
  background: 'random',
  dataSeed: 0,
  limitTrain: undefined,
  limitVal: undefined,
  limitTest: 0,
  weightMean: 0,
  epochs: 10,
  stop: 'cap',
  lr: 0.01,
  lrStart: undefined,
  lrStartEpochs: undefined,
  batchSize: 50,
  probe: 500,
  lrScaling: 'none',
  clipNorm: undefined,
  center: 'none',
};

const KEYS = Object.keys(DEFAULT_DVCNN_TRAIN) as (keyof DvcnnTrainConfig)[];

/** Keys that define what a run computes: --resume refuses a run directory whose config differs in any of them. */
export const DVCNN_IDENTITY_KEYS = KEYS.filter((k) => k !== 'epochs');

/** The CLI flag of a config key: biasInit -> --bias-init. */
export function flagOf(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** The 2-D block size that gives `width` features from 28x28 pixels. */
export function downsampleOf(width: number): number {
  return 28 / Math.sqrt(width);
}

/** Resolve raw values (strings from the CLI, or numbers from library callers) into a checked config. */
export function resolveDvcnnConfig(raw: Partial<Record<keyof DvcnnTrainConfig, unknown>>): DvcnnTrainConfig {
  rejectUnknownKeys(raw, KEYS, 'train-dvcnn config');
  const get = (k: keyof DvcnnTrainConfig): unknown => (raw[k] === undefined ? DEFAULT_DVCNN_TRAIN[k] : raw[k]);
  const optional = <T>(k: keyof DvcnnTrainConfig, read: (v: unknown) => T): T | undefined => (get(k) === undefined || get(k) === null ? undefined : read(get(k)));
  const width = Number(get('width'));
  if (!(DVCNN_WIDTHS as readonly number[]).includes(width)) {
    throw usageError('--width', `must be 784, 196 or 49 (MNIST's pixels, or their 2x2 or 4x4 block means); got '${get('width')}'`);
  }
  return {
    width,
    depth: intOption('--depth', get('depth'), 1, MAX_DEPTH, ' (volume-conserving layers)'),
    activation: choiceOption('--activation', get('activation'), ACTIVATIONS),
    triangle: choiceOption('--triangle', get('triangle'), TRIANGLES),
    biasInit: finiteOption('--bias-init', get('biasInit')),
    weightStd: optional('weightStd', (v) => {
      const n = finiteOption('--weight-std', v);
      if (n < 0) throw usageError('--weight-std', `must be a number >= 0; got '${v}'`);
      return n;
    }),
    seed: intOption('--seed', get('seed'), 0, 2 ** 31 - 1),
    background: choiceOption('--background', get('background'), BACKGROUNDS),
    dataSeed: intOption('--data-seed', get('dataSeed'), 0, 2 ** 31 - 1),
    limitTrain: optional('limitTrain', (v) => intOption('--limit-train', v, 1, 10_000)),
    limitVal: optional('limitVal', (v) => intOption('--limit-val', v, 1, 2_000)),
    limitTest: intOption('--limit-test', get('limitTest'), 0, 50_000, ' (test images; 0: no test error)'),
    weightMean: finiteOption('--weight-mean', get('weightMean')),
    epochs: intOption('--epochs', get('epochs'), 0, 1_000_000),
    stop: choiceOption('--stop', get('stop'), STOP_RULES),
    lr: positiveOption('--lr', get('lr')),
    ...lrStartOptions(optional('lrStart', (v) => positiveOption('--lr-start', v)), optional('lrStartEpochs', (v) => intOption('--lr-start-epochs', v, 1, 1_000_000))),
    batchSize: intOption('--batch-size', get('batchSize'), 1, 10_000),
    probe: intOption('--probe', get('probe'), 1, 2_000, ' (validation images)'),
    lrScaling: choiceOption('--lr-scaling', get('lrScaling'), LR_SCALINGS),
    clipNorm: optional('clipNorm', (v) => positiveOption('--clip-norm', v)),
    center: choiceOption('--center', get('center'), CENTER_MODES),
  };
}

function lrStartOptions(lrStart: number | undefined, lrStartEpochs: number | undefined): Pick<DvcnnTrainConfig, 'lrStart' | 'lrStartEpochs'> {
  if ((lrStart === undefined) !== (lrStartEpochs === undefined)) {
    throw usageError(lrStart === undefined ? '--lr-start' : '--lr-start-epochs', 'is needed too: --lr-start RATE and --lr-start-epochs N go together (RATE for the first N epochs, then --lr)');
  }
  return { lrStart, lrStartEpochs };
}

/** The SGD rate of an epoch (1-based): `lrStart` for the first `lrStartEpochs`, then `lr`. */
export function lrOfEpoch(config: Pick<DvcnnTrainConfig, 'lr' | 'lrStart' | 'lrStartEpochs'>, epoch: number): number {
  return config.lrStart !== undefined && epoch <= (config.lrStartEpochs ?? 0) ? config.lrStart : config.lr;
}

/** The optimiser in words, for verdict conditions and captions: "plain SGD lr 0.01 for 4 epochs, then 0.0003". */
export function describeOptimiser(config: Pick<DvcnnTrainConfig, 'center' | 'lr' | 'lrStart' | 'lrStartEpochs'>): string {
  const name = config.center === 'all' ? 'centred SGD' : 'plain SGD';
  if (config.lrStart === undefined) return `${name} lr ${config.lr}`;
  return `${name} lr ${config.lrStart} for ${config.lrStartEpochs} epoch${config.lrStartEpochs === 1 ? '' : 's'}, then ${config.lr}`;
}
