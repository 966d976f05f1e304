/**
 * Every figure `reproduce --figure ID` knows, in one list: each paper's folder exports its definitions
 * (a spec of runs, claims and charts over the one runner in pipeline/).
 */
import { usageError } from '../errors.js';
import { DVCNN_FIGURES } from './dvcnn/figures.js';
import { FIGURE_4 } from './hodas-stinis/fig4.js';
import { FIGURE_5 } from './hodas-stinis/fig5.js';
import { FIGURE_LAYERS } from './layers/figure.js';
import { FIGURE_5_SENSITIVITY } from './hodas-stinis/fig5-sensitivity.js';
import type { FigureDefinition } from './pipeline/figure.js';

export const FIGURES: readonly FigureDefinition[] = [FIGURE_4, FIGURE_5, FIGURE_5_SENSITIVITY, ...DVCNN_FIGURES, FIGURE_LAYERS];

export function figureIds(): string[] {
  return FIGURES.map((f) => f.id);
}

/** The figure with this id, or a usage error that lists the known ones. */
export function getFigure(id: string): FigureDefinition {
  const def = FIGURES.find((f) => f.id === id);
  if (!def) throw usageError('--figure', `unknown figure '${id}'; known figures: ${figureIds().join(', ')}`);
  return def;
}

export type { FigureContext, FigureDefinition, FigureProgress, FigureResult, Preset } from './pipeline/figure.js';
export { type RunOutcome, type RunSpec, runAll } from './pipeline/runner.js';
export { type Claim, formatVerdicts, writeVerdicts } from './pipeline/verdicts.js';
export { fontFiles, svgToPng, toSvg, writeChart } from './pipeline/render.js';
