/**
 * A figure's data files: data.csv (one line per plotted point, RFC 4180 quoting) and data.json (the same
 * rows, plus whatever else the figure records about its runs).
 */
import { join } from 'node:path';
import { csvText } from '../../csv.js';
import { ensureDir, writeTextFile } from './files.js';

/**
 * Writes `<dir>/data.csv` with `columns` (default: the first row's keys) and `<dir>/data.json`
 * (`{ ...extra, rows }`, or the bare rows when there is no extra); returns their paths.
 */
export function writeData(dir: string, rows: readonly object[], opts: { columns?: readonly string[]; extra?: object } = {}): string[] {
  const csv = join(dir, 'data.csv');
  const json = join(dir, 'data.json');
  const columns = opts.columns ?? (rows.length ? Object.keys(rows[0]) : []);
  ensureDir(dir);
  writeTextFile(csv, csvText(columns, rows), 'the figure data');
  writeTextFile(json, `${JSON.stringify(opts.extra ? { ...opts.extra, rows } : rows, null, opts.extra ? 2 : 1)}\n`, 'the figure data');
  return [csv, json];
}
