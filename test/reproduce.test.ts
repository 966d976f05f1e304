// `reproduce` end to end through the built CLI (dist/cli.js; `npm test` builds first). Most tests use
// test/fixtures/fake-train.mjs in place of `train` (INFOFLOW_CLI), which follows the run-directory contract
// with synthetic metrics; the last one uses the real `train` when it is built.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIG5_PRESETS, fig5Runs } from '../src/figures/hodas-stinis/fig5.js';
import { fig4Runs } from '../src/figures/hodas-stinis/fig4.js';
import { PRESET_SIZE, runName } from '../src/figures/hodas-stinis/trajectory.js';
import { readRectangularCsv } from './csv-rectangular.js';

const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli.js');
const fake = join(root, 'test', 'fixtures', 'fake-train.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'infoflow-reproduce-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function reproduce(args: string[], env: Record<string, string> = {}, useFake = true) {
  const r = spawnSync(process.execPath, [cli, 'reproduce', ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...(useFake ? { INFOFLOW_CLI: fake } : {}), ...env },
    timeout: 110_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const events = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

interface DataRow { run: string; panel: string; series: string; epoch: number; mi: number | null; valError: number }

function checkFigure5(dir: string, epochs: number): void {
  for (const f of ['figure-5.svg', 'figure-5.png', 'figure-5a.png', 'figure-5b.png', 'data.csv', 'data.json', 'verdicts.md']) {
    expect(existsSync(join(dir, f)), f).toBe(true);
  }
  const rows = JSON.parse(readFileSync(join(dir, 'data.json'), 'utf8')) as DataRow[];
  const runs = fig5Runs('quick');
  // a row per run (per panel it appears in) per epoch, epoch 0 included, each epoch once
  expect(rows).toHaveLength(runs.length * (epochs + 1));
  for (const r of runs) {
    const epochsOf = rows.filter((row) => row.run === runName(r) && row.panel === r.panel).map((row) => row.epoch);
    expect(epochsOf).toEqual(Array.from({ length: epochs + 1 }, (_, i) => i));
  }
  const csv = readRectangularCsv(join(dir, 'data.csv'));
  expect(csv).toHaveLength(rows.length);
  expect(csv.map((r) => Number(r.epoch))).toEqual(rows.map((r) => r.epoch));
  const verdicts = readFileSync(join(dir, 'verdicts.md'), 'utf8');
  expect(verdicts).toContain('ResNet MI rises from the untrained net, peaks, then falls');
  expect(verdicts).toMatch(/supported: \d, not supported: \d, inconclusive: \d \(of 8 claims\)/);
}

describe('reproduce (with a stand-in for train)', () => {
  const epochs = PRESET_SIZE.quick.epochs;
  const depth = FIG5_PRESETS.quick.plan.depth;

  it('--figure 5 --quick writes the figure, the data (a row per run per epoch) and the verdicts', () => {
    const out = join(tmp, 'a');
    const r = reproduce(['--figure', '5', '--quick', '--out', out, '--jobs', '2']);
    expect(r.stderr).not.toContain('FAILED');
    expect(r.code).toBe(0);
    checkFigure5(join(out, 'figure-5'), epochs);
    // the Res run at the panel-B width is shared by both panels: trained once
    expect(readdirSync(join(out, 'figure-5', 'runs'))).toHaveLength(new Set(fig5Runs('quick').map(runName)).size);
    expect(r.stdout).toContain('[yes] ResNet MI rises from the untrained net, peaks, then falls');

    // again: every run is finished, nothing runs, the figure is redrawn
    const again = reproduce(['--figure', '5', '--quick', '--out', out, '--json']);
    expect(again.code).toBe(0);
    const ev = events(again.stdout);
    expect(ev.filter((e) => e.event === 'run-end').every((e) => e.status === 'skipped')).toBe(true);
    expect(ev.some((e) => e.event === 'run-start')).toBe(false);
    expect(ev.at(-1)?.event).toBe('figure-done');
  });

  it('--figure 4 --quick writes its figure and a data.csv that parses into rectangular rows', () => {
    const out = join(tmp, 'fig4');
    const r = reproduce(['--figure', '4', '--quick', '--out', out, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const dir = join(out, 'figure-4');
    for (const f of ['figure-4.png', 'figure-4a.png', 'figure-4b.png', 'verdicts.md']) expect(existsSync(join(dir, f)), f).toBe(true);
    const csv = readRectangularCsv(join(dir, 'data.csv'));
    // a row per run per panel per epoch; the series 'MLP w/ Shortcut' survives the round trip
    expect(csv).toHaveLength(fig4Runs('quick').length * (epochs + 1));
    expect(new Set(csv.map((row) => row.series))).toEqual(new Set(['MLP', 'MLP w/ Shortcut']));
  });

  it('a killed run resumes where it stopped: no epoch lost or repeated', () => {
    const out = join(tmp, 'b');
    const first = reproduce(['--figure', '5', '--quick', '--out', out, '--json'], { FAKE_TRAIN_STOP_AFTER: '2' });
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/run\(s\) failed.*run the same command again to resume/);
    const ev = events(first.stdout);
    expect(ev.filter((e) => e.event === 'epoch')).toHaveLength(new Set(fig5Runs('quick').map(runName)).size * 3);
    const second = reproduce(['--figure', '5', '--quick', '--out', out, '--json']);
    expect(second.code).toBe(0);
    const starts = events(second.stdout).filter((e) => e.event === 'run-start');
    expect(starts.length).toBeGreaterThan(0);
    expect(starts.every((e) => e.doneEpochs === 3)).toBe(true);
    checkFigure5(join(out, 'figure-5'), epochs);
  });

  it('a failed run: its last error line is reported, the others finish, the figure is drawn, exit 1', () => {
    const out = join(tmp, 'c');
    const r = reproduce(['--figure', '5', '--quick', '--out', out], { FAKE_TRAIN_FAIL_WIDTH: String(FIG5_PRESETS.quick.plan.widths[0]) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('synthetic failure for the test');
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^infoflow: 1 run\(s\) failed \(first: residual-w8/);
    expect(existsSync(join(out, 'figure-5', 'figure-5.png'))).toBe(true);
    expect(readFileSync(join(out, 'figure-5', 'verdicts.md'), 'utf8')).toContain('Failed runs');
  });

  it('a stalled run is killed after --stall-minutes and reported with its last lines; the others finish; a re-run resumes it', () => {
    const out = join(tmp, 'stall');
    const width = String(FIG5_PRESETS.quick.plan.widths[0]);
    const t0 = Date.now();
    const r = reproduce(['--figure', '5', '--quick', '--out', out, '--jobs', '2', '--stall-minutes', '0.05'], { FAKE_TRAIN_HANG_WIDTH: width });
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FAILED: no progress for 3 s since epoch 0: killed .*its last stderr lines: fake: waiting for the MI worker/);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(new RegExp(`^infoflow: 1 run\\(s\\) failed \\(first: residual-w${width}-d${depth}-s0: no progress`));
    // the other runs finished
    const runs = readdirSync(join(out, 'figure-5', 'runs'));
    expect(runs.filter((d) => existsSync(join(out, 'figure-5', 'runs', d, 'done.json')))).toHaveLength(runs.length - 1);
    const again = reproduce(['--figure', '5', '--quick', '--out', out, '--json', '--stall-minutes', '0.05']);
    expect(again.code).toBe(0);
    const starts = events(again.stdout).filter((e) => e.event === 'run-start');
    expect(starts).toEqual([{ event: 'run-start', run: `residual-w${width}-d${depth}-s0`, totalEpochs: epochs + 1, doneEpochs: 1 }]);
    checkFigure5(join(out, 'figure-5'), epochs);
  });

  it('refuses a figure folder made with another preset unless --force', () => {
    const out = join(tmp, 'd');
    expect(reproduce(['--figure', '5', '--quick', '--out', out, '--quiet']).code).toBe(0);
    const manifest = join(out, 'figure-5', 'figure.json');
    const m = JSON.parse(readFileSync(manifest, 'utf8'));
    m.preset = 'default';
    writeFileSync(manifest, JSON.stringify(m));
    const refused = reproduce(['--figure', '5', '--quick', '--out', out]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^infoflow: .*figure-5: was made with another configuration.*--force/);
    expect(existsSync(join(out, 'figure-5', 'runs', `mlp-w16-d${depth}-s0`, 'done.json'))).toBe(true);
    expect(reproduce(['--figure', '5', '--quick', '--out', out, '--force', '--quiet']).code).toBe(0);
  });

  it('bad input: one line, exit 2', () => {
    const file = join(tmp, 'file');
    writeFileSync(file, 'x');
    const cases: [string[], RegExp][] = [
      [['--figure', '7'], /unknown figure '7'; known figures: 4, 5/],
      [['--quick'], /--figure: required/],
      [['--figure', '5', '--quick', '--full'], /--quick\/--full/],
      [['--figure', '5', '--jobs', 'x'], /--jobs: must be an integer/],
      [['--figure', '5', '--jobs', '0'], /--jobs: must be an integer/],
      [['--figure', '5', '--backend', 'gpu9'], /--backend: unknown backend/],
      [['--figure', '5', '--stall-minutes', 'soon'], /--stall-minutes: must be a number of minutes/],
      [['--figure', '5', '--stall-minutes', '-1'], /--stall-minutes: must be a number of minutes/],
      [['--figure', '5', '--out', join(file, 'sub')], /--out: cannot create or write the folder/],
    ];
    for (const [args, msg] of cases) {
      const r = reproduce(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

const trainHelp = spawnSync(process.execPath, [cli, 'train', '--help'], { encoding: 'utf8' });
const trainBuilt = trainHelp.status === 0 && trainHelp.stdout.includes('--limit-train');

describe.skipIf(!trainBuilt)('reproduce with the real train', () => {
  it('--figure 5 --quick end to end', () => {
    const out = join(tmp, 'real');
    const r = reproduce(['--figure', '5', '--quick', '--out', out, '--backend', 'wasm'], {}, false);
    expect(r.stderr).not.toContain('FAILED');
    expect(r.code).toBe(0);
    checkFigure5(join(out, 'figure-5'), PRESET_SIZE.quick.epochs);
    const rows = JSON.parse(readFileSync(join(out, 'figure-5', 'data.json'), 'utf8')) as DataRow[];
    expect(rows.every((row) => row.valError >= 0 && row.valError <= 1)).toBe(true);
    expect(rows.filter((row) => row.mi !== null && Number.isFinite(row.mi)).length).toBeGreaterThan(0);
  }, 120_000);
});
