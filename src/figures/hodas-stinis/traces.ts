/**
 * Traces (one run's epochs, with the labels a figure gives it), their rows in the figure's data files
 * (every epoch of every run), and the trajectory chart Figures 4 and 5 draw: x = MI first-last (bits),
 * y = test error, one line per run, points growing with the epoch and a ring on the last epoch so the
 * direction of training shows.
 */
import type { MetricsRow } from '../../train/metrics.js';

export interface Trace {
  /** run directory name */
  run: string;
  /** panel letter, 'A' or 'B' */
  panel: string;
  /** legend entry, as in the paper: 'MLP', 'S', 'Res', 'S Res', 'W=16', 'MLP w/ Shortcut' */
  series: string;
  /** a second grouping shown by the point shape (e.g. 'W=16' or 'L=10' in Figure 4), '' when none */
  group: string;
  arch: string;
  width: number;
  depth: number;
  seed: number;
  rows: MetricsRow[];
}

export interface DataRow {
  panel: string;
  series: string;
  group: string;
  run: string;
  arch: string;
  width: number;
  depth: number;
  seed: number;
  epoch: number;
  lastEpoch: boolean;
  mi: number | null;
  valError: number;
  trainError: number;
  trainLoss: number;
}

/** Every epoch of every trace as flat rows (the chart's data and data.csv/json). */
export function dataRows(traces: Trace[]): DataRow[] {
  const out: DataRow[] = [];
  for (const t of traces) {
    const last = t.rows.length > 0 ? t.rows[t.rows.length - 1].epoch : -1;
    for (const r of t.rows) {
      out.push({
        panel: t.panel, series: t.series, group: t.group, run: t.run, arch: t.arch, width: t.width, depth: t.depth,
        seed: t.seed, epoch: r.epoch, lastEpoch: r.epoch === last, mi: r.mi ?? null, valError: r.valError,
        trainError: r.trainError, trainLoss: r.trainLoss,
      });
    }
  }
  return out;
}

/** data.csv's columns, in order. */
export const DATA_COLUMNS: readonly (keyof DataRow)[] = [
  'panel', 'series', 'group', 'run', 'arch', 'width', 'depth', 'seed', 'epoch', 'lastEpoch', 'mi', 'valError', 'trainError', 'trainLoss',
];

export interface PanelOptions {
  title: string;
  /** legend title of the colour (series) */
  seriesTitle: string;
  /** legend order of the series (the paper's); others follow */
  seriesOrder?: string[];
  /** legend title of the point shape (group); omit for no shape encoding */
  groupTitle?: string;
  width?: number;
  height?: number;
}

/** One trajectory panel (a Vega-Lite layer spec) over `rows`; epochs without MI are left out. */
export function trajectoryPanel(rows: DataRow[], o: PanelOptions): Record<string, unknown> {
  const values = rows.filter((r) => r.mi !== null && Number.isFinite(r.mi));
  const x = { field: 'mi', type: 'quantitative', title: 'MI first-last layer (bits)', scale: { zero: false, nice: true } };
  const y = { field: 'valError', type: 'quantitative', title: 'Test error', scale: { zero: false, nice: true } };
  const seriesDomain = [...new Set([...(o.seriesOrder ?? []).filter((s) => values.some((v) => v.series === s)), ...values.map((v) => v.series)])];
  const color = { field: 'series', type: 'nominal', title: o.seriesTitle, scale: { domain: seriesDomain, scheme: 'category10' } };
  // groups in numeric order ('W=8' before 'W=16')
  const num = (g: string) => Number(g.replace(/^\D*/, '')) || 0;
  const groupDomain = [...new Set(values.map((v) => v.group))].sort((a, b) => num(a) - num(b) || a.localeCompare(b));
  const shape = o.groupTitle ? { field: 'group', type: 'nominal', title: o.groupTitle, scale: { domain: groupDomain } } : undefined;
  const tooltip = [
    { field: 'series' }, { field: 'run' }, { field: 'epoch' }, { field: 'mi', format: '.3f' }, { field: 'valError', format: '.4f' },
  ];
  return {
    title: o.title,
    width: o.width ?? 380,
    height: o.height ?? 300,
    data: { values },
    layer: [
      // the path of each run, epochs in order
      {
        mark: { type: 'line', strokeWidth: 1.2, opacity: 0.7 },
        encoding: { x, y, color, detail: { field: 'run' }, order: { field: 'epoch', type: 'quantitative' } },
      },
      // each epoch a point, bigger and darker as training goes on
      {
        mark: { type: 'point', filled: true },
        encoding: {
          x, y, color,
          ...(shape ? { shape } : {}),
          size: { field: 'epoch', type: 'quantitative', title: 'Epoch', scale: { range: [12, 110] } },
          opacity: { field: 'epoch', type: 'quantitative', scale: { range: [0.35, 1] }, legend: null },
          tooltip,
        },
      },
      // a ring on the last epoch: where training ended
      {
        transform: [{ filter: 'datum.lastEpoch' }],
        mark: { type: 'point', filled: false, size: 260, strokeWidth: 2, color: '#222' },
        encoding: { x, y },
      },
    ],
  };
}

/** Panels side by side in one chart, with a figure title and a caption line under it. */
export function sideBySide(title: string, subtitle: string, panels: Record<string, unknown>[]): Record<string, unknown> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle, anchor: 'start', fontSize: 15 },
    hconcat: panels,
    resolve: { scale: { color: 'independent', shape: 'independent', size: 'independent' } },
    config: { legend: { orient: 'right' } },
  };
}

/** One panel alone, as a top-level chart. */
export function alone(panel: Record<string, unknown>, subtitle: string): Record<string, unknown> {
  const title = typeof panel.title === 'string' ? panel.title : '';
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', ...panel, title: { text: title, subtitle, anchor: 'start' } };
}

export const DIRECTION_NOTE = 'Each line is one run; points grow with the epoch; the ring marks the last epoch.';
