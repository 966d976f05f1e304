/**
 * Training a DVCNN with minibatch SGD on MNIST with a random background, in process, into a run directory:
 * config.json, metrics.jsonl + metrics.csv (one row per epoch, written as the epoch ends; epoch 0 is the
 * untrained net), layer-stats-epoch-<E>.json (per layer: mean of f and of the layer output y, quantiles of f)
 * for the first and last epoch, checkpoint/state.json (every epoch), done.json. An interrupted run resumes from
 * its last checkpoint (see trainDvcnn).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, initBackend } from '../backend.js';
import { type Background, loadBackgroundMnist } from '../data/background.js';
import type { Dataset } from '../data/splits.js';
import { configError, ioError, usageError } from '../errors.js';
import { Xoshiro128 } from '../mi/noise.js';
import { type Checkpoint, type MetricsRow, prepareRunDir, RunDir } from '../train/rundir.js';
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
  /**
   * per-layer learning rates: 'none' (one rate), 'moment' (layer l's rate = lr * min(1, m_0 / m_l), m_l the mean
   * square of its input over the first training images, measured once before training) or 'moment-epoch'
   * (the same, measured again at the start of every epoch)
   */
  lrScaling?: LrScaling;
  /** per-layer gradient-norm clipping (undefined: none) */
  clipNorm?: number;
  /**
   * centred parametrisation (Dvcnn.setCenters): each layer's weights act on its input minus that input's mean
   * over the first training images, measured once on the untrained net; the untrained function is unchanged
   */
  center?: CenterMode;
}

export const CENTER_MODES = ['none', 'output', 'all'] as const;
/** 'output': only the softmax layer's input is centred; 'all': every layer's */
export type CenterMode = (typeof CENTER_MODES)[number];

export const LR_SCALINGS = ['none', 'moment', 'moment-epoch'] as const;
export type LrScaling = (typeof LR_SCALINGS)[number];

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

/** Weights above this many bytes are not checkpointed (the checkpoint is one base64 JSON string). */
export const MAX_CHECKPOINT_BYTES = 320 * 2 ** 20;

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
  if (c.lrScaling !== undefined && !(LR_SCALINGS as readonly string[]).includes(c.lrScaling)) {
    throw usageError('--lr-scaling', `unknown scaling '${c.lrScaling}'; use ${LR_SCALINGS.join(', ')}`);
  }
  if (c.center !== undefined && !(CENTER_MODES as readonly string[]).includes(c.center)) {
    throw usageError('--center', `unknown centring '${c.center}'; use ${CENTER_MODES.join(', ')}`);
  }
  if (c.clipNorm !== undefined && !(Number.isFinite(c.clipNorm) && c.clipNorm > 0)) throw usageError('--clip-norm', `must be a number > 0; got ${c.clipNorm}`);
}

/**
 * Mean square of each layer's input over the rows of `x` (index l = layer l, index depth = the output layer),
 * and the per-layer learning-rate factors min(1, m_0 / m_l). Plain SGD's stable step on a layer's weights
 * shrinks with the second moment of that layer's input (the Hessian of a linear map scales with E[x x^T];
 * LeCun et al. 1998, Efficient BackProp, sections 4.3 and 4.7); drift raises it from ~0.3 at the input to ~37^2
 * at the top, so one global rate is either unstable at the top or frozen at the bottom.
 */
export function momentScales(model: Dvcnn, x: tf.Tensor2D): { moments: number[]; scales: number[] } {
  const trace: LayerTrace = { f: [], y: [] };
  const m0 = tf.tidy(() => (tf.mean(tf.square(x)).dataSync() as Float32Array)[0]);
  tf.tidy(() => {
    model.hidden(x, trace);
  });
  const moments = [m0];
  for (let l = 0; l < trace.y.length; l++) {
    moments.push(tf.tidy(() => (tf.mean(tf.square(trace.y[l])).dataSync() as Float32Array)[0]));
    trace.f[l].dispose();
    trace.y[l].dispose();
  }
  return { moments, scales: moments.map((m) => Math.min(1, m0 / m)) };
}

/** Per-unit mean of each layer's input over the rows of `x` (index depth = the output layer's input). */
export function inputMeans(model: Dvcnn, x: tf.Tensor2D): Float32Array[] {
  const trace: LayerTrace = { f: [], y: [] };
  const out = [tf.tidy(() => tf.mean(x, 0).dataSync() as Float32Array)];
  tf.tidy(() => {
    model.hidden(x, trace);
  });
  for (let l = 0; l < trace.y.length; l++) {
    out.push(tf.tidy(() => tf.mean(trace.y[l], 0).dataSync() as Float32Array));
    trace.f[l].dispose();
    trace.y[l].dispose();
  }
  return out;
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

function readJsonFile<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function writeJson(path: string, value: unknown): void {
  try {
    writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
  } catch (e) {
    throw ioError(path, `cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); choose a writable --out`, e);
  }
}

const CSV_COLUMNS = ['epoch', 'trainLoss', 'trainError', 'valError', 'valLoss', 'mi', 'secondsTrain', 'secondsForward', 'secondsMI'] as const;

/** The config as written to config.json (the train config plus what it resolves to). */
function resolvedConfig(config: VcTrainConfig, features: number, data: { train: Dataset; val: Dataset }): Record<string, unknown> {
  return { model: 'dvcnn', ...config, width: features, classes: 10, weightStd: config.weightStd ?? 1 / Math.sqrt(features), nTrain: data.train.n, nVal: data.val.n };
}

/** Whether a run directory's config.json was written for this config (backend aside). */
function sameRun(saved: Record<string, unknown> | null, want: Record<string, unknown>): boolean {
  if (!saved) return false;
  return Object.keys(want).every((k) => JSON.stringify(saved[k] ?? null) === JSON.stringify(want[k] ?? null));
}

/** Fisher-Yates with the run's own stream: the order of one epoch (in place, from the previous epoch's). */
function shuffle(order: Int32Array, rng: Xoshiro128): void {
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.nextDouble() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
}

/** Raised by the `stopAfterEpoch` test hook: the run stopped as a kill would stop it, after a checkpoint. */
export class TrainingStopped extends Error {
  constructor(readonly epoch: number) {
    super(`training stopped after epoch ${epoch} (stopAfterEpoch)`);
  }
}

export interface TrainOptions {
  /** run directory (config.json, metrics, layer stats, checkpoint/, done.json); without it nothing is written */
  outDir?: string;
  backend?: BackendName;
  onEpoch?: (row: VcMetricsRow) => void;
  data?: { train: Dataset; val: Dataset };
  /**
   * continue the run in outDir from its checkpoint when its config.json matches (default true); a directory
   * made with another config, or with no checkpoint, is started again
   */
  resume?: boolean;
  /** test hook: stop (throw TrainingStopped) right after epoch E's checkpoint, as a kill at that moment would */
  stopAfterEpoch?: number;
}

/**
 * Trains one DVCNN. `outDir` (optional) receives the run directory files; `onEpoch` sees each row as it is
 * written. Training stops early (diverged = true) when the loss stops being finite.
 *
 * Checkpoints (src/train/rundir.ts): at the end of every epoch, epoch 0 included, the metrics row is appended
 * (fsync'ed), then checkpoint/state.json is replaced atomically: every weight, the centres, the rate factors (SGD
 * has no other state) and the step counters. The data order needs no state of its own: epoch E's order is the
 * E-th in-place shuffle of the run's seeded stream, so a resume replays E shuffles (microseconds) and checks
 * the result against the order saved with the checkpoint. A kill between a row and its checkpoint leaves a row
 * newer than the checkpoint: it is dropped and the epoch runs again, deterministically, so the resumed run
 * ends with the same weights and rows as an uninterrupted one.
 */
export async function trainDvcnn(config: VcTrainConfig, opts: TrainOptions = {}): Promise<VcTrainResult> {
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
  const model = new Dvcnn(modelConfig, features);
  const probeN = Math.min(config.probe, data.val.n);
  const probe = rowsOf(data.val, 0, probeN);
  const rng = new Xoshiro128(config.seed + 7919);
  const rows: VcMetricsRow[] = [];
  let diverged = false;
  let steps = 0;
  let stepSeconds = 0;
  const scaling = config.lrScaling ?? 'none';
  let lrScale: number[] | undefined;
  const order = new Int32Array(data.train.n).map((_, i) => i);
  const xBatch = new Float32Array(config.batchSize * features);
  const yBatch = new Int32Array(config.batchSize);
  const outDir = opts.outDir;
  const want = resolvedConfig(config, features, data);
  // the run-directory checkpoint is one base64 JSON string; V8 strings stop near 512 M characters
  const canCheckpoint = (config.depth * (features + 2) * features + 11 * features) * 4 <= MAX_CHECKPOINT_BYTES;
  if (outDir && !canCheckpoint) warnings.push(`no checkpoints: ${config.depth} layers of ${features} units exceed the ${MAX_CHECKPOINT_BYTES / 2 ** 20} MiB a checkpoint can hold; an interrupted run starts again`);
  let run: RunDir | undefined;
  let startEpoch = 0;
  let statsBefore: LayerStats[] | undefined;
  try {
    if (outDir) {
      run = new RunDir(outDir, [...CSV_COLUMNS]);
      const ck = opts.resume !== false && existsSync(outDir) && sameRun(run.readConfig(), want) ? run.loadCheckpoint() : null;
      const before = ck ? readJsonFile<LayerStats[]>(run.path('layer-stats-epoch-0.json')) : undefined;
      if (ck && before) {
        for (let l = 0; l < config.depth; l++) {
          model.a[l].assign(tf.tensor2d(ck.variables[`a${l}`].data, [features, features]));
          model.b[l].assign(tf.tensor1d(ck.variables[`b${l}`].data));
        }
        if ((config.center ?? 'none') !== 'none') model.setCenters(Array.from({ length: config.depth + 1 }, (_, l) => ck.variables[`c${l}`].data), false);
        model.outW.assign(tf.tensor2d(ck.variables.outW.data, [features, 10]));
        model.outB.assign(tf.tensor1d(ck.variables.outB.data));
        const extra = ck.extra as { lrScale?: number[]; steps: number; stepSeconds: number; order: number[] };
        for (let e = 1; e <= ck.epoch; e++) shuffle(order, rng);
        if (!extra.order || extra.order.length !== order.length || extra.order.some((v, i) => v !== order[i])) {
          throw configError(run.path('checkpoint', 'state.json'), 'the saved data order does not match the replayed one; start again with --force');
        }
        lrScale = extra.lrScale;
        steps = extra.steps;
        stepSeconds = extra.stepSeconds;
        const kept = (run.readMetrics() as unknown as VcMetricsRow[]).filter((r) => r.epoch <= ck.epoch);
        run.resetMetrics(kept as unknown as MetricsRow[]);
        rows.push(...kept);
        statsBefore = before;
        startEpoch = ck.epoch;
      } else {
        run = prepareRunDir(outDir, { resume: false, force: true, columns: [...CSV_COLUMNS] });
        rmSync(run.path('checkpoint'), { recursive: true, force: true });
        run.resetMetrics([]);
        run.writeConfig({ ...want, backend: tf.getBackend() });
      }
    }
  } catch (e) {
    probe.dispose();
    model.dispose();
    if ((e as { kind?: string }).kind) throw e;
    throw ioError(outDir ?? '.', `cannot prepare the run directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); choose a writable --out`, e);
  }
  const checkpoint = (epoch: number) => {
    if (!run || !canCheckpoint) return;
    const variables: Checkpoint['variables'] = {};
    const w = model.weights();
    for (let l = 0; l < config.depth; l++) {
      variables[`a${l}`] = { shape: [features, features], data: w.a[l] };
      variables[`b${l}`] = { shape: [features], data: w.b[l] };
    }
    variables.outW = { shape: [features, 10], data: w.outW };
    variables.outB = { shape: [10], data: w.outB };
    model.getCenters()?.forEach((c, l) => {
      variables[`c${l}`] = { shape: [features], data: c };
    });
    run.saveCheckpoint({ epoch, variables, extra: { lrScale, steps, stepSeconds, order: Array.from(order) } });
    if (opts.stopAfterEpoch === epoch) throw new TrainingStopped(epoch);
  };
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
    if (run) {
      try {
        run.appendMetrics(row as unknown as MetricsRow);
      } catch (e) {
        throw ioError(run.dir, `cannot append metrics (${(e as Error).message}); check the disk`, e);
      }
    }
    opts.onEpoch?.(row);
    return row;
  };
  try {
    if (!statsBefore) {
      if ((config.center ?? 'none') !== 'none') {
        const sample = rowsOf(data.train, 0, Math.min(500, data.train.n));
        try {
          const means = inputMeans(model, sample);
          if (config.center === 'output') for (let l = 0; l < config.depth; l++) means[l].fill(0);
          model.setCenters(means, true);
        } finally {
          sample.dispose();
        }
      }
      statsBefore = layerStats(model, probe);
      if (run) writeJson(run.path('layer-stats-epoch-0.json'), statsBefore);
      record(0, 0);
      checkpoint(0);
    }
    let lastEpoch = startEpoch;
    diverged = rows.some((r) => !Number.isFinite(r.trainLoss));
    for (let epoch = startEpoch + 1; epoch <= config.epochs && !diverged; epoch++) {
      shuffle(order, rng);
      const t0 = performance.now();
      if (scaling === 'moment-epoch' || (scaling === 'moment' && !lrScale)) {
        const sample = rowsOf(data.train, 0, Math.min(500, data.train.n));
        try {
          lrScale = momentScales(model, sample).scales;
        } finally {
          sample.dispose();
        }
      }
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
          c = model.step(x, oneHot, { lr: config.lr, lrScale, clipNorm: config.clipNorm });
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
      checkpoint(epoch);
    }
    const statsAfter = layerStats(model, probe);
    if (run) {
      writeJson(run.path(`layer-stats-epoch-${lastEpoch}.json`), statsAfter);
      run.writeDone({ epochs: lastEpoch, diverged, secondsPerStep: steps ? stepSeconds / steps : null, warnings });
    }
    return { rows, statsBefore, statsAfter, diverged, warnings, secondsPerStep: steps ? stepSeconds / steps : NaN };
  } finally {
    probe.dispose();
    model.dispose();
  }
}
