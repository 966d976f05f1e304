/**
 * `infoflow mi X.npy Y.npy [--given Z.npy]`: the KSG mutual information (KSG-1 or KSG-2, one k or several from
 * one search) between two arrays saved with NumPy, or the conditional MI I(X;Y|Z) (Frenzel & Pompe).
 *
 * Row i of X and row i of Y are one sample; X (N, dx) and Y (N, dy), a 1-D file is (N, 1), more dimensions are
 * flattened per sample. Checks the options and the files (same N, N > k, not empty, all finite) before the
 * estimate, so every bad input is one InfoflowError line naming the file or option (src/cli.ts prints it, exit 2).
 */
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { InfoflowError, inputError, usageError } from '../errors.js';
import { toMatrix } from '../matrix.js';
import { checkSplits, checkSubsampleSize } from '../mi/error-bars-check.js';
import type { ErrorBars } from '../mi/error-bars.js';
import { checkConditionalEstimator, checkEstimator, checkK, type EstimatorName } from '../mi/estimator-check.js';
import type { MIResult } from '../mi/index.js';
import { checkPermutations } from '../mi/permutation-check.js';
import type { NullDistribution } from '../mi/permutation.js';
import { readNpy, type NpyArray } from '../npy/index.js';
import { MI_INPUT_LIMIT } from '../process/limits.js';
import { createProgress } from '../progress.js';

export interface MiCommandOptions {
  k?: string;
  estimator?: string;
  given?: string;
  base?: string;
  workers?: string;
  noise?: string;
  seed?: string;
  permutations?: string;
  errorBars?: boolean;
  errorBarSplits?: string;
  json?: boolean;
  quiet?: boolean;
}

export interface MiSettings {
  /** the smallest k of `ks` */
  k: number;
  /** every k asked for (--k 3,5,10), increasing */
  ks: number[];
  estimator: EstimatorName;
  base: number | 'e';
  workers: number;
  noise?: number;
  seed?: number;
  /** shuffles of Y for the significance (--permutations), or none */
  permutations?: number;
  /** the largest split of the error bars (--error-bars, --error-bar-splits), or none */
  errorBarSplits?: number;
  json: boolean;
  quiet: boolean;
  /** notes for stderr about the options (e.g. --seed without --noise) */
  notes: string[];
}

/** More threads than this only costs memory (each worker is a V8 isolate). */
const MAX_WORKERS = 256;

/** Check the option strings as the user typed them; throw usageError naming the option and the fix. */
export function parseMiOptions(opts: MiCommandOptions): MiSettings {
  const notes: string[] = [];
  const integer = (name: string, text: string, min: number, what: string): number => {
    const t = text.trim();
    const v = /^[+-]?\d+$/.test(t) ? Number(t) : NaN;
    if (!Number.isSafeInteger(v) || v < min) throw usageError(name, `must be ${what}; got '${text}'`);
    return v;
  };
  // --k 3 or --k 3,5,10: the API's check (src/mi/estimator-check.ts), so both doors say the same
  const kTokens = (opts.k ?? '3').split(',').map((t) => (/^\s*[+-]?\d+\s*$/.test(t) ? Number(t) : t));
  const ks = checkK(kTokens.length === 1 ? kTokens[0] : kTokens, '--k');
  const estimator = checkEstimator(opts.estimator, '--estimator');
  if (opts.given !== undefined) checkConditionalEstimator(estimator, '--estimator', '--given');

  let base: number | 'e' = 2;
  if (opts.base !== undefined) {
    const t = opts.base.trim().toLowerCase();
    const v = t === '' ? NaN : Number(t);
    if (t === 'e') base = 'e';
    else if (Number.isFinite(v) && v > 0 && v !== 1) base = v;
    else throw usageError('--base', `must be 2 (bits), e (nats), 10 (dits) or another positive number other than 1; got '${opts.base}'`);
  }

  const workers =
    opts.workers === undefined ? availableParallelism() : integer('--workers', opts.workers, 1, `an integer from 1 to ${MAX_WORKERS} (threads for the estimate; default: all ${availableParallelism()} cores)`);
  if (workers > MAX_WORKERS) {
    throw usageError('--workers', `must be an integer from 1 to ${MAX_WORKERS} (threads for the estimate; default: all ${availableParallelism()} cores); got '${opts.workers}'`);
  }

  let noise: number | undefined;
  if (opts.noise !== undefined) {
    const t = opts.noise.trim();
    const v = t === '' ? NaN : Number(t);
    if (!Number.isFinite(v) || v < 0) throw usageError('--noise', `must be a finite number >= 0 (the amplitude of U[0,1) noise; NPEET uses 1e-10); got '${opts.noise}'`);
    noise = v;
  }
  // the counts' ranges are the API's checks (src/mi/*-check.ts), so both doors say the same
  const count = (text: string): number | string => (/^\s*[+-]?\d+\s*$/.test(text) ? Number(text) : text);
  const permutations = opts.permutations === undefined ? undefined : checkPermutations(count(opts.permutations), '--permutations');
  if (opts.errorBarSplits !== undefined && !opts.errorBars) throw usageError('--error-bar-splits', 'needs --error-bars (it sets their largest split)');
  const errorBarSplits = opts.errorBars ? checkSplits(opts.errorBarSplits === undefined ? undefined : count(opts.errorBarSplits), '--error-bar-splits') : undefined;
  for (const [name, on] of [['--permutations', permutations !== undefined], ['--error-bars', errorBarSplits !== undefined]] as const) {
    if (on && ks.length > 1) throw usageError(name, `needs one --k (got ${ks.join(',')}); run once per k`);
    if (on && opts.given !== undefined) throw usageError(name, 'is for I(X;Y) only; drop --given, or drop ' + name);
  }
  let seed: number | undefined;
  if (opts.seed !== undefined) {
    seed = integer('--seed', opts.seed, 0, 'an integer >= 0');
    if (!noise && permutations === undefined && errorBarSplits === undefined) {
      notes.push('--seed has no effect without --noise A (A > 0), --permutations or --error-bars; ignored');
    }
  }
  return { k: ks[0], ks, estimator, base, workers, noise, seed, permutations, errorBarSplits, json: opts.json === true, quiet: opts.quiet === true, notes };
}

/** Samples (rows) and values per sample of an array read from `path`, with the checks the estimator needs. */
export function checkInput(path: string, arr: NpyArray, k: number): { n: number; d: number } {
  const { shape, data } = arr;
  if (shape.length === 0) throw inputError(path, 'is a 0-d array (one value); save the samples as shape (N,) or (N, d)');
  const n = shape[0]!;
  const d = shape.slice(1).reduce((a, b) => a * b, 1);
  if (n === 0 || d === 0) {
    throw inputError(path, `is empty (shape (${shape.join(', ')}${shape.length === 1 ? ',' : ''})); save at least k+1 = ${k + 1} samples as rows`);
  }
  let bad = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    // v - v is NaN exactly when v is NaN or +-Inf
    if (v - v !== 0) {
      if (first < 0) first = Math.floor(i / d);
      bad++;
    }
  }
  if (bad > 0) {
    throw inputError(path, `has ${bad} NaN or Inf value${bad === 1 ? '' : 's'}, the first in row ${first} (0-based); drop those rows from both files, e.g. keep = np.isfinite(x).all(axis=1) & np.isfinite(y).all(axis=1)`);
  }
  return { n, d };
}

export type MiCommandResult = MIResult & { dz?: number; significance?: NullDistribution; errorBars?: ErrorBars };

export interface MiRun {
  /** the first k's result (the only one unless several k were asked for) */
  result: MiCommandResult;
  /** one result per k of settings.ks */
  results: MiCommandResult[];
  settings: MiSettings;
  /** threads the estimate ran on */
  workers: number;
  files: { x: string; y: string; given?: string };
}

/** Read both files, check them, and estimate (the CLI's `mi`, without the printing). */
export async function runMi(xPath: string, yPath: string, opts: MiCommandOptions): Promise<MiRun> {
  const settings = parseMiOptions(opts);
  const x = readNpy(xPath, MI_INPUT_LIMIT);
  const y = readNpy(yPath, MI_INPUT_LIMIT);
  const sx = checkInput(xPath, x, settings.k);
  const sy = checkInput(yPath, y, settings.k);
  if (sx.n !== sy.n) {
    throw new InfoflowError('input', `${xPath} has ${sx.n} rows but ${yPath} has ${sy.n}: the two files must hold the same samples in the same order`);
  }
  const zPath = opts.given;
  const z = zPath === undefined ? undefined : readNpy(zPath, MI_INPUT_LIMIT);
  if (z && zPath !== undefined) {
    const sz = checkInput(zPath, z, settings.k);
    if (sz.n !== sx.n) {
      throw new InfoflowError('input', `--given ${zPath} has ${sz.n} rows but ${xPath} has ${sx.n}: the condition must hold the same samples in the same order`);
    }
  }
  checkK(settings.ks, '--k', sx.n, `${xPath} and ${yPath}`);
  if (settings.errorBarSplits !== undefined) checkSubsampleSize(sx.n, settings.k, settings.errorBarSplits, '--error-bars', '--error-bar-splits');
  // loaded only now: option and file errors stay fast, and never wait for the WebAssembly kernel or the pool
  const { MIEstimator, POOL_MIN_N } = await import('../mi/index.js');
  const progress = createProgress({
    label: z ? 'I(X;Y|Z)' : 'I(X;Y)',
    total: sx.n,
    quiet: settings.quiet,
    json: settings.json,
    delayMs: 1000,
    format: `${z ? 'I(X;Y|Z)' : 'I(X;Y)'} |{bar}| {percentage}% of {total} points | {duration_formatted} elapsed, ETA {eta_formatted}`,
  });
  const estimator = new MIEstimator({ workers: settings.workers });
  const estimateOpts = {
    k: settings.k,
    estimator: settings.estimator,
    base: settings.base,
    ...(settings.noise !== undefined ? { noise: settings.noise } : {}),
    ...(settings.seed !== undefined && settings.noise ? { seed: settings.seed } : {}),
  };
  const onProgress = (done: number, total: number): void => {
    progress.setTotal(total);
    progress.update(done);
  };
  const X = { data: x.data, shape: x.shape };
  const Y = { data: y.data, shape: y.shape };
  const workers = sx.n < POOL_MIN_N ? 1 : settings.workers;
  const files = { x: xPath, y: yPath, ...(zPath !== undefined ? { given: zPath } : {}) };
  try {
    if (z || settings.ks.length > 1) {
      const several = { ...estimateOpts, k: settings.ks, onProgress };
      const results: MiCommandResult[] = z
        ? await estimator.estimateConditional(X, Y, { data: z.data, shape: z.shape }, several)
        : await estimator.estimate(X, Y, several);
      return { result: results[0]!, results, settings, workers, files };
    }
    const observed = await estimator.estimate(X, Y, { ...estimateOpts, onProgress });
    const result: MiRun['result'] = { ...observed };
    const extra = await moreEstimates(estimator, x, y, observed, estimateOpts, settings);
    if (extra.significance) result.significance = extra.significance;
    if (extra.errorBars) result.errorBars = extra.errorBars;
    // the estimator runs small inputs on this thread: report the threads it really used
    return { result, results: [result], settings, workers, files };
  } finally {
    progress.stop();
    await estimator.close();
  }
}

/** The shuffles (--permutations) and subsamples (--error-bars) on the estimator of the main estimate, with a bar of estimates. */
async function moreEstimates(
  estimator: import('../mi/index.js').MIEstimator,
  xa: NpyArray,
  ya: NpyArray,
  observed: MIResult,
  estimateOpts: { k: number; estimator: EstimatorName; base: number | 'e'; noise?: number; seed?: number },
  settings: MiSettings,
): Promise<{ significance?: NullDistribution; errorBars?: ErrorBars }> {
  if (settings.permutations === undefined && settings.errorBarSplits === undefined) return {};
  const [{ shuffledEstimates }, { subsampleErrorBars, subsampleEstimates }] = await Promise.all([import('../mi/permutation.js'), import('../mi/error-bars.js')]);
  const x = toMatrix({ data: xa.data, shape: xa.shape }, 'x');
  const y = toMatrix({ data: ya.data, shape: ya.shape }, 'y');
  const total = (settings.permutations ?? 0) + (settings.errorBarSplits === undefined ? 0 : subsampleEstimates(settings.errorBarSplits));
  const bar = createProgress({
    label: 'estimates',
    total,
    quiet: settings.quiet,
    json: settings.json,
    delayMs: 1000,
    format: 'shuffles and subsamples |{bar}| {value}/{total} estimates | {duration_formatted} elapsed, ETA {eta_formatted}',
  });
  let done = 0;
  const onEach = () => bar.update(++done);
  const seed = settings.seed ?? 0;
  try {
    const out: { significance?: NullDistribution; errorBars?: ErrorBars } = {};
    if (settings.permutations !== undefined) {
      out.significance = await shuffledEstimates(estimator, x, y, { permutations: settings.permutations, seed, observedNats: observed.nats, estimate: estimateOpts, onEach });
    }
    if (settings.errorBarSplits !== undefined) {
      out.errorBars = await subsampleErrorBars(estimator, x, y, observed, { splits: settings.errorBarSplits, level: 0.95, seed, estimate: estimateOpts, onEach });
    }
    return out;
  } finally {
    bar.stop();
  }
}

/** The human lines, one per k: `I(X;Y) = 2.7881 bits  (N=2000, dx=8, dy=8, k=3, KSG-1 max-norm, 0.04 s, 2 workers)`. */
export function formatMiLine(run: MiRun): string {
  return run.results.map((r) => formatOneResult(run, r)).join('\n');
}

const METHOD: Record<EstimatorName, string> = { ksg1: 'KSG-1 max-norm', ksg2: 'KSG-2 max-norm' };

function formatOneResult(run: MiRun, r: MiCommandResult): string {
  const noise = run.settings.noise ? `, noise ${run.settings.noise} seed ${run.settings.seed ?? 0}` : '';
  const workers = `${run.workers} worker${run.workers === 1 ? '' : 's'}`;
  const what = r.dz === undefined ? 'I(X;Y)' : 'I(X;Y|Z)';
  const dims = `dx=${r.dx}, dy=${r.dy}${r.dz === undefined ? '' : `, dz=${r.dz}`}`;
  const method = r.dz === undefined ? METHOD[r.estimator] : 'Frenzel-Pompe KSG-1 max-norm';
  const seconds = run.results.length > 1 ? `${r.seconds.toFixed(2)} s for all k` : `${r.seconds.toFixed(2)} s`;
  const lines = [`${what} = ${fixed(r.mi)} ${r.units}  (N=${r.n}, ${dims}, k=${r.k}, ${method}${noise}, ${seconds}, ${workers})`];
  const e = r.errorBars;
  if (e) {
    lines.push(
      `  ${Math.round(e.level * 100)} % interval [${fixed(e.lo)}, ${fixed(e.hi)}] ${r.units}, standard error ${fixed(e.se)} (Holmes & Nemenman 2019: 2..${e.splits} disjoint subsamples, ${e.dof} dof, seed ${e.seed}, ${e.seconds.toFixed(2)} s)`,
    );
  }
  const s = r.significance;
  if (s) {
    lines.push(
      `  p = ${(s.pValue ?? NaN).toPrecision(3)} against ${s.permutations} shuffles of Y (seed ${s.seed}): null ${fixed(s.mean)} +- ${fixed(s.sd)} ${r.units}, ${s.seconds.toFixed(2)} s`,
    );
  }
  return lines.join('\n');
}

/** 4 decimals, and never -0.0000. */
const fixed = (v: number): string => (Math.round(v * 1e4) / 1e4 + 0).toFixed(4);

export function registerMiCommand(program: Command): void {
  program
    .command('mi')
    .summary('mutual information between two .npy arrays (KSG, exact)')
    .description(
      'Estimate the mutual information I(X;Y) between two arrays saved with NumPy (np.save), with the KSG estimator ' +
        '(Kraskov et al. 2004, algorithm 1, max-norm), as NPEET mi(x, y, k=3, base=2), or algorithm 2 (--estimator ksg2); ' +
        'with --given Z.npy the conditional MI I(X;Y|Z) (Frenzel & Pompe 2007, as NPEET cmi). Row i of X and row i of Y are ' +
        'one sample: X is (N, dx), Y is (N, dy); a 1-D array is (N, 1); more dimensions are flattened per sample.',
    )
    .argument('<x>', 'X.npy: N samples as rows')
    .argument('<y>', 'Y.npy: the same N samples, in the same order')
    .option('--k <k>', 'neighbours in the joint space; several, increasing (3,5,10): one result each from one search', '3')
    .option('--estimator <name>', 'ksg1 (algorithm 1, default) or ksg2 (algorithm 2: marginal radii from the k neighbours, counts <=)')
    .option('--given <Z.npy>', 'the conditional MI I(X;Y|Z) instead, with Z the same N samples (KSG-1 form only)')
    .option('--base <base>', 'log base: 2 (bits), e (nats) or 10 (dits)', '2')
    .option('--workers <n>', 'threads for the estimate (default: all cores)')
    .option('--noise <A>', 'add seeded U[0,1)*A noise to x and y first (breaks exact ties; NPEET uses 1e-10)')
    .option('--seed <S>', 'seed for --noise, the shuffles of --permutations and the partitions of --error-bars (default 0)', undefined)
    .option('--permutations <P>', 'significance: estimate P seeded shuffles of Y too; the null mean, sd and p-value = (1 + #{null >= I}) / (1 + P)')
    .option('--error-bars', 'a standard error and 95 % interval at this N from disjoint subsamples (Holmes & Nemenman 2019)')
    .option('--error-bar-splits <S>', 'the error bars split the rows into 2 .. S disjoint subsamples (default 10)')
    .option('--json', 'print one JSON object on stdout (every result field and the files); with several k one line per k')
    .option('--quiet', 'print only the number (one line per k)')
    .showHelpAfterError(false)
    // commander's own parse errors (missing or extra arguments, unknown options) as one line, like ours
    .configureOutput({
      outputError: (str, write) =>
        write(`infoflow: mi: ${str.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim()} (see infoflow mi --help)\n`),
    })
    .action(async (x: string, y: string, opts: MiCommandOptions) => {
      const run = await runMi(x, y, opts);
      for (const note of run.settings.notes) process.stderr.write(`infoflow: warning: ${note}\n`);
      for (const w of new Set(run.results.flatMap((r) => r.warnings))) process.stderr.write(`infoflow: warning: ${w}\n`);
      if (run.settings.json) {
        // noise as applied: the estimator's seed defaults to 0
        const noise = run.settings.noise ?? 0;
        const seed = noise > 0 ? (run.settings.seed ?? 0) : null;
        for (const r of run.results) process.stdout.write(`${JSON.stringify({ ...r, noise, seed, workers: run.workers, files: run.files })}\n`);
      } else if (run.settings.quiet) {
        for (const r of run.results) process.stdout.write(`${r.mi}\n`);
      } else {
        process.stdout.write(`${formatMiLine(run)}\n`);
      }
    });
}
