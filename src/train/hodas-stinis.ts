/**
 * The training loop of the Hodas & Stinis experiment: one run = one network trained on MNIST, with a metrics
 * row per epoch (epoch 0 = the untrained network) and the MI between the first and last hidden layers over the
 * validation ensemble.
 *
 * Per epoch E >= 1: the training step(s) (full batch by default: one step), then one forward pass over the
 * validation set (BN per config.bnEval, see src/models/hodas.ts; a second one under config.bnEvalVariant when
 * asked), then the MI (k = 3, bits) of the recorded activations a_first, a_last when the schedule says so
 * (every epoch up to miDense, every miEvery after, and the last), with its noise band over miBandSplits
 * disjoint subsamples. With untilPlateau the run ends at the first epoch where src/train/plateau.ts says the
 * validation error has plateaued, under both evaluations when a variant is computed (done.json: stoppedBy
 * 'plateau'), else at `epochs` ('cap').
 * trainLoss / trainError follow Keras's convention: averaged over the epoch's batches as they were trained on
 * (so, full batch, the values before the epoch's update). Epoch 0 evaluates the untrained net on the training set
 * with batch statistics.
 * Minibatch order: a permutation drawn from (seed, epoch), so resuming needs no RNG state.
 * On resume, onEpoch first replays the rows already recorded (so `--json` prints every epoch once per process).
 * First layer: on the in-process backends (wasm, cpu) the fixed training and validation inputs are kept in CSR
 * (src/models/sparse.ts) when at most half their entries are nonzero (MNIST: 19%), so X W0 and X^T dZ skip the
 * zeros, full batch and minibatches alike (same float32 results as tf.matMul); INFOFLOW_SPARSE=0 turns this off.
 */
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { initBackend, tf, type BackendInfo } from '../backend.js';
import { loadSplit, MNIST_CLASSES } from '../data/splits.js';
import { configError } from '../errors.js';
import { BN_EPS, BN_MOMENTUM, HodasNet, type NetInput, RMS_EPS, RMS_RHO } from '../models/hodas.js';
import { SparseInput } from '../models/sparse.js';
import { writeNpy } from '../npy/index.js';
import { Mulberry32 } from '../random.js';
import { type BnEval, type TrainConfig, IDENTITY_KEYS, parseDumpEpochs, resolveConfig } from './hodas-stinis-config.js';
import type { MIEstimator } from '../mi/index.js';
import { METRIC_COLUMNS, type MetricColumn, type MetricsRow } from './metrics.js';
import { type MiLayerRow, MiLayersLog, measureLayerPairs, shuffledBaseline, writesMiLayers } from './mi-layers.js';
import { allPlateaued } from './plateau.js';
import { checkResumable, prepareRunDir, type RunDir } from './rundir.js';

export interface TrainHooks {
  /** `layers`: the epoch's mi-layers.csv rows, when the run writes them (--mi-layers adjacent|all, --mi-error-bars) */
  onEpoch?: (row: MetricsRow, info: { run: string; epochs: number; layers?: MiLayerRow[] }) => void;
  /** one-line notes (backend chosen, resume point, MI warnings) */
  onLog?: (line: string) => void;
  /** called once the backend and data are ready, with the first epoch to run */
  onStart?: (info: { backend: BackendInfo; startEpoch: number; epochs: number; run: string }) => void;
}

export interface TrainResult {
  run: string;
  dir: string;
  rows: MetricsRow[];
  backend: BackendInfo;
}

type MiEstimatorLike = Pick<MIEstimator, 'estimate' | 'close'>;

async function openEstimator(workers: number): Promise<MiEstimatorLike> {
  // loaded lazily so that runs with --mi-every 0 never load the WASM kernel or start a pool
  let mod: typeof import('../mi/index.js');
  try {
    mod = await import('../mi/index.js');
  } catch (e) {
    throw configError('src/mi/index.ts', `the MI estimator could not be loaded (${(e as Error).message.split('\n')[0]}); rebuild with npm run build, or use --mi-every 0`);
  }
  return new mod.MIEstimator({ workers });
}

/** How long loading the backend's .wasm or the MI worker pool may take before the run fails (never hangs). */
export const LOAD_TIMEOUT_S = Number(process.env.INFOFLOW_LOAD_TIMEOUT_S) > 0 ? Number(process.env.INFOFLOW_LOAD_TIMEOUT_S) : 120;

/** `p`, or a one-line config error naming `what` when it has not settled within LOAD_TIMEOUT_S. */
export async function withLoadTimeout<T>(p: Promise<T>, what: string, seconds = LOAD_TIMEOUT_S): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(configError(what, `did not load within ${seconds} s (a file being rebuilt? run npm run build, then the same command with --resume)`)),
      seconds * 1000,
    );
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const round = (v: number, digits = 6) => Number(v.toPrecision(digits));

/** Rows j, j + s, j + 2s, ... of the first m rows of a row-major [*, d] array: one of s disjoint interleaved subsamples. */
function everyNth(a: Float32Array, d: number, m: number, s: number, j: number): Float32Array {
  const rows = Math.floor((m - 1 - j) / s) + 1;
  const out = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) out.set(a.subarray((j + r * s) * d, (j + r * s + 1) * d), r * d);
  return out;
}

/**
 * The half-width of an MI point's noise band from its estimates over s disjoint subsamples of 1/s of the
 * ensemble: 2 standard errors of their mean, 2 sd / sqrt(s), which estimates two standard deviations of
 * the whole-ensemble estimate when the estimator's variance falls as 1/N (a stated assumption).
 */
export function noiseBand(parts: readonly number[]): number {
  const n = parts.length;
  const mean = parts.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(parts.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  return (2 * sd) / Math.sqrt(n);
}

/** Train one run into config.out (a run directory). Resumes when `resume`, refuses a non-empty dir otherwise. */
export async function trainRun(
  rawConfig: Partial<Record<keyof TrainConfig, unknown>>,
  hooks: TrainHooks = {},
  flags: { resume?: boolean; force?: boolean } = {},
): Promise<TrainResult> {
  const config = resolveConfig(rawConfig);
  const log = hooks.onLog ?? (() => {});
  // the optional columns only where asked, so a plain run's metrics.csv keeps its columns
  const columns: MetricColumn[] = [
    ...METRIC_COLUMNS,
    ...(config.miBandSplits >= 2 ? (['miBand'] as const) : []),
    ...(config.bnEvalVariant !== 'none' ? (['valErrorVariant', 'miVariant'] as const) : []),
    ...(config.miBaseline > 0 ? (['miBaseline'] as const) : []),
  ];
  const rd: RunDir = prepareRunDir(config.out, { resume: Boolean(flags.resume), force: Boolean(flags.force), columns, onLog: log });

  // resume: same identity, checkpoint epoch, metrics cut back to it
  let rows: MetricsRow[] = [];
  let startEpoch = 0;
  const previous = flags.resume ? rd.readConfig() : null;
  if (previous) checkResumable(rd, previous, config, IDENTITY_KEYS);

  const backend = await withLoadTimeout(initBackend(config.backend), `the ${config.backend} backend`);
  log(`infoflow train: backend ${backend.name} (${backend.note})`);
  const data = loadSplit(config.split, { limitTrain: config.limitTrain ?? undefined, limitVal: config.limitVal ?? undefined });
  const net = new HodasNet({ arch: config.arch, width: config.width, depth: config.depth, inputDim: data.train.d, classes: MNIST_CLASSES }, config.seed);

  const ck = previous ? rd.loadCheckpoint() : null;
  if (ck) {
    try {
      net.importState(ck.variables);
    } catch (e) {
      throw configError(rd.path('checkpoint', 'state.json'), `does not fit this network (${(e as Error).message}); use --force to start again`);
    }
    startEpoch = ck.epoch + 1;
    rows = rd.readMetrics().filter((r) => r.epoch <= ck.epoch);
    log(`infoflow train: resuming ${rd.name} after epoch ${ck.epoch}`);
  }
  const resolved = {
    ...config,
    out: rd.dir,
    backendUsed: backend.name,
    tfBackend: backend.tfBackend,
    nTrain: data.train.n,
    nVal: data.val.n,
    widths: net.widths,
    residualSources: net.residual,
    shortcut: net.shortcut,
    optimizer: { name: 'rmsprop', rho: RMS_RHO, epsilon: RMS_EPS },
    batchNorm: { momentum: BN_MOMENTUM, epsilon: BN_EPS },
    init: 'glorot-normal (truncated, seeded)',
    node: process.version,
    cores: availableParallelism(),
  };
  rd.writeConfig(resolved);
  rd.resetMetrics(rows);
  // MI between more pairs of layers (src/train/mi-layers.ts): its file cut back with the metrics
  const layersLog = writesMiLayers(config.miLayers, config.miErrorBars) ? new MiLayersLog(rd.dir, config.miErrorBars) : null;
  const keptLayerRows = layersLog?.resetTo(rows.length ? rows[rows.length - 1].epoch : -1) ?? [];
  const dumpEpochs = parseDumpEpochs(config.dumpActivations, config.epochs);
  if (dumpEpochs.size) mkdirSync(rd.path('activations'), { recursive: true });
  hooks.onStart?.({ backend, startEpoch, epochs: config.epochs, run: rd.name });
  for (const r of rows) {
    hooks.onEpoch?.(r, { run: rd.name, epochs: config.epochs, ...(layersLog ? { layers: keptLayerRows.filter((l) => l.epoch === r.epoch) } : {}) });
  }

  const nTrain = data.train.n;
  const fullBatch = config.batchSize === null || config.batchSize >= nTrain;
  // the fixed inputs in CSR when sparse enough (null: dense tensors, and for full batch X^T transposed once)
  let sparseTrain: SparseInput | null = null;
  let sparseVal: SparseInput | null = null;
  let why = '';
  try {
    sparseTrain = SparseInput.maybe(data.train.x, nTrain, data.train.d);
    sparseVal = SparseInput.maybe(data.val.x, data.val.n, data.val.d);
  } catch (e) {
    // a missing build/sparse.wasm slows training down but changes no result
    why = ` (${(e as Error).message.split('\n')[0]})`;
  }
  log(`infoflow train: first layer ${sparseTrain ? `sparse (training input ${(100 * sparseTrain.density).toFixed(1)}% nonzero)` : `dense${why}`}`);
  const xTrain = sparseTrain ? null : tf.tensor2d(data.train.x, [nTrain, data.train.d]);
  const xTrainT = xTrain && fullBatch ? tf.transpose(xTrain) : null;
  const trainInput: NetInput = sparseTrain ? { sparse: sparseTrain, rows: null } : xTrain!;
  const yTrain = tf.tensor1d(data.train.labels, 'int32');
  const xVal = sparseVal ? null : tf.tensor2d(data.val.x, [data.val.n, data.val.d]);
  const valInput: NetInput = sparseVal ? { sparse: sparseVal, rows: null } : xVal!;
  const yVal = tf.tensor1d(data.val.labels, 'int32');
  const widthFirst = net.widths[0];
  const widthLast = net.widths[net.widths.length - 1];
  const estimator = config.miEvery > 0 && startEpoch <= config.epochs ? await withLoadTimeout(openEstimator(config.miWorkers), 'the MI estimator (src/mi/)') : null;

  let stoppedBy: 'plateau' | 'cap' = 'cap';
  try {
    for (let epoch = startEpoch; epoch <= config.epochs; epoch++) {
      // train
      let t0 = performance.now();
      let lossSum = 0;
      let errSum = 0;
      if (epoch === 0) {
        const [l, e] = tf.tidy(() => {
          const { logits } = net.forward(trainInput, 'batch');
          const logp = tf.logSoftmax(logits);
          const loss = tf.neg(tf.sum(tf.mul(tf.oneHot(yTrain, MNIST_CLASSES), logp)));
          const err = tf.sum(tf.cast(tf.notEqual(tf.argMax(logits, 1), yTrain), 'float32'));
          return [loss, err];
        });
        lossSum = (await l.data())[0];
        errSum = (await e.data())[0];
        tf.dispose([l, e]);
      } else if (fullBatch) {
        const out = tf.tidy(() => {
          const r = net.step(trainInput, xTrainT, yTrain, config.lr);
          return [r.lossSum, r.errors];
        });
        lossSum = (await out[0].data())[0];
        errSum = (await out[1].data())[0];
        tf.dispose(out);
      } else {
        const bs = config.batchSize!;
        const perm = new Mulberry32((config.seed * 1_000_003 + epoch) >>> 0).shuffle(new Int32Array(nTrain).map((_, i) => i));
        let accLoss = tf.scalar(0);
        let accErr = tf.scalar(0);
        for (let start = 0; start < nTrain; start += bs) {
          const idx = perm.subarray(start, Math.min(nTrain, start + bs));
          const next = tf.tidy(() => {
            const ii = tf.tensor1d(idx, 'int32');
            const xb: NetInput = sparseTrain ? { sparse: sparseTrain, rows: idx } : (tf.gather(xTrain!, ii) as tf.Tensor2D);
            const r = net.step(xb, null, tf.gather(yTrain, ii) as tf.Tensor1D, config.lr);
            return [tf.add(accLoss, r.lossSum), tf.add(accErr, r.errors)];
          });
          tf.dispose([accLoss, accErr]);
          [accLoss, accErr] = next as [tf.Scalar, tf.Scalar];
        }
        lossSum = (await accLoss.data())[0];
        errSum = (await accErr.data())[0];
        tf.dispose([accLoss, accErr]);
      }
      const secondsTrain = (performance.now() - t0) / 1000;

      // forward over the validation ensemble (the activations are kept whenever MI may be wanted: whether this
      // epoch is the last is known only once its error is, under --until-plateau)
      t0 = performance.now();
      const wantDump = dumpEpochs.has(epoch);
      // both evaluations share the first layer's product (the largest of the pass: 784 sparse inputs)
      const z0 = config.bnEvalVariant !== 'none' ? tf.tidy(() => net.firstProduct(valInput)) : undefined;
      const evaluate = (mode: BnEval, keep: boolean, layers = false) =>
        tf.tidy(() => {
          const r = net.forward(valInput, mode, z0);
          const errs = tf.sum(tf.cast(tf.notEqual(tf.argMax(r.logits, 1), yVal), 'float32'));
          return keep ? [errs, r.first, r.last, ...(layers ? r.layers : [])] : [errs];
        });
      let valError: number;
      let firstData: Float32Array | null;
      let lastData: Float32Array | null;
      let layerData: Float32Array[] | null;
      let valErrorVariant: number | null = null;
      let variantData: [Float32Array, Float32Array] | null = null;
      // z0 is freed whatever an evaluation throws
      try {
        const primary = evaluate(config.bnEval, estimator !== null || wantDump, layersLog !== null);
        const valErrors = (await primary[0].data())[0];
        firstData = primary[1] ? ((await primary[1].data()) as Float32Array) : null;
        lastData = primary[2] ? ((await primary[2].data()) as Float32Array) : null;
        // every hidden layer (--mi-layers adjacent|all), layer i + 1 at index i
        layerData = primary.length > 3 ? await Promise.all(primary.slice(3).map(async (t) => (await t.data()) as Float32Array)) : null;
        tf.dispose(primary);
        valError = round(valErrors / data.val.n);
        if (config.bnEvalVariant !== 'none') {
          const v = evaluate(config.bnEvalVariant, estimator !== null);
          valErrorVariant = round((await v[0].data())[0] / data.val.n);
          if (v.length > 1) variantData = [(await v[1].data()) as Float32Array, (await v[2].data()) as Float32Array];
          tf.dispose(v);
        }
      } finally {
        z0?.dispose();
      }
      // Keras's moving averages lag the weights by about 1 / (1 - momentum) = 100 steps, one an epoch at full
      // batch: their error can stall for tens of epochs while the batch-statistics error still falls (docs/FIGURES.md,
      // "Convergence"), so a run stops only once every validation error it records has plateaued
      const stopping = config.untilPlateau && allPlateaued([
        [...rows.map((r) => r.valError), valError],
        ...(valErrorVariant === null ? [] : [[...rows.map((r) => r.valErrorVariant ?? Infinity), valErrorVariant]]),
      ]);
      const finalEpoch = stopping || epoch === config.epochs;
      const wantMI = estimator !== null && (epoch <= config.miDense || epoch % config.miEvery === 0 || finalEpoch);
      const variantActs = wantMI ? variantData : null;
      const secondsForward = (performance.now() - t0) / 1000;

      if (wantDump && firstData && lastData) {
        writeNpy(rd.path('activations', `epoch-${epoch}-first.npy`), firstData, [data.val.n, widthFirst]);
        writeNpy(rd.path('activations', `epoch-${epoch}-last.npy`), lastData, [data.val.n, widthLast]);
        layerData?.forEach((a, i) => writeNpy(rd.path('activations', `epoch-${epoch}-layer-${i + 1}.npy`), a, [data.val.n, net.widths[i]]));
      }

      // MI(first; last) over the validation ensemble, in bits; its noise band; the variant's MI
      t0 = performance.now();
      let mi: number | null = null;
      let miBand: number | null = null;
      let miVariant: number | null = null;
      let miBaseline: number | null = null;
      let layerRows: MiLayerRow[] = [];
      const estimate = async (first: Float32Array, last: Float32Array, m: number) => {
        const r = await estimator!.estimate(
          { data: first.subarray(0, m * widthFirst), shape: [m, widthFirst] },
          { data: last.subarray(0, m * widthLast), shape: [m, widthLast] },
          { k: config.k },
        );
        for (const w of r.warnings) log(`infoflow train: epoch ${epoch}: ${w}`);
        return r.mi;
      };
      if (wantMI && firstData && lastData) {
        const m = Math.min(data.val.n, config.miSamples ?? data.val.n);
        mi = round(await estimate(firstData, lastData, m));
        if (config.miBandSplits >= 2) {
          const parts: number[] = [];
          for (let j = 0; j < config.miBandSplits; j++) {
            const [f, l] = [everyNth(firstData, widthFirst, m, config.miBandSplits, j), everyNth(lastData, widthLast, m, config.miBandSplits, j)];
            parts.push(await estimate(f, l, f.length / widthFirst));
          }
          miBand = round(noiseBand(parts));
        }
        if (variantActs) miVariant = round(await estimate(variantActs[0], variantActs[1], Math.min(data.val.n, config.miVariantSamples ?? data.val.n)));
        // seeded per epoch, so a resumed run draws the shuffles and partitions an uninterrupted one draws
        const epochSeed = (config.seed * 1_000_003 + epoch) >>> 0;
        const rowsOf = (a: Float32Array, d: number) => ({ data: a.subarray(0, m * d), n: m, d });
        if (config.miBaseline > 0) {
          miBaseline = await shuffledBaseline(estimator!, rowsOf(firstData, widthFirst), rowsOf(lastData, widthLast), { shuffles: config.miBaseline, seed: epochSeed, k: config.k });
        }
        if (layersLog && layerData) {
          layerRows = await measureLayerPairs(estimator!, epoch, { layers: layerData.map((a, i) => rowsOf(a, net.widths[i])) }, {
            mode: config.miLayers,
            k: config.k,
            firstLast: mi,
            errorBars: config.miErrorBars ? { seed: epochSeed } : undefined,
            onWarning: (w) => log(`infoflow train: epoch ${epoch}: ${w}`),
          });
        }
      }
      const secondsMI = wantMI ? (performance.now() - t0) / 1000 : 0;

      const row: MetricsRow = {
        epoch,
        trainLoss: round(lossSum / nTrain),
        trainError: round(errSum / nTrain),
        valError,
        mi,
        secondsTrain: round(secondsTrain, 4),
        secondsForward: round(secondsForward, 4),
        secondsMI: round(secondsMI, 4),
        ...(config.miBandSplits >= 2 ? { miBand } : {}),
        ...(config.bnEvalVariant !== 'none' ? { valErrorVariant, miVariant } : {}),
        ...(config.miBaseline > 0 ? { miBaseline } : {}),
      };
      if (layerRows.length) layersLog!.append(layerRows);
      rd.appendMetrics(row);
      rd.saveCheckpoint({ epoch, variables: net.exportState() });
      rows.push(row);
      hooks.onEpoch?.(row, { run: rd.name, epochs: config.epochs, ...(layersLog ? { layers: layerRows } : {}) });
      if (stopping) {
        stoppedBy = 'plateau';
        break;
      }
    }
  } finally {
    await estimator?.close();
    tf.dispose([yTrain, yVal, ...[xTrain, xTrainT, xVal].filter((t): t is tf.Tensor2D => t !== null)]);
    net.dispose();
  }
  const last = rows[rows.length - 1] ?? null;
  rd.writeDone({ run: rd.name, epochs: last?.epoch ?? 0, cap: config.epochs, stoppedBy, backend: backend.name, final: last });
  return { run: rd.name, dir: rd.dir, rows, backend };
}
