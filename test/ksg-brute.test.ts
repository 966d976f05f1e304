// The MI benchmark's native comparator (bench/native/ksg_brute.c) computes the same estimate as the kernel:
// its exactness, not its speed. Skipped where no C compiler works.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildNative, runNative } from '../bench/native.js';
import { mutualInformation } from '../src/mi/index.js';
import { writeNpy } from '../src/npy/index.js';
import { Xoshiro128 } from '../src/random.js';
import { GOLDEN_DIR, goldenCases, readGoldenNpy } from './mi-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'infoflow-ksg-brute-'));
const build = buildNative(dir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!('binary' in build))('native brute force (bench/native/ksg_brute.c)', () => {
  const native = build as Exclude<typeof build, { note: string }>;

  it('gives the kernel MI to 1e-9 on seeded correlated data (N = 700, 12 + 20 dims, k = 1 and 4)', async () => {
    const rng = new Xoshiro128(11);
    const n = 700;
    const x = new Float32Array(n * 12);
    const y = new Float32Array(n * 20);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 12; c++) x[i * 12 + c] = rng.uniform() * 2 - 1;
      // y: noisy functions of x, so the MI is far from 0
      for (let c = 0; c < 20; c++) y[i * 20 + c] = Math.tanh(2 * x[i * 12 + (c % 12)] + 0.3 * (rng.uniform() - 0.5));
    }
    writeNpy(join(dir, 'x.npy'), x, [n, 12]);
    writeNpy(join(dir, 'y.npy'), y, [n, 20]);
    for (const k of [1, 4]) {
      const ours = await mutualInformation({ data: x, shape: [n, 12] }, { data: y, shape: [n, 20] }, { k, workers: 1 });
      const { answer } = runNative(native, join(dir, 'x.npy'), join(dir, 'y.npy'), k);
      expect(answer.n).toBe(n);
      expect(ours.mi).toBeGreaterThan(1);
      expect(Math.abs(answer.bits - ours.mi)).toBeLessThanOrEqual(1e-9 * Math.abs(ours.mi));
    }
  });

  it("equals the golden c_f64_bits (NPEET's values) on every golden case, ties included", () => {
    for (const c of goldenCases()) {
      const { answer } = runNative(native, join(GOLDEN_DIR, c.x), join(GOLDEN_DIR, c.y), c.k);
      const x = readGoldenNpy(c.x);
      expect([answer.n, answer.dx, answer.dy]).toEqual([c.N, x.d, c.dy]);
      expect(answer.zeroEpsPoints).toBe(c.c_zero_eps_points);
      expect(Math.abs(answer.bits - c.c_f64_bits)).toBeLessThanOrEqual(1e-9 * Math.abs(c.c_f64_bits));
    }
  });
});
