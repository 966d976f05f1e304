import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/backend.js';
import { loadSplit } from '../src/data/splits.js';
import { type Arch, HodasNet, type NetInput } from '../src/models/hodas.js';
import { SparseInput } from '../src/models/sparse.js';
import { trainRun } from '../src/train/index.js';

const root = mkdtempSync(join(tmpdir(), 'infoflow-sparse-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(async () => {
  await initBackend('wasm');
});

const data = loadSplit('paper', { limitTrain: 1000, limitVal: 300 });
const { n, d } = data.train;

/** Relative difference, scaled by the larger magnitude (floor 1e-3 for values near 0). */
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-3, Math.abs(a), Math.abs(b));

function maxRelParams(a: HodasNet, b: HodasNet): number {
  let worst = 0;
  const sa = a.exportState();
  const sb = b.exportState();
  for (const key of Object.keys(sa)) {
    const x = sa[key].data;
    const y = sb[key].data;
    const scale = Math.max(1e-3, ...Array.from(x, Math.abs));
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]) / scale);
  }
  return worst;
}

describe('a net trains the same with the sparse first layer as with tf.matMul', () => {
  let x: tf.Tensor2D;
  let xT: tf.Tensor2D;
  let y: tf.Tensor1D;
  let sparse: SparseInput;
  beforeAll(() => {
    x = tf.tensor2d(data.train.x, [n, d]);
    xT = tf.transpose(x);
    y = tf.tensor1d(data.train.labels, 'int32');
    sparse = new SparseInput(data.train.x, n, d);
  });
  afterAll(() => tf.dispose([x, xT, y]));

  for (const [arch, width] of [['mlp', 8], ['shortcut-residual', 16], ['shortcut', 32]] as [Arch, number][]) {
    it(`${arch}, W = ${width}: full-batch loss curve and weights agree to float32 tolerance`, () => {
      const spec = { arch, width, depth: 5, inputDim: d, classes: 10 };
      const dense = new HodasNet(spec, 3);
      const sp = new HodasNet(spec, 3);
      const sparseIn: NetInput = { sparse, rows: null };
      for (let step = 0; step < 6; step++) {
        const a = tf.tidy(() => dense.step(x, xT, y, 1e-3).lossSum);
        // the tfjs step on both inputs, so only the first layer's products differ (the SIMD kernel's step, which
        // HodasNet.step takes for a sparse input, is checked against this one in test/hodas-step.test.ts)
        const b = tf.tidy(() => sp.referenceStep(sparseIn, null, y, 1e-3).lossSum);
        expect(rel(a.dataSync()[0], b.dataSync()[0]), `step ${step}`).toBeLessThan(1e-5);
        tf.dispose([a, b]);
      }
      expect(maxRelParams(dense, sp)).toBeLessThan(1e-4);
      // the evaluation forward pass too
      const [la, lb] = tf.tidy(() => [dense.forward(x, 'batch').logits, sp.forward(sparseIn, 'batch').logits]);
      const [va, vb] = [la.dataSync(), lb.dataSync()];
      for (let i = 0; i < va.length; i += 97) expect(rel(va[i], vb[i])).toBeLessThan(1e-4);
      tf.dispose([la, lb]);
      dense.dispose();
      sp.dispose();
    });
  }

  it('minibatches: rows of the sparse input train as the gathered dense rows', () => {
    const spec = { arch: 'residual' as Arch, width: 8, depth: 5, inputDim: d, classes: 10 };
    const dense = new HodasNet(spec, 4);
    const sp = new HodasNet(spec, 4);
    for (let start = 0; start < n; start += 250) {
      const rows = Int32Array.from({ length: 250 }, (_, i) => (start * 7 + i * 13) % n);
      const [a, b] = tf.tidy(() => {
        const ii = tf.tensor1d(rows, 'int32');
        const yb = tf.gather(y, ii) as tf.Tensor1D;
        return [dense.step(tf.gather(x, ii) as tf.Tensor2D, null, yb, 1e-3).lossSum, sp.referenceStep({ sparse, rows }, null, yb, 1e-3).lossSum];
      });
      expect(rel(a.dataSync()[0], b.dataSync()[0])).toBeLessThan(1e-5);
      tf.dispose([a, b]);
    }
    expect(maxRelParams(dense, sp)).toBeLessThan(1e-4);
    dense.dispose();
    sp.dispose();
  });

  it('the gradients of the sparse path are the dense path gradients', () => {
    const net = new HodasNet({ arch: 'shortcut-residual', width: 4, depth: 5, inputDim: d, classes: 10 }, 5);
    const ga = net.gradients(x, y);
    const gb = net.gradients({ sparse, rows: null }, y);
    for (const [name, g] of ga) {
      const a = g.dataSync();
      const b = gb.get(name)!.dataSync();
      const scale = Math.max(1e-6, ...Array.from(a, Math.abs));
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]) / scale, `${name}[${i}]`).toBeLessThan(1e-4);
    }
    tf.dispose([...ga.values(), ...gb.values()]);
    net.dispose();
  });
});

describe("the evaluations' shared first-layer product", () => {
  it('forward with firstProduct(x) handed in is bit for bit forward without it, in both BatchNorm modes', () => {
    const net = new HodasNet({ arch: 'shortcut-residual', width: 8, depth: 5, inputDim: d, classes: 10 }, 3);
    const x: NetInput = { sparse: new SparseInput(data.val.x, data.val.n, d), rows: null };
    const z0 = tf.tidy(() => net.firstProduct(x));
    for (const mode of ['batch', 'moving'] as const) {
      const [a, b] = [undefined, z0].map((z) => tf.tidy(() => {
        const r = net.forward(x, mode, z);
        return [r.logits, r.first, r.last].map((t) => Array.from(t.dataSync()));
      }));
      expect(b, mode).toEqual(a);
    }
    expect(z0.isDisposed).toBe(false);
    z0.dispose();
    net.dispose();
  });
});

describe('trainRun with and without the sparse first layer', () => {
  afterEach(() => {
    delete process.env.INFOFLOW_SPARSE;
  });

  for (const batchSize of [null, 100]) {
    it(`same metrics, ${batchSize === null ? 'full batch' : `minibatches of ${batchSize}`}`, async () => {
      const cfg = { arch: 'mlp', width: 8, depth: 5, epochs: 3, limitTrain: 400, limitVal: 200, backend: 'wasm', miEvery: 0, batchSize };
      const logs: string[] = [];
      const sparse = await trainRun({ ...cfg, out: join(root, `sparse-${batchSize}`) }, { onLog: (l) => logs.push(l) });
      process.env.INFOFLOW_SPARSE = '0';
      const dense = await trainRun({ ...cfg, out: join(root, `dense-${batchSize}`) }, { onLog: (l) => logs.push(l) });
      expect(logs.filter((l) => l.includes('first layer sparse'))).toHaveLength(1);
      expect(logs.filter((l) => l.includes('first layer dense'))).toHaveLength(1);
      expect(sparse.rows).toHaveLength(4);
      for (let e = 0; e < 4; e++) {
        expect(rel(sparse.rows[e].trainLoss, dense.rows[e].trainLoss)).toBeLessThan(1e-5);
        expect(Math.abs(sparse.rows[e].valError - dense.rows[e].valError)).toBeLessThanOrEqual(1 / 200);
      }
    });
  }
});
