/**
 * Conditional MI and entropy against NPEET's own cmi and entropy (noise off), on seeded data and values that
 * test/fixtures/npeet/make_fixture.py wrote by running ../shared/anchors/npeet (the test needs no Python).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MIEstimator } from '../src/mi/index.js';

interface NpeetCase {
  kind: 'cmi' | 'entropy';
  name: string;
  k: number[];
  x: number[][];
  y?: number[][];
  z?: number[][];
  nats: number[];
}

const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'npeet', 'npeet-cmi-entropy.json'), 'utf8')) as { cases: NpeetCase[] };
const matrix = (rows: number[][]) => ({ data: Float64Array.from(rows.flat()), shape: [rows.length, rows[0].length] });

describe('agreement with NPEET (noise off)', () => {
  const est = new MIEstimator({ workers: 1 });
  afterAll(() => est.close());

  it('the fixture has both kinds, several k', () => {
    expect(new Set(fixture.cases.map((c) => c.kind))).toEqual(new Set(['cmi', 'entropy']));
    expect(fixture.cases.some((c) => c.k.length > 1)).toBe(true);
  });

  for (const c of fixture.cases) {
    it(`${c.name}, k = ${c.k.join(',')}: within 1e-9 nats of NPEET's ${c.kind}`, async () => {
      const got =
        c.kind === 'cmi'
          ? await est.estimateConditional(matrix(c.x), matrix(c.y!), matrix(c.z!), { k: c.k, base: 'e' })
          : await est.estimateEntropy(matrix(c.x), { k: c.k, base: 'e' });
      expect(got.map((r) => r.k)).toEqual(c.k);
      got.forEach((r, i) => expect(Math.abs(r.nats - c.nats[i])).toBeLessThan(1e-9));
    });
  }
});
