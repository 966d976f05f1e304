/**
 * `infoflow entropy X.npy [--k 3]`: the Kozachenko-Leonenko entropy H(X) under the max-norm (as NPEET's entropy),
 * in bits by default, for one k or several from one search. The options and the file are checked as `mi` checks
 * them (the same parser and input checks), so a bad input is one InfoflowError line (src/cli.ts prints it, exit 2).
 */
import type { Command } from 'commander';
import type { EntropyResult } from '../mi/index.js';
import { checkK } from '../mi/estimator-check.js';
import { readNpy } from '../npy/index.js';
import { MI_INPUT_LIMIT } from '../process/limits.js';
import { createProgress } from '../progress.js';
import { checkInput, parseMiOptions } from './mi.js';

export interface EntropyCommandOptions {
  k?: string;
  base?: string;
  workers?: string;
  noise?: string;
  seed?: string;
  json?: boolean;
  quiet?: boolean;
}

export interface EntropyRun {
  results: EntropyResult[];
  workers: number;
  noise: number;
  seed: number | null;
  notes: string[];
  file: string;
}

/** Read the file, check it, and estimate (the CLI's `entropy`, without the printing). */
export async function runEntropy(xPath: string, opts: EntropyCommandOptions): Promise<EntropyRun> {
  const settings = parseMiOptions(opts);
  const notes = opts.seed !== undefined && !settings.noise ? ['--seed has no effect without --noise A (A > 0); ignored'] : [];
  const x = readNpy(xPath, MI_INPUT_LIMIT);
  const { n } = checkInput(xPath, x, settings.k);
  checkK(settings.ks, '--k', n, xPath);
  // loaded only now: option and file errors stay fast, and never wait for the WebAssembly kernel or the pool
  const { MIEstimator, POOL_MIN_N } = await import('../mi/index.js');
  const progress = createProgress({
    label: 'H(X)',
    total: n,
    quiet: settings.quiet,
    json: settings.json,
    delayMs: 1000,
    format: 'H(X) |{bar}| {percentage}% of {total} points | {duration_formatted} elapsed, ETA {eta_formatted}',
  });
  const estimator = new MIEstimator({ workers: settings.workers });
  try {
    const results = await estimator.estimateEntropy({ data: x.data, shape: x.shape }, {
      k: settings.ks,
      base: settings.base,
      ...(settings.noise !== undefined ? { noise: settings.noise } : {}),
      ...(settings.seed !== undefined && settings.noise ? { seed: settings.seed } : {}),
      onProgress: (done, total) => {
        progress.setTotal(total);
        progress.update(done);
      },
    });
    const noise = settings.noise ?? 0;
    return { results, workers: n < POOL_MIN_N ? 1 : settings.workers, noise, seed: noise > 0 ? (settings.seed ?? 0) : null, notes, file: xPath };
  } finally {
    progress.stop();
    await estimator.close();
  }
}

/** `H(X) = 3.1416 bits  (N=2000, d=8, k=3, Kozachenko-Leonenko max-norm, 0.02 s, 1 worker)`, one line per k. */
export function formatEntropyLines(run: EntropyRun): string {
  const noise = run.noise ? `, noise ${run.noise} seed ${run.seed}` : '';
  const workers = `${run.workers} worker${run.workers === 1 ? '' : 's'}`;
  const seconds = (r: EntropyResult): string => `${r.seconds.toFixed(2)} s${run.results.length > 1 ? ' for all k' : ''}`;
  return run.results
    .map((r) => `H(X) = ${(Math.round(r.h * 1e4) / 1e4 + 0).toFixed(4)} ${r.units}  (N=${r.n}, d=${r.d}, k=${r.k}, Kozachenko-Leonenko max-norm${noise}, ${seconds(r)}, ${workers})`)
    .join('\n');
}

export function registerEntropyCommand(program: Command): void {
  program
    .command('entropy')
    .summary('differential entropy of a .npy array (Kozachenko-Leonenko, max-norm, exact)')
    .description(
      'Estimate the differential entropy H(X) of an array saved with NumPy (np.save) with the Kozachenko-Leonenko ' +
        'k-nearest-neighbour estimator under the max-norm, as NPEET entropy(x, k=3, base=2): ' +
        'H = psi(N) - psi(k) + d ln 2 + d mean_i ln r_i, r_i the distance to the k-th neighbour. X is (N, d); a 1-D ' +
        'array is (N, 1); more dimensions are flattened per sample.',
    )
    .argument('<x>', 'X.npy: N samples as rows')
    .option('--k <k>', 'neighbours; several, increasing (3,5,10): one result each from one search', '3')
    .option('--base <base>', 'log base: 2 (bits), e (nats) or 10 (dits)', '2')
    .option('--workers <n>', 'threads for the estimate (default: all cores)')
    .option('--noise <A>', 'add seeded U[0,1)*A noise to x first (breaks exact ties; NPEET uses 1e-10)')
    .option('--seed <S>', 'seed for --noise (default 0)', undefined)
    .option('--json', 'print one JSON object per k on stdout (every result field and the file)')
    .option('--quiet', 'print only the number (one line per k)')
    .showHelpAfterError(false)
    .configureOutput({
      outputError: (str, write) =>
        write(`infoflow: entropy: ${str.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim()} (see infoflow entropy --help)\n`),
    })
    .action(async (x: string, opts: EntropyCommandOptions) => {
      const run = await runEntropy(x, opts);
      for (const note of run.notes) process.stderr.write(`infoflow: warning: ${note}\n`);
      for (const w of new Set(run.results.flatMap((r) => r.warnings))) process.stderr.write(`infoflow: warning: ${w}\n`);
      if (opts.json) {
        for (const r of run.results) process.stdout.write(`${JSON.stringify({ ...r, noise: run.noise, seed: run.seed, workers: run.workers, file: run.file })}\n`);
      } else if (opts.quiet) {
        for (const r of run.results) process.stdout.write(`${r.h}\n`);
      } else {
        process.stdout.write(`${formatEntropyLines(run)}\n`);
      }
    });
}
