import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/backend.js';
import { InfoflowError } from '../src/errors.js';
import { ARCHS, type Arch, BN_EPS, HodasNet, layerWidths, parseArch, residualSources } from '../src/models/hodas.js';
import { Xoshiro128 } from '../src/random.js';

beforeAll(async () => {
  await initBackend('cpu');
});

const tanh = Math.tanh;
/** y = x M for a row vector x (M given row-major, din x dout) */
function dense(x: number[], m: number[], dout: number): number[] {
  const y = new Array(dout).fill(0);
  for (let j = 0; j < dout; j++) for (let i = 0; i < x.length; i++) y[j] += x[i] * m[i * dout + j];
  return y;
}
const add = (a: number[], b: number[]) => a.map((v, i) => v + b[i]);

describe('Hodas & Stinis wiring', () => {
  it('widths and residual sources', () => {
    expect(layerWidths({ width: 8, depth: 5 })).toEqual([16, 8, 8, 8, 16]);
    expect(layerWidths({ width: 3, depth: 2 })).toEqual([6, 6]);
    expect(residualSources({ arch: 'residual', depth: 5 })).toEqual([-1, -1, -1, 1, -1]);
    expect(residualSources({ arch: 'shortcut-residual', depth: 8 })).toEqual([-1, -1, -1, 1, -1, 3, -1, -1]);
    expect(residualSources({ arch: 'mlp', depth: 8 })).toEqual(new Array(8).fill(-1));
    expect(residualSources({ arch: 'residual', depth: 4 })).toEqual([-1, -1, -1, -1]);
  });

  // a depth-5, width-1 net (widths 2,1,1,1,2) on 2 inputs and 2 classes, every weight set by hand; BN in
  // 'moving' mode with mean 0 and var 1 - eps, so BN is exactly y = gamma z + beta
  const W0 = [0.5, -0.3, 0.2, 0.8]; // 2 x 2
  const W1 = [0.7, -0.4]; // 2 x 1
  const W2 = [1.3]; // 1 x 1
  const W3 = [-0.9]; // 1 x 1
  const W4 = [0.6, -1.1]; // 1 x 2
  const Wout = [1.0, -0.5, 0.25, 0.75]; // 2 x 2
  const bout = [0.1, -0.2];
  const gamma = 1.5;
  const beta = 0.1;
  const x = [0.3, -0.6];

  function handLogits(arch: Arch): number[] {
    const bnTanh = (z: number[]) => z.map((v) => tanh(gamma * v + beta));
    const a0 = bnTanh(dense(x, W0, 2));
    const a1 = bnTanh(dense(a0, W1, 1));
    const a2 = bnTanh(dense(a1, W2, 1));
    const a3 = bnTanh(dense(a2, W3, 1));
    const residual = arch === 'residual' || arch === 'shortcut-residual';
    // residual: layer 1's output (paper: the 2nd hidden layer) joins layer 3's, and the sum feeds layer 4
    const s3 = residual ? add(a3, a1) : a3;
    const a4 = bnTanh(dense(s3, W4, 2));
    const shortcut = arch === 'shortcut' || arch === 'shortcut-residual';
    // shortcut: first + last hidden outputs feed the softmax
    const top = shortcut ? add(a0, a4) : a4;
    return add(dense(top, Wout, 2), bout);
  }

  for (const arch of ARCHS) {
    it(`${arch}: hand-set weights give the hand-computed output`, () => {
      const net = new HodasNet({ arch, width: 1, depth: 5, inputDim: 2, classes: 2 }, 0);
      const v = (data: number[], shape: number[]) => ({ data: Float32Array.from(data), shape });
      const state: Record<string, { data: Float32Array; shape: number[] }> = {
        'p:W0': v(W0, [2, 2]),
        'p:W1': v(W1, [2, 1]),
        'p:W2': v(W2, [1, 1]),
        'p:W3': v(W3, [1, 1]),
        'p:W4': v(W4, [1, 2]),
        'p:Wout': v(Wout, [2, 2]),
        'p:bout': v(bout, [2]),
      };
      net.widths.forEach((w, i) => {
        state[`p:gamma${i}`] = v(new Array(w).fill(gamma), [w]);
        state[`p:beta${i}`] = v(new Array(w).fill(beta), [w]);
        state[`s:mean${i}`] = v(new Array(w).fill(0), [w]);
        state[`s:var${i}`] = v(new Array(w).fill(1 - BN_EPS), [w]);
      });
      net.importState(state);
      const out = tf.tidy(() => net.forward(tf.tensor2d([x]), 'moving').logits.arraySync()[0]);
      const want = handLogits(arch);
      expect(out[0]).toBeCloseTo(want[0], 5);
      expect(out[1]).toBeCloseTo(want[1], 5);
      net.dispose();
    });
  }

  it('the four architectures give four different outputs on the same weights', () => {
    const outs = ARCHS.map((a) => handLogits(a)[0].toFixed(6));
    expect(new Set(outs).size).toBe(4);
  });
});

/** The mean cross-entropy of the forward pass with batch statistics (= training mode), in float64 at the end. */
function lossOf(net: HodasNet, x: tf.Tensor2D, labels: number[]): number {
  const logits = tf.tidy(() => net.forward(x, 'batch').logits.arraySync());
  let sum = 0;
  logits.forEach((row, i) => {
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((acc, v) => acc + Math.exp(v - m), 0));
    sum += lse - row[labels[i]];
  });
  return sum / logits.length;
}

describe('hand-written backward pass', () => {
  for (const arch of ARCHS) {
    // central finite differences of the training-mode loss, parameter by parameter
    it(`${arch}: gradients match finite differences`, () => {
      const net = new HodasNet({ arch, width: 2, depth: 6, inputDim: 3, classes: 3 }, 7);
      const x = tf.tensor2d(new Xoshiro128(1).fillGaussian(new Float32Array(12 * 3)), [12, 3]);
      const labelArr = [0, 1, 2, 0, 1, 2, 2, 1, 0, 0, 2, 1];
      const labels = tf.tensor1d(labelArr, 'int32');
      const mine = net.gradients(x, labels);
      const h = 1e-2;
      let checked = 0;
      for (const [name, v] of net.params) {
        const base = v.dataSync().slice() as Float32Array;
        const g = mine.get(name)!.dataSync();
        const scale = Math.max(1e-2, ...Array.from(g, Math.abs));
        for (let i = 0; i < base.length; i++) {
          const at = (delta: number) => {
            const d = base.slice();
            d[i] += delta;
            net.importState({ [`p:${name}`]: { shape: v.shape, data: d } });
            return lossOf(net, x, labelArr);
          };
          const fd = (at(h) - at(-h)) / (2 * h);
          expect(Math.abs(g[i] - fd) / scale, `${name}[${i}]: ${g[i]} vs ${fd}`).toBeLessThan(2e-2);
          checked++;
        }
        net.importState({ [`p:${name}`]: { shape: v.shape, data: base } });
      }
      expect(checked).toBeGreaterThan(50);
      tf.dispose([...mine.values(), x, labels]);
      net.dispose();
    });
  }

  it('training lowers the loss, and leaks no tensors from step to step', () => {
    const net = new HodasNet({ arch: 'shortcut-residual', width: 4, depth: 5, inputDim: 6, classes: 3 }, 1);
    const x = tf.tensor2d(new Xoshiro128(2).fillGaussian(new Float32Array(64 * 6)), [64, 6]);
    const labels = tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 3), 'int32');
    const losses: number[] = [];
    const counts: number[] = [];
    for (let e = 0; e < 30; e++) {
      const l = tf.tidy(() => net.step(x, null, labels, 1e-2).lossSum);
      losses.push(l.dataSync()[0]);
      l.dispose();
      counts.push(tf.memory().numTensors);
    }
    expect(losses[29]).toBeLessThan(losses[0] * 0.8);
    expect(new Set(counts.slice(1)).size).toBe(1);
    tf.dispose([x, labels]);
    net.dispose();
  });

  it('the same seed gives the same weights, another seed others', () => {
    const spec = { arch: 'mlp' as const, width: 2, depth: 3, inputDim: 4, classes: 2 };
    const a = new HodasNet(spec, 5).exportState()['p:W0'].data;
    const b = new HodasNet(spec, 5).exportState()['p:W0'].data;
    const c = new HodasNet(spec, 6).exportState()['p:W0'].data;
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it('importState refuses variables the network lacks and shapes that differ, naming the variable', () => {
    const net = new HodasNet({ arch: 'mlp', width: 2, depth: 3, inputDim: 4, classes: 2 }, 0);
    const input = expect.objectContaining({ name: 'InfoflowError', kind: 'input' });
    expect(() => net.importState({ 'p:W9': { shape: [1], data: new Float32Array(1) } })).toThrow(/^p:W9: no such variable/);
    expect(() => net.importState({ 'p:W9': { shape: [1], data: new Float32Array(1) } })).toThrow(input);
    expect(() => net.importState({ 'p:W0': { shape: [4, 3], data: new Float32Array(12) } })).toThrow(/^p:W0: shape \[4,3\] does not match this network's \[4,4\]/);
    net.dispose();
  });

  it('rejects bad architectures, widths and depths with one-line messages', () => {
    expect(() => parseArch('cnn')).toThrow(/--arch: unknown architecture 'cnn'; use one of mlp, shortcut, residual, shortcut-residual/);
    expect(() => new HodasNet({ arch: 'mlp', width: 0, depth: 5, inputDim: 4, classes: 2 }, 0)).toThrow(InfoflowError);
    expect(() => new HodasNet({ arch: 'mlp', width: 4, depth: 1, inputDim: 4, classes: 2 }, 0)).toThrow(/--depth: must be an integer in \[2, 100\]/);
  });
});
