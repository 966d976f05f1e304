/**
 * `infoflow reproduce --figure ID`: trains a figure's runs in parallel child processes, draws the figure
 * (SVG + PNG), writes its data and the verdicts on the paper's claims. Options are checked here, then the
 * figure (src/figures/index.ts lists them) does the work.
 */
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InfoflowError, usageError } from '../errors.js';
import { BACKENDS } from '../backend.js';
import { type ExecutorChoice, type ExecutorCliOptions, addExecutorOptions, resolveExecutor } from '../figures/executors/options.js';
import { RunsQueuedOnSlurm } from '../figures/executors/slurm.js';
import { figureIds, getFigure } from '../figures/index.js';
import { lockFolder, staleLockNote } from '../io/lock.js';
import type { FigureProgress, Preset } from '../figures/pipeline/figure.js';
import { ensureDir } from '../figures/pipeline/files.js';
import { verdictWord } from '../figures/pipeline/verdicts.js';
import { type Progress, createMultiProgress } from '../progress.js';
import type { MetricsRow } from '../train/metrics.js';

export interface ReproduceOptions extends ExecutorCliOptions {
  figure?: string;
  quick?: boolean;
  full?: boolean;
  out: string;
  jobs?: string;
  backend: string;
  force?: boolean;
  quiet?: boolean;
  json?: boolean;
  stallMinutes?: string;
}

export interface ResolvedReproduce {
  figure: string;
  preset: Preset;
  outDir: string;
  jobs: number;
  backend: string;
  force: boolean;
  quiet: boolean;
  json: boolean;
  /** undefined: the preset's default (DEFAULT_STALL_SECONDS) */
  stallSeconds?: number;
  executor: ExecutorChoice;
}

/** Checks every option and the output folder; throws a usage or io error naming the option. */
export function resolveReproduceOptions(o: ReproduceOptions): ResolvedReproduce {
  if (o.figure === undefined) throw usageError('--figure', `required; one of ${figureIds().join(', ')}`);
  getFigure(o.figure);
  if (o.quick && o.full) throw usageError('--quick/--full', 'choose one preset, not both');
  let jobs = availableParallelism();
  if (o.jobs !== undefined) {
    jobs = Number(o.jobs);
    if (!/^\d+$/.test(o.jobs.trim()) || !Number.isInteger(jobs) || jobs < 1 || jobs > 256) {
      throw usageError('--jobs', `must be an integer in [1, 256]; got '${o.jobs}'`);
    }
  }
  if (!(BACKENDS as readonly string[]).includes(o.backend)) {
    throw usageError('--backend', `unknown backend '${o.backend}'; choose one of ${BACKENDS.join(', ')}`);
  }
  let stallSeconds: number | undefined;
  if (o.stallMinutes !== undefined) {
    const m = Number(o.stallMinutes);
    if (o.stallMinutes.trim() === '' || !Number.isFinite(m) || m < 0 || m > 10_000) {
      throw usageError('--stall-minutes', `must be a number of minutes in [0, 10000] (0: no limit); got '${o.stallMinutes}'`);
    }
    stallSeconds = m * 60;
  }
  const executor = resolveExecutor(o);
  const outDir = resolve(o.out);
  ensureDir(outDir, '--out');
  return {
    figure: o.figure,
    preset: o.quick ? 'quick' : o.full ? 'full' : 'default',
    outDir,
    jobs,
    backend: o.backend,
    force: Boolean(o.force),
    quiet: Boolean(o.quiet),
    json: Boolean(o.json),
    ...(stallSeconds !== undefined ? { stallSeconds } : {}),
    executor,
  };
}

const BAR_FORMAT = '{label} |{bar}| epoch {value}/{total} | loss {loss} err {err} MI {mi} | ETA {eta_formatted}';

/** Bars on stderr (TTY), machine-readable lines on stdout (--json), or run-end lines only (pipes). */
function makeProgress(r: ResolvedReproduce): FigureProgress {
  const emit = (event: object) => process.stdout.write(`${JSON.stringify(event)}\n`);
  if (r.json) {
    return {
      runStart: (run, totalEpochs, doneEpochs) => emit({ event: 'run-start', run, totalEpochs, doneEpochs }),
      epoch: (run, row) => emit({ event: 'epoch', ...row, run }),
      runEnd: (run, status, error) => emit({ event: 'run-end', run, status, ...(error ? { error } : {}) }),
      note: (message) => emit({ event: 'note', message }),
      stop: () => {},
    };
  }
  const multi = createMultiProgress({ quiet: r.quiet, format: BAR_FORMAT });
  const bars = new Map<string, Progress>();
  const say = (line: string) => {
    if (!r.quiet) multi.log(line);
  };
  return {
    runStart(run, totalEpochs, doneEpochs) {
      const bar = multi.add(run, totalEpochs);
      bar.update(doneEpochs);
      bars.set(run, bar);
      if (doneEpochs > 0) say(`${run}: resuming after ${doneEpochs} recorded epochs`);
    },
    epoch(run, row: MetricsRow) {
      bars.get(run)?.update(row.epoch + 1, { loss: row.trainLoss, err: row.valError, mi: row.mi ?? '-' });
    },
    runEnd(run, status, error) {
      bars.get(run)?.stop();
      if (status === 'failed') say(`${run}: FAILED: ${error ?? 'unknown error'}`);
      else if (status === 'skipped') say(`${run}: already finished (done.json), skipped`);
      else say(`${run}: done`);
    },
    // the Slurm executor's notes (job ids, queue counts) are the only news of runs on other machines
    note: (message) => {
      if (r.executor.kind === 'slurm') say(message);
    },
    stop: () => multi.stop(),
  };
}

export async function reproduce(o: ReproduceOptions): Promise<void> {
  const r = resolveReproduceOptions(o);
  const fig = getFigure(r.figure);
  // one writer per figure folder: a second reproduce on the same --out is refused, naming the first
  const figureDir = join(r.outDir, `figure-${fig.id}`);
  ensureDir(figureDir, '--out');
  const lock = lockFolder(figureDir, `reproduce --figure ${fig.id}`);
  const stale = staleLockNote(figureDir, lock);
  if (stale && !r.quiet) process.stderr.write(`infoflow: ${stale}\n`);
  const progress = makeProgress(r);
  let result;
  try {
    result = await fig.run({ ...r, progress });
  } catch (e) {
    if (!(e instanceof RunsQueuedOnSlurm)) throw e;
    // --no-wait: the runs are the scheduler's now; a later run of the same command collects them
    const again = 'run the same command again to wait for them and draw the figure, or with --collect to draw from what has finished';
    if (r.json) process.stdout.write(`${JSON.stringify({ event: 'slurm-queued', figure: fig.id, jobs: e.jobIds, runs: e.queued, submitted: e.submitted ?? null })}\n`);
    else process.stdout.write(`Slurm job ${e.jobIds.join(', ')}: ${e.queued.length} run(s) of ${fig.title} queued or running; ${again}\n`);
    return;
  } finally {
    progress.stop();
    lock.release();
  }
  if (r.json) {
    process.stdout.write(`${JSON.stringify({ event: 'figure-done', figure: fig.id, preset: r.preset, dir: result.dir, files: result.files, failed: result.failed, verdicts: result.verdicts })}\n`);
  } else {
    const lines = [`${fig.title} (preset ${r.preset}): ${result.dir}`];
    for (const f of result.files.filter((f) => /\.(png|md)$/.test(f))) lines.push(`  ${f}`);
    for (const v of result.verdicts) lines.push(`  [${verdictWord(v.supported)}] ${v.claim}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (result.failed.length > 0) {
    throw new InfoflowError(
      'config',
      `${result.failed.length} run(s) failed (first: ${result.failed[0].run}: ${result.failed[0].error}); the figure was drawn from the others; run the same command again to resume them`,
      { exitCode: 1 },
    );
  }
}

export function registerReproduceCommand(program: Command): void {
  const cmd = program
    .command('reproduce')
    .description("Rerun a paper's experiment and draw its figure (SVG + PNG), its data and verdicts on the paper's claims.")
    .option('--figure <id>', `the figure: ${figureIds().join(', ')}`)
    .option('--quick', 'tiny data and few epochs: the whole pipeline in a minute or two')
    .option('--full', "the paper's full schedule (long)")
    .option('--out <dir>', 'output folder; the figure goes to <dir>/figure-<id>/', './figures-out')
    .option('--jobs <n>', 'training runs at once (default: the number of cores)')
    .option('--backend <name>', `training backend: ${BACKENDS.join(', ')}`, 'auto')
    .option('--force', 'replace a figure folder made with another preset or run list')
    .option('--quiet', 'no progress bars or run lines')
    .option('--json', 'machine-readable progress, one JSON object per line on stdout')
    .option('--stall-minutes <m>', 'kill a run that records no epoch for this long, report it, go on (0: never; default 3 quick, 10 default, 60 full)');
  addExecutorOptions(cmd)
    .action(async (opts: ReproduceOptions) => {
      await reproduce(opts);
    });
}
