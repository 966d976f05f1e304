/**
 * The SIMD kernel's training step (src/models/hodas-kernel.ts) against the tfjs step (HodasNet.referenceStep) on
 * the same sparse input, from the same seeded weights: losses, error counts, and every variable after a few steps.
 * Tolerances: the two compute the same float32 formulas with sums in other orders and other tanh/exp
 * approximations (~1e-7 relative each), so one step's values agree to ~1e-6. Over steps, RMSprop divides each
 * gradient by its own running RMS, so a gradient element whose sum cancels (BatchNorm makes every dz column sum
 * to zero, and rarely-lit border pixels give W0 sums of a few terms) moves its weight by ~lr whatever its
 * rounding: weights are compared relative to their block's largest magnitude, at 1e-3 (measured: up to 7e-5
 * here, 1.4e-4 to 2.3e-4 on 1,000 rows at W = 16 and 32; lr = 1e-3 against |W| ~ 0.1 bounds it by ~1e-2).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/backend.js';
import { loadSplit } from '../src/data/splits.js';
import { type Arch, HodasNet, type NetInput } from '../src/models/hodas.js';
import { SparseInput } from '../src/models/sparse.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const data = loadSplit('paper', { limitTrain: 600, limitVal: 10 });
const { n, d } = data.train;
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-3, Math.abs(a), Math.abs(b));

/** Per variable: the largest difference relative to the largest magnitude of the reference's values. */
function worstRel(ref: HodasNet, net: HodasNet): [string, number] {
  const sa = ref.exportState();
  const sb = net.exportState();
  let worst: [string, number] = ['', 0];
  for (const key of Object.keys(sa)) {
    const x = sa[key].data;
    const y = sb[key].data;
    const scale = Math.max(1e-6, ...Array.from(x, Math.abs));
    for (let i = 0; i < x.length; i++) {
      const r = Math.abs(x[i] - y[i]) / scale;
      if (!(r <= worst[1])) worst = [`${key}[${i}]`, r];
    }
  }
  return worst;
}

describe('the kernel step equals the tfjs step to float32 rounding', () => {
  let y: tf.Tensor1D;
  let sparse: SparseInput;
  beforeAll(() => {
    y = tf.tensor1d(data.train.labels, 'int32');
    sparse = new SparseInput(data.train.x, n, d);
  });
  afterAll(() => y.dispose());
  afterEach(() => {
    delete process.env.INFOFLOW_HODAS_KERNEL;
  });

  // W = 3 and 5: widths that are not multiples of the kernel's 4 lanes (padding); depth 7: two residual joins
  const cases: [Arch, number, number][] = [['mlp', 3, 5], ['shortcut', 8, 5], ['residual', 5, 7], ['shortcut-residual', 16, 6]];
  for (const [arch, width, depth] of cases) {
    it(`${arch}, W = ${width}, depth ${depth}: 5 full-batch steps`, () => {
      const spec = { arch, width, depth, inputDim: d, classes: 10 };
      const ref = new HodasNet(spec, 7);
      const net = new HodasNet(spec, 7);
      const input: NetInput = { sparse, rows: null };
      for (let step = 0; step < 5; step++) {
        const [la, ea, lb, eb] = tf.tidy(() => {
          const a = ref.referenceStep(input, null, y, 1e-3);
          const b = net.step(input, null, y, 1e-3);
          return [a.lossSum, a.errors, b.lossSum, b.errors].map((t) => t.dataSync()[0]);
        });
        expect(rel(la, lb), `loss, step ${step}`).toBeLessThan(1e-5);
        // an error count may differ by a row whose two largest logits tie to rounding
        expect(Math.abs(ea - eb), `errors, step ${step}`).toBeLessThanOrEqual(1);
      }
      const [where, worst] = worstRel(ref, net);
      expect(worst, where).toBeLessThan(1e-3);
      ref.dispose();
      net.dispose();
    });
  }

  it('minibatch rows of the sparse input', () => {
    const spec = { arch: 'shortcut-residual' as Arch, width: 6, depth: 5, inputDim: d, classes: 10 };
    const ref = new HodasNet(spec, 8);
    const net = new HodasNet(spec, 8);
    for (let start = 0; start < n; start += 150) {
      const rows = Int32Array.from({ length: 150 }, (_, i) => (start * 7 + i * 13) % n);
      const [la, lb] = tf.tidy(() => {
        const yb = tf.gather(y, tf.tensor1d(rows, 'int32')) as tf.Tensor1D;
        return [ref.referenceStep({ sparse, rows }, null, yb, 1e-3), net.step({ sparse, rows }, null, yb, 1e-3)].map((r) => r.lossSum.dataSync()[0]);
      });
      expect(rel(la, lb)).toBeLessThan(1e-5);
    }
    const [where, worst] = worstRel(ref, net);
    expect(worst, where).toBeLessThan(1e-3);
    ref.dispose();
    net.dispose();
  });

  it('INFOFLOW_HODAS_KERNEL=0 selects the tfjs step (the same bits as referenceStep)', () => {
    process.env.INFOFLOW_HODAS_KERNEL = '0';
    const spec = { arch: 'mlp' as Arch, width: 4, depth: 3, inputDim: d, classes: 10 };
    const ref = new HodasNet(spec, 9);
    const net = new HodasNet(spec, 9);
    for (let step = 0; step < 2; step++) {
      tf.tidy(() => {
        ref.referenceStep({ sparse, rows: null }, null, y, 1e-3);
        net.step({ sparse, rows: null }, null, y, 1e-3);
      });
    }
    expect(worstRel(ref, net)[1]).toBe(0);
    ref.dispose();
    net.dispose();
  });
});
