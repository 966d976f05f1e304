/** The Vega-Lite specs of the DVCNN figures: training error by depth (vc1), drift (vc2), distribution of f (vc3). */
import { PHASES } from './claims.js';

export function vc1Spec(points: Record<string, unknown>[], title: string): object {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 420,
    height: 280,
    data: { values: points },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
      y: { field: 'trainError', type: 'quantitative', title: 'training error', axis: { format: '.0%' } },
      color: { field: 'depth', type: 'ordinal', title: 'layers' },
    },
  };
}

export function vc2Spec(points: Record<string, unknown>[], title: string): object {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: points },
    facet: { column: { field: 'quantity', type: 'nominal', title: null, sort: ['mean of layer output y = x + f', 'mean of f'] } },
    spec: {
      width: 320,
      height: 240,
      mark: { type: 'line' },
      encoding: {
        x: { field: 'layer', type: 'quantitative', title: 'layer' },
        y: { field: 'value', type: 'quantitative', title: 'mean over units and images' },
        color: { field: 'phase', type: 'nominal', title: null, sort: [...PHASES], legend: { labelLimit: 400, orient: 'bottom', direction: 'vertical' } },
        // before and after can coincide (centred SGD leaves the drift): dashes keep both visible
        strokeDash: { field: 'phase', type: 'nominal', title: null, sort: [...PHASES] },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

export function vc3Spec(points: Record<string, unknown>[], title: string): object {
  const enc = { x: { field: 'layer', type: 'quantitative', title: 'layer' } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: points },
    facet: { column: { field: 'phase', type: 'nominal', title: null, sort: [...PHASES] } },
    spec: {
      width: 260,
      height: 240,
      layer: [
        { mark: { type: 'area', opacity: 0.25, color: '#4c78a8' }, encoding: { ...enc, y: { field: 'q05', type: 'quantitative', title: 'f (5-95%, 25-75%, median)', scale: { domain: [0, 1] } }, y2: { field: 'q95' } } },
        { mark: { type: 'area', opacity: 0.5, color: '#4c78a8' }, encoding: { ...enc, y: { field: 'q25', type: 'quantitative' }, y2: { field: 'q75' } } },
        { mark: { type: 'line', color: '#1f3b5c' }, encoding: { ...enc, y: { field: 'q50', type: 'quantitative' } } },
        { mark: { type: 'line', color: '#e45756', strokeDash: [4, 3] }, encoding: { ...enc, y: { field: 'nearZero', type: 'quantitative' } } },
      ],
    },
  };
}
