/**
 * Training a DVCNN (Unterthiner & Hochreiter) with minibatch SGD on MNIST with a random background into a
 * run directory (src/train/rundir.ts): config.json, metrics.jsonl + metrics.csv (one row per epoch, epoch 0
 * the untrained net), layer-stats-epoch-<E>.json (per layer: mean of f and of the layer output y, quantiles
 * of f) for the first and last epoch, checkpoint/state.json (every epoch), test.json (the test error after the
 * last epoch, when asked), done.json (with stoppedBy: 'cap' or 'plateau'). `train-dvcnn` runs it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, initBackend } from '../backend.js';
import { loadBackgroundMnist } from '../data/background.js';
import type { Dataset } from '../data/splits.js';
import { configError, ioError } from '../errors.js';
import { Dvcnn, type DvcnnConfig, validateDvcnnConfig } from '../models/dvcnn.js';
import { Xoshiro128 } from '../random.js';
import { DVCNN_IDENTITY_KEYS, DVCNN_PLATEAU, type DvcnnTrainConfig, downsampleOf, lrOfEpoch, resolveDvcnnConfig } from './dvcnn-config.js';
import { DVCNN_METRIC_COLUMNS, type MetricsRow } from './metrics.js';
import { plateaued } from './plateau.js';
import { type Checkpoint, checkResumable, prepareRunDir, type RunDir } from './rundir.js';

/** Statistics of one layer over the probe images (all units x all images). */
export interface LayerStats {
  layer: number;
  /** mean of f over units and images */
  meanF: number;
  /** mean of the layer output y = x + f (the accumulated drift) */
  meanY: number;
  /** mean over images of the Euclidean norm of y (the whole layer's size; ~sqrt(width) x meanY under drift) */
  normY: number;
  /** quantiles of f: 5, 25, 50, 75, 95 % */
  q05: number;
  q25: number;
  q50: number;
  q75: number;
  q95: number;
  /** share of |f| < 0.05 ("pushed to zero") */
  nearZero: number;
}

export interface DvcnnTrainResult {
  config: DvcnnTrainConfig;
  rows: MetricsRow[];
  statsBefore: LayerStats[];
  statsAfter: LayerStats[];
  diverged: boolean;
  warnings: string[];
  secondsPerStep: number;
  stoppedBy: 'cap' | 'plateau' | 'diverged';
  /** after the last epoch, on `limitTest` test images; undefined when limitTest is 0 */
  test?: TestResult;
}

/** test.json of a run directory: the error on the first `n` test images after epoch `epoch`. */
export interface TestResult {
  epoch: number;
  n: number;
  testError: number;
  testLoss: number;
}

/** The test result a run directory holds, or undefined (absent or unreadable). */
export function readTestResult(runDir: string): TestResult | undefined {
  const path = join(runDir, 'test.json');
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as TestResult;
  } catch {
    return undefined;
  }
}

/**
 * Mean square of each layer's input over the rows of `x` (index l = layer l, index depth = the output layer),
 * and the per-layer learning-rate factors min(1, m_0 / m_l). Plain SGD's stable step on a layer's weights
 * shrinks with the second moment of that layer's input (the Hessian of a linear map scales with E[x x^T];
 * LeCun et al. 1998, Efficient BackProp, sections 4.3 and 4.7); drift raises it from ~0.3 at the input to ~37^2
 * at the top, so one global rate is either unstable at the top or frozen at the bottom.
 */
export function momentScales(model: Dvcnn, x: tf.Tensor2D): { moments: number[]; scales: number[] } {
  const m0 = tf.tidy(() => (tf.mean(tf.square(x)).dataSync() as Float32Array)[0]);
  const moments = [m0];
  tf.dispose(model.hidden(x, (_, __, y) => moments.push((tf.mean(tf.square(y)).dataSync() as Float32Array)[0])));
  return { moments, scales: moments.map((m) => Math.min(1, m0 / m)) };
}

/** Per-unit mean of each layer's input over the rows of `x` (index depth = the output layer's input). */
export function inputMeans(model: Dvcnn, x: tf.Tensor2D): Float32Array[] {
  const out = [tf.tidy(() => tf.mean(x, 0).dataSync() as Float32Array)];
  tf.dispose(model.hidden(x, (_, __, y) => out.push(tf.mean(y, 0).dataSync() as Float32Array)));
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
  const out: LayerStats[] = [];
  const d = model.config.width;
  const visit = (l: number, fT: tf.Tensor2D, yT: tf.Tensor2D) => {
    const f = fT.dataSync() as Float32Array;
    const y = yT.dataSync() as Float32Array;
    let sf = 0;
    let sy = 0;
    let zero = 0;
    let norms = 0;
    for (let r = 0; r < y.length; r += d) {
      let sq = 0;
      for (let k = r; k < r + d; k++) {
        sf += f[k];
        sy += y[k];
        sq += y[k] * y[k];
        if (Math.abs(f[k]) < 0.05) zero++;
      }
      norms += Math.sqrt(sq);
    }
    const sorted = Float32Array.from(f).sort();
    out.push({
      layer: l + 1,
      meanF: sf / f.length,
      meanY: sy / y.length,
      normY: norms / (y.length / d),
      q05: quantile(sorted, 0.05),
      q25: quantile(sorted, 0.25),
      q50: quantile(sorted, 0.5),
      q75: quantile(sorted, 0.75),
      q95: quantile(sorted, 0.95),
      nearZero: zero / f.length,
    });
  };
  tf.dispose(model.hidden(x, visit));
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

/** The config as written to config.json: the train config plus what it resolves to. */
function resolvedConfig(config: DvcnnTrainConfig, data: { train: Dataset; val: Dataset }): DvcnnTrainConfig & Record<string, unknown> {
  return { model: 'dvcnn', ...config, downsample: downsampleOf(config.width), classes: 10, weightStd: config.weightStd ?? 1 / Math.sqrt(config.width), nTrain: data.train.n, nVal: data.val.n };
}

/** `layer-stats-epoch-<E>.json` of a run directory. */
export function layerStatsFile(epoch: number): string {
  return `layer-stats-epoch-${epoch}.json`;
}

function writeLayerStats(run: RunDir, epoch: number, stats: LayerStats[]): void {
  run.writeJson(layerStatsFile(epoch), stats);
}

/** The layer statistics a run directory holds for `epoch`, or undefined (absent or unreadable). */
export function readLayerStats(runDir: string, epoch: number): LayerStats[] | undefined {
  const path = join(runDir, layerStatsFile(epoch));
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LayerStats[];
  } catch {
    return undefined;
  }
}

/** Raised by the `stopAfterEpoch` test hook: the run stopped as a kill would stop it, after a checkpoint. */
export class TrainingStopped extends Error {
  constructor(readonly epoch: number) {
    super(`training stopped after epoch ${epoch} (stopAfterEpoch)`);
  }
}

export interface DvcnnTrainOptions {
  /** run directory (config.json, metrics, layer stats, checkpoint/, done.json); without it nothing is written */
  outDir?: string;
  backend?: BackendName;
  onEpoch?: (row: MetricsRow) => void;
  /** notes as they happen (a resume point, the ReLU warning) */
  onLog?: (line: string) => void;
  /** the data (tests); `test` is needed when limitTest > 0 */
  data?: { train: Dataset; val: Dataset; test?: Dataset };
  /** continue the run in outDir from its checkpoint; a run made with another config is refused (as `train`) */
  resume?: boolean;
  /** start again in a non-empty outDir (deletes its run files) */
  force?: boolean;
  /** test hook: stop (throw TrainingStopped) right after epoch E's checkpoint, as a kill at that moment would */
  stopAfterEpoch?: number;
}

/**
 * Trains one DVCNN. `outDir` (optional) receives the run directory files; `onEpoch` sees each row as it is
 * written. Training stops early (diverged = true) when the loss stops being finite.
 *
 * Checkpoints: at the end of every epoch, epoch 0 included, the metrics row is appended, then
 * checkpoint/state.json is replaced atomically: every weight, the centres, the rate factors (SGD has no other
 * state) and the step counters. Epoch E's data order is the E-th in-place shuffle of the run's seeded stream,
 * so a resume replays E shuffles and checks them against the order saved with the checkpoint. A row newer
 * than the checkpoint (a kill between the two) is dropped and its epoch runs again, deterministically, so a
 * resumed run ends with the same weights and rows as an uninterrupted one.
 */
export async function trainDvcnn(rawConfig: Partial<Record<keyof DvcnnTrainConfig, unknown>>, opts: DvcnnTrainOptions = {}): Promise<DvcnnTrainResult> {
  const config = resolveDvcnnConfig(rawConfig);
  const features = config.width;
  const modelConfig: DvcnnConfig = { ...config, classes: 10 };
  const warnings = validateDvcnnConfig(modelConfig, features);
  const outDir = opts.outDir;
  let run: RunDir | undefined;
  try {
    run = outDir ? prepareRunDir(outDir, { resume: Boolean(opts.resume), force: Boolean(opts.force), columns: DVCNN_METRIC_COLUMNS, command: 'train-dvcnn', onLog: opts.onLog }) : undefined;
  } catch (e) {
    if ((e as { kind?: string }).kind) throw e;
    throw ioError(outDir ?? '.', `cannot prepare the run directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); choose a writable --out`, e);
  }
  const previous = opts.resume && run ? run.readConfig() : null;
  const data =
    opts.data ??
    loadBackgroundMnist({
      background: config.background,
      seed: config.dataSeed,
      downsample: downsampleOf(config.width),
      limitTrain: config.limitTrain,
      limitVal: config.limitVal,
      withTest: config.limitTest > 0,
      limitTest: config.limitTest || undefined,
    });
  if (config.limitTest > 0 && !data.test) throw configError('train-dvcnn', `--limit-test ${config.limitTest} needs test data; none was given`);
  if (data.train.d !== features) throw configError('train-dvcnn', `the data has ${data.train.d} features, the model expects --width ${features}`);
  const want = resolvedConfig(config, data);
  if (run && previous) checkResumable(run, previous, want, DVCNN_IDENTITY_KEYS);
  await initBackend(opts.backend ?? 'auto');
  const model = new Dvcnn(modelConfig, features);
  // a mean on the unmasked weights (the model draws them zero-mean); a resume overwrites them from the checkpoint
  if (config.weightMean !== 0) {
    for (let l = 0; l < config.depth; l++) model.a[l].assign(tf.tidy(() => tf.add(model.a[l], tf.mul(model.mask(l), config.weightMean))));
  }
  const probeN = Math.min(config.probe, data.val.n);
  const probe = rowsOf(data.val, 0, probeN);
  const rng = new Xoshiro128(config.seed + 7919);
  const rows: MetricsRow[] = [];
  let diverged = false;
  let steps = 0;
  let stepSeconds = 0;
  const scaling = config.lrScaling;
  let lrScale: number[] | undefined;
  const order = new Int32Array(data.train.n).map((_, i) => i);
  const xBatch = new Float32Array(config.batchSize * features);
  const yBatch = new Int32Array(config.batchSize);
  for (const w of warnings) opts.onLog?.(`warning: ${w}`);
  let startEpoch = 0;
  let statsBefore: LayerStats[] | undefined;
  try {
    if (run) {
      const ck = previous ? run.loadCheckpoint() : null;
      const before = ck ? readLayerStats(run.dir, 0) : undefined;
      if (ck && before) {
        const layers = Array.from({ length: config.depth }, (_, l) => l);
        model.setWeights({
          a: layers.map((l) => ck.variables[`a${l}`].data),
          b: layers.map((l) => ck.variables[`b${l}`].data),
          outW: ck.variables.outW.data,
          outB: ck.variables.outB.data,
        });
        if (config.center !== 'none') model.setCenters(Array.from({ length: config.depth + 1 }, (_, l) => ck.variables[`c${l}`].data), false);
        const extra = ck.extra as { lrScale?: number[]; steps: number; stepSeconds: number; order: number[] };
        for (let e = 1; e <= ck.epoch; e++) rng.shuffle(order);
        if (!extra.order || extra.order.length !== order.length || extra.order.some((v, i) => v !== order[i])) {
          throw configError(run.path('checkpoint', 'state.json'), 'the saved data order does not match the replayed one; start again with --force');
        }
        lrScale = extra.lrScale;
        steps = extra.steps;
        stepSeconds = extra.stepSeconds;
        const kept = run.readMetrics().filter((r) => r.epoch <= ck.epoch);
        run.resetMetrics(kept);
        rows.push(...kept);
        statsBefore = before;
        startEpoch = ck.epoch;
        opts.onLog?.(`infoflow train-dvcnn: resuming ${run.name} after epoch ${ck.epoch}`);
        for (const r of kept) opts.onEpoch?.(r);
      } else {
        run.resetMetrics([]);
        run.writeConfig({ ...want, backend: tf.getBackend() });
      }
    }
  } catch (e) {
    probe.dispose();
    model.dispose();
    throw e;
  }
  const checkpoint = (epoch: number) => {
    if (!run) return;
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
    const row: MetricsRow = {
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
        run.appendMetrics(row);
      } catch (e) {
        throw ioError(run.dir, `cannot append metrics (${(e as Error).message}); check the disk`, e);
      }
    }
    opts.onEpoch?.(row);
    return row;
  };
  try {
    if (!statsBefore) {
      if (config.center !== 'none') {
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
      if (run) writeLayerStats(run, 0, statsBefore);
      record(0, 0);
      checkpoint(0);
    }
    let lastEpoch = startEpoch;
    diverged = rows.some((r) => !Number.isFinite(r.trainLoss));
    const plateau = () => config.stop === 'plateau' && plateaued(rows.map((r) => r.valError), DVCNN_PLATEAU);
    let stoppedBy: DvcnnTrainResult['stoppedBy'] = 'cap';
    // a resumed run that had plateaued at its checkpoint stops there, as the uninterrupted run did
    let plateauReached = plateau();
    for (let epoch = startEpoch + 1; epoch <= config.epochs && !diverged && !plateauReached; epoch++) {
      rng.shuffle(order);
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
          c = model.step(x, oneHot, { lr: lrOfEpoch(config, epoch), lrScale, clipNorm: config.clipNorm });
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
      plateauReached = plateau();
      lastEpoch = epoch;
      checkpoint(epoch);
    }
    if (diverged) stoppedBy = 'diverged';
    else if (plateauReached) stoppedBy = 'plateau';
    const statsAfter = layerStats(model, probe);
    let test: TestResult | undefined;
    if (config.limitTest > 0 && data.test) {
      const t = evaluate(model, data.test);
      test = { epoch: lastEpoch, n: data.test.n, testError: t.error, testLoss: t.loss };
    }
    if (run) {
      writeLayerStats(run, lastEpoch, statsAfter);
      if (test) run.writeJson('test.json', test);
      run.writeDone({ epochs: lastEpoch, diverged, stoppedBy, secondsPerStep: steps ? stepSeconds / steps : null, warnings, ...(test ? { testError: test.testError } : {}) });
    }
    return { config, rows, statsBefore, statsAfter, diverged, warnings, secondsPerStep: steps ? stepSeconds / steps : NaN, stoppedBy, test };
  } finally {
    probe.dispose();
    model.dispose();
  }
}
