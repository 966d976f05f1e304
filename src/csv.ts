/**
 * The one CSV formatter (RFC 4180 quoting, by csv-stringify) for metrics.csv and every figure's data.csv.
 * Empty cells for null and undefined; the files are written by their owners (src/train/rundir.ts,
 * src/figures/pipeline/data.ts).
 */
import { stringify } from 'csv-stringify/sync';

type Cell = string | number | boolean | null | undefined;

/** Lines for `rows` (no header), each ending in '\n'. */
export function csvRows(columns: readonly string[], rows: readonly object[]): string {
  return stringify(
    rows.map((r) => columns.map((c) => (r as Record<string, unknown>)[c] as Cell)),
    { cast: { boolean: (b) => String(b) }, record_delimiter: '\n' },
  );
}

/** The header line, then one line per row. */
export function csvText(columns: readonly string[], rows: readonly object[]): string {
  return stringify([[...columns]], { record_delimiter: '\n' }) + csvRows(columns, rows);
}
