/**
 * The metrics row every trainer writes (one per epoch, epoch 0 = the untrained net) and the one reader of
 * a run directory's metrics.jsonl, shared by the trainers (resume) and the figures (drawing).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configError } from '../errors.js';

/** One epoch of a run (docs/ARCHITECTURE.md, "Run directories"). */
export interface MetricsRow {
  epoch: number;
  trainLoss: number;
  trainError: number;
  valError: number;
  /** MI(first; last hidden layer) in bits; null on epochs the MI schedule skips, and for DVCNN runs */
  mi: number | null;
  /** seconds in training steps this epoch (0 at epoch 0) */
  secondsTrain: number;
  /** seconds of the evaluation forward passes */
  secondsForward: number;
  secondsMI: number;
  /** mean validation loss (DVCNN runs only) */
  valLoss?: number;
  /** half-width (bits) of the MI's noise band from disjoint subsamples (--mi-band-splits); null when not measured */
  miBand?: number | null;
  /** validation error under the other BatchNorm evaluation mode (--bn-eval-variant); null when not measured */
  valErrorVariant?: number | null;
  /** MI under the other BatchNorm evaluation mode, over --mi-variant-samples images; null when not measured */
  miVariant?: number | null;
  /** mean MI(first; shuffled last) over --mi-baseline shuffles, bits: the estimator's floor; null when not measured */
  miBaseline?: number | null;
}

/** metrics.csv's columns, in order, for each trainer. */
export const METRIC_COLUMNS = ['epoch', 'trainLoss', 'trainError', 'valError', 'mi', 'secondsTrain', 'secondsForward', 'secondsMI'] as const;
/** Columns a Hodas & Stinis run adds after METRIC_COLUMNS when asked (--mi-band-splits, --bn-eval-variant, --mi-baseline). */
export const OPTIONAL_METRIC_COLUMNS = ['miBand', 'valErrorVariant', 'miVariant', 'miBaseline'] as const;
export const DVCNN_METRIC_COLUMNS = ['epoch', 'trainLoss', 'trainError', 'valError', 'valLoss', 'mi', 'secondsTrain', 'secondsForward', 'secondsMI'] as const;
export type MetricColumn = (typeof DVCNN_METRIC_COLUMNS)[number] | (typeof OPTIONAL_METRIC_COLUMNS)[number];

/**
 * The rows of `<runDir>/metrics.jsonl` in file order ([] when absent). A last line that does not parse is
 * a write cut short by a kill: it is dropped, and resuming runs that epoch again. A bad line before the
 * last is a damaged file: a config error naming it.
 */
export function readMetrics(runDir: string): MetricsRow[] {
  return readJsonLines<MetricsRow>(join(runDir, 'metrics.jsonl'));
}

/** The objects of a run directory's JSON-lines file (metrics.jsonl, mi-layers.jsonl), read as readMetrics says. */
export function readJsonLines<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  const rows: T[] = [];
  let last = lines.length - 1;
  while (last >= 0 && !lines[last].trim()) last--;
  for (let i = 0; i <= last; i++) {
    if (!lines[i].trim()) continue;
    try {
      rows.push(JSON.parse(lines[i]) as T);
    } catch {
      if (i === last) break;
      throw configError(path, `line ${i + 1} is not JSON (a damaged file); delete the run directory or start it again with --force`);
    }
  }
  return rows;
}
