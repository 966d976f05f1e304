/**
 * A Hodas & Stinis training run's config: defaults in code, CLI flags override them (validated here, at
 * the public door; an unknown key is refused).
 */
import { BACKENDS, type BackendName, parseBackend } from '../backend.js';
import { parseSplit, type SplitName } from '../data/splits.js';
import { usageError } from '../errors.js';
import { type Arch, DEPTH_RANGE, parseArch, WIDTH_RANGE } from '../models/hodas.js';
import { checkMiErrorBarRows, MI_LAYER_MODES, type MiLayerMode } from './mi-layers.js';
import { choiceOption, intOption as int, positiveOption as positive, rejectUnknownKeys } from './options.js';

export type BnEval = 'batch' | 'moving';

export interface TrainConfig {
  arch: Arch;
  width: number;
  depth: number;
  seed: number;
  epochs: number;
  /** null: full batch (one step per epoch, the paper's setting) */
  batchSize: number | null;
  lr: number;
  split: SplitName;
  limitTrain: number | null;
  limitVal: number | null;
  backend: BackendName;
  /** MI every N epochs (and at the last one); 0 = never */
  miEvery: number;
  miWorkers: number;
  /** MI over the first N validation images only (null: all); the errors always use the whole set */
  miSamples: number | null;
  k: number;
  /** BN at evaluation: the evaluated set's own statistics, or the moving averages (Keras's inference mode) */
  bnEval: BnEval;
  /** the other mode, measured in the same run (valErrorVariant, miVariant), or 'none' */
  bnEvalVariant: BnEval | 'none';
  /** MI under the variant mode over the first N validation images (null: all) */
  miVariantSamples: number | null;
  /** every epoch up to this one has MI, whatever miEvery says (a dense start, then every miEvery) */
  miDense: number;
  /** MI also over this many disjoint subsamples of the MI ensemble, for its noise band (0: none) */
  miBandSplits: number;
  /** stop once the validation error has plateaued (src/train/plateau.ts); `epochs` is then the cap */
  untilPlateau: boolean;
  /** the pairs of hidden layers whose MI each MI epoch records (src/train/mi-layers.ts); first-last: the metrics row only */
  miLayers: MiLayerMode;
  /** error bars (Holmes & Nemenman 2019) on each pair's MI in mi-layers.csv */
  miErrorBars: boolean;
  /** shuffles of the last layer per MI epoch for the baseline miBaseline (0: none) */
  miBaseline: number;
  /** epochs whose first/last activations are written as .npy: e.g. '0,10,last' ('' = none) */
  dumpActivations: string;
  out: string;
}

export const DEFAULTS: Omit<TrainConfig, 'out'> = {
  arch: 'mlp',
  width: 32,
  depth: 5,
  seed: 0,
  epochs: 100,
  batchSize: null,
  lr: 1e-3,
  split: 'paper',
  limitTrain: null,
  limitVal: null,
  backend: 'auto',
  miEvery: 1,
  miWorkers: 1,
  miSamples: null,
  k: 3,
  bnEval: 'batch',
  bnEvalVariant: 'none',
  miVariantSamples: 10_000,
  miDense: 0,
  miBandSplits: 0,
  untilPlateau: false,
  miLayers: 'first-last',
  miErrorBars: false,
  miBaseline: 0,
  dumpActivations: '',
};

/** Keys that define what a run computes: --resume refuses a run directory whose config differs in any of them. */
export const IDENTITY_KEYS = [
  'arch', 'width', 'depth', 'seed', 'batchSize', 'lr', 'split', 'limitTrain', 'limitVal', 'miEvery', 'miSamples', 'k', 'bnEval',
  'bnEvalVariant', 'miVariantSamples', 'miDense', 'miBandSplits', 'untilPlateau', 'miLayers', 'miErrorBars', 'miBaseline',
] as const;

/** Parse '0,10,last' against the epoch count; throws on anything else. */
export function parseDumpEpochs(spec: string, epochs: number): Set<number> {
  const out = new Set<number>();
  if (!spec.trim()) return out;
  for (const part of spec.split(',').map((s) => s.trim())) {
    if (part === 'last') out.add(epochs);
    else if (part === 'all') for (let e = 0; e <= epochs; e++) out.add(e);
    else out.add(int('--dump-activations', part, 0, epochs, " (or 'last', 'all'; comma-separated)"));
  }
  return out;
}

/** Resolve raw option values (strings from the CLI, or numbers from library callers) into a checked config. */
export function resolveConfig(raw: Partial<Record<keyof TrainConfig, unknown>>): TrainConfig {
  rejectUnknownKeys(raw, [...Object.keys(DEFAULTS), 'out'], 'train config');
  const get = <K extends keyof TrainConfig>(k: K): unknown => (raw[k] === undefined ? (DEFAULTS as Record<string, unknown>)[k] : raw[k]);
  if (raw.out === undefined || String(raw.out).trim() === '') throw usageError('--out', 'a run directory is required (e.g. --out runs/mlp-w32)');
  const epochs = int('--epochs', get('epochs'), 0, 1_000_000);
  const batch = get('batchSize');
  const cfg: TrainConfig = {
    arch: parseArch(String(get('arch'))),
    width: int('--width', get('width'), WIDTH_RANGE[0], WIDTH_RANGE[1]),
    depth: int('--depth', get('depth'), DEPTH_RANGE[0], DEPTH_RANGE[1], ' (hidden layers)'),
    seed: int('--seed', get('seed'), 0, 2 ** 31 - 1),
    epochs,
    batchSize: batch === null || batch === 'full' ? null : int('--batch-size', batch, 1, 10_000_000, " (or 'full')"),
    lr: positive('--lr', get('lr')),
    split: parseSplit(String(get('split'))),
    limitTrain: get('limitTrain') === null ? null : int('--limit-train', get('limitTrain'), 2, 60_000),
    limitVal: get('limitVal') === null ? null : int('--limit-val', get('limitVal'), 5, 70_000, ' (the MI needs more points than k)'),
    backend: parseBackend(String(get('backend'))),
    miEvery: int('--mi-every', get('miEvery'), 0, 1_000_000, ' (0: never)'),
    miWorkers: int('--mi-workers', get('miWorkers'), 1, 1024),
    miSamples: get('miSamples') === null ? null : int('--mi-samples', get('miSamples'), 5, 70_000, ' (validation images the MI uses)'),
    k: int('--k', get('k'), 1, 100),
    bnEval: choiceOption('--bn-eval', get('bnEval'), ['batch', 'moving'] as const),
    bnEvalVariant: choiceOption('--bn-eval-variant', get('bnEvalVariant'), ['none', 'batch', 'moving'] as const),
    miVariantSamples: get('miVariantSamples') === null ? null : int('--mi-variant-samples', get('miVariantSamples'), 5, 70_000, ' (validation images the variant MI uses)'),
    miDense: int('--mi-dense', get('miDense'), 0, 1_000_000, ' (every epoch up to it has MI)'),
    miBandSplits: int('--mi-band-splits', get('miBandSplits'), 0, 100, ' (0: no band; 2 or more disjoint subsamples)'),
    untilPlateau: switchOption('--until-plateau', get('untilPlateau')),
    miLayers: choiceOption('--mi-layers', get('miLayers'), MI_LAYER_MODES),
    miErrorBars: switchOption('--mi-error-bars', get('miErrorBars')),
    // a bare --mi-baseline (true) is one shuffle
    miBaseline: get('miBaseline') === true ? 1 : get('miBaseline') === false ? 0 : int('--mi-baseline', get('miBaseline'), 0, 1000, ' (shuffles per MI epoch; 0: none)'),
    dumpActivations: String(get('dumpActivations') ?? ''),
    out: String(raw.out),
  };
  parseDumpEpochs(cfg.dumpActivations, epochs);
  if (cfg.bnEvalVariant === cfg.bnEval) throw usageError('--bn-eval-variant', `must differ from --bn-eval (${cfg.bnEval}); use the other mode or none`);
  if (cfg.miBandSplits === 1) throw usageError('--mi-band-splits', 'needs 2 or more subsamples for a spread (0: no band)');
  // the MI's rows when they are fewer than any split's validation set (10,000 or 30,000, enough for k <= 100)
  const miRows = Math.min(cfg.miSamples ?? Infinity, cfg.limitVal ?? Infinity);
  if (cfg.miErrorBars && cfg.miEvery > 0 && Number.isFinite(miRows)) checkMiErrorBarRows(miRows, cfg.k);
  return cfg;
}

function switchOption(option: string, v: unknown): boolean {
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false' || v === undefined) return false;
  throw usageError(option, `is a switch (true or false); got '${v}'`);
}

export { BACKENDS };
