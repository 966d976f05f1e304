/**
 * One writer per folder. A lock is the file `<dir>/.infoflow.lock`, created with O_EXCL (so exactly one
 * process creates it) and holding the holder's pid, host, command and start time as JSON. A second writer
 * is refused with an error that names the holder. A lock left by a process that died (same host, and
 * `kill(pid, 0)` says no such process) is stale: it is taken over and the caller is told whose it was. A lock
 * from another host cannot be checked from here and is refused, naming that host (remove it by hand when that
 * run is known to be over). A live holder whose parent (a `reproduce`) died is an orphan that stops after its
 * current epoch: a taker waits for it (up to a minute), so an immediate rerun goes on. A Slurm task takes over
 * the lock of an earlier Slurm job's task from any node (the scheduler reruns a run only once that task ended).
 * The lock is released by release() and on exit (exit-hooks.ts); a process killed by a signal leaves it stale.
 */
import { closeSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { InfoflowError } from '../errors.js';
import { onProcessExit } from '../process/exit-hooks.js';
import { watchedParent } from '../process/parent-pipe.js';
import { writeAll } from './durable.js';
import { fsError } from './fs-errors.js';

export const LOCK_FILE = '.infoflow.lock';

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  /** ISO time the holder took the lock */
  started: string;
  /** the parent it stops with (a child of `reproduce`, src/process/parent-pipe.ts), if any */
  parent?: number;
  /** the Slurm job it ran in (SLURM_JOB_ID), if any */
  slurmJob?: string;
}

export interface FolderLock {
  readonly path: string;
  /** the dead holder whose stale lock this one replaced, if any (for a note on stderr) */
  readonly tookOver?: LockHolder;
  release(): void;
}

/** A lock file younger than this that does not parse yet is being written by its creator. */
const FRESH_MS = 5000;
/** How long a taker waits for an orphan (a child whose parent died) to stop after its current epoch. */
const ORPHAN_WAIT_MS = 60_000;

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function describe(h: LockHolder): string {
  return `pid ${h.pid} on ${h.host} (${h.command}, since ${h.started})`;
}

/**
 * Whether process `pid` runs on this host (EPERM: it exists but is someone else's). A zombie (exited, not yet
 * reaped: in a container whose first process reaps nothing it stays one) is not running.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ...", the state after the last ')'
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

function readHolder(path: string): LockHolder | 'unreadable' | 'gone' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw e;
  }
  try {
    const h = JSON.parse(text) as LockHolder;
    if (Number.isInteger(h.pid) && typeof h.host === 'string') return h;
  } catch {
    // a partial write of a holder that is starting, or of one that died while writing
  }
  return 'unreadable';
}

/** Milliseconds since `path` was last written; -1 when it is gone. */
function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return -1;
    throw e;
  }
}

/** Creates the lock file with O_EXCL; false when it exists. */
function tryCreate(path: string, me: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeAll(fd, Buffer.from(`${JSON.stringify(me)}\n`));
  } catch (e) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw e;
  }
  closeSync(fd);
  return true;
}

/** The locks this process holds, by lock-file path. */
const held = new Map<string, FolderLock>();

/**
 * Takes the lock on `dir` (which must exist) for `command` ('train', 'reproduce --figure 5', ...). Throws a
 * config error naming the holder when a live process, or a process on another host, holds it. A lock this
 * process already holds on `dir` is refused too, unless `replaceOwn` (a library caller that runs one trainer
 * after another in the same folder: the newer call takes it over).
 */
export function lockFolder(dir: string, command: string, opts: { replaceOwn?: boolean } = {}): FolderLock {
  const path = join(dir, LOCK_FILE);
  if (opts.replaceOwn) held.get(path)?.release();
  const parent = watchedParent();
  const slurmJob = process.env.SLURM_JOB_ID;
  const me: LockHolder = { pid: process.pid, host: hostname(), command, started: new Date().toISOString(), ...(parent ? { parent } : {}), ...(slurmJob ? { slurmJob } : {}) };
  const t0 = Date.now();
  let tookOver: LockHolder | undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      if (tryCreate(path, me)) break;
      if (attempt > 2000) throw new InfoflowError('config', `${dir}: could not take the lock ${path} (other processes keep taking and dropping it); try again`);
      const holder = readHolder(path);
      if (holder === 'gone') continue;
      if (holder === 'unreadable') {
        const age = ageMs(path);
        if (age < 0) continue;
        if (age < FRESH_MS && attempt < 50) {
          sleep(100);
          continue;
        }
      } else if (holder.pid === process.pid && holder.host === me.host) {
        throw new InfoflowError('config', `${dir}: this process already writes here (${describe(holder)})`);
      } else if (slurmJob && holder.slurmJob && holder.slurmJob !== slurmJob) {
        // a task of an earlier Slurm job, on any node: the scheduler starts a run again only once that task
        // is over (src/figures/executors/), so its lock is stale even though its host cannot be asked
      } else if (holder.host !== me.host) {
        throw new InfoflowError(
          'config',
          `${dir}: locked by ${describe(holder)}, another host; wait for that run to end, or if it is over, delete ${path}`,
        );
      } else if (processAlive(holder.pid)) {
        // an orphan of a killed `reproduce` stops by itself at the end of its epoch (an immediate rerun waits)
        if (holder.parent && !processAlive(holder.parent) && Date.now() - t0 < ORPHAN_WAIT_MS) {
          sleep(100);
          continue;
        }
        throw new InfoflowError('config', `${dir}: another process writes here: ${describe(holder)}; wait for it to end or stop it, then run the command again`);
      }
      // stale: only the holder of the takeover file may delete it, after checking it is still the same stale lock
      // (so two takers never both delete and create); a takeover file left by a taker that died ages out
      const takeover = `${path}.takeover`;
      if (!tryCreate(takeover, me)) {
        if (ageMs(takeover) > FRESH_MS) rmSync(takeover, { force: true });
        else sleep(50);
        continue;
      }
      try {
        const again = readHolder(path);
        const same = again === holder || (again !== 'gone' && again !== 'unreadable' && holder !== 'unreadable' && again.pid === holder.pid && again.started === holder.started);
        if (!same) continue;
        rmSync(path, { force: true });
      } finally {
        rmSync(takeover, { force: true });
      }
      tookOver = holder === 'unreadable' ? { pid: 0, host: me.host, command: 'unknown (an unreadable lock file)', started: '?' } : holder;
    }
  } catch (e) {
    if (e instanceof InfoflowError) throw e;
    throw fsError(path, e, 'take the lock');
  }
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    removeHook();
    held.delete(path);
    // only our own lock: a lock file that is no longer ours (deleted and retaken by hand) stays
    const now = readHolder(path);
    if (now !== 'gone' && now !== 'unreadable' && now.pid === me.pid && now.started === me.started) rmSync(path, { force: true });
  };
  const removeHook = onProcessExit(release);
  const lock: FolderLock = { path, ...(tookOver ? { tookOver } : {}), release };
  held.set(path, lock);
  return lock;
}

/** The note a caller prints when `lock` replaced a stale one. */
export function staleLockNote(dir: string, lock: FolderLock): string | undefined {
  if (!lock.tookOver) return undefined;
  return `${dir}: took over the lock of ${describe(lock.tookOver)}, which is no longer running`;
}
