/**
 * The Slurm executor: a figure's unfinished runs become one job array (`sbatch --array`) of the batch script
 * written into the figure folder (slurm-script.ts), one task per run; then it polls the controller
 * (`scontrol -o show job`, slurm-state.ts) until every task is over, reading each run's epochs from its run
 * directory for the progress bars.
 *
 * The figure folder's slurm.json records every submission (job id, array index -> run), so that a rerun never
 * submits a run whose task is still pending or running, resubmits only the runs that failed or never finished
 * (they resume from their checkpoints), and with --no-wait or --collect returns at once.
 * A run is finished when its run directory has done.json, whatever the scheduler says: finished tasks are
 * forgotten by the controller after MinJobAge, and done.json is written by the run itself.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { InfoflowError, configError, ioError, usageError } from '../../errors.js';
import { writeFileDurable } from '../../io/durable.js';
import { type SlurmResources, arraySpec, batchScript } from './slurm-script.js';
import { type TaskState, isUnknownJob, parseArrayJob, parseSbatchOutput } from './slurm-state.js';
import type { ExecOutcome, ExecProgress, ExecRun } from './types.js';

export interface SlurmOptions {
  resources: SlurmResources;
  /** --slurm-args, split into words: passed through to sbatch */
  extraArgs: string[];
  /** most tasks running at once (%J); undefined: no limit of ours */
  throttle?: number;
  /** false (--no-wait): submit, report the job id, return */
  wait: boolean;
  /** --collect: submit nothing; report what finished */
  collect: boolean;
  /** seconds between two looks at the queue */
  pollSeconds: number;
}

export interface SlurmFigure {
  /** e.g. 'Figure 5 (preset quick)' */
  title: string;
  /** e.g. 'infoflow-fig5' */
  jobName: string;
  /** the figure folder, absolute */
  dir: string;
  /** the CLI the tasks run (dist/cli.js), absolute */
  cli: string;
  /** the Node binary the tasks use where the node has it (else `node` on the node's PATH) */
  node: string;
}

export interface SlurmResult {
  /** one per run, in the order given */
  outcomes: ExecOutcome[];
  /** the job submitted by this call, if any */
  submitted?: { jobId: string; runs: string[] };
  /** runs still pending or running when this call returned (--no-wait, --collect) */
  queued: string[];
}

/** slurm.json: every submission of this figure folder. */
interface SlurmRecord {
  script: string;
  submissions: { jobId: string; submittedAt: string; command: string[]; tasks: Record<string, string> }[];
}

export const RECORD_FILE = 'slurm.json';
export const SCRIPT_FILE = 'slurm.sh';
export const LOG_DIR = 'slurm-logs';

/** How long a task Slurm calls COMPLETED may take to show its done.json (a shared filesystem's cache). */
const DONE_GRACE_MS = 30_000;
/** Failed scontrol calls in a row (the controller unreachable) before giving up the wait. */
const MAX_QUERY_FAILURES = 10;

interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a Slurm command; a missing binary is a one-line usage error naming the fix. */
function slurmCommand(cmd: string, args: string[], cwd?: string): Promise<CommandResult> {
  return new Promise((resolveResult, reject) => {
    execFile(cmd, args, { cwd, timeout: 120_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: string | number }) | null;
      if (e && e.code === 'ENOENT') {
        reject(usageError('--executor slurm', `'${cmd}' not found on PATH; run on a Slurm login node, or use --executor local`));
        return;
      }
      resolveResult({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The last few non-empty lines of a task's log, on one line ('' when it has none yet). */
export function logTail(path: string | undefined, count = 3): string {
  if (!path || !existsSync(path)) return '';
  const lines = readFileSync(path, 'utf8').split('\n').map((l) => l.split('\r').pop()!.trim()).filter(Boolean);
  return lines.slice(-count).join(' | ');
}

/** Why a task that is over did not finish its run: its state, exit code and log. */
export function failureText(task: TaskState | undefined, log: string): string {
  const rel = relative(process.cwd(), log);
  const where = `log ${rel && !rel.startsWith('..') ? rel : log}`;
  const tail = logTail(log);
  const lines = tail ? `; last lines: ${tail}` : '';
  if (!task) return `Slurm no longer knows its task and the run has no done.json (${where})${lines}`;
  const [code, signal] = (task.exitCode ?? '0:0').split(':');
  const exit = code !== '0' ? `, exit code ${code}` : signal && signal !== '0' ? `, signal ${signal}` : '';
  const state = task.state === 'COMPLETED' ? 'COMPLETED without writing done.json' : task.state;
  return `task ${task.id} ${state}${exit} (${where})${lines}`;
}

/** Splits --slurm-args into words as a shell would (quotes and backslashes; no expansion). */
export function splitArgs(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw usageError('--slurm-args', `unclosed ${quote} in '${text}'`);
  if (inWord) words.push(word);
  return words;
}

function readRecord(figureDir: string): SlurmRecord {
  const path = join(figureDir, RECORD_FILE);
  if (!existsSync(path)) return { script: SCRIPT_FILE, submissions: [] };
  try {
    const r = JSON.parse(readFileSync(path, 'utf8')) as SlurmRecord;
    if (!Array.isArray(r.submissions)) throw new Error('no submissions');
    return r;
  } catch {
    throw configError(path, 'unreadable; it records the Slurm jobs of this figure: check that none is queued (squeue --me), then delete it');
  }
}

function writeRecord(figureDir: string, record: SlurmRecord): void {
  const path = join(figureDir, RECORD_FILE);
  try {
    writeFileDurable(path, `${JSON.stringify(record, null, 2)}\n`);
  } catch (e) {
    const cause = e instanceof InfoflowError ? e.message : ((e as NodeJS.ErrnoException).code ?? String(e));
    throw ioError(path, `cannot record the submitted job (${cause}); the job runs on: cancel it with scancel, or free space / make the folder writable`, e);
  }
}

/** The latest submission of each run: its job id and array index. */
function latestTasks(record: SlurmRecord): Map<string, { jobId: string; index: number }> {
  const latest = new Map<string, { jobId: string; index: number }>();
  for (const s of record.submissions) {
    for (const [index, run] of Object.entries(s.tasks)) latest.set(run, { jobId: s.jobId, index: Number(index) });
  }
  return latest;
}

/** Reads the tasks of each job from the controller; undefined for a job it no longer knows. */
async function queryJobs(jobIds: string[]): Promise<Map<string, Map<number, TaskState> | undefined>> {
  const out = new Map<string, Map<number, TaskState> | undefined>();
  for (const jobId of jobIds) {
    const r = await slurmCommand('scontrol', ['-o', 'show', 'job', jobId]);
    if (r.code === 0) out.set(jobId, parseArrayJob(r.stdout, jobId));
    else if (isUnknownJob(r.stderr)) out.set(jobId, undefined);
    else throw new InfoflowError('io', `scontrol show job ${jobId}: ${r.stderr.trim().split('\n').pop() || `exit code ${r.code}`}`);
  }
  return out;
}

type RunState =
  | { kind: 'done' }
  | { kind: 'active'; task: TaskState }
  | { kind: 'over'; task: TaskState | undefined; log: string }
  | { kind: 'unsubmitted' };

/** Where each run stands: done.json first, then its latest task's state. */
async function runStates(runs: ExecRun[], figureDir: string, record: SlurmRecord): Promise<Map<string, RunState>> {
  const latest = latestTasks(record);
  const needed = [...new Set(runs.filter((r) => !existsSync(join(r.dir, 'done.json')) && latest.has(r.name)).map((r) => latest.get(r.name)!.jobId))];
  const jobs = await queryJobs(needed);
  const states = new Map<string, RunState>();
  for (const run of runs) {
    const t = latest.get(run.name);
    if (existsSync(join(run.dir, 'done.json'))) states.set(run.name, { kind: 'done' });
    else if (!t) states.set(run.name, { kind: 'unsubmitted' });
    else {
      const task = jobs.get(t.jobId)?.get(t.index);
      const log = task?.stdout ?? join(figureDir, LOG_DIR, `${t.jobId}_${t.index}.out`);
      states.set(run.name, task?.phase === 'active' ? { kind: 'active', task } : { kind: 'over', task, log });
    }
  }
  return states;
}

/**
 * Submits the runs that need it, waits for them (unless --no-wait or --collect) and says where every run
 * ended. Runs with done.json are never submitted; runs whose task is queued or running are waited for, not
 * submitted again.
 */
export async function runOnSlurm<Row extends { epoch: number }>(
  fig: SlurmFigure,
  runs: ExecRun[],
  opts: SlurmOptions,
  io: { progress: ExecProgress; readRows: (runDir: string) => Row[] },
): Promise<SlurmResult> {
  const { progress } = io;
  const record = readRecord(fig.dir);
  const scriptPath = join(fig.dir, SCRIPT_FILE);
  const logDir = join(fig.dir, LOG_DIR);
  mkdirSync(logDir, { recursive: true });
  // the script covers every run of the figure, so that array index i is run i in every submission
  writeFileDurable(
    scriptPath,
    batchScript({
      title: fig.title, jobName: fig.jobName, runs: runs.map((r) => ({ name: r.name, args: r.args })), node: fig.node, cli: fig.cli,
      scriptPath, logDir, resources: opts.resources, throttle: opts.throttle, extraArgs: opts.extraArgs,
    }),
  );
  chmodSync(scriptPath, 0o755);

  let states = await runStates(runs, fig.dir, record);
  // runs finished before this call: the caller has them already (and reported them)
  const doneBefore = new Set(runs.filter((r) => states.get(r.name)!.kind === 'done').map((r) => r.name));
  const index = new Map(runs.map((r, i) => [r.name, i]));
  const toSubmit = opts.collect ? [] : runs.filter((r) => ['unsubmitted', 'over'].includes(states.get(r.name)!.kind));
  let submitted: SlurmResult['submitted'];
  if (toSubmit.length > 0) {
    for (const run of toSubmit) {
      const s = states.get(run.name)!;
      if (s.kind === 'over') progress.note(`${run.name}: submitted again to resume it (before: ${failureText(s.task, s.log)})`);
    }
    const array = arraySpec(toSubmit.map((r) => index.get(r.name)!), opts.throttle);
    const args = ['--parsable', `--array=${array}`, ...opts.extraArgs, scriptPath];
    const r = await slurmCommand('sbatch', args, fig.dir);
    const jobId = parseSbatchOutput(r.stdout);
    if (r.code !== 0 || !jobId) {
      const why = (r.stderr || r.stdout).trim().split('\n').filter(Boolean).pop() ?? `exit code ${r.code}`;
      throw new InfoflowError('config', `sbatch refused the job array (${why}); check --slurm-partition, --slurm-time, --slurm-cpus, --slurm-mem and --slurm-args (script: ${scriptPath})`);
    }
    record.submissions.push({
      jobId, submittedAt: new Date().toISOString(), command: ['sbatch', ...args],
      tasks: Object.fromEntries(toSubmit.map((run) => [String(index.get(run.name)!), run.name])),
    });
    writeRecord(fig.dir, record);
    submitted = { jobId, runs: toSubmit.map((run) => run.name) };
    progress.note(`submitted Slurm job ${jobId}: array ${array}, ${toSubmit.length} run(s): ${toSubmit.map((run) => run.name).join(', ')}; script ${scriptPath}`);
    states = await runStates(runs, fig.dir, record);
  }

  const seen = new Map<string, number>(); // run -> epochs reported to progress
  const report = (run: ExecRun) => {
    let rows: Row[] = [];
    try {
      rows = io.readRows(run.dir);
    } catch {
      // a metrics file being written on another node; the next look reads it
    }
    if (!seen.has(run.name)) {
      progress.runStart(run.name, run.totalEpochs, rows.length);
      seen.set(run.name, rows.length);
    }
    for (const row of rows.slice(seen.get(run.name)!)) progress.epoch(run.name, row, run.totalEpochs);
    seen.set(run.name, Math.max(seen.get(run.name)!, rows.length));
  };
  const outcomes = new Map<string, ExecOutcome>();
  const finish = (run: ExecRun, state: RunState) => {
    if (state.kind === 'done') {
      if (!doneBefore.has(run.name)) {
        report(run);
        progress.runEnd(run.name, 'done');
      }
      outcomes.set(run.name, { name: run.name, status: 'done' });
    } else if (state.kind === 'over') {
      const error = failureText(state.task, state.log);
      if (seen.has(run.name)) report(run);
      progress.runEnd(run.name, 'failed', error);
      outcomes.set(run.name, { name: run.name, status: 'failed', error });
    } else if (state.kind === 'unsubmitted') {
      const error = 'never submitted (--collect submits nothing): run the command without --collect';
      progress.runEnd(run.name, 'failed', error);
      outcomes.set(run.name, { name: run.name, status: 'failed', error });
    }
  };

  let lastSummary = '';
  const summarize = () => {
    const kinds = runs.map((r) => states.get(r.name)!);
    const jobs = [...new Set(kinds.flatMap((s) => (s.kind === 'active' ? [s.task.id.split('_')[0]] : [])))];
    if (jobs.length === 0 && record.submissions.length > 0) jobs.push(record.submissions.at(-1)!.jobId);
    const count = (f: (s: RunState) => boolean) => kinds.filter(f).length;
    const running = count((s) => s.kind === 'active' && s.task.state !== 'PENDING');
    const pending = count((s) => s.kind === 'active' && s.task.state === 'PENDING');
    const failed = count((s) => s.kind === 'over' || s.kind === 'unsubmitted');
    const line = `Slurm job ${jobs.join(', ') || '-'}: ${count((s) => s.kind === 'done')} of ${runs.length} runs finished, ${running} running, ${pending} pending${failed ? `, ${failed} failed` : ''}`;
    if (line === lastSummary) return;
    lastSummary = line;
    progress.note(line);
  };

  if (!opts.wait || opts.collect) {
    for (const run of runs) finish(run, states.get(run.name)!);
    const queued = runs.filter((r) => states.get(r.name)!.kind === 'active').map((r) => r.name);
    if (queued.length > 0) summarize();
    for (const name of queued) outcomes.set(name, { name, status: 'queued' });
    return { outcomes: runs.map((r) => outcomes.get(r.name)!), ...(submitted ? { submitted } : {}), queued };
  }

  const completedAt = new Map<string, number>();
  let failures = 0;
  for (;;) {
    let active = 0;
    for (const run of runs) {
      if (outcomes.has(run.name)) continue;
      const s = states.get(run.name)!;
      if (s.kind === 'active') {
        active++;
        if (s.task.state !== 'PENDING') report(run);
        else if (!seen.has(run.name)) report(run);
      } else if (s.kind === 'over' && s.task?.state === 'COMPLETED' && Date.now() - (completedAt.get(run.name) ?? Date.now()) < DONE_GRACE_MS) {
        // Slurm says the task finished cleanly: give a shared filesystem a moment to show done.json
        if (!completedAt.has(run.name)) completedAt.set(run.name, Date.now());
        active++;
      } else {
        finish(run, s);
      }
    }
    summarize();
    if (active === 0) break;
    await new Promise((r) => setTimeout(r, opts.pollSeconds * 1000));
    try {
      states = await runStates(runs, fig.dir, record);
      failures = 0;
    } catch (e) {
      if (++failures >= MAX_QUERY_FAILURES || !(e instanceof InfoflowError)) {
        throw new InfoflowError('io', `${(e as Error).message} (${failures} times in a row); the jobs run on: rerun the same command later to collect them`);
      }
    }
  }
  return { outcomes: runs.map((r) => outcomes.get(r.name)!), ...(submitted ? { submitted } : {}), queued: [] };
}


/**
 * Refuses to touch a figure folder whose Slurm tasks may still write into it: the local executor would train the
 * same run directories at the same time, and --force would delete them under the tasks. Without Slurm commands
 * here (a folder copied off the cluster) there is nothing to ask, and nothing is refused.
 */
export async function refuseWhileOnSlurm(figureDir: string, executor: 'local' | 'slurm', force: boolean): Promise<void> {
  if ((executor === 'slurm' && !force) || !existsSync(join(figureDir, RECORD_FILE))) return;
  const jobIds = [...new Set(readRecord(figureDir).submissions.map((s) => s.jobId))];
  let jobs: Awaited<ReturnType<typeof queryJobs>>;
  try {
    jobs = await queryJobs(jobIds);
  } catch (e) {
    if (e instanceof InfoflowError && e.kind === 'usage') return;
    throw e;
  }
  const active = jobIds.filter((id) => [...(jobs.get(id)?.values() ?? [])].some((t) => t.phase === 'active'));
  if (active.length === 0) return;
  const what = executor === 'local' ? 'the local executor would train the same runs alongside' : '--force would delete the folder under them';
  throw configError(figureDir, `Slurm job ${active.join(', ')} of this figure folder is still queued or running and ${what}; wait (the same command with --executor slurm), or scancel ${active.join(' ')} first`);
}

/**
 * Thrown by executeOnSlurm when runs were left pending or running (--no-wait): not a failure; the command says
 * which job to wait for and draws nothing yet.
 */
export class RunsQueuedOnSlurm extends Error {
  constructor(
    readonly jobIds: string[],
    readonly queued: string[],
    readonly submitted?: { jobId: string; runs: string[] },
  ) {
    super(`${queued.length} run(s) queued or running on Slurm (job ${jobIds.join(', ')})`);
    this.name = 'RunsQueuedOnSlurm';
  }
}

/**
 * The figure runner's door to Slurm: every run of the figure (in figure.json's order) through runOnSlurm; the
 * outcomes, with runs still queued counted as not finished under --collect, or RunsQueuedOnSlurm under --no-wait.
 */
export async function executeOnSlurm<Row extends { epoch: number }>(
  figure: { id: string; title: string; dir: string; cli: string },
  runs: ExecRun[],
  opts: SlurmOptions,
  io: { progress: ExecProgress; readRows: (runDir: string) => Row[] },
): Promise<ExecOutcome[]> {
  const fig = { title: figure.title, jobName: `infoflow-${figure.id}`, dir: figure.dir, cli: figure.cli, node: process.execPath };
  const r = await runOnSlurm(fig, runs, opts, io);
  if (r.queued.length > 0 && !opts.collect) {
    const record = readRecord(figure.dir);
    const latest = latestTasks(record);
    const jobs = [...new Set(r.queued.map((name) => latest.get(name)!.jobId))];
    throw new RunsQueuedOnSlurm(jobs, r.queued, r.submitted);
  }
  return r.outcomes.map((o) =>
    o.status === 'queued' ? { name: o.name, status: 'failed', error: 'still queued or running on Slurm: run the command again (or with --collect) once it has finished' } : o,
  );
}
