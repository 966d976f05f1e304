/**
 * The Vega-Lite specs of the DVCNN figures: training error by depth (vc1), drift (vc2), distribution of f
 * (vc3). The data has one row per seed; the charts draw the mean over seeds and, where it says so, a band of
 * ±1 standard deviation over them.
 */

/** vc2/vc3 phases: the untrained net, after plain SGD (the paper's optimiser), after centred SGD (the ablation) */
export const PHASES = ['before training', 'after plain SGD', 'after centred SGD (ablation)'] as const;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

export function vc1Spec(points: Record<string, unknown>[], title: string): object {
  const x = { field: 'epoch', type: 'quantitative', title: 'epoch' };
  const color = { field: 'depth', type: 'ordinal', title: 'layers' };
  return {
    $schema: SCHEMA,
    title,
    width: 420,
    height: 280,
    data: { values: points },
    layer: [
      { mark: { type: 'errorband', extent: 'stdev', opacity: 0.2 }, encoding: { x, y: { field: 'trainError', type: 'quantitative', title: 'training error', axis: { format: '.0%' } }, color } },
      { mark: { type: 'line', point: true }, encoding: { x, y: { aggregate: 'mean', field: 'trainError', type: 'quantitative' }, color } },
    ],
  };
}

export function vc2Spec(points: Record<string, unknown>[], title: string): object {
  const x = { field: 'layer', type: 'quantitative', title: 'layer' };
  const color = { field: 'phase', type: 'nominal', title: null, sort: [...PHASES], legend: { labelLimit: 400, orient: 'bottom', direction: 'vertical' } };
  return {
    $schema: SCHEMA,
    title,
    data: { values: points },
    facet: { column: { field: 'quantity', type: 'nominal', title: null, sort: ['mean of layer output y = x + f', 'mean of f'] } },
    spec: {
      width: 320,
      height: 240,
      layer: [
        { mark: { type: 'errorband', extent: 'stdev', opacity: 0.2 }, encoding: { x, y: { field: 'value', type: 'quantitative', title: 'mean over units and images' }, color } },
        // before and after can coincide: dashes keep both visible
        { mark: { type: 'line' }, encoding: { x, y: { aggregate: 'mean', field: 'value', type: 'quantitative' }, color, strokeDash: { field: 'phase', type: 'nominal', title: null, sort: [...PHASES] } } },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  };
}

export function vc3Spec(points: Record<string, unknown>[], title: string): object {
  const x = { field: 'layer', type: 'quantitative', title: 'layer' };
  const mean = (field: string) => ({ aggregate: 'mean', field, type: 'quantitative' });
  return {
    $schema: SCHEMA,
    title,
    data: { values: points },
    facet: { column: { field: 'phase', type: 'nominal', title: null, sort: [...PHASES] } },
    spec: {
      width: 260,
      height: 240,
      layer: [
        { mark: { type: 'area', opacity: 0.25, color: '#4c78a8' }, encoding: { x, y: { ...mean('q05'), title: 'f (5-95%, 25-75%, median)', scale: { domain: [0, 1] } }, y2: { aggregate: 'mean', field: 'q95' } } },
        { mark: { type: 'area', opacity: 0.5, color: '#4c78a8' }, encoding: { x, y: mean('q25'), y2: { aggregate: 'mean', field: 'q75' } } },
        { mark: { type: 'line', color: '#1f3b5c' }, encoding: { x, y: mean('q50') } },
        { mark: { type: 'line', color: '#e45756', strokeDash: [4, 3] }, encoding: { x, y: mean('nearZero') } },
      ],
    },
  };
}
