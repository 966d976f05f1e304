/**
 * What a figure is: a FigureDefinition, a title and a `run(ctx)` that trains its runs (runner.ts), draws
 * them (render.ts) and judges them (verdicts.ts). The list of figures is src/figures/index.ts.
 */
import type { ExecutorChoice } from '../executors/options.js';
import type { MetricsRow } from '../../train/metrics.js';

export type Preset = 'quick' | 'default' | 'full';
export const PRESETS: readonly Preset[] = ['quick', 'default', 'full'];

/** The --help sentences of a figure's presets (each preset carries its own `text`). */
export function presetTexts(presets: Record<Preset, { text: string }>): Record<Preset, string> {
  return { quick: presets.quick.text, default: presets.default.text, full: presets.full.text };
}

/** Progress of a figure's runs; the runner calls it, the command decides how it shows (bars, JSON, nothing). */
export interface FigureProgress {
  /** a run starts (or resumes with `doneEpochs` already recorded); `totalEpochs` counts epoch 0 */
  runStart(run: string, totalEpochs: number, doneEpochs: number): void;
  /** one epoch of a run finished */
  epoch(run: string, row: MetricsRow, totalEpochs: number): void;
  /** a run ended: finished, skipped (already done before) or failed with `error` */
  runEnd(run: string, status: 'done' | 'skipped' | 'failed', error?: string): void;
  /** a line of information (e.g. 'wrote figures-out/figure-5/figure-5.png') */
  note(message: string): void;
  stop(): void;
}

export interface FigureContext {
  preset: Preset;
  /** the output root; a figure writes `<outDir>/figure-<id>/` */
  outDir: string;
  /** child processes at once */
  jobs: number;
  quiet: boolean;
  json: boolean;
  /** replace a figure folder made with another preset or run list */
  force: boolean;
  /** passed on to `train --backend` ('auto' passes nothing) */
  backend: string;
  /** kill a run that records no epoch for this many seconds (0: never); default per preset (runner.ts) */
  stallSeconds?: number;
  /** where the runs train: child processes here (default) or a Slurm job array (src/figures/executors/) */
  executor?: ExecutorChoice;
  progress: FigureProgress;
}

/** What a figure hands back to the command. */
export interface FigureResult {
  dir: string;
  files: string[];
  /** runs that failed (with their last error line); the figure is drawn from what exists */
  failed: { run: string; error: string }[];
  verdicts: { claim: string; supported: boolean | null; evidence: string }[];
}

export interface FigureDefinition {
  id: string;
  title: string;
  /** what each preset runs, in a sentence (for --help and the docs) */
  presets: Record<Preset, string>;
  run(ctx: FigureContext): Promise<FigureResult>;
}
