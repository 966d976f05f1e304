/**
 * A Hodas & Stinis training run's config: defaults in code, CLI flags override them (validated here, at
 * the public door; an unknown key is refused).
 */
import { BACKENDS, type BackendName, parseBackend } from '../backend.js';
import { parseSplit, type SplitName } from '../data/splits.js';
import { usageError } from '../errors.js';
import { type Arch, DEPTH_RANGE, parseArch, WIDTH_RANGE } from '../models/hodas.js';
import { intOption as int, positiveOption as positive, rejectUnknownKeys } from './options.js';

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
  /** BN at evaluation: the evaluated set's own statistics, or the moving averages */
  bnEval: 'batch' | 'moving';
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
  dumpActivations: '',
};

/** Keys that define what a run computes: --resume refuses a run directory whose config differs in any of them. */
export const IDENTITY_KEYS = ['arch', 'width', 'depth', 'seed', 'batchSize', 'lr', 'split', 'limitTrain', 'limitVal', 'miEvery', 'miSamples', 'k', 'bnEval'] as const;

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
    bnEval: ((v) => {
      if (v === 'batch' || v === 'moving') return v;
      throw usageError('--bn-eval', `use batch or moving; got '${v}'`);
    })(get('bnEval')),
    dumpActivations: String(get('dumpActivations') ?? ''),
    out: String(raw.out),
  };
  parseDumpEpochs(cfg.dumpActivations, epochs);
  return cfg;
}

export { BACKENDS };
