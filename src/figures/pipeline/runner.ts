/**
 * The one runner of every figure: each training run is a child process of the CLI
 * (`node dist/cli.js train|train-dvcnn ... --json`), `jobs` at a time, and its run directory is read back.
 *
 * Nothing is lost on a re-run: a run with done.json is skipped, a run with a config.json but no done.json
 * is resumed (`--resume`; the trainer refuses it if its config changed), and a figure folder whose manifest
 * (preset + run list) differs is refused unless --force, which then deletes that folder's old runs first.
 * A finished run with the same spec in a sibling figure's folder (vc2 and vc3 share theirs) is copied.
 *
 * A failed child does not stop the others: its last stderr line is kept, the figure is drawn from what
 * exists, and the command exits non-zero at the end.
 *
 * Stall watchdog: a child that prints no epoch line for `ctx.stallSeconds` (from its start, or since its
 * last epoch) is killed (SIGTERM, then SIGKILL 5 s later) and reported failed with its last stderr lines;
 * the others go on, and a re-run resumes it from its checkpoint. 0 turns the watchdog off.
 */
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configError, ioError } from '../../errors.js';
import { LOCK_FILE } from '../../io/lock.js';
import { spawnWithParentPipe } from '../../process/parent-pipe.js';
import { executeOnSlurm, refuseWhileOnSlurm } from '../executors/slurm.js';
import { type MetricsRow, readMetrics } from '../../train/metrics.js';
import { ensureDir, writeTextFile } from './files.js';
import type { FigureContext, Preset } from './figure.js';

/** The CLI commands that train one run into a run directory. */
export type TrainCommand = 'train' | 'train-dvcnn';

/** One training run of a figure: the command and the flags that define it (without dashes). */
export interface RunSpec {
  /** directory name under `<figureDir>/runs/`, unique within the figure */
  name: string;
  command: TrainCommand;
  epochs: number;
  /** the command's flags, e.g. { arch: 'mlp', width: 16, depth: 5, seed: 0, 'limit-train': 2000 } */
  options: Record<string, string | number | boolean>;
}

export interface RunOutcome {
  spec: RunSpec;
  dir: string;
  status: 'done' | 'skipped' | 'failed';
  rows: MetricsRow[];
  error?: string;
}

/** The manifest written to `<figureDir>/figure.json`: what the folder was made with. */
interface Manifest {
  figure: string;
  preset: Preset;
  runs: RunSpec[];
}

/** The CLI the children run: INFOFLOW_CLI if set (tests), else dist/cli.js next to this module's dist/. */
export function cliPath(): string {
  if (process.env.INFOFLOW_CLI) return resolve(process.env.INFOFLOW_CLI);
  // this file is dist/figures/pipeline/runner.js (or src/... under vitest): the CLI is dist/cli.js
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, '..', '..', '..', 'dist', 'cli.js');
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Makes `<figureDir>` ready: writes the manifest, or checks the one there. A different manifest is a
 * config error unless `force`, which deletes the old runs and the figure files first.
 */
export function prepareFigureDir(figureDir: string, manifest: Manifest, force: boolean): void {
  const path = join(figureDir, 'figure.json');
  if (existsSync(path)) {
    const old = readManifest(figureDir);
    if (!old || !sameJson(old, manifest)) {
      const was = old ? `preset '${old.preset}', ${old.runs?.length ?? '?'} runs` : 'an unreadable figure.json';
      if (!force) {
        throw configError(
          figureDir,
          `was made with another configuration (${was}; now preset '${manifest.preset}', ${manifest.runs.length} runs); use another --out, or --force to delete it and start again`,
        );
      }
      // everything but the lock this process holds on the folder (reproduce took it)
      for (const entry of readdirSync(figureDir)) if (entry !== LOCK_FILE) rmSync(join(figureDir, entry), { recursive: true, force: true });
    }
  }
  ensureDir(join(figureDir, 'runs'));
  writeTextFile(path, `${JSON.stringify(manifest, null, 2)}\n`, 'the figure folder');
}

function readManifest(figureDir: string): Manifest | undefined {
  try {
    return JSON.parse(readFileSync(join(figureDir, 'figure.json'), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

/** The command line of a run (after `node cli.js`). */
export function trainArgs(spec: RunSpec, runDir: string, backend: string, resume: boolean): string[] {
  const args = [spec.command, '--epochs', String(spec.epochs), '--out', runDir, '--json'];
  if (backend && backend !== 'auto') args.push('--backend', backend);
  for (const [key, value] of Object.entries(spec.options)) {
    if (value === false) continue;
    args.push(`--${key}`);
    if (value !== true) args.push(String(value));
  }
  if (resume) args.push('--resume');
  return args;
}

/**
 * The line of a child's stderr that says what went wrong: the CLI's own `infoflow: ...` line, else the last
 * line naming an error (a crash's stack ends with a 'Node.js v20...' line, which says nothing); '' if none.
 */
export function lastErrorLine(lines: string[]): string {
  const last = (f: (l: string) => boolean) => [...lines].reverse().find(f);
  return last((l) => l.startsWith('infoflow:')) ?? last((l) => /error/i.test(l) && !l.startsWith('at ')) ?? '';
}

/** The stall limit of a preset when --stall-minutes is not given: generous multiples of its slowest epoch. */
export const DEFAULT_STALL_SECONDS: Record<Preset, number> = { quick: 180, default: 600, full: 3600 };

/** A child's stderr lines without Node's closing 'Node.js v20...' line, which says nothing. */
function usefulLines(lines: string[]): string[] {
  return lines.filter((l) => !/^Node\.js v\d/.test(l));
}

/** The last few stderr lines, joined on one line, for a killed child. */
function tailLines(lines: string[], count = 3): string {
  return usefulLines(lines).slice(-count).join(' | ');
}

/** Runs one child; resolves with its outcome (never rejects: a failure is an outcome). */
function runChild(spec: RunSpec, runDir: string, ctx: FigureContext): Promise<RunOutcome> {
  const resume = existsSync(join(runDir, 'config.json'));
  const before = resume ? readMetrics(runDir) : [];
  const total = spec.epochs + 1;
  ctx.progress.runStart(spec.name, total, before.length);
  const args = [cliPath(), ...trainArgs(spec, runDir, ctx.backend, resume)];
  return new Promise((resolveOutcome) => {
    // the child stops when this process dies, SIGKILL included (its parent pipe closes), or exits (killed here)
    const child = spawnWithParentPipe(process.execPath, args);
    const errLines: string[] = [];
    let out = '';
    // the watchdog: re-armed at every epoch line; when it fires the child is killed and reported stalled
    const stallSeconds = ctx.stallSeconds ?? DEFAULT_STALL_SECONDS[ctx.preset];
    let stalled: string | null = null;
    let lastEpoch: number | null = null;
    let stallTimer: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const arm = () => {
      if (!(stallSeconds > 0)) return;
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => {
        const since = lastEpoch === null ? 'since it started (no epoch recorded)' : `since epoch ${lastEpoch}`;
        stalled = `no progress for ${stallSeconds} s ${since}: killed (limit: --stall-minutes)`;
        child.kill('SIGTERM');
        killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
        killTimer.unref();
      }, stallSeconds * 1000);
    };
    arm();
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl).trim();
        out = out.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        try {
          const row = JSON.parse(line) as MetricsRow;
          if (typeof row.epoch === 'number') {
            lastEpoch = row.epoch;
            arm();
            ctx.progress.epoch(spec.name, row, total);
          }
        } catch {
          // not a metrics line
        }
      }
    });
    child.stderr.setEncoding('utf8');
    let err = '';
    const keep = (line: string) => {
      const l = line.split('\r').pop()!.trim();
      if (!l) return;
      errLines.push(l);
      if (errLines.length > 50) errLines.shift();
    };
    child.stderr.on('data', (chunk: string) => {
      // whole lines only (a line cut between chunks waits for its end)
      err += chunk;
      const lines = err.split('\n');
      err = lines.pop() ?? '';
      lines.forEach(keep);
    });
    child.stderr.on('end', () => keep(err));
    let finished = false;
    const finish = (code: number | null, signal: string | null, spawnError?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(stallTimer);
      clearTimeout(killTimer);
      let rows: MetricsRow[] = [];
      let unreadable: string | undefined;
      try {
        rows = readMetrics(runDir);
      } catch (e) {
        unreadable = (e as Error).message;
      }
      const done = existsSync(join(runDir, 'done.json'));
      if (code === 0 && done && !unreadable) {
        ctx.progress.runEnd(spec.name, 'done');
        resolveOutcome({ spec, dir: runDir, status: 'done', rows });
        return;
      }
      const last = usefulLines(errLines).at(-1);
      const tail = tailLines(errLines);
      const why =
        (stalled ? `${stalled}${tail ? `; its last stderr lines: ${tail}` : '; it wrote nothing on stderr'}` : undefined) ??
        spawnError?.message ??
        unreadable ??
        (signal ? `${spec.command} was killed (${signal})` : undefined) ??
        (lastErrorLine(errLines) ||
          (code === 0 ? `${spec.command} exited without writing done.json` : `${spec.command} exited with code ${code}${last ? `; its last stderr line: ${last}` : ''}`));
      ctx.progress.runEnd(spec.name, 'failed', why);
      resolveOutcome({ spec, dir: runDir, status: 'failed', rows, error: why });
    };
    child.on('error', (e) => finish(null, null, e));
    child.on('close', (code, signal) => finish(code, signal));
  });
}

/**
 * Copies the finished run of `spec` from the first of `siblings` (other figure folders) whose manifest has
 * the same spec; true when it did.
 */
function reuseFinished(spec: RunSpec, dir: string, siblings: string[], ctx: FigureContext): boolean {
  for (const sibling of siblings) {
    const from = join(sibling, 'runs', spec.name);
    const theirs = readManifest(sibling)?.runs.find((r) => r.name === spec.name);
    if (!theirs || !sameJson(theirs, spec) || !existsSync(join(from, 'done.json'))) continue;
    try {
      rmSync(dir, { recursive: true, force: true });
      cpSync(from, dir, { recursive: true, filter: (src) => basename(src) !== LOCK_FILE });
    } catch (e) {
      throw ioError(dir, `cannot copy the finished run ${from} (${(e as Error).message}); choose a writable --out`, e);
    }
    ctx.progress.note(`reused ${from}`);
    return true;
  }
  return false;
}

export interface RunAllOptions {
  /** other figure folders whose finished runs with the same spec are copied instead of trained again */
  reuseFrom?: string[];
}

/**
 * Runs every spec not already finished, `ctx.jobs` at a time, under `<figureDir>/runs/`.
 * Specs with the same name run once (panels may share a run). Outcomes come back in spec order.
 */
export async function runAll(figureId: string, figureDir: string, specs: RunSpec[], ctx: FigureContext, opts: RunAllOptions = {}): Promise<RunOutcome[]> {
  const unique = [...new Map(specs.map((s) => [s.name, s])).values()];
  await refuseWhileOnSlurm(figureDir, ctx.executor?.kind ?? 'local', ctx.force);
  prepareFigureDir(figureDir, { figure: figureId, preset: ctx.preset, runs: unique }, ctx.force);
  const outcomes = new Map<string, RunOutcome>();
  const pending: RunSpec[] = [];
  for (const spec of unique) {
    const dir = join(figureDir, 'runs', spec.name);
    if (existsSync(join(dir, 'done.json')) || reuseFinished(spec, dir, opts.reuseFrom ?? [], ctx)) {
      ctx.progress.runEnd(spec.name, 'skipped');
      outcomes.set(spec.name, { spec, dir, status: 'skipped', rows: readMetrics(dir) });
    } else {
      pending.push(spec);
    }
  }
  if (ctx.executor?.kind === 'slurm') {
    // every run goes to the executor (array task i = run i); it submits only the unfinished ones
    const dirOf = (spec: RunSpec) => join(figureDir, 'runs', spec.name);
    const runs = unique.map((spec) => ({ name: spec.name, dir: dirOf(spec), totalEpochs: spec.epochs + 1, args: trainArgs(spec, dirOf(spec), ctx.backend, true) }));
    const figure = { id: figureId, title: `Figure ${figureId} (preset ${ctx.preset})`, dir: figureDir, cli: cliPath() };
    const results = await executeOnSlurm(figure, runs, ctx.executor, { progress: ctx.progress, readRows: readMetrics });
    results.forEach((r, i) => {
      const spec = unique[i];
      if (outcomes.has(spec.name)) return;
      outcomes.set(spec.name, { spec, dir: dirOf(spec), status: r.status === 'done' ? 'done' : 'failed', rows: readMetrics(dirOf(spec)), ...(r.error ? { error: r.error } : {}) });
    });
    return unique.map((s) => outcomes.get(s.name)!);
  }
  const jobs = Math.max(1, Math.min(ctx.jobs, pending.length));
  let next = 0;
  const worker = async () => {
    while (next < pending.length) {
      const spec = pending[next++];
      outcomes.set(spec.name, await runChild(spec, join(figureDir, 'runs', spec.name), ctx));
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  return unique.map((s) => outcomes.get(s.name)!);
}
