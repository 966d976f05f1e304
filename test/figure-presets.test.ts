// The default presets of Figures 4 and 5 as issue 12 asks for them: seeds, evaluation, MI ensemble, depth.
import { describe, expect, it } from 'vitest';
import { residualSources } from '../src/models/hodas.js';
import { FIG4_PRESETS, fig4Runs } from '../src/figures/hodas-stinis/fig4.js';
import { FIG5_PRESETS, fig5Runs } from '../src/figures/hodas-stinis/fig5.js';
import { FIG5S_PRESETS, fig5SensitivityRuns } from '../src/figures/hodas-stinis/fig5-sensitivity.js';
import { type PanelRun, longestFirst, panelRunName, runSpec } from '../src/figures/hodas-stinis/trajectory.js';

/** Seeds per configuration (architecture, width, depth, variant prefix). */
function seedsPer(runs: PanelRun[]): number[] {
  const m = new Map<string, Set<number>>();
  for (const r of runs) {
    const k = `${r.prefix ?? ''}${r.arch}-${r.width}-${r.depth}`;
    m.set(k, (m.get(k) ?? new Set()).add(r.seed));
  }
  return [...m.values()].map((s) => s.size);
}

describe('default presets', () => {
  it('run every configuration with at least 5 seeds, 7 in Figure 5B', () => {
    expect(Math.min(...seedsPer(fig5Runs('default')))).toBeGreaterThanOrEqual(5);
    expect(Math.min(...seedsPer(fig4Runs('default')))).toBeGreaterThanOrEqual(5);
    expect(new Set(fig5Runs('default').filter((r) => r.panel === 'B').map((r) => r.seed)).size).toBe(7);
  });

  it('give Figure 5 residual nets more than one skip; the sensitivity figure has depth 5 (one) and a deeper one', () => {
    const skips = (depth: number) => residualSources({ arch: 'residual', depth }).filter((s) => s >= 0).length;
    expect(skips(FIG5_PRESETS.default.plan.depth)).toBeGreaterThan(1);
    const depths = FIG5S_PRESETS.default.plan.variants.map((v) => v.plan.depth);
    expect(depths.map(skips)).toContain(1);
    expect(Math.max(...depths.map(skips))).toBeGreaterThan(skips(FIG5_PRESETS.default.plan.depth));
  });

  it('evaluate as Keras, record batch statistics too, train to a plateau and take the MI over all images with its band', () => {
    for (const size of [FIG5_PRESETS.default.size, FIG4_PRESETS.default.size]) {
      expect(size.options).toMatchObject({ 'bn-eval': 'moving', 'bn-eval-variant': 'batch', 'until-plateau': true, 'mi-band-splits': 3 });
      expect(size.options['mi-samples']).toBeUndefined();
      expect(size.options['limit-val']).toBeUndefined();
      expect(size.epochs).toBeGreaterThanOrEqual(300);
    }
  });

  it('has a minibatch variant, each variant in run directories of its own', () => {
    const { runs } = fig5SensitivityRuns('default');
    const mini = runs.filter((r) => r.options?.['batch-size'] === 128);
    expect(mini.length).toBeGreaterThan(0);
    // a run drawn in panels A and B shares its directory; no two variants share one
    const variantOf = new Map<string, string>();
    for (const r of runs) {
      expect(variantOf.get(panelRunName(r)) ?? r.group).toBe(r.group);
      variantOf.set(panelRunName(r), r.group);
    }
    expect(variantOf.size).toBeLessThan(runs.length);
  });
});

describe('run order', () => {
  it('starts the likely longest runs first', () => {
    const p = FIG5_PRESETS.default;
    const specs = longestFirst(fig5Runs('default').map((r) => runSpec(r, p.size)));
    expect(specs[0].options.width).toBe(32);
    expect(specs[0].options.arch).toBe('residual');
    expect(specs[specs.length - 1].options.width).toBe(8);
  });
});
