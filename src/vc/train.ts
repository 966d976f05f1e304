/**
 * Training a DVCNN with minibatch SGD on MNIST with a random background, in process, into a run directory:
 * config.json, metrics.jsonl + metrics.csv (one row per epoch, written as the epoch ends; epoch 0 is the
 * untrained net), layer-stats-epoch-<E>.json (per layer: mean of f and of the layer output y, quantiles of f)
 * for the first and last epoch, done.json. Resume and checkpoints are not implemented for DVCNN runs: a run
 * directory without done.json is started again from scratch.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, initBackend } from '../backend.js';
import { type Background, loadBackgroundMnist } from '../data/background.js';
import type { Dataset } from '../data/splits.js';
import { ioError, usageError } from '../errors.js';
import { Xoshiro128 } from '../mi/noise.js';
import { DEFAULT_DVCNN, Dvcnn, type DvcnnConfig, validateDvcnnConfig, type LayerTrace } from '../models/dvcnn.js';

export interface VcTrainConfig extends Omit<DvcnnConfig, 'width' | 'classes'> {
  background: Background;
  downsample: number;
  dataSeed: number;
  limitTrain?: number;
  limitVal?: number;
  epochs: number;
  lr: number;
  batchSize: number;
  /** validation images whose per-layer statistics are recorded before and after training */
  probe: number;
}

export const DEFAULT_VC_TRAIN: VcTrainConfig = {
  ...DEFAULT_DVCNN,
  background: 'random',
  downsample: 1,
  dataSeed: 0,
  epochs: 10,
  lr: 0.01,
  batchSize: 50,
  probe: 500,
};

/** One epoch's metrics (docs/ARCHITECTURE.md "Run directories"; `mi` is always null here). */
export interface VcMetricsRow {
  epoch: number;
  trainLoss: number;
  trainError: number;
  valError: number;
  valLoss: number;
  mi: null;
  secondsTrain: number;
  secondsForward: number;
  secondsMI: number;
}

/** Statistics of one layer over the probe images (all units x all images). */
export interface LayerStats {
  layer: number;
  /** mean of f over units and images */
  meanF: number;
  /** mean of the layer output y = x + f (the accumulated drift) */
  meanY: number;
  /** quantiles of f: 5, 25, 50, 75, 95 % */
  q05: number;
  q25: number;
  q50: number;
  q75: number;
  q95: number;
  /** share of |f| < 0.05 ("pushed to zero") */
  nearZero: number;
}

export interface VcTrainResult {
  rows: VcMetricsRow[];
  statsBefore: LayerStats[];
  statsAfter: LayerStats[];
  diverged: boolean;
  warnings: string[];
  secondsPerStep: number;
}

export function validateTrainConfig(c: VcTrainConfig): void {
  if (!Number.isInteger(c.epochs) || c.epochs < 0) throw usageError('--epochs', `must be an integer >= 0; got ${c.epochs}`);
  if (!(Number.isFinite(c.lr) && c.lr > 0)) throw usageError('--lr', `must be a number > 0; got ${c.lr}`);
  if (!Number.isInteger(c.batchSize) || c.batchSize < 1) throw usageError('--batch-size', `must be an integer >= 1; got ${c.batchSize}`);
  if (!Number.isInteger(c.probe) || c.probe < 1) throw usageError('--probe', `must be an integer >= 1; got ${c.probe}`);
}

function quantile(sorted: Float32Array, p: number): number {
  const pos = p * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Per-layer statistics of f and y over the rows of `x`. */
export function layerStats(model: Dvcnn, x: tf.Tensor2D): LayerStats[] {
  const trace: LayerTrace = { f: [], y: [] };
  tf.tidy(() => {
    model.hidden(x, trace);
  });
  const out: LayerStats[] = [];
  for (let l = 0; l < trace.f.length; l++) {
    const f = trace.f[l].dataSync() as Float32Array;
    const y = trace.y[l].dataSync() as Float32Array;
    let sf = 0;
    let sy = 0;
    let zero = 0;
    for (let k = 0; k < f.length; k++) {
      sf += f[k];
      sy += y[k];
      if (Math.abs(f[k]) < 0.05) zero++;
    }
    const sorted = Float32Array.from(f).sort();
    out.push({
      layer: l + 1,
      meanF: sf / f.length,
      meanY: sy / y.length,
      q05: quantile(sorted, 0.05),
      q25: quantile(sorted, 0.25),
      q50: quantile(sorted, 0.5),
      q75: quantile(sorted, 0.75),
      q95: quantile(sorted, 0.95),
      nearZero: zero / f.length,
    });
    trace.f[l].dispose();
    trace.y[l].dispose();
  }
  return out;
}

function rowsOf(data: Dataset, from: number, to: number): tf.Tensor2D {
  return tf.tensor2d(data.x.subarray(from * data.d, to * data.d), [to - from, data.d]);
}

/** Mean loss and error rate over a dataset, in batches. */
export function evaluate(model: Dvcnn, data: Dataset, batch = 500): { loss: number; error: number } {
  let loss = 0;
  let wrong = 0;
  for (let from = 0; from < data.n; from += batch) {
    const to = Math.min(data.n, from + batch);
    const [l, pred] = tf.tidy(() => {
      const x = rowsOf(data, from, to);
      const logits = model.logits(x);
      const labels = tf.tensor1d(data.labels.subarray(from, to), 'int32');
      const ce = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, model.config.classes), logits, undefined, undefined, tf.Reduction.SUM);
      return [ce, tf.argMax(logits, 1)];
    });
    loss += (l.dataSync() as Float32Array)[0];
    const p = pred.dataSync();
    for (let i = 0; i < p.length; i++) if (p[i] !== data.labels[from + i]) wrong++;
    l.dispose();
    pred.dispose();
  }
  return { loss: loss / data.n, error: wrong / data.n };
}

function writeJson(path: string, value: unknown): void {
  try {
    writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
  } catch (e) {
    throw ioError(path, `cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); choose a writable --out`, e);
  }
}

const CSV_COLUMNS = ['epoch', 'trainLoss', 'trainError', 'valError', 'valLoss', 'mi', 'secondsTrain', 'secondsForward', 'secondsMI'] as const;

/**
 * Trains one DVCNN. `outDir` (optional) receives the run directory files; `onEpoch` sees each row as it is
 * written. Training stops early (diverged = true) when the loss stops being finite.
 */
export async function trainDvcnn(
  config: VcTrainConfig,
  opts: { outDir?: string; backend?: BackendName; onEpoch?: (row: VcMetricsRow) => void; data?: { train: Dataset; val: Dataset } } = {},
): Promise<VcTrainResult> {
  validateTrainConfig(config);
  const features = (28 / config.downsample) ** 2;
  const modelConfig: DvcnnConfig = { ...config, width: features, classes: 10 };
  const warnings = validateDvcnnConfig(modelConfig, features);
  await initBackend(opts.backend ?? 'auto');
  const data =
    opts.data ??
    loadBackgroundMnist({
      background: config.background,
      seed: config.dataSeed,
      downsample: config.downsample,
      limitTrain: config.limitTrain,
      limitVal: config.limitVal,
    });
  if (data.train.d !== features) throw usageError('--downsample', `the data has ${data.train.d} features, the model expects ${features}`);
  const outDir = opts.outDir;
  if (outDir) {
    try {
      mkdirSync(outDir, { recursive: true });
      writeFileSync(join(outDir, 'metrics.jsonl'), '');
      writeFileSync(join(outDir, 'metrics.csv'), `${CSV_COLUMNS.join(',')}\n`);
    } catch (e) {
      throw ioError(outDir, `cannot create the run directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); choose a writable --out`, e);
    }
    writeJson(join(outDir, 'config.json'), { model: 'dvcnn', ...config, width: features, classes: 10, weightStd: config.weightStd ?? 1 / Math.sqrt(features), nTrain: data.train.n, nVal: data.val.n, backend: tf.getBackend() });
  }
  const model = new Dvcnn(modelConfig, features);
  const probeN = Math.min(config.probe, data.val.n);
  const probe = rowsOf(data.val, 0, probeN);
  const rng = new Xoshiro128(config.seed + 7919);
  const rows: VcMetricsRow[] = [];
  let diverged = false;
  let steps = 0;
  let stepSeconds = 0;
  const order = new Int32Array(data.train.n).map((_, i) => i);
  const xBatch = new Float32Array(config.batchSize * features);
  const yBatch = new Int32Array(config.batchSize);
  const record = (epoch: number, secondsTrain: number) => {
    const t0 = performance.now();
    const tr = evaluate(model, data.train);
    const va = evaluate(model, data.val);
    const row: VcMetricsRow = {
      epoch,
      trainLoss: tr.loss,
      trainError: tr.error,
      valError: va.error,
      valLoss: va.loss,
      mi: null,
      secondsTrain,
      secondsForward: (performance.now() - t0) / 1000,
      secondsMI: 0,
    };
    rows.push(row);
    if (outDir) {
      try {
        appendFileSync(join(outDir, 'metrics.jsonl'), `${JSON.stringify(row)}\n`);
        appendFileSync(join(outDir, 'metrics.csv'), `${CSV_COLUMNS.map((c) => String(row[c] ?? '')).join(',')}\n`);
      } catch (e) {
        throw ioError(outDir, `cannot append metrics (${(e as Error).message}); check the disk`, e);
      }
    }
    opts.onEpoch?.(row);
    return row;
  };
  try {
    const statsBefore = layerStats(model, probe);
    if (outDir) writeJson(join(outDir, 'layer-stats-epoch-0.json'), statsBefore);
    record(0, 0);
    let lastEpoch = 0;
    for (let epoch = 1; epoch <= config.epochs && !diverged; epoch++) {
      // Fisher-Yates with the run's own stream
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rng.nextDouble() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      const t0 = performance.now();
      for (let from = 0; from + config.batchSize <= data.train.n; from += config.batchSize) {
        for (let r = 0; r < config.batchSize; r++) {
          const src = order[from + r];
          xBatch.set(data.train.x.subarray(src * features, (src + 1) * features), r * features);
          yBatch[r] = data.train.labels[src];
        }
        const s0 = performance.now();
        const x = tf.tensor2d(xBatch, [config.batchSize, features]);
        const oneHot = tf.tidy(() => tf.oneHot(tf.tensor1d(yBatch, 'int32'), 10) as tf.Tensor2D);
        let c: number;
        try {
          c = model.step(x, oneHot, { lr: config.lr });
        } finally {
          x.dispose();
          oneHot.dispose();
        }
        stepSeconds += (performance.now() - s0) / 1000;
        steps++;
        if (!Number.isFinite(c)) {
          diverged = true;
          break;
        }
      }
      const row = record(epoch, (performance.now() - t0) / 1000);
      if (!Number.isFinite(row.trainLoss)) diverged = true;
      lastEpoch = epoch;
    }
    const statsAfter = layerStats(model, probe);
    if (outDir) {
      writeJson(join(outDir, `layer-stats-epoch-${lastEpoch}.json`), statsAfter);
      writeJson(join(outDir, 'done.json'), { epochs: lastEpoch, diverged, secondsPerStep: steps ? stepSeconds / steps : null, warnings });
    }
    return { rows, statsBefore, statsAfter, diverged, warnings, secondsPerStep: steps ? stepSeconds / steps : NaN };
  } finally {
    probe.dispose();
    model.dispose();
  }
}
