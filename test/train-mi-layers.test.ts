/**
 * `train --mi-layers`, `--mi-error-bars`, `--mi-baseline`: the rows equal separate estimates of the dumped
 * activations, and a resumed run's mi-layers file equals an uninterrupted run's (no pair twice).
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mutualInformation } from '../src/mi/index.js';
import { readNpy } from '../src/npy/index.js';
import { trainRun } from '../src/train/index.js';
import { layerPairs, readMiLayers } from '../src/train/mi-layers.js';

const root = mkdtempSync(join(tmpdir(), 'infoflow-mi-layers-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');
const tiny = { arch: 'residual', width: 4, depth: 4, limitTrain: 300, backend: 'wasm', miEvery: 1 };
const round6 = (v: number) => Number(v.toPrecision(6));
const csvLines = (dir: string) => readFileSync(join(dir, 'mi-layers.csv'), 'utf8').trim().split('\n');

describe('MI between layers', () => {
  it('lists the pairs of each mode', () => {
    expect(layerPairs('first-last', 4)).toEqual([[1, 4]]);
    expect(layerPairs('adjacent', 4)).toEqual([[1, 2], [2, 3], [3, 4]]);
    expect(layerPairs('all', 4)).toEqual([[1, 2], [1, 3], [1, 4], [2, 3], [2, 4], [3, 4]]);
  });

  it('records every pair on every MI epoch, equal to separate estimates of the dumped activations', async () => {
    const out = join(root, 'all');
    const r = await trainRun({ ...tiny, epochs: 2, limitVal: 320, miLayers: 'all', miErrorBars: true, miBaseline: 2, dumpActivations: 'last', out });
    const rows = readMiLayers(out);
    expect(rows.map((x) => [x.epoch, x.layer_a, x.layer_b])).toEqual([0, 1, 2].flatMap((e) => layerPairs('all', 4).map(([a, b]) => [e, a, b])));
    // the csv: the header, then the same rows, every line as wide as the header
    const lines = csvLines(out);
    expect(lines[0]).toBe('epoch,layer_a,layer_b,mi,mi_se,mi_lo,mi_hi,seconds');
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 7).map(Number))).toEqual(rows.map((x) => [x.epoch, x.layer_a, x.layer_b, x.mi, x.mi_se, x.mi_lo, x.mi_hi]));
    for (const l of lines) expect(l.split(',')).toHaveLength(8);
    const layer = (i: number) => {
      const a = readNpy(join(out, 'activations', `epoch-2-layer-${i}.npy`));
      return { data: a.data as Float32Array, shape: a.shape };
    };
    for (const row of rows.filter((x) => x.epoch === 2)) {
      const separate = await mutualInformation(layer(row.layer_a), layer(row.layer_b), { k: 3, workers: 1 });
      expect(row.mi).toBe(round6(separate.mi));
      expect(row.mi_lo!).toBeLessThan(row.mi);
      expect(row.mi_hi!).toBeGreaterThan(row.mi);
      expect(row.mi_se!).toBeGreaterThan(0);
    }
    // the first-last pair is the metrics row's MI; the dumped first layer is layer 1
    for (const m of r.rows) expect(rows.find((x) => x.epoch === m.epoch && x.layer_a === 1 && x.layer_b === 4)!.mi).toBe(m.mi);
    expect(readFileSync(join(out, 'activations', 'epoch-2-first.npy'))).toEqual(readFileSync(join(out, 'activations', 'epoch-2-layer-1.npy')));
    // the shuffled baseline: a column of metrics.csv, far below the dependent layers' MI
    expect(readFileSync(join(out, 'metrics.csv'), 'utf8').split('\n')[0]).toMatch(/,miBaseline$/);
    for (const m of r.rows) {
      expect(typeof m.miBaseline).toBe('number');
      expect(Math.abs(m.miBaseline!)).toBeLessThan(0.3);
      expect(m.mi!).toBeGreaterThan(1);
    }
  }, 120_000);

  it('resumes without a pair twice: the file equals an uninterrupted run', async () => {
    const whole = join(root, 'whole');
    await trainRun({ ...tiny, epochs: 3, limitVal: 100, miLayers: 'adjacent', out: whole });
    const cut = join(root, 'cut');
    await trainRun({ ...tiny, epochs: 1, limitVal: 100, miLayers: 'adjacent', out: cut });
    // a kill in epoch 2 after its mi-layers rows were written, before its checkpoint: rows and a torn line
    appendFileSync(join(cut, 'mi-layers.jsonl'), `${JSON.stringify({ epoch: 2, layer_a: 1, layer_b: 2, mi: 9, seconds: 0 })}\n{"epoch":2,"lay`);
    appendFileSync(join(cut, 'mi-layers.csv'), '2,1,2,9,0\n');
    await trainRun({ ...tiny, epochs: 3, limitVal: 100, miLayers: 'adjacent', out: cut }, {}, { resume: true });
    const strip = (rows: ReturnType<typeof readMiLayers>) => rows.map(({ seconds: _s, ...rest }) => rest);
    expect(strip(readMiLayers(cut))).toEqual(strip(readMiLayers(whole)));
    expect(readMiLayers(cut).map((x) => `${x.epoch}:${x.layer_a}-${x.layer_b}`)).toEqual([0, 1, 2, 3].flatMap((e) => ['1-2', '2-3', '3-4'].map((p) => `${e}:${p}`)));
    expect(csvLines(cut).map((l) => l.split(',').slice(0, 4).join(','))).toEqual(csvLines(whole).map((l) => l.split(',').slice(0, 4).join(',')));
  }, 120_000);

  it('train --json carries each epoch\'s pairs (miLayers) and its baseline', () => {
    const out = join(root, 'json');
    const r = spawnSync(
      process.execPath,
      [cli, 'train', '--arch', 'mlp', '--width', '4', '--depth', '4', '--epochs', '1', '--limit-train', '300', '--limit-val', '100', '--backend', 'wasm', '--mi-layers', 'adjacent', '--mi-baseline', '2', '--json', '--quiet', '--out', out],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.epoch)).toEqual([0, 1]);
    const file = readMiLayers(out);
    for (const l of lines) {
      expect(l.miLayers).toEqual(file.filter((x) => x.epoch === l.epoch));
      expect(l.miLayers.map((x: { layer_a: number; layer_b: number }) => `${x.layer_a}-${x.layer_b}`)).toEqual(['1-2', '2-3', '3-4']);
      expect(typeof l.miBaseline).toBe('number');
    }
  }, 120_000);

  it('refuses bad values with one line naming the option, exit code 2', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ miLayers: 'pairs' }, /^--mi-layers: unknown value 'pairs'; use first-last, adjacent, all$/],
      [{ miErrorBars: true, limitVal: 60 }, /^--mi-error-bars: the MI uses 60 validation images; error bars at k = 3 need at least 300 .*raise --mi-samples or --limit-val$/],
      [{ miBaseline: -1 }, /^--mi-baseline: /],
      [{ miBaseline: 5000 }, /^--mi-baseline: /],
    ];
    for (const [opts, message] of cases) {
      const out = join(root, `bad-${Object.keys(opts)[0]}`);
      const err = await trainRun({ ...tiny, epochs: 1, limitVal: 60, out, ...opts }).catch((e) => e);
      expect(err.message).toMatch(message);
      // refused at the door: no run directory made
      expect(existsSync(out)).toBe(false);
    }
    const r = spawnSync(process.execPath, [cli, 'train', '--mi-layers', 'every', '--out', join(root, 'bad-cli'), '--epochs', '1'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe("infoflow: --mi-layers: unknown value 'every'; use first-last, adjacent, all");
  }, 120_000);
});
