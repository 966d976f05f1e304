import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { afterAll, describe, expect, it } from 'vitest';
import { InfoflowError } from '../src/errors.js';
import { fig4Runs } from '../src/figures/hodas-stinis/fig4.js';
import { fig5Runs } from '../src/figures/hodas-stinis/fig5.js';
import { DATA_COLUMNS, DIRECTION_NOTE, type Trace, captionLines, dataRows, sideBySide, trajectoryPanel } from '../src/figures/hodas-stinis/traces.js';
import { fontFiles, toSvg, writeChart } from '../src/figures/pipeline/render.js';
import { lastErrorLine } from '../src/figures/pipeline/runner.js';
import { formatVerdicts, majority, writeVerdicts } from '../src/figures/pipeline/verdicts.js';
import { csvText } from '../src/csv.js';

const tmp = mkdtempSync(join(tmpdir(), 'infoflow-figures-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A trace from per-epoch MI and test-error lists (epoch i = index i). */
function trace(arch: string, panel: string, mi: number[], err: number[], extra: Partial<Trace> = {}): Trace {
  return {
    run: `${arch}-${extra.width ?? 16}-${extra.depth ?? 5}-${extra.seed ?? 0}`,
    panel, series: arch, group: '', arch, width: 16, depth: 5, seed: 0,
    rows: mi.map((m, epoch) => ({ epoch, mi: m, valError: err[epoch], trainError: err[epoch], trainLoss: 2 * err[epoch], secondsTrain: 0, secondsForward: 0, secondsMI: 0 })),
    ...extra,
  };
}

/** RGBA pixels of an SVG rendered by resvg with the given font files. */
function pixels(svg: string, files: string[]): { data: Buffer; width: number; height: number } {
  const img = new Resvg(svg, { font: { fontFiles: files, loadSystemFonts: false, defaultFontFamily: 'DejaVu Sans' }, background: 'white' }).render();
  return { data: img.pixels, width: img.width, height: img.height };
}

/** Dark pixels (text, lines) in rows [y0, y1). */
function darkPixels(p: { data: Buffer; width: number }, y0: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = 0; x < p.width; x++) {
      const i = 4 * (y * p.width + x);
      if (p.data[i] < 128 && p.data[i + 1] < 128 && p.data[i + 2] < 128) n++;
    }
  }
  return n;
}

const simple = (title?: string) => ({
  ...(title ? { title } : {}),
  width: 200,
  height: 100,
  data: { values: [{ a: 1, b: 2 }, { a: 2, b: 3 }] },
  mark: 'line',
  encoding: { x: { field: 'a', type: 'quantitative' }, y: { field: 'b', type: 'quantitative' } },
});

describe('render', () => {
  it('draws the title text in the PNG with the shipped fonts, and none without them', async () => {
    const withTitle = await toSvg(simple('A title of some length'));
    const without = await toSvg(simple());
    expect(withTitle).toContain('DejaVu Sans');
    // vega puts the title in a band above the plot; compare that band
    const a = pixels(withTitle, fontFiles());
    const b = pixels(without, fontFiles());
    const band = 22;
    const titled = darkPixels(a, 0, band);
    expect(titled).toBeGreaterThan(darkPixels(b, 0, band) + 100);
    // without fonts resvg silently drops all text: the same SVG loses those pixels
    expect(titled).toBeGreaterThan(darkPixels(pixels(withTitle, []), 0, band) + 100);
  });

  it('writes both files: an SVG and a PNG', async () => {
    const out = await writeChart(simple('x'), join(tmp, 'sub', 'chart'));
    expect(readFileSync(out.svg, 'utf8')).toMatch(/^<svg/);
    const png = readFileSync(out.png);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.length).toBeGreaterThan(1000);
  });

  it('an unwritable output folder or a bad spec is an InfoflowError', async () => {
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'x');
    await expect(writeChart(simple('x'), join(file, 'chart'))).rejects.toThrow(InfoflowError);
    await expect(writeChart(simple('x'), join(file, 'chart'))).rejects.toThrow(/a-file.*choose a writable/);
    await expect(toSvg({ mark: 'nonsense-mark', data: { values: [] } })).rejects.toThrow(InfoflowError);
  });

  it('the trajectory panel renders every run and leaves out epochs without MI', async () => {
    const t1 = trace('MLP', 'A', [1, 2, 3], [0.9, 0.5, 0.2]);
    const t2 = trace('S', 'A', [3, 2.5, 2], [0.9, 0.2, 0.1], { run: 'other' });
    t2.rows[1].mi = null;
    const rows = dataRows([t1, t2]);
    expect(rows).toHaveLength(6);
    expect(rows.filter((r) => r.lastEpoch).map((r) => r.run)).toEqual([t1.run, 'other']);
    const panel = trajectoryPanel(rows, { title: 'p', seriesTitle: 'Network' }) as { layer: { data: { values: unknown[] } }[] };
    expect(panel.layer[0].data.values).toHaveLength(5);
    const svg = await toSvg(panel);
    expect(svg).toContain('MI first-last layer (bits)');
    expect(svg).toContain('Test error');
    const csv = csvText(DATA_COLUMNS, rows).trim().split('\n');
    expect(csv).toHaveLength(7);
    expect(csv[0]).toBe(
      'panel,series,group,run,arch,width,depth,seed,epoch,lastEpoch,epochs,stoppedBy,mi,miBand,valError,trainError,trainLoss,valErrorVariant,miVariant,miSamples,bnEval,bnEvalVariant,miVariantSamples,batchSize',
    );
  });
});

describe('verdicts', () => {
  it('formats a markdown table with the tally and escapes pipes', () => {
    const text = formatVerdicts('Figure X', [
      { claim: 'a | b', supported: true, evidence: '1 -> 2' },
      { claim: 'c', supported: false, evidence: 'e' },
      { claim: 'd', supported: null, evidence: 'too short' },
    ]);
    expect(text).toContain('# Figure X');
    expect(text).toContain('Supported: 1 of 3; not supported: 1; inconclusive: 1.');
    expect(text).toContain('| a \\| b | **yes** | 1 -> 2 |');
    expect(text).toContain('| d | **inconclusive** | too short |');
  });

  it('writes the file, and an unwritable path is an InfoflowError', () => {
    const path = join(tmp, 'v', 'verdicts.md');
    writeVerdicts(path, 'T', [{ claim: 'c', supported: true, evidence: 'e' }]);
    expect(existsSync(path)).toBe(true);
    writeFileSync(join(tmp, 'f'), 'x');
    expect(() => writeVerdicts(join(tmp, 'f', 'v.md'), 'T', [])).toThrow(InfoflowError);
  });

  it('majority: 3/4 agree is yes, 1/4 or less is no, between is inconclusive', () => {
    expect(majority(3, 4)).toBe(true);
    expect(majority(1, 4)).toBe(false);
    expect(majority(2, 4)).toBe(null);
    expect(majority(0, 0)).toBe(null);
  });
});

describe('runner', () => {
  it("a failed child's error line: the CLI's own line, else the error of a crash, never the Node version line", () => {
    expect(lastErrorLine(['note', 'infoflow: --width: bad', 'more'])).toBe('infoflow: --width: bad');
    expect(lastErrorLine(["Error: Cannot find module '/x.js'", 'at foo (a.js:1)', 'Node.js v20.20.2'])).toBe("Error: Cannot find module '/x.js'");
    expect(lastErrorLine(['infoflow train: backend wasm', 'Node.js v20.20.2'])).toBe('');
    expect(lastErrorLine([])).toBe('');
  });
});

// The claims of Figures 4 and 5 are tested in test/claims.test.ts (synthetic runs with known verdicts).
describe('Figure 5 runs', () => {
  it('the run list: panel A all residual, panel B the four nets at one width', () => {
    const runs = fig5Runs('quick');
    expect(runs.filter((r) => r.panel === 'A').every((r) => r.arch === 'residual')).toBe(true);
    expect([...new Set(runs.filter((r) => r.panel === 'B').map((r) => r.series))]).toEqual(['MLP', 'S', 'Res', 'S Res']);
  });
});

describe('Figure 4 runs', () => {
  it('the run list pairs every MLP with a shortcut net of the same width, depth and seed', () => {
    const runs = fig4Runs('default');
    const key = (r: { width: number; depth: number; seed: number; panel: string }) => `${r.panel}${r.width}-${r.depth}-${r.seed}`;
    const m = runs.filter((r) => r.arch === 'mlp').map(key).sort();
    expect(runs.filter((r) => r.arch === 'shortcut').map(key).sort()).toEqual(m);
    expect(runs.some((r) => r.panel === 'B' && r.depth > 5)).toBe(true);
  });
});

describe('figure captions', () => {
  it('wrap into lines of at most 110 characters, every word kept in order, so a long caption does not widen the chart', () => {
    const text = `${DIRECTION_NOTE} Preset: default.`;
    const lines = captionLines(text);
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(110);
    expect(lines.join(' ')).toBe(text);
    expect((sideBySide('T', text, []).title as { subtitle: string[] }).subtitle).toEqual(lines);
  });
});
