/**
 * What Figures 4 and 5 (Hodas & Stinis 2018) share: run specs for the four networks, the presets' data
 * sizes, traces built from finished runs, and the pipeline runs -> data.csv/json -> charts (both panels,
 * and each alone) -> verdicts.md (the paper's claims judged under each stated condition, judge.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Arch } from '../../models/hodas.js';
import type { Outcome } from '../../stats/decision.js';
import { writeData } from '../pipeline/data.js';
import { writeTextFile } from '../pipeline/files.js';
import type { FigureContext, FigureResult, Preset } from '../pipeline/figure.js';
import { writeChart } from '../pipeline/render.js';
import { type RunOutcome, type RunSpec, runAll } from '../pipeline/runner.js';
import { type ClaimVerdict, formatInterval, judgeAll, tally, verdictSection } from './judge.js';
import { type ClaimRun, FINAL_SHARE } from './measures.js';
import type { PaperClaim } from './paper-claims.js';
import { DATA_COLUMNS, DIRECTION_NOTE, type DataRow, type RunSettings, type Trace, alone, dataRows, sideBySide, trajectoryPanel } from './traces.js';

export type { Arch };

/** The paper's legend names (Figure 5B; Figure 4 says "MLP w/ Shortcut"); a new architecture needs one to compile. */
export const ARCH_LABEL: Record<Arch, string> = { mlp: 'MLP', shortcut: 'S', residual: 'Res', 'shortcut-residual': 'S Res' };

/** Data size and schedule of a preset: `train` options every run of the figure gets. */
export interface PresetSize {
  epochs: number;
  options: Record<string, string | number | boolean>;
}

/**
 * The data and schedule both figures share.
 * quick: the pipeline in seconds, for newcomers and tests, not for conclusions (2,000 / 500 images,
 * minibatches of 200 so the curves move in 5 epochs), with every measurement the default makes.
 * default: full batch as the paper, until the validation error plateaus (cap 300 epochs: a W=32 MLP is
 * still gaining 0.4 points between epochs 200 and 300 under moving-average evaluation), Keras's
 * moving-average evaluation with the batch-statistics variant in the same runs (its MI over the first
 * 10,000 images), and the MI over all 30,000 validation images with its band over 3 disjoint thirds.
 */
export const PRESET_SIZE: Record<'quick' | 'default', PresetSize> = {
  quick: {
    epochs: 5,
    options: {
      'limit-train': 2000, 'limit-val': 500, 'batch-size': 200, 'bn-eval': 'moving', 'bn-eval-variant': 'batch', 'mi-variant-samples': 500, 'mi-band-splits': 3,
    },
  },
  default: {
    epochs: 300,
    options: { 'until-plateau': true, 'bn-eval': 'moving', 'bn-eval-variant': 'batch', 'mi-variant-samples': 10000, 'mi-band-splits': 3 },
  },
};

/** A figure's preset: its plan (which networks), its schedule, and a sentence for --help. */
export interface FigurePreset<Plan> {
  plan: Plan;
  size: PresetSize;
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

/** A run placed in a panel, with its legend entry and shape group, and `train` options of its own. */
export interface PanelRun extends NetConfig {
  panel: string;
  series: string;
  group: string;
  /** options over the preset's (e.g. a denser MI schedule where a claim reads a peak) */
  options?: Record<string, string | number | boolean>;
  /** a name prefix for runs of a variant (e.g. 'b128-'), so that they do not share a directory with the primary runs */
  prefix?: string;
  /** epochs (the cap) of its own, over the preset's */
  epochs?: number;
}

export function panelRunName(p: PanelRun): string {
  return `${p.prefix ?? ''}${runName(p)}`;
}

export function runSpec(p: PanelRun, size: PresetSize): RunSpec {
  return {
    name: panelRunName(p),
    command: 'train',
    epochs: p.epochs ?? size.epochs,
    // one MI thread per run: the runs themselves fill the cores (--jobs)
    options: { arch: p.arch, width: p.width, depth: p.depth, seed: p.seed, 'mi-workers': 1, ...size.options, ...p.options },
  };
}

/** The settings a run's data rows state (the columns the verdicts' conditions come from). */
export function settingsOf(options: Record<string, string | number | boolean>): RunSettings {
  const opt = (k: string) => (options[k] === undefined ? undefined : String(options[k]));
  return {
    miSamples: opt('mi-samples') ?? 'all',
    bnEval: opt('bn-eval') ?? 'batch',
    bnEvalVariant: opt('bn-eval-variant') ?? 'none',
    miVariantSamples: opt('bn-eval-variant') ? (opt('mi-variant-samples') ?? '10000') : '',
    batchSize: opt('batch-size') ?? 'full',
  };
}

/**
 * The specs with the likely longest first (wider, deeper, more epochs, denser MI), so that the runs the cores
 * share end together instead of one long run finishing alone (longest-processing-time-first scheduling).
 */
export function longestFirst(specs: readonly RunSpec[]): RunSpec[] {
  const n = (v: unknown, d: number) => (v === undefined ? d : Number(v));
  const cost = (s: RunSpec) => {
    const o = s.options;
    const miPoints = n(o['mi-dense'], 0) + s.epochs / Math.max(1, n(o['mi-every'], 1));
    const batches = o['batch-size'] === undefined ? 1 : 3;
    return s.epochs * n(o.width, 32) * (n(o.depth, 5) + 8) * batches + 200 * n(o.width, 32) * miPoints;
  };
  return [...specs].sort((a, b) => cost(b) - cost(a));
}

/** How the run ended, from its done.json ('plateau' or 'cap'; '' while unfinished or from an older trainer). */
function stoppedBy(dir: string): string {
  const path = join(dir, 'done.json');
  if (!existsSync(path)) return '';
  try {
    return String((JSON.parse(readFileSync(path, 'utf8')) as { stoppedBy?: string }).stoppedBy ?? '');
  } catch {
    return '';
  }
}

export function traceOf(p: PanelRun, spec: RunSpec, outcome: RunOutcome | undefined): Trace {
  return {
    run: panelRunName(p), panel: p.panel, series: p.series, group: p.group, arch: p.arch, width: p.width, depth: p.depth, seed: p.seed,
    rows: outcome?.rows ?? [], settings: settingsOf(spec.options), stoppedBy: outcome ? stoppedBy(outcome.dir) : '',
  };
}

/** The runs as the claims read them under the primary evaluation (valError, mi, miBand). */
export function primaryView(traces: readonly Trace[]): ClaimRun[] {
  return traces.map((t) => ({ ...t, rows: t.rows.map((r) => ({ epoch: r.epoch, valError: r.valError, mi: r.mi, miBand: r.miBand ?? null })) }));
}

/**
 * The runs under the variant BatchNorm evaluation recorded in the same runs (valErrorVariant, miVariant):
 * its MI is over fewer images and has no band of its own, so MI claims use the default band.
 */
export function variantView(traces: readonly Trace[]): ClaimRun[] {
  return traces
    .filter((t) => t.rows.some((r) => typeof r.valErrorVariant === 'number'))
    .map((t) => ({ ...t, rows: t.rows.map((r) => ({ epoch: r.epoch, valError: r.valErrorVariant as number, mi: r.miVariant ?? null, miBand: null })) }));
}

/** One verdict table: which runs, read how, under which stated conditions. */
export interface VerdictCondition {
  heading: string;
  conditions(traces: readonly Trace[]): string[];
  runs(traces: readonly Trace[]): ClaimRun[];
}

export interface TrajectoryFigure {
  id: string;
  title: string;
  runs: PanelRun[];
  /** the panels drawn, in order, with their titles; a panel draws the rows of its id unless it selects its own */
  panels: { id: string; title: string; seriesTitle: string; seriesOrder?: string[]; groupTitle?: string; select?: (r: DataRow) => boolean }[];
  claims: readonly PaperClaim[];
  /** the verdict tables, the first the primary one */
  verdicts: VerdictCondition[];
  notes: string[];
  size: PresetSize;
}

const outcomeToSupported = (o: Outcome): boolean | null => (o === 'supported' ? true : o === 'not supported' ? false : null);

/** The verdicts as the `reproduce` command reports them (claim, yes/no/inconclusive, the numbers). */
function reported(heading: string, verdicts: readonly ClaimVerdict[]) {
  return verdicts.map((v) => ({
    claim: `${v.claim.claim} [${heading}]`,
    supported: outcomeToSupported(v.outcome),
    evidence: v.parts.map((p) => `${p.label}: ${formatInterval(p.interval, p.unit)}, n=${p.interval.n}, ${p.outcome}`).join('; '),
  }));
}

/** Epochs each run trained, for the conditions lines: 'epochs 180-300 (median 260; 5 of 32 runs stopped at the cap)'. */
export function epochsNote(traces: readonly Trace[]): string {
  const done = [...new Map(traces.map((t) => [t.run, t])).values()].filter((t) => t.rows.length > 0);
  if (done.length === 0) return 'no runs';
  const last = done.map((t) => t.rows[t.rows.length - 1].epoch).sort((a, b) => a - b);
  const capped = done.filter((t) => t.stoppedBy === 'cap').length;
  const plateau = done.filter((t) => t.stoppedBy === 'plateau').length;
  return `epochs trained ${last[0]}-${last[last.length - 1]} (median ${last[last.length >> 1]}; ${plateau} of ${done.length} runs stopped at the plateau, ${capped} at the cap)`;
}

export const KERAS_BN = 'moving averages (momentum 0.99, epsilon 1e-3), as Keras';
const BATCH_BN = 'batch statistics of the evaluated set';

/** The conditions lines every Hodas & Stinis verdict table states: evaluation, schedule and length, the MI. */
export function commonConditions(size: PresetSize, bn: string, traces: readonly Trace[]): { evaluation: string; schedule: string; mi: string } {
  const s = traces[0]?.settings;
  const variant = bn === BATCH_BN;
  const batches = s?.batchSize === 'full' || !s ? 'full batch (one RMSprop step an epoch, as the paper)' : `minibatches of ${s.batchSize}`;
  const length = size.options['until-plateau'] ? `until the validation error plateaus (src/train/plateau.ts), cap ${size.epochs} epochs` : `${size.epochs} epochs`;
  const images = s?.miSamples === 'all' || !s ? 'all validation images' : `the first ${s.miSamples} validation images`;
  return {
    evaluation: `BatchNorm at evaluation: ${bn}`,
    schedule: `schedule: ${batches}, lr 1e-3; ${length}; ${epochsNote(traces)}; final test error: the median over each run's last ${100 * FINAL_SHARE} % of epochs`,
    mi:
      `MI over ${images}${variant ? ` (variant: the first ${s?.miVariantSamples || 'all'})` : ''}, KSG k=3, bits; noise band: ` +
      (variant ? 'none measured for the variant: the default 0.1 bits' : '2 SE over 3 disjoint interleaved thirds'),
  };
}

/**
 * The two verdict tables of a figure's runs: the primary (Keras's evaluation) and the batch-statistics
 * variant of the same runs; `conditions` gives each its lines.
 */
export function bothEvaluations(conditions: (bn: string, traces: readonly Trace[]) => string[]): VerdictCondition[] {
  return [
    { heading: 'Primary: as the paper (Keras evaluation)', conditions: (t) => conditions(KERAS_BN, t), runs: primaryView },
    { heading: 'Variant: batch-statistics evaluation (the same runs)', conditions: (t) => conditions(BATCH_BN, t), runs: variantView },
  ];
}

/** Runs the figure's runs, writes data, charts (all panels, each alone) and verdicts under `<outDir>/figure-<id>/`. */
export async function runTrajectoryFigure(fig: TrajectoryFigure, ctx: FigureContext): Promise<FigureResult> {
  const dir = join(ctx.outDir, `figure-${fig.id}`);
  const specs = fig.runs.map((r) => runSpec(r, fig.size));
  const outcomes = await runAll(fig.id, dir, longestFirst(specs), ctx);
  const byName = new Map(outcomes.map((o) => [o.spec.name, o]));
  const traces = fig.runs.map((r, i) => traceOf(r, specs[i], byName.get(specs[i].name))).filter((t) => t.rows.length > 0);
  const rows = dataRows(traces);
  const files = writeData(dir, rows, { columns: DATA_COLUMNS });
  const panel = (p: TrajectoryFigure['panels'][number]) =>
    trajectoryPanel(rows.filter(p.select ?? ((r) => r.panel === p.id)), { title: p.title, seriesTitle: p.seriesTitle, seriesOrder: p.seriesOrder, groupTitle: p.groupTitle });
  const caption = `${DIRECTION_NOTE} Preset: ${ctx.preset}.`;
  const both = await writeChart(sideBySide(fig.title, caption, fig.panels.map(panel)), join(dir, `figure-${fig.id}`));
  files.push(both.svg, both.png);
  for (const p of fig.panels) {
    const one = await writeChart(alone(panel(p), caption), join(dir, `figure-${fig.id}${p.id.toLowerCase()}`));
    files.push(one.svg, one.png);
  }
  const failed = outcomes.filter((o) => o.status === 'failed').map((o) => ({ run: o.spec.name, error: o.error ?? 'failed' }));
  const withData = outcomes.filter((o) => o.rows.length > 0).length;
  const notes = [...fig.notes, `Preset '${ctx.preset}': ${withData} of ${outcomes.length} runs have data.`];
  if (failed.length > 0) notes.push(`Failed runs (drawn from what exists): ${failed.map((f) => `${f.run} (${f.error})`).join('; ')}`);
  const sections = fig.verdicts.map((c) => ({ c, verdicts: judgeAll(fig.claims, c.runs(traces)) }));
  const text = [
    `# ${fig.title}: verdicts`,
    '',
    ...sections.map((s) => `- ${s.c.heading}: ${tally(s.verdicts)}`),
    '',
    ...notes.map((n) => `> ${n}\n`),
    ...sections.map((s) => verdictSection(s.c.heading, s.c.conditions(traces), s.verdicts)),
  ].join('\n');
  const verdictsPath = join(dir, 'verdicts.md');
  writeTextFile(verdictsPath, text, 'the verdicts');
  files.push(verdictsPath);
  for (const f of files) ctx.progress.note(`wrote ${f}`);
  return { dir, files, failed, verdicts: sections.flatMap((s) => reported(s.c.heading, s.verdicts)) };
}
