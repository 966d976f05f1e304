/**
 * End to end: `node dist/cli.js mi ...` as a user runs it (build first: `npm test` does, via pretest).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, CLI, ROOT } from './cli-run.js';
import { goldenCases } from './mi-fixtures.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeNpy } from '../src/npy/index.js';

const GOLDEN = join(ROOT, 'test', 'fixtures', 'golden');
const NPY = join(ROOT, 'test', 'fixtures', 'npy');

const golden = { cases: goldenCases() };
const gx = (name: string): string => join(GOLDEN, `${name}_x.npy`);
const gy = (name: string): string => join(GOLDEN, `${name}_y.npy`);


type MiJson = Record<string, unknown> & { mi: number; nats: number; warnings: string[] };
const jsonRuns = new Map<string, Promise<MiJson>>();
/** `mi ARGS --json --workers 2`, run once per distinct ARGS (several tests compare against the same baseline). */
function miJson(...args: string[]): Promise<MiJson> {
  const key = JSON.stringify(args);
  if (!jsonRuns.has(key)) jsonRuns.set(key, miJsonRun(args));
  return jsonRuns.get(key)!;
}
async function miJsonRun(args: string[]): Promise<MiJson> {
  const r = await cli('mi', ...args, '--json', '--workers', '2');
  expect(r.stderr.replace(/infoflow: warning: .*\n/g, '')).toBe('');
  expect(r.code).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines.length).toBe(1);
  return JSON.parse(lines[0]!);
}

const relClose = (a: number, b: number, tol: number): boolean => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

const tmp = mkdtempSync(join(tmpdir(), 'infoflow-cli-mi-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first (npm test does it)');
});

describe('infoflow mi on the golden cases', () => {
  it.each(golden.cases.map((c) => [c.name, c] as const))('%s equals c_f64_bits to 1e-9', async (_name, c) => {
    const out = await miJson(gx(c.name), gy(c.name));
    expect(relClose(out.mi, c.c_f64_bits, 1e-9)).toBe(true);
    expect(out).toMatchObject({ n: c.N, dx: c.dx, dy: c.dy, k: 3, base: 2, units: 'bits', zeroEpsPoints: c.c_zero_eps_points });
    expect(relClose(out.nats, c.c_f64_bits * Math.LN2, 1e-9)).toBe(true);
    expect(out.files).toEqual({ x: gx(c.name), y: gy(c.name) });
    expect(typeof out.seconds).toBe('number');
    // points with eps = 0 make the estimate meaningless: the result says so
    expect(out.warnings.length > 0).toBe(c.c_zero_eps_points > 0);
  });

  it('prints one human line with what it was computed on, warnings on stderr', async () => {
    const ok = await cli('mi', gx('act_W4_N2000'), gy('act_W4_N2000'), '--workers', '2');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^I\(X;Y\) = 2\.7881 bits {2}\(N=2000, dx=8, dy=8, k=3, KSG-1 max-norm, \d+\.\d\d s, 2 workers\)\n$/);
    expect(ok.stderr).toBe('');
    const ties = await cli('mi', gx('ties_gauss1d_round1_N2000'), gy('ties_gauss1d_round1_N2000'), '--workers', '1');
    expect(ties.code).toBe(0);
    expect(ties.stderr).toMatch(/^infoflow: warning: .*1162/m);
    expect(ties.stdout).toMatch(/, 1 worker\)\n$/);
  });

  it('--quiet prints only the number, at full precision', async () => {
    const q = await cli('mi', gx('gauss1d_rho0.9_N2000'), gy('gauss1d_rho0.9_N2000'), '--quiet');
    expect(q.code).toBe(0);
    expect(q.stdout).toMatch(/^[0-9.]+\n$/);
    expect(relClose(Number(q.stdout), 1.20552635627609, 1e-9)).toBe(true);
  });

  it('--base e and --base 10 convert the same estimate', async () => {
    const e = await miJson(gx('act_W4_N500'), gy('act_W4_N500'), '--base', 'e');
    const d = await miJson(gx('act_W4_N500'), gy('act_W4_N500'), '--base', '10');
    expect(e.units).toBe('nats');
    expect(relClose(e.mi, 2.21929419951557 * Math.LN2, 1e-9)).toBe(true);
    expect(relClose(d.mi, (2.21929419951557 * Math.LN2) / Math.LN10, 1e-9)).toBe(true);
  });

  it('--k 5 changes the estimate, and is reported', async () => {
    const out = await miJson(gx('act_W4_N500'), gy('act_W4_N500'), '--k', '5');
    expect(out.k).toBe(5);
    expect(out.mi).not.toBe(2.21929419951557);
  });
});

describe('infoflow mi: layouts give the same MI', () => {
  it('a Fortran-order (and big-endian) copy gives the same bits as the C-order original', async () => {
    const c = await miJson(gx('act_W4_N500'), gy('act_W4_N500'));
    const f = await miJson(join(NPY, 'mi_W4_N500_x_fortran.npy'), join(NPY, 'mi_W4_N500_y_fortran_be.npy'));
    expect(f.mi).toBe(c.mi);
  });

  it('rows shuffled consistently in X and Y give the same MI', async () => {
    const c = await miJson(gx('act_W4_N500'), gy('act_W4_N500'));
    const s = await miJson(join(NPY, 'mi_W4_N500_x_shuffled.npy'), join(NPY, 'mi_W4_N500_y_shuffled.npy'));
    expect(relClose(s.mi, c.mi, 1e-12)).toBe(true);
  });

  it('a 1-D file (N,) is (N, 1)', async () => {
    const out = await miJson(join(NPY, 'mi_gauss1d_x_1d.npy'), gy('gauss1d_rho0.9_N2000'));
    expect(out.dx).toBe(1);
    expect(relClose(out.mi, 1.20552635627609, 1e-9)).toBe(true);
  });

  it('a float64 copy written by writeNpy gives the same MI as the float32 original', async () => {
    const x = readFileSync(gx('act_W4_N500'));
    const { parseNpy } = await import('../src/npy/index.js');
    const arr = parseNpy(x, 'x');
    const path = join(tmp, 'x64.npy');
    writeNpy(path, Float64Array.from(arr.data), arr.shape);
    const a = await miJson(path, gy('act_W4_N500'));
    expect(relClose(a.mi, 2.21929419951557, 1e-9)).toBe(true);
  });

  it('--noise with a seed breaks the ties and is repeatable; --seed alone warns', async () => {
    const name = 'ties_gauss1d_round1_N2000';
    const a = await miJson(gx(name), gy(name), '--noise', '1e-10', '--seed', '3');
    // a second process, not the memoised run: the same seed must give the same bits
    const b = await miJsonRun([gx(name), gy(name), '--noise', '1e-10', '--seed', '3']);
    expect(a.mi).toBe(b.mi);
    expect(a.zeroEpsPoints).toBe(0);
    expect(a).toMatchObject({ noise: 1e-10, seed: 3 });
    const spread = golden.cases.find((c) => c.name === name)!.npeet_bits_seeds_0_9;
    expect(Math.abs(a.mi - spread.mean)).toBeLessThan(6 * spread.std);
    const s = await cli('mi', gx('act_W4_N500'), gy('act_W4_N500'), '--seed', '3', '--quiet');
    expect(s.code).toBe(0);
    expect(s.stderr).toMatch(/^infoflow: warning: --seed has no effect without --noise/);
  });
});

describe('infoflow mi: bad input exits 2 with one line on stderr, no stack trace', () => {
  const x = gx('act_W4_N500');
  const y = gy('act_W4_N500');
  const nanX = join(tmp, 'nan_x.npy');
  const infY = join(tmp, 'inf_y.npy');
  const truncated = join(tmp, 'truncated.npy');
  const csv = join(tmp, 'data.csv');
  const small = join(tmp, 'small.npy');
  beforeAll(() => {
    const data = new Float32Array(500 * 8).map((_, i) => Math.sin(i));
    data[5 * 8 + 2] = NaN;
    data[9 * 8] = NaN;
    data[400 * 8 + 7] = NaN;
    writeNpy(nanX, data, [500, 8]);
    const inf = new Float64Array(500).map((_, i) => i);
    inf[42] = -Infinity;
    writeNpy(infY, inf, [500]);
    writeFileSync(truncated, readFileSync(x).subarray(0, 5000));
    writeFileSync(csv, '1,2\n3,4\n');
    writeNpy(small, new Float32Array([1, 2, 3]), [3, 1]);
  });

  const cases: [string, () => string[], RegExp][] = [
    ['no arguments', () => [], /missing required argument 'x'/],
    ['one argument', () => [x], /missing required argument 'y'/],
    ['three arguments', () => [x, y, x], /too many arguments/],
    ['unknown option', () => [x, y, '--kk', '3'], /unknown option '--kk'/],
    ['option without its value', () => [x, y, '--k'], /argument missing/],
    ['--k x', () => [x, y, '--k', 'x'], /^infoflow: --k: must be an integer >= 1.*got 'x'$/],
    ['--k 0', () => [x, y, '--k', '0'], /--k: must be an integer >= 1/],
    ['--k 2.5', () => [x, y, '--k', '2.5'], /--k: must be an integer/],
    ['--k N', () => [small, small, '--k', '3'], /--k: must be less than N=3.*got 3$/],
    ['--base 1', () => [x, y, '--base', '1'], /--base: must be 2 \(bits\), e \(nats\), 10/],
    ['--base two', () => [x, y, '--base', 'two'], /--base: .*got 'two'/],
    ['--workers 0', () => [x, y, '--workers', '0'], /--workers: must be an integer from 1 to 256/],
    ['--workers many', () => [x, y, '--workers', 'many'], /--workers: /],
    ['--workers 100000', () => [x, y, '--workers', '100000'], /--workers: must be an integer from 1 to 256/],
    ['--noise -1', () => [x, y, '--noise', '-1'], /--noise: must be a finite number >= 0/],
    ['--noise inf', () => [x, y, '--noise', 'Infinity'], /--noise: /],
    ['--seed 1.5', () => [x, y, '--seed', '1.5'], /--seed: must be an integer/],
    ['missing file', () => [join(tmp, 'nope.npy'), y], /nope\.npy: file not found/],
    ['a directory', () => [tmp, y], /is a directory/],
    ['not a .npy file', () => [csv, y], /data\.csv: not a \.npy file \(expected magic \\x93NUMPY\)/],
    ['truncated data', () => [truncated, y], /truncated\.npy: truncated data: .* needs 16000 bytes but the file holds 4872/],
    ['complex dtype', () => [join(NPY, 'bad_complex.npy'), y], /bad_complex\.npy: unsupported dtype '<c8'.*astype\(np\.float32\)/],
    ['object dtype', () => [x, join(NPY, 'bad_object.npy')], /bad_object\.npy: unsupported dtype '\|O'/],
    ['structured dtype', () => [join(NPY, 'bad_structured.npy'), y], /structured/],
    ['N mismatch', () => [x, gy('act_W4_N2000')], /act_W4_N500_x\.npy has 500 rows but .*act_W4_N2000_y\.npy has 2000: the two files must hold the same samples in the same order$/],
    ['empty array', () => [join(NPY, 'f4_empty.npy'), join(NPY, 'f4_empty.npy')], /f4_empty\.npy: is empty \(shape \(0, 5\)\)/],
    ['0-d array', () => [join(NPY, 'f8_0d.npy'), y], /is a 0-d array/],
    ['NaN values', () => [nanX, y], /nan_x\.npy: has 3 NaN or Inf values, the first in row 5 \(0-based\)/],
    ['Inf value', () => [x, infY], /inf_y\.npy: has 1 NaN or Inf value, the first in row 42/],
  ];

  // concurrent (each case is a short-lived process, mostly start-up), so the local expect from the test context
  it.concurrent.for(cases)('%s', async ([, args, pattern], { expect }) => {
    const r = await cli('mi', ...args());
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines.length).toBe(1);
    expect(lines[0]).toMatch(/^infoflow: /);
    expect(lines[0]).toMatch(pattern);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
