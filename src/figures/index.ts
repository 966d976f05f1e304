/**
 * The figures module's public surface. Importing it registers every figure: add one import line per
 * figure module here (each calls registerFigure).
 */
import './fig4.js';
import './fig5.js';
import '../vc/figures.js';

export { type Claim, formatVerdicts, writeVerdicts } from './verdicts.js';
export { fontFiles, svgToPng, toSvg, writeChart } from './render.js';
export { type FigureContext, type FigureDefinition, type FigureProgress, type FigureResult, type MetricsRow, type Preset, figureIds, getFigure, registerFigure } from './registry.js';
export { type RunOutcome, type RunSpec, readMetrics, runAll } from './runner.js';
export { type Trace, dataRows, trajectoryPanel, sideBySide, alone, writeData } from './traces.js';
