/**
 * End to end: `node dist/cli.js mi --estimator ksg2 | --k 3,5,10 | --given Z.npy` and `entropy X.npy` as a user
 * runs them (build first: `npm test` does, via pretest), against the API on the same files; bad input is one
 * line naming the option and the fix, exit 2.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './cli-run.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIEstimator } from '../src/mi/index.js';
import { writeNpy } from '../src/npy/index.js';
import { seededData, tiedData } from './mi-fixtures.js';



const jsonLines = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown> & { mi: number; k: number });

describe('mi and entropy commands: the estimator family', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'infoflow-family-'));
  const xf = join(tmp, 'x.npy');
  const yf = join(tmp, 'y.npy');
  const zf = join(tmp, 'z.npy');
  const zShort = join(tmp, 'z40.npy');
  const { x, y } = tiedData(600, 3, 2, 6, 71);
  const z = seededData(600, 2, 1, 72).x;
  const est = new MIEstimator({ workers: 1 });
  const X = { data: x.data, shape: [x.n, x.d] };
  const Y = { data: y.data, shape: [y.n, y.d] };
  const Z = { data: z.data, shape: [z.n, z.d] };
  beforeAll(() => {
    writeNpy(xf, x.data, [x.n, x.d]);
    writeNpy(yf, y.data, [y.n, y.d]);
    writeNpy(zf, z.data, [z.n, z.d]);
    writeNpy(zShort, z.data.subarray(0, 80), [40, 2]);
  });
  afterAll(async () => {
    rmSync(tmp, { recursive: true, force: true });
    await est.close();
  });

  it('--estimator ksg2 --k 3,5,10 --json: one line per k, each the API estimate', async () => {
    const r = await cli('mi', xf, yf, '--estimator', 'ksg2', '--k', '3,5,10', '--json');
    expect(r.code).toBe(0);
    const rows = jsonLines(r.stdout);
    expect(rows.map((o) => [o.k, o.estimator])).toEqual([[3, 'ksg2'], [5, 'ksg2'], [10, 'ksg2']]);
    for (const o of rows) expect(o.mi).toBe((await est.estimate(X, Y, { k: o.k, estimator: 'ksg2' })).mi);
    expect(rows[0].files).toEqual({ x: xf, y: yf });
  });

  it('--given Z.npy: I(X;Y|Z) as conditionalMutualInformation gives it; the human line names it', async () => {
    const r = await cli('mi', xf, yf, '--given', zf, '--json');
    expect(r.code).toBe(0);
    const [o] = jsonLines(r.stdout);
    expect(o).toMatchObject({ k: 3, dz: 2, estimator: 'ksg1', files: { x: xf, y: yf, given: zf } });
    expect(o.mi).toBe((await est.estimateConditional(X, Y, Z, { k: 3 })).mi);
    const human = await cli('mi', xf, yf, '--given', zf, '--k', '2,4', '--quiet');
    expect(human.stdout.trim().split('\n').map(Number)).toEqual((await est.estimateConditional(X, Y, Z, { k: [2, 4] })).map((c) => c.mi));
    const line = await cli('mi', xf, yf, '--given', zf);
    expect(line.stdout).toMatch(/^I\(X;Y\|Z\) = -?\d+\.\d{4} bits {2}\(N=600, dx=3, dy=2, dz=2, k=3, Frenzel-Pompe KSG-1 max-norm, /);
  });

  it('entropy X.npy [--k]: H(X) as the API gives it, in bits by default', async () => {
    // z is continuous (x has duplicates: a zero k-th distance, H = -Infinity and a warning)
    const r = await cli('entropy', zf, '--k', '3,4', '--json');
    expect(r.code).toBe(0);
    const rows = jsonLines(r.stdout) as unknown as { h: number; k: number; units: string; file: string }[];
    const want = await est.estimateEntropy(Z, { k: [3, 4] });
    expect(rows.map((o) => [o.k, o.h, o.units, o.file])).toEqual(want.map((w) => [w.k, w.h, 'bits', zf]));
    const line = await cli('entropy', zf);
    expect(line.stdout).toMatch(/^H\(X\) = -?\d+\.\d{4} bits {2}\(N=600, d=2, k=3, Kozachenko-Leonenko max-norm, /);
    const dup = await cli('entropy', xf);
    expect(dup.stderr).toMatch(/^infoflow: warning: \d+ of 600 points have their k-th neighbour at distance 0 \(duplicates\), .*add --noise 1e-10/);
  });

  const bad: [string, () => string[], RegExp][] = [
    ['--k 3,2', () => ['mi', xf, yf, '--k', '3,2'], /^infoflow: --k: several k must be increasing, without repeats \(e\.g\. 3,5,10\); got 3,2$/],
    ['--k 3,3', () => ['mi', xf, yf, '--k', '3,3'], /^infoflow: --k: several k must be increasing/],
    ['--k 3,x', () => ['mi', xf, yf, '--k', '3,x'], /^infoflow: --k: must be an integer >= 1 .*, each of the list; got 'x'$/],
    ['--k >= N', () => ['mi', xf, yf, '--k', '3,600'], /^infoflow: --k: must be less than N=600, .*; pass --k 599 or less, or more samples; got 600$/],
    ['--estimator', () => ['mi', xf, yf, '--estimator', 'ksg3'], /^infoflow: --estimator: must be ksg1 .* or ksg2 .*; got 'ksg3'$/],
    ['--given with ksg2', () => ['mi', xf, yf, '--given', zf, '--estimator', 'ksg2'], /^infoflow: --estimator: --given uses Frenzel & Pompe's KSG-1 form only .*; drop --estimator ksg2 or pass ksg1$/],
    ['--given with another N', () => ['mi', xf, yf, '--given', zShort], /^infoflow: --given .*z40\.npy has 40 rows but .*x\.npy has 600: the condition must hold the same samples in the same order$/],
    ['--given missing file', () => ['mi', xf, yf, '--given', join(tmp, 'nope.npy')], /nope\.npy: file not found/],
    ['--permutations with several k', () => ['mi', xf, yf, '--k', '3,5', '--permutations', '10'], /^infoflow: --permutations: needs one --k \(got 3,5\); run once per k$/],
    ['entropy --k >= N', () => ['entropy', xf, '--k', '600'], /^infoflow: --k: must be less than N=600, the number of samples in .*x\.npy/],
    ['entropy without a file', () => ['entropy'], /missing required argument 'x'/],
  ];
  it.concurrent.for(bad)('%s: one line, exit 2', async ([, args, pattern], { expect }) => {
    const r = await cli(...args());
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
  });
});
