/** Test helper: a figure's data.csv read back with a CSV parser must be rectangular. */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { expect } from 'vitest';

/** Parses `path` (RFC 4180, header first) and asserts every record has the header's field count; returns them. */
export function readRectangularCsv(path: string): Record<string, string>[] {
  const text = readFileSync(path, 'utf8');
  // relax_column_count: count the fields ourselves, so a ragged row fails here and not inside the parser
  const records = parse(text, { relax_column_count: true }) as string[][];
  expect(records.length, path).toBeGreaterThan(1);
  const header = records[0];
  for (const [i, r] of records.entries()) expect(r.length, `${path} record ${i}`).toBe(header.length);
  return records.slice(1).map((r) => Object.fromEntries(header.map((h, k) => [h, r[k]])));
}
