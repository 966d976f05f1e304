/**
 * The MI between pairs of hidden layers on every epoch that computes MI (`train --mi-layers`), and the
 * shuffled baseline of the first-to-last MI (`train --mi-baseline`).
 *
 * Layers are numbered 1..L here and in the file (1 = the first hidden layer, L = the last), each its own tanh
 * output (before any residual sum, as the recorded first and last layers). `first-last` is the one pair the
 * metrics row records already (no file); `adjacent` adds every pair (i, i+1), `all` every pair i < j.
 * `<run>/mi-layers.csv` and `mi-layers.jsonl` hold one row per epoch and pair (long format), appended and
 * fsync'ed with the epoch, and cut back to the checkpoint's epoch on resume, as metrics.csv is.
 */
import { join } from 'node:path';
import { csvRows, csvText } from '../csv.js';
import { usageError } from '../errors.js';
import { appendDurable, writeFileDurable } from '../io/durable.js';
import { DEFAULT_SPLITS, MIN_ROWS_PER_K } from '../mi/error-bars-check.js';
import type { Estimating } from '../mi/permutation.js';
import type { Matrix } from '../matrix.js';
import { readJsonLines } from './metrics.js';

export const MI_LAYER_MODES = ['first-last', 'adjacent', 'all'] as const;
export type MiLayerMode = (typeof MI_LAYER_MODES)[number];

/** One epoch and pair of mi-layers.csv: MI in bits; the error bars (Holmes & Nemenman 2019) when asked. */
export interface MiLayerRow {
  epoch: number;
  layer_a: number;
  layer_b: number;
  mi: number;
  mi_se?: number | null;
  mi_lo?: number | null;
  mi_hi?: number | null;
  /** seconds this pair's estimates took (0 for the first-last pair, the metrics row's estimate) */
  seconds: number;
}

export const MI_LAYER_COLUMNS = ['epoch', 'layer_a', 'layer_b', 'mi', 'seconds'] as const;
export const MI_LAYER_ERROR_COLUMNS = ['mi_se', 'mi_lo', 'mi_hi'] as const;

/** The pairs (a, b), a < b, 1-based, that `mode` measures in a net of `depth` hidden layers. */
export function layerPairs(mode: MiLayerMode, depth: number): [number, number][] {
  if (mode === 'first-last') return [[1, depth]];
  const out: [number, number][] = [];
  if (mode === 'adjacent') for (let a = 1; a < depth; a++) out.push([a, a + 1]);
  else for (let a = 1; a < depth; a++) for (let b = a + 1; b <= depth; b++) out.push([a, b]);
  return out;
}

/** Whether a run writes mi-layers.csv: any pair beyond first-last, or error bars on the layers' MI. */
export const writesMiLayers = (mode: MiLayerMode, errorBars: boolean): boolean => mode !== 'first-last' || errorBars;

/** The error bars' subsamples need MIN_ROWS_PER_K k rows each at DEFAULT_SPLITS splits: the MI ensemble's minimum. */
export function checkMiErrorBarRows(rows: number, k: number): void {
  const need = DEFAULT_SPLITS * MIN_ROWS_PER_K * k;
  if (rows < need) {
    throw usageError('--mi-error-bars', `the MI uses ${rows} validation images; error bars at k = ${k} need at least ${need} (${DEFAULT_SPLITS} subsamples of ${MIN_ROWS_PER_K} k); raise --mi-samples or --limit-val`);
  }
}

/** Each hidden layer's activations over the MI ensemble's first m rows, as matrices (1-based: layers[i - 1]). */
export interface LayerActivations {
  layers: readonly Matrix[];
}

/**
 * The rows of one epoch: every pair's MI (bits) with `estimator`; `firstLast` is the metrics row's estimate of
 * (1, L), reused rather than estimated again. With `errorBars`, each pair's error bars from disjoint subsamples.
 */
export async function measureLayerPairs(
  estimator: Estimating,
  epoch: number,
  acts: LayerActivations,
  opts: {
    mode: MiLayerMode;
    k: number;
    firstLast: number;
    errorBars?: { seed: number };
    onWarning?: (line: string) => void;
  },
): Promise<MiLayerRow[]> {
  const depth = acts.layers.length;
  const rows: MiLayerRow[] = [];
  const { subsampleErrorBars } = opts.errorBars ? await import('../mi/error-bars.js') : { subsampleErrorBars: null };
  for (const [a, b] of layerPairs(opts.mode, depth)) {
    const t0 = performance.now();
    const x = acts.layers[a - 1];
    const y = acts.layers[b - 1];
    let mi = opts.firstLast;
    if (a !== 1 || b !== depth) {
      const r = await estimator.estimate({ data: x.data, shape: [x.n, x.d] }, { data: y.data, shape: [y.n, y.d] }, { k: opts.k });
      for (const w of r.warnings) opts.onWarning?.(`layers ${a}-${b}: ${w}`);
      mi = r.mi;
    }
    const row: MiLayerRow = { epoch, layer_a: a, layer_b: b, mi: round(mi), seconds: 0 };
    if (opts.errorBars && subsampleErrorBars) {
      const e = await subsampleErrorBars(estimator, x, y, { mi }, { splits: DEFAULT_SPLITS, level: 0.95, seed: opts.errorBars.seed, estimate: { k: opts.k } });
      Object.assign(row, { mi_se: round(e.se), mi_lo: round(e.lo), mi_hi: round(e.hi) });
    }
    row.seconds = round((performance.now() - t0) / 1000, 4);
    rows.push(row);
  }
  return rows;
}

const round = (v: number, digits = 6) => Number(v.toPrecision(digits));

/** mi-layers.csv (for people and figures) and mi-layers.jsonl (the resume reader), written together. */
export class MiLayersLog {
  readonly columns: readonly string[];
  constructor(
    readonly dir: string,
    errorBars: boolean,
  ) {
    this.columns = [...MI_LAYER_COLUMNS.slice(0, 4), ...(errorBars ? MI_LAYER_ERROR_COLUMNS : []), 'seconds'];
  }

  /** The rows on disk ([] when absent); a torn last line (a kill mid-write) is dropped, as readMetrics does. */
  read(): MiLayerRow[] {
    return readMiLayers(this.dir);
  }

  /** Rewrite both files to hold exactly the rows up to `epoch` (resume: the checkpoint's epoch; -1: none). */
  resetTo(epoch: number): MiLayerRow[] {
    const rows = this.read().filter((r) => r.epoch <= epoch);
    writeFileDurable(join(this.dir, 'mi-layers.csv'), csvText(this.columns, rows));
    writeFileDurable(join(this.dir, 'mi-layers.jsonl'), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return rows;
  }

  append(rows: readonly MiLayerRow[]): void {
    appendDurable(join(this.dir, 'mi-layers.csv'), csvRows(this.columns, rows));
    appendDurable(join(this.dir, 'mi-layers.jsonl'), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }
}

/** The rows of `<runDir>/mi-layers.jsonl` in file order ([] when absent; a torn last line dropped). */
export function readMiLayers(runDir: string): MiLayerRow[] {
  return readJsonLines<MiLayerRow>(join(runDir, 'mi-layers.jsonl'));
}

/**
 * The shuffled baseline of MI(first; last) in bits: the mean over `shuffles` seeded shuffles of the last layer's
 * rows, the estimator's floor for independent layers of these marginals (its bias at this N and dims).
 */
export async function shuffledBaseline(estimator: Estimating, first: Matrix, last: Matrix, opts: { shuffles: number; seed: number; k: number }): Promise<number> {
  const { shuffledEstimates } = await import('../mi/permutation.js');
  const nullDist = await shuffledEstimates(estimator, first, last, { permutations: opts.shuffles, seed: opts.seed, estimate: { k: opts.k } });
  return round(nullDist.mean);
}
