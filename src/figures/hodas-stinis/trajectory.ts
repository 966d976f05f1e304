/**
 * What Figures 4 and 5 (Hodas & Stinis 2018) share: run specs for the four networks, the presets' data
 * sizes, traces built from finished runs, small measurements the claims use, and the pipeline
 * runs -> data.csv/json -> charts (both panels, and each alone) -> verdicts.md.
 */
import { join } from 'node:path';
import type { Arch } from '../../models/hodas.js';
import { writeData } from '../pipeline/data.js';
import type { FigureContext, FigureResult, Preset } from '../pipeline/figure.js';
import { writeChart } from '../pipeline/render.js';
import { type RunOutcome, type RunSpec, runAll } from '../pipeline/runner.js';
import { type Claim, writeVerdicts } from '../pipeline/verdicts.js';
import { DATA_COLUMNS, DIRECTION_NOTE, type Trace, alone, dataRows, sideBySide, trajectoryPanel } from './traces.js';

export type { Arch };

/** The paper's legend names (Figure 5B; Figure 4 says "MLP w/ Shortcut"); a new architecture needs one to compile. */
export const ARCH_LABEL: Record<Arch, string> = { mlp: 'MLP', shortcut: 'S', residual: 'Res', 'shortcut-residual': 'S Res' };

/** A smallest MI change (bits) the claims count as a rise or a fall: below it, KSG noise could decide. */
export const MI_MARGIN = 0.1;
/** A smallest test-error difference the claims count (half a percentage point). */
export const ERROR_MARGIN = 0.005;

/** Data size and schedule of a preset: `train` options every run of the figure gets. */
export interface PresetSize {
  epochs: number;
  options: Record<string, string | number | boolean>;
}

/**
 * The default training data and schedule of each preset (every run of a figure gets these `train` options,
 * unless the figure's presets give their own).
 */
export const PRESET_SIZE: Record<Preset, PresetSize> = {
  // the pipeline in seconds, for newcomers and tests, not for conclusions: minibatches of 200 (10 steps an
  // epoch, so the curves move)
  quick: { epochs: 5, options: { 'limit-train': 2000, 'limit-val': 500, 'batch-size': 200 } },
  // full batch (one RMSprop step an epoch, as the paper) on the 40,000 training images; test error and MI on
  // the first 5,000 validation images
  default: { epochs: 50, options: { 'limit-val': 5000 } },
  // the paper's schedule: full batch, all 30,000 validation images
  full: { epochs: 200, options: {} },
};

/** A figure's preset: its plan (which networks), its own schedule if not PRESET_SIZE's, and a sentence for --help. */
export interface FigurePreset<Plan> {
  plan: Plan;
  size?: PresetSize;
  text: string;
}

export interface NetConfig {
  arch: Arch;
  width: number;
  depth: number;
  seed: number;
}

export function runName(c: NetConfig): string {
  return `${c.arch}-w${c.width}-d${c.depth}-s${c.seed}`;
}

export function runSpec(c: NetConfig, preset: Preset, size: PresetSize = PRESET_SIZE[preset]): RunSpec {
  return {
    name: runName(c),
    command: 'train',
    epochs: size.epochs,
    // one MI thread per run: the runs themselves fill the cores (--jobs)
    options: { arch: c.arch, width: c.width, depth: c.depth, seed: c.seed, 'mi-workers': 1, ...size.options },
  };
}

/** A run placed in a panel, with its legend entry and shape group. */
export interface PanelRun extends NetConfig {
  panel: 'A' | 'B';
  series: string;
  group: string;
}

export function traceOf(p: PanelRun, outcome: RunOutcome | undefined): Trace {
  return { run: runName(p), panel: p.panel, series: p.series, group: p.group, arch: p.arch, width: p.width, depth: p.depth, seed: p.seed, rows: outcome?.rows ?? [] };
}

// ---- measurements on a trace (the claims' numbers) ----

/** MI points in epoch order. */
export function miSeries(t: Trace): { epoch: number; mi: number }[] {
  return t.rows.filter((r) => r.mi !== null && Number.isFinite(r.mi)).map((r) => ({ epoch: r.epoch, mi: r.mi as number }));
}

/** MI at an epoch, or undefined when not measured. */
export function miAt(t: Trace, epoch: number): number | undefined {
  const r = t.rows.find((row) => row.epoch === epoch);
  return r && r.mi !== null && Number.isFinite(r.mi) ? r.mi : undefined;
}

/** MI after the first training epoch (the first epoch >= 1 with MI). */
export function miAfterFirst(t: Trace): number | undefined {
  return miSeries(t).find((p) => p.epoch >= 1)?.mi;
}

export function lastMi(t: Trace): number | undefined {
  const s = miSeries(t);
  return s.length > 0 ? s[s.length - 1].mi : undefined;
}

export function finalError(t: Trace): number | undefined {
  return t.rows.length > 0 ? t.rows[t.rows.length - 1].valError : undefined;
}

export function errorAt(t: Trace, epoch: number): number | undefined {
  return t.rows.find((r) => r.epoch === epoch)?.valError;
}

export function lastEpoch(t: Trace): number {
  return t.rows.length > 0 ? t.rows[t.rows.length - 1].epoch : -1;
}

/** A short name of a trace for the evidence lines: 'W=16 L=5 seed 0'. */
export function traceTag(t: Trace): string {
  return `${ARCH_LABEL[t.arch as Arch] ?? t.arch} W=${t.width} L=${t.depth} s${t.seed}`;
}

// ---- the pipeline ----

export interface TrajectoryFigure {
  id: string;
  title: string;
  runs: PanelRun[];
  panelTitles: { A: string; B: string };
  seriesTitles: { A: string; B: string };
  seriesOrder?: { A?: string[]; B?: string[] };
  groupTitles?: { A?: string; B?: string };
  claims(traces: Trace[]): Claim[];
  notes: string[];
  /** this figure's own data size and schedule for this preset (else PRESET_SIZE's) */
  size?: PresetSize;
}

/** Runs the figure's runs, writes data, charts (A+B, A, B) and verdicts under `<outDir>/figure-<id>/`. */
export async function runTrajectoryFigure(fig: TrajectoryFigure, ctx: FigureContext): Promise<FigureResult> {
  const dir = join(ctx.outDir, `figure-${fig.id}`);
  const outcomes = await runAll(fig.id, dir, fig.runs.map((r) => runSpec(r, ctx.preset, fig.size)), ctx);
  const byName = new Map(outcomes.map((o) => [o.spec.name, o]));
  const traces = fig.runs.map((r) => traceOf(r, byName.get(runName(r)))).filter((t) => t.rows.length > 0);
  const rows = dataRows(traces);
  const files = writeData(dir, rows, { columns: DATA_COLUMNS });
  const panel = (p: 'A' | 'B') =>
    trajectoryPanel(rows.filter((r) => r.panel === p), {
      title: fig.panelTitles[p],
      seriesTitle: fig.seriesTitles[p],
      seriesOrder: fig.seriesOrder?.[p],
      groupTitle: fig.groupTitles?.[p],
    });
  const caption = `${DIRECTION_NOTE} Preset: ${ctx.preset}.`;
  const both = await writeChart(sideBySide(fig.title, caption, [panel('A'), panel('B')]), join(dir, `figure-${fig.id}`));
  const a = await writeChart(alone(panel('A'), caption), join(dir, `figure-${fig.id}a`));
  const b = await writeChart(alone(panel('B'), caption), join(dir, `figure-${fig.id}b`));
  files.push(both.svg, both.png, a.svg, a.png, b.svg, b.png);
  const failed = outcomes.filter((o) => o.status === 'failed').map((o) => ({ run: o.spec.name, error: o.error ?? 'failed' }));
  const claims = fig.claims(traces);
  const withData = outcomes.filter((o) => o.rows.length > 0).length;
  const notes = [...fig.notes, `Preset '${ctx.preset}': ${withData} of ${outcomes.length} runs have data.`];
  if (failed.length > 0) notes.push(`Failed runs (drawn from what exists): ${failed.map((f) => `${f.run} (${f.error})`).join('; ')}`);
  const verdictsPath = join(dir, 'verdicts.md');
  writeVerdicts(verdictsPath, `${fig.title}: verdicts`, claims, notes);
  files.push(verdictsPath);
  for (const f of files) ctx.progress.note(`wrote ${f}`);
  return { dir, files, failed, verdicts: claims };
}
