/**
 * Run directories (contract: docs/ARCHITECTURE.md "Run directories"). Generic: any training loop that writes
 * one metrics row per epoch and a set of named float32 arrays as its checkpoint can use it.
 *
 *   config.json            the full resolved config
 *   metrics.csv / .jsonl   one row per epoch, appended and fsync'ed as each epoch ends
 *   checkpoint/state.json  every variable (weights, BN moving stats, optimiser slots) + the epoch it ends;
 *                          written to a temp file, fsync'ed, then renamed, so a kill never leaves a broken one
 *   activations/           epoch-<E>-first.npy, epoch-<E>-last.npy when asked
 *   done.json              when the run finished
 * Order at the end of an epoch: metrics row, then checkpoint. A kill between the two leaves a row newer than the
 * checkpoint; `openRunDir(..., resume)` drops such rows, and the epoch is run again (deterministically).
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { configError, ioError, usageError } from '../errors.js';

export type MetricValue = number | null;
export type MetricsRow = { epoch: number } & Record<string, MetricValue>;

export interface Checkpoint {
  epoch: number;
  variables: Record<string, { shape: number[]; data: Float32Array }>;
  extra?: Record<string, unknown>;
}

const RUN_FILES = ['config.json', 'metrics.csv', 'metrics.jsonl', 'checkpoint', 'activations', 'done.json'];

function writeFileDurable(path: string, text: string | Uint8Array): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, typeof text === 'string' ? Buffer.from(text) : text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

function appendDurable(path: string, text: string): void {
  const fd = openSync(path, 'a');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Keys whose values differ between two flat configs (for --resume). */
export function configDiff(a: Record<string, unknown>, b: Record<string, unknown>, keys: readonly string[]): string[] {
  return keys.filter((k) => JSON.stringify(a[k] ?? null) !== JSON.stringify(b[k] ?? null));
}

export class RunDir {
  readonly dir: string;
  readonly name: string;
  private columns: string[];

  constructor(dir: string, columns: string[]) {
    this.dir = resolve(dir);
    this.name = basename(this.dir);
    this.columns = columns;
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  writeConfig(config: Record<string, unknown>): void {
    writeFileDurable(this.path('config.json'), `${JSON.stringify(config, null, 2)}\n`);
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
    const p = this.path('metrics.jsonl');
    if (!existsSync(p)) return [];
    const rows: MetricsRow[] = [];
    for (const line of readFileSync(p, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        rows.push(JSON.parse(line));
      } catch {
        break; // a torn last line from a kill mid-write: dropped, the epoch reruns
      }
    }
    return rows;
  }

  private csvLine(row: MetricsRow): string {
    return `${this.columns.map((c) => (row[c] === null || row[c] === undefined ? '' : String(row[c]))).join(',')}\n`;
  }

  /** Rewrite both metrics files to hold exactly these rows. */
  resetMetrics(rows: MetricsRow[]): void {
    writeFileDurable(this.path('metrics.csv'), `${this.columns.join(',')}\n${rows.map((r) => this.csvLine(r)).join('')}`);
    writeFileDurable(this.path('metrics.jsonl'), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }

  appendMetrics(row: MetricsRow): void {
    appendDurable(this.path('metrics.csv'), this.csvLine(row));
    appendDurable(this.path('metrics.jsonl'), `${JSON.stringify(row)}\n`);
  }

  saveCheckpoint(ck: Checkpoint): void {
    mkdirSync(this.path('checkpoint'), { recursive: true });
    const variables: Record<string, { shape: number[]; data: string }> = {};
    for (const [k, v] of Object.entries(ck.variables)) {
      variables[k] = { shape: v.shape, data: Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength).toString('base64') };
    }
    writeFileDurable(this.path('checkpoint', 'state.json'), JSON.stringify({ format: 1, epoch: ck.epoch, extra: ck.extra ?? {}, variables }));
  }

  loadCheckpoint(): Checkpoint | null {
    const p = this.path('checkpoint', 'state.json');
    if (!existsSync(p)) return null;
    let raw: { epoch: number; extra: Record<string, unknown>; variables: Record<string, { shape: number[]; data: string }> };
    try {
      raw = JSON.parse(readFileSync(p, 'utf8'));
    } catch (e) {
      throw configError(p, `unreadable checkpoint (${(e as Error).message}); start again with --force`);
    }
    const variables: Checkpoint['variables'] = {};
    for (const [k, v] of Object.entries(raw.variables)) {
      const buf = Buffer.from(v.data, 'base64');
      const data = new Float32Array(buf.byteLength / 4);
      new Uint8Array(data.buffer).set(buf);
      variables[k] = { shape: v.shape, data };
    }
    return { epoch: raw.epoch, variables, extra: raw.extra };
  }

  writeDone(info: Record<string, unknown>): void {
    writeFileDurable(this.path('done.json'), `${JSON.stringify(info, null, 2)}\n`);
  }
}

/**
 * Create or reopen a run directory. Without resume/force a non-empty directory is refused; force deletes the
 * run files (only those) first.
 */
export function prepareRunDir(dir: string, opts: { resume: boolean; force: boolean; columns: string[] }): RunDir {
  const rd = new RunDir(dir, opts.columns);
  try {
    mkdirSync(rd.dir, { recursive: true });
    const probe = rd.path('.write-test');
    writeFileDurable(probe, '');
    rmSync(probe);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw ioError(dir, `cannot write the run directory (${err.code ?? err.message}); choose a writable --out`, e);
  }
  const entries = readdirSync(rd.dir);
  if (opts.resume) return rd;
  if (entries.length > 0) {
    if (!opts.force) {
      throw usageError('--out', `${dir} is not empty; use --resume to continue the run in it, --force to start it again, or another --out`);
    }
    for (const f of RUN_FILES) rmSync(rd.path(f), { recursive: true, force: true });
  }
  return rd;
}
