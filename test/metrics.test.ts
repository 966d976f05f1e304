import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { csvText } from '../src/csv.js';
import { InfoflowError } from '../src/errors.js';
import { readMetrics } from '../src/train/metrics.js';

const tmp = mkdtempSync(join(tmpdir(), 'infoflow-metrics-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const row = (epoch: number) => ({ epoch, trainLoss: 1, trainError: 0.5, valError: 0.5, mi: null, secondsTrain: 0, secondsForward: 0, secondsMI: 0 });

describe('readMetrics: the one reader of metrics.jsonl', () => {
  it('keeps every whole row and drops a torn last line (a kill mid-write)', () => {
    expect(readMetrics(join(tmp, 'absent'))).toEqual([]);
    const d = mkdtempSync(join(tmp, 'torn-'));
    writeFileSync(join(d, 'metrics.jsonl'), `${JSON.stringify(row(0))}\n${JSON.stringify(row(1))}\n{"epoch": 2, "tr`);
    expect(readMetrics(d).map((r) => r.epoch)).toEqual([0, 1]);
  });

  it('refuses a damaged line before the last, naming the file and the line', () => {
    const d = mkdtempSync(join(tmp, 'bad-'));
    writeFileSync(join(d, 'metrics.jsonl'), `${JSON.stringify(row(0))}\nnot json\n${JSON.stringify(row(2))}\n`);
    expect(() => readMetrics(d)).toThrow(InfoflowError);
    expect(() => readMetrics(d)).toThrow(/metrics\.jsonl: line 2 is not JSON/);
  });
});

describe('csvText: RFC 4180 quoting', () => {
  it('quotes commas, quotes and newlines, leaves null empty, and parses back to the same cells', () => {
    const rows = [
      { phase: 'after plain SGD, no centring (control)', note: 'say "hi"', text: 'two\nlines', v: 0.1, n: null, b: true },
      { phase: 'before training', note: '', text: 'x', v: -2, n: 3, b: false },
    ];
    const cols = ['phase', 'note', 'text', 'v', 'n', 'b'];
    const text = csvText(cols, rows);
    expect(text.split('\n')[1]).toBe('"after plain SGD, no centring (control)","say ""hi""","two');
    const back = parse(text, { columns: true }) as Record<string, string>[];
    expect(back).toEqual([
      { phase: 'after plain SGD, no centring (control)', note: 'say "hi"', text: 'two\nlines', v: '0.1', n: '', b: 'true' },
      { phase: 'before training', note: '', text: 'x', v: '-2', n: '3', b: 'false' },
    ]);
  });
});
