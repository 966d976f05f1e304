/**
 * `infoflow mi --permutations P --error-bars` end to end (build first: `npm test` does, via pretest): the JSON
 * fields equal the library's, and each bad value is one line naming the option, exit code 2.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli as runCli, ROOT } from './cli-run.js';
const cli = (...args: string[]) => runCli('mi', ...args);
import { describe, expect, it } from 'vitest';
import { errorBars } from '../src/mi/error-bars.js';
import { permutationTest } from '../src/mi/permutation.js';
import { parseNpy } from '../src/npy/index.js';

const X = join(ROOT, 'test', 'fixtures', 'golden', 'act_W4_N500_x.npy');
const Y = join(ROOT, 'test', 'fixtures', 'golden', 'act_W4_N500_y.npy');


const input = (path: string) => {
  const a = parseNpy(readFileSync(path), path);
  return { data: a.data as Float32Array, shape: a.shape };
};

describe('infoflow mi --permutations / --error-bars', () => {
  it('prints the null, the p-value and the error bars in --json, equal to the library API', async () => {
    const r = await cli(X, Y, '--permutations', '30', '--error-bars', '--error-bar-splits', '6', '--seed', '7', '--json', '--workers', '1');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    const api = await permutationTest(input(X), input(Y), { permutations: 30, seed: 7, workers: 1 });
    expect(j.mi).toBe(api.mi);
    expect(j.significance).toEqual({ ...api.significance, seconds: j.significance.seconds });
    expect(j.significance.pValue).toBe(1 / 31);
    const bars = await errorBars(input(X), input(Y), { splits: 6, seed: 7, workers: 1 });
    expect(j.errorBars).toEqual({ ...bars.errorBars, seconds: j.errorBars.seconds });
    expect(j.errorBars.lo).toBeLessThan(j.mi);
    expect(j.errorBars.hi).toBeGreaterThan(j.mi);
  });

  it('prints an interval line and a p-value line under the estimate', async () => {
    const r = await cli(X, Y, '--permutations', '9', '--error-bars', '--workers', '1');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^I\(X;Y\) = 2\.2193 bits/);
    expect(lines[1]).toMatch(/^ {2}95 % interval \[\d\.\d{4}, \d\.\d{4}\] bits, standard error 0\.\d{4} \(Holmes & Nemenman 2019: 2\.\.10 disjoint subsamples, 45 dof, seed 0/);
    expect(lines[2]).toMatch(/^ {2}p = 0\.100 against 9 shuffles of Y \(seed 0\): null -?\d\.\d{4} \+- \d\.\d{4} bits/);
  });

  it('refuses bad values with one line naming the option and the fix, exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--permutations', '0'], /^infoflow: --permutations: must be an integer from 1 to 100000 .*; got 0$/],
      [['--permutations', '100001'], /^infoflow: --permutations: must be an integer from 1 to 100000 .*; got 100001$/],
      [['--permutations', '2.5'], /^infoflow: --permutations: .*; got '2\.5'$/],
      [['--error-bars', '--error-bar-splits', '20'], /^infoflow: --error-bars: N = 500 rows split 20 ways gives subsamples of 25 rows, fewer than the 30 \(10 k\) each needs; use --error-bar-splits 16 or fewer, or more rows$/],
      [['--error-bars', '--k', '20'], /^infoflow: --error-bars: N = 500 rows split 10 ways .* give at least 600 rows \(3 subsamples of 200\), or a smaller k$/],
      [['--error-bars', '--error-bar-splits', '2'], /^infoflow: --error-bar-splits: must be an integer from 3 to 100 /],
      [['--error-bar-splits', '5'], /^infoflow: --error-bar-splits: needs --error-bars/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(X, Y, ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
    }
  });

  it('uses --seed for the shuffles without --noise (no "ignored" note)', async () => {
    const r = await cli(X, Y, '--permutations', '3', '--seed', '2', '--workers', '1');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });
});
