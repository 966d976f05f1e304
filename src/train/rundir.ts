/**
 * Run directories (contract: docs/ARCHITECTURE.md "Run directories"), shared by both trainers.
 *
 *   config.json            the full resolved config
 *   metrics.csv / .jsonl   one row per epoch, appended and fsync'ed as each epoch ends
 *   mi-layers.csv / .jsonl one row per MI epoch and pair of layers (--mi-layers; src/train/mi-layers.ts), likewise
 *   checkpoint/state.json  the epoch it ends, the trainer's extra state, and where each variable (weights, BN
 *                          moving stats, optimiser slots) lies in checkpoint/variables-<E>.f32 (raw float32,
 *                          little-endian, one variable after another); the data file is written first, then
 *                          state.json, each to a temp file, fsync'ed and renamed, so a kill never leaves a broken
 *                          pair, and no size is too large (a 1,000-layer DVCNN's 2.3 GiB included)
 *   activations/           epoch-<E>-first.npy, epoch-<E>-last.npy when asked (Hodas & Stinis)
 *   layer-stats-epoch-<E>.json  per-layer statistics of the first and last epoch (DVCNN)
 *   done.json              when the run finished
 * Order at the end of an epoch: metrics row, then checkpoint. A kill between the two leaves a row newer than the
 * checkpoint; the trainer keeps only rows up to the checkpoint's epoch (resetMetrics) and runs the next again.
 * Every write goes through writeFileDurable or appendDurable (src/io/durable.ts: every byte checked, so a
 * full disk is an error that leaves the last checkpoint and metrics as they were). One writer at a time: the
 * directory is locked (src/io/lock.ts) from prepareRunDir until done.json is written or the process ends.
 */
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { csvRows, csvText } from '../csv.js';
import { configError, internalError, ioError, usageError } from '../errors.js';
import { makeDirs } from '../io/dirs.js';
import { appendDurable, writeFileDurable } from '../io/durable.js';
import { fsCause, fsError } from '../io/fs-errors.js';
import { type FolderLock, LOCK_FILE, lockFolder, staleLockNote } from '../io/lock.js';
import { checkParent } from '../process/parent-pipe.js';
import { type MetricColumn, type MetricsRow, readMetrics } from './metrics.js';

export interface Checkpoint {
  epoch: number;
  variables: Record<string, { shape: number[]; data: Float32Array }>;
  extra?: Record<string, unknown>;
}

/** checkpoint/state.json as written: format 2 (a data file beside it), or format 1 (base64 inside; read only). */
type CheckpointFile = { epoch: number; extra: Record<string, unknown> } & (
  | { format: 2; data: string; bytes: number; variables: Record<string, { shape: number[]; offset: number; length: number }> }
  | { format?: 1; variables: Record<string, { shape: number[]; data: string }> }
);

const DATA_FILE = /^variables-\d+\.f32$/;

/** Reads exactly buf.length bytes at `position` (readSync may return fewer). */
function readFully(fd: number, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, position + done);
    if (n <= 0) throw internalError('checkpoint', `read ended after ${done} of ${buf.length} bytes`);
    done += n;
  }
}

const RUN_FILES = ['config.json', 'metrics.csv', 'metrics.jsonl', 'mi-layers.csv', 'mi-layers.jsonl', 'checkpoint', 'activations', 'done.json'];
const RUN_FILE_PATTERN = /^layer-stats-epoch-\d+\.json$/;

/** Keys whose values differ between two flat configs (for --resume). */
export function configDiff(a: Record<string, unknown>, b: Record<string, unknown>, keys: readonly string[]): string[] {
  return keys.filter((k) => JSON.stringify(a[k] ?? null) !== JSON.stringify(b[k] ?? null));
}

/**
 * The resume rule of every trainer: a run directory continues only with the config it was made with. A
 * difference in any of `keys` is a config error that names each one (old -> new) and the way out (--force).
 */
export function checkResumable(runDir: RunDir, previous: Record<string, unknown>, config: object, keys: readonly string[]): void {
  const now = config as Record<string, unknown>;
  const diff = configDiff(previous, now, keys);
  if (diff.length === 0) return;
  const what = diff.map((k) => `${k}: ${JSON.stringify(previous[k] ?? null)} -> ${JSON.stringify(now[k] ?? null)}`).join(', ');
  throw configError(runDir.path('config.json'), `--resume with a different config (${what}); use the same options, or --force to start again`);
}

export class RunDir {
  readonly dir: string;
  readonly name: string;
  private columns: readonly MetricColumn[];
  /** this process's lock on the directory, from prepareRunDir */
  lock?: FolderLock;

  constructor(dir: string, columns: readonly MetricColumn[]) {
    this.dir = resolve(dir);
    this.name = basename(this.dir);
    this.columns = columns;
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /** Writes `<dir>/<file>` as indented JSON, atomically. */
  writeJson(file: string, value: unknown): void {
    writeFileDurable(this.path(file), `${JSON.stringify(value, null, 2)}\n`);
  }

  writeConfig(config: object): void {
    this.writeJson('config.json', config);
  }

  readConfig(): Record<string, unknown> | null {
    const p = this.path('config.json');
    if (!existsSync(p)) return null;
    try {
      return JSON.parse(readFileSync(p, 'utf8'));
    } catch (e) {
      throw configError(p, `unreadable config (${(e as Error).message}); start again with --force`);
    }
  }

  readMetrics(): MetricsRow[] {
    return readMetrics(this.dir);
  }

  /** Rewrite both metrics files to hold exactly these rows. */
  resetMetrics(rows: MetricsRow[]): void {
    writeFileDurable(this.path('metrics.csv'), csvText(this.columns, rows));
    writeFileDurable(this.path('metrics.jsonl'), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }

  appendMetrics(row: MetricsRow): void {
    appendDurable(this.path('metrics.csv'), csvRows(this.columns, [row]));
    appendDurable(this.path('metrics.jsonl'), `${JSON.stringify(row)}\n`);
  }

  saveCheckpoint(ck: Checkpoint): void {
    const folder = this.path('checkpoint');
    try {
      mkdirSync(folder, { recursive: true });
    } catch (e) {
      throw fsError(folder, e, 'create the folder');
    }
    const dataFile = `variables-${ck.epoch}.f32`;
    const variables: Record<string, { shape: number[]; offset: number; length: number }> = {};
    const parts: Uint8Array[] = [];
    let bytes = 0;
    for (const [k, v] of Object.entries(ck.variables)) {
      variables[k] = { shape: v.shape, offset: bytes, length: v.data.length };
      parts.push(new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength));
      bytes += v.data.byteLength;
    }
    writeFileDurable(join(folder, dataFile), parts);
    writeFileDurable(join(folder, 'state.json'), JSON.stringify({ format: 2, epoch: ck.epoch, extra: ck.extra ?? {}, data: dataFile, bytes, variables }));
    // older epochs' data files are unreferenced now; one left behind (a failed delete) costs only space
    for (const f of readdirSync(folder)) {
      if (DATA_FILE.test(f) && f !== dataFile) rmSync(join(folder, f), { force: true });
    }
    // a child of `reproduce` whose parent died stops here, its epoch complete on disk
    checkParent();
  }

  /** The last checkpoint, or null when there is none; format 1 (every variable base64 in state.json) is read too. */
  loadCheckpoint(): Checkpoint | null {
    const p = this.path('checkpoint', 'state.json');
    if (!existsSync(p)) return null;
    let raw: CheckpointFile;
    try {
      raw = JSON.parse(readFileSync(p, 'utf8'));
    } catch (e) {
      throw configError(p, `unreadable checkpoint (${(e as Error).message}); start again with --force`);
    }
    const variables: Checkpoint['variables'] = {};
    if (raw.format === 2) {
      if (typeof raw.data !== 'string' || !DATA_FILE.test(raw.data)) throw configError(p, `names no data file (${JSON.stringify(raw.data)}); start again with --force`);
      const dataPath = this.path('checkpoint', raw.data);
      let fd: number;
      try {
        fd = openSync(dataPath, 'r');
      } catch (e) {
        throw configError(dataPath, `the checkpoint's data file cannot be read (${fsCause(e, dataPath)}); start again with --force`);
      }
      try {
        const size = fstatSync(fd).size;
        if (size !== raw.bytes) throw configError(dataPath, `holds ${size} bytes where state.json expects ${raw.bytes} (a damaged checkpoint); start again with --force`);
        for (const [k, v] of Object.entries(raw.variables)) {
          const data = new Float32Array(v.length);
          readFully(fd, new Uint8Array(data.buffer), v.offset);
          variables[k] = { shape: v.shape, data };
        }
      } finally {
        closeSync(fd);
      }
    } else {
      for (const [k, v] of Object.entries(raw.variables)) {
        const buf = Buffer.from(v.data, 'base64');
        const data = new Float32Array(buf.byteLength / 4);
        new Uint8Array(data.buffer).set(buf);
        variables[k] = { shape: v.shape, data };
      }
    }
    return { epoch: raw.epoch, variables, extra: raw.extra };
  }

  /** Writes done.json: the run is finished, and the directory is unlocked. */
  writeDone(info: object): void {
    this.writeJson('done.json', info);
    this.unlock();
  }

  unlock(): void {
    this.lock?.release();
    this.lock = undefined;
  }
}

/**
 * Create or reopen a run directory and lock it (a second writer is refused, naming the holder; a dead
 * holder's lock is taken over, with a note to `onLog`). Without resume/force a non-empty directory is
 * refused; force deletes the run files (only those) first.
 */
export function prepareRunDir(
  dir: string,
  opts: { resume: boolean; force: boolean; columns: readonly MetricColumn[]; command?: string; onLog?: (line: string) => void },
): RunDir {
  if (opts.resume && opts.force) throw usageError('--resume/--force', 'choose one: continue the run, or start it again');
  const rd = new RunDir(dir, opts.columns);
  try {
    makeDirs(rd.dir);
    const probe = rd.path('.write-test');
    writeFileDurable(probe, '');
    rmSync(probe);
  } catch (e) {
    throw ioError(dir, `cannot write the run directory: ${fsCause((e as { cause?: unknown }).cause ?? e, rd.dir)}`, e);
  }
  rd.lock = lockFolder(rd.dir, opts.command ?? 'train', { replaceOwn: true });
  const note = staleLockNote(rd.dir, rd.lock);
  if (note) opts.onLog?.(`infoflow: ${note}`);
  const entries = readdirSync(rd.dir).filter((e) => e !== LOCK_FILE);
  if (opts.resume) return rd;
  if (entries.length > 0) {
    if (!opts.force) {
      throw usageError('--out', `${dir} is not empty; use --resume to continue the run in it, --force to start it again, or another --out`);
    }
    for (const f of [...RUN_FILES, ...entries.filter((e) => RUN_FILE_PATTERN.test(e))]) rmSync(rd.path(f), { recursive: true, force: true });
  }
  return rd;
}
