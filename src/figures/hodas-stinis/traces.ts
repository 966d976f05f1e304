/**
 * Traces (one run's epochs, with the labels a figure gives it), their rows in the figure's data files
 * (every epoch of every run, with the settings it ran under), and the trajectory chart Figures 4 and 5
 * draw: x = MI first-last (bits), y = test error; each seed's run a thin line, and for each legend entry
 * the mean over its seeds at every MI epoch as a bold line with 95 % intervals on both axes, points
 * growing with the epoch and a ring on the last, so the direction of training shows.
 */
import wrapAnsi from 'wrap-ansi';
import { meanInterval } from '../../stats/interval.js';
import type { MetricsRow } from '../../train/metrics.js';

/** The `train` settings a run's rows state (strings as passed: 'all', 'full', 'none' where unset). */
export interface RunSettings {
  miSamples: string;
  bnEval: string;
  bnEvalVariant: string;
  miVariantSamples: string;
  batchSize: string;
}

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
  settings?: RunSettings;
  /** 'plateau' or 'cap' (done.json), '' when unknown */
  stoppedBy?: string;
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
  /** the run's last epoch (its length) and why it stopped */
  epochs: number;
  stoppedBy: string;
  mi: number | null;
  miBand: number | null;
  valError: number;
  trainError: number;
  trainLoss: number;
  valErrorVariant: number | null;
  miVariant: number | null;
  miSamples: string;
  bnEval: string;
  bnEvalVariant: string;
  miVariantSamples: string;
  batchSize: string;
}

const NO_SETTINGS: RunSettings = { miSamples: '', bnEval: '', bnEvalVariant: '', miVariantSamples: '', batchSize: '' };

/** Every epoch of every trace as flat rows (the chart's data and data.csv/json). */
export function dataRows(traces: Trace[]): DataRow[] {
  const out: DataRow[] = [];
  for (const t of traces) {
    const last = t.rows.length > 0 ? t.rows[t.rows.length - 1].epoch : -1;
    const s = t.settings ?? NO_SETTINGS;
    for (const r of t.rows) {
      out.push({
        panel: t.panel, series: t.series, group: t.group, run: t.run, arch: t.arch, width: t.width, depth: t.depth,
        seed: t.seed, epoch: r.epoch, lastEpoch: r.epoch === last, epochs: last, stoppedBy: t.stoppedBy ?? '',
        mi: r.mi ?? null, miBand: r.miBand ?? null, valError: r.valError, trainError: r.trainError, trainLoss: r.trainLoss,
        valErrorVariant: r.valErrorVariant ?? null, miVariant: r.miVariant ?? null,
        miSamples: s.miSamples, bnEval: s.bnEval, bnEvalVariant: s.bnEvalVariant, miVariantSamples: s.miVariantSamples, batchSize: s.batchSize,
      });
    }
  }
  return out;
}

/** data.csv's columns, in order. */
export const DATA_COLUMNS: readonly (keyof DataRow)[] = [
  'panel', 'series', 'group', 'run', 'arch', 'width', 'depth', 'seed', 'epoch', 'lastEpoch', 'epochs', 'stoppedBy', 'mi', 'miBand',
  'valError', 'trainError', 'trainLoss', 'valErrorVariant', 'miVariant', 'miSamples', 'bnEval', 'bnEvalVariant', 'miVariantSamples', 'batchSize',
];

/** The mean over seeds of one legend entry (series and group) at one MI epoch, with 95 % t intervals. */
export interface MeanPoint {
  series: string;
  group: string;
  epoch: number;
  n: number;
  mi: number;
  miLo: number;
  miHi: number;
  valError: number;
  errLo: number;
  errHi: number;
  lastEpoch: boolean;
}

/** Per-epoch means over the seeds of each (series, group), at the epochs where at least two seeds have MI. */
export function meanTrajectories(rows: readonly DataRow[]): MeanPoint[] {
  const groups = new Map<string, DataRow[]>();
  for (const r of rows) {
    if (r.mi === null || !Number.isFinite(r.mi)) continue;
    const key = JSON.stringify([r.series, r.group, r.epoch]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out: MeanPoint[] = [];
  for (const rs of groups.values()) {
    if (rs.length < 2) continue;
    const mi = meanInterval(rs.map((r) => r.mi as number));
    const err = meanInterval(rs.map((r) => r.valError));
    out.push({
      series: rs[0].series, group: rs[0].group, epoch: rs[0].epoch, n: rs.length,
      mi: mi.estimate, miLo: mi.lo, miHi: mi.hi, valError: err.estimate, errLo: err.lo, errHi: err.hi, lastEpoch: false,
    });
  }
  out.sort((a, b) => a.series.localeCompare(b.series) || a.group.localeCompare(b.group) || a.epoch - b.epoch);
  for (let i = 0; i < out.length; i++) {
    const next = out[i + 1];
    out[i].lastEpoch = !next || next.series !== out[i].series || next.group !== out[i].group;
  }
  return out;
}

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
  const means = meanTrajectories(values);
  // the axes span the points (runs and means), not the intervals: a wide interval of few seeds is clipped
  const span = (xs: number[]) => {
    const [lo, hi] = [Math.min(...xs), Math.max(...xs)];
    const pad = 0.05 * (hi - lo || 1);
    return [lo - pad, hi + pad];
  };
  const x = { field: 'mi', type: 'quantitative', title: 'MI first-last layer (bits)', scale: { zero: false, nice: true, clamp: true, ...(values.length ? { domain: span(values.map((v) => v.mi as number)) } : {}) } };
  const y = { field: 'valError', type: 'quantitative', title: 'Test error', scale: { zero: false, nice: true, clamp: true, ...(values.length ? { domain: span(values.map((v) => v.valError)) } : {}) } };
  const seriesDomain = [...new Set([...(o.seriesOrder ?? []).filter((s) => values.some((v) => v.series === s)), ...values.map((v) => v.series)])];
  const color = { field: 'series', type: 'nominal', title: o.seriesTitle, scale: { domain: seriesDomain, scheme: 'category10' } };
  // groups in numeric order ('W=8' before 'W=16')
  const num = (g: string) => Number(g.replace(/^\D*/, '')) || 0;
  const groupDomain = [...new Set(values.map((v) => v.group))].sort((a, b) => num(a) - num(b) || a.localeCompare(b));
  const shape = o.groupTitle ? { field: 'group', type: 'nominal', title: o.groupTitle, scale: { domain: groupDomain } } : undefined;
  const layers: Record<string, unknown>[] = [
    // each seed's path, thin and faint
    {
      data: { values },
      mark: { type: 'line', strokeWidth: 0.7, opacity: 0.35 },
      encoding: { x, y, color, detail: { field: 'run' }, order: { field: 'epoch', type: 'quantitative' } },
    },
  ];
  if (means.length > 0) {
    const meanColor = color;
    layers.push(
      // 95 % intervals of the mean, on both axes
      { data: { values: means }, mark: { type: 'rule', strokeWidth: 0.8, opacity: 0.6 }, encoding: { x: { ...x, field: 'miLo' }, x2: { field: 'miHi' }, y, color: meanColor } },
      { data: { values: means }, mark: { type: 'rule', strokeWidth: 0.8, opacity: 0.6 }, encoding: { x, y: { ...y, field: 'errLo' }, y2: { field: 'errHi' }, color: meanColor } },
      // the mean over seeds, bold, epochs in order
      {
        data: { values: means },
        mark: { type: 'line', strokeWidth: 2.4 },
        encoding: { x, y, color: meanColor, detail: { field: 'group' }, order: { field: 'epoch', type: 'quantitative' } },
      },
    );
  }
  // each epoch a point (of the means where there are several seeds, else of the runs), bigger as training goes on
  const pointData = means.length > 0 ? means : values;
  layers.push(
    {
      data: { values: pointData },
      mark: { type: 'point', filled: true },
      encoding: {
        x, y, color,
        ...(shape ? { shape } : {}),
        size: { field: 'epoch', type: 'quantitative', title: 'Epoch', scale: { range: [12, 110] } },
        opacity: { field: 'epoch', type: 'quantitative', scale: { range: [0.35, 1] }, legend: null },
        tooltip: [{ field: 'series' }, { field: 'epoch' }, { field: 'mi', format: '.3f' }, { field: 'valError', format: '.4f' }],
      },
    },
    // a ring on the last epoch: where training ended
    {
      data: { values: pointData },
      transform: [{ filter: 'datum.lastEpoch' }],
      mark: { type: 'point', filled: false, size: 260, strokeWidth: 2, color: '#222' },
      encoding: { x, y },
    },
  );
  return { title: o.title, width: o.width ?? 380, height: o.height ?? 300, layer: layers };
}

/** A caption as lines of at most `columns` characters (Vega draws one line per array element; one long line would widen the chart). */
export function captionLines(text: string, columns = 110): string[] {
  return wrapAnsi(text, columns, { hard: false, trim: true }).split('\n');
}

/** Panels side by side in one chart, with a figure title and a caption under it. */
export function sideBySide(title: string, subtitle: string, panels: Record<string, unknown>[]): Record<string, unknown> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: captionLines(subtitle), anchor: 'start', fontSize: 15 },
    hconcat: panels,
    resolve: { scale: { color: 'independent', shape: 'independent', size: 'independent' } },
    config: { legend: { orient: 'right' } },
  };
}

/** One panel alone, as a top-level chart. */
export function alone(panel: Record<string, unknown>, subtitle: string): Record<string, unknown> {
  const title = typeof panel.title === 'string' ? panel.title : '';
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', ...panel, title: { text: title, subtitle: captionLines(subtitle, 70), anchor: 'start' } };
}

export const DIRECTION_NOTE =
  'Thin lines: each seed; bold: the mean over seeds at each MI epoch, with 95 % intervals on both axes; points grow with the epoch; the ring marks the last.';
