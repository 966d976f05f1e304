// Paired verdicts (docs/FIGURES.md, "Verdicts") rest on this: for one seed, MLP, S, Res and S Res start from
// the same weights, so their differences are the architecture's and not the draw's.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { ARCHS, HodasNet } from '../src/models/hodas.js';

beforeAll(async () => {
  await initBackend('cpu');
});

const params = (arch: (typeof ARCHS)[number], seed: number, depth = 7) => {
  const net = new HodasNet({ arch, width: 6, depth, inputDim: 20, classes: 10 }, seed);
  const state = Object.fromEntries(Object.entries(net.exportState()).filter(([k]) => k.startsWith('p:')).map(([k, v]) => [k, Array.from(v.data)]));
  net.dispose();
  return state;
};

describe('initial weights per seed', () => {
  it('are the same for all four architectures', () => {
    const mlp = params('mlp', 3);
    for (const arch of ARCHS) expect(params(arch, 3)).toEqual(mlp);
  });

  it('differ between seeds', () => {
    expect(params('mlp', 3)['p:W1']).not.toEqual(params('mlp', 4)['p:W1']);
  });

  it('share the first layer across depths (Figure 4B pairs by seed)', () => {
    expect(params('mlp', 3, 5)['p:W0']).toEqual(params('mlp', 3, 20)['p:W0']);
  });
});
