/**
 * `reproduce --figure layers`: the MI between every pair of hidden layers over training (`train --mi-layers
 * all`), for the four architectures of Hodas & Stinis's Figure 5 (MLP, S, Res, S Res) at one width. The paper
 * speaks of the MI "between successive layers" but shows first-to-last only; this draws each network's whole
 * matrix at a few epochs (the first, the second, one midway and the last with MI), one colour scale for all.
 * Writes <outDir>/figure-layers/: figure-layers.svg/.png, data.csv + data.json (one row per run, epoch and
 * pair), verdicts.md (the data-processing check below), runs/<run>/ (each with its mi-layers.csv).
 */
import { join } from 'node:path';
import type { Arch } from '../../models/hodas.js';
import { type MiLayerRow, readMiLayers } from '../../train/mi-layers.js';
import { writeData } from '../pipeline/data.js';
import { type FigureContext, type FigureDefinition, type FigureResult, type Preset } from '../pipeline/figure.js';
import { writeChart } from '../pipeline/render.js';
import { type RunOutcome, type RunSpec, runAll } from '../pipeline/runner.js';
import { type Claim, fmt, writeVerdicts } from '../pipeline/verdicts.js';
import { layersSpec, type MatrixCell } from './chart.js';

export const ARCH_LABELS: Record<Arch, string> = { mlp: 'MLP', shortcut: 'S', residual: 'Res', 'shortcut-residual': 'S Res' };
const ARCHS: Arch[] = ['mlp', 'shortcut', 'residual', 'shortcut-residual'];

interface LayersPlan {
  width: number;
  depth: number;
  seeds: number[];
  epochs: number;
  /** `train` flags beyond arch, width, depth, seed (no dashes) */
  options: Record<string, string | number | boolean>;
  text: string;
}

/** The presets in one place: depth 5 (10 pairs per MI epoch), as Figure 5. */
export const LAYERS_PRESETS: Record<Preset, LayersPlan> = {
  quick: {
    width: 8,
    depth: 5,
    seeds: [0],
    epochs: 3,
    options: { 'limit-train': 2000, 'limit-val': 500, 'batch-size': 200 },
    text: 'MLP, S, Res, S Res at W=8, depth 5; 3 epochs of minibatches of 200 on 2,000 training images; MI between every pair of layers over 500 validation images',
  },
  default: {
    width: 32,
    depth: 5,
    seeds: [0],
    epochs: 100,
    // 10 pairs of 64- to 128-dim layers at N = 10,000 cost ~10 estimates an MI epoch (bench/README.md): every 5th epoch
    options: { 'mi-every': 5, 'mi-samples': 10000 },
    text: 'MLP, S, Res, S Res at W=32, depth 5; 100 full-batch epochs on 40,000 training images; MI between every pair of layers every 5 epochs over the first 10,000 validation images',
  },
  full: {
    width: 64,
    depth: 5,
    seeds: [0, 1, 2],
    epochs: 200,
    options: { 'mi-every': 5 },
    text: 'MLP, S, Res, S Res at W=64, depth 5, seeds 0-2; 200 full-batch epochs; MI between every pair of layers every 5 epochs over all 30,000 validation images',
  },
};

interface LayersRun {
  arch: Arch;
  width: number;
  depth: number;
  seed: number;
}

const runName = (r: LayersRun): string => `${r.arch}-w${r.width}-d${r.depth}-s${r.seed}`;
const networkLabel = (r: LayersRun, seeds: number): string => `${ARCH_LABELS[r.arch]} W=${r.width}${seeds > 1 ? ` seed ${r.seed}` : ''}`;

export function layersRuns(preset: Preset): LayersRun[] {
  const p = LAYERS_PRESETS[preset];
  return ARCHS.flatMap((arch) => p.seeds.map((seed) => ({ arch, width: p.width, depth: p.depth, seed })));
}

export function layersSpecOf(r: LayersRun, preset: Preset): RunSpec {
  const p = LAYERS_PRESETS[preset];
  return {
    name: runName(r),
    command: 'train',
    epochs: p.epochs,
    options: { arch: r.arch, width: r.width, depth: r.depth, seed: r.seed, 'mi-workers': 1, 'mi-layers': 'all', ...p.options },
  };
}

/** Up to four epochs with MI: the first, the second, one midway and the last. */
export function shownEpochs(epochs: number[]): number[] {
  const e = [...new Set(epochs)].sort((a, b) => a - b);
  if (e.length <= 4) return e;
  return [...new Set([e[0], e[1], e[Math.floor((e.length - 1) / 2)], e[e.length - 1]])];
}

/**
 * The data-processing inequality: in an MLP every layer is a function of the one before, so I(1; L) can be
 * no larger than I(1; 2). The estimator is biased, so this checks it too (1 / 16 bit of slack).
 */
export function dataProcessingClaim(mlpRows: MiLayerRow[], depth: number): Claim {
  const claim = `MLP: I(layer 1; layer ${depth}) <= I(layer 1; layer 2) at every MI epoch (data-processing inequality; 0.0625 bits of slack for the estimator)`;
  const epochs = [...new Set(mlpRows.map((r) => r.epoch))];
  if (epochs.length === 0) return { claim, supported: null, evidence: 'no MLP rows with MI' };
  const at = (e: number, a: number, b: number) => mlpRows.find((r) => r.epoch === e && r.layer_a === a && r.layer_b === b)?.mi;
  const broken = epochs.filter((e) => (at(e, 1, depth) ?? -Infinity) > (at(e, 1, 2) ?? Infinity) + 0.0625);
  const last = epochs[epochs.length - 1];
  return {
    claim,
    supported: broken.length === 0,
    evidence: `${epochs.length - broken.length} of ${epochs.length} MI epochs hold it; last epoch ${last}: I(1;${depth}) = ${fmt(at(last, 1, depth) ?? NaN)}, I(1;2) = ${fmt(at(last, 1, 2) ?? NaN)} bits${broken.length ? `; broken at epochs ${broken.join(', ')}` : ''}`,
  };
}

export const DATA_COLUMNS = ['run', 'network', 'arch', 'width', 'depth', 'seed', 'epoch', 'layer_a', 'layer_b', 'mi', 'seconds'] as const;

export async function runLayersFigure(ctx: FigureContext): Promise<FigureResult> {
  const figureDir = join(ctx.outDir, 'figure-layers');
  const plan = LAYERS_PRESETS[ctx.preset];
  const runs = layersRuns(ctx.preset);
  const outcomes: RunOutcome[] = await runAll('layers', figureDir, runs.map((r) => layersSpecOf(r, ctx.preset)), ctx);
  const networks = runs.map((r) => networkLabel(r, plan.seeds.length));
  const perRun = runs.map((r, i) => ({ run: r, network: networks[i], rows: readMiLayers(outcomes[i].dir) }));
  const data = perRun.flatMap(({ run, network, rows }) =>
    rows.map((x) => ({ run: runName(run), network, arch: run.arch, width: run.width, depth: run.depth, seed: run.seed, epoch: x.epoch, layer_a: x.layer_a, layer_b: x.layer_b, mi: x.mi, seconds: x.seconds })),
  );
  const files = writeData(figureDir, data, { columns: DATA_COLUMNS, extra: { figure: 'layers', preset: ctx.preset, runs: runs.map((r) => layersSpecOf(r, ctx.preset)) } });
  const epochs = shownEpochs(data.map((d) => d.epoch));
  const cells: MatrixCell[] = data
    .filter((d) => epochs.includes(d.epoch))
    .flatMap((d) => [
      { network: d.network, epoch: d.epoch, row: d.layer_a, col: d.layer_b, mi: d.mi },
      { network: d.network, epoch: d.epoch, row: d.layer_b, col: d.layer_a, mi: d.mi },
    ]);
  const chart = await writeChart(layersSpec(cells, networks, `MI between hidden layers (bits) over training, depth ${plan.depth}, preset ${ctx.preset}`), join(figureDir, 'figure-layers'));
  files.push(chart.svg, chart.png);
  const mlp = perRun.find((p) => p.run.arch === 'mlp');
  const claims = [dataProcessingClaim(mlp?.rows ?? [], plan.depth)];
  const verdicts = join(figureDir, 'verdicts.md');
  writeVerdicts(verdicts, 'MI between layers: checks', claims, [
    `Preset '${ctx.preset}': ${plan.text}.`,
    'Hodas & Stinis show the MI between the first and last hidden layers only; this figure has no claim of theirs to judge. Layers are numbered 1 (first hidden) to L (last); each is its own tanh output, before any residual sum.',
  ]);
  files.push(verdicts);
  for (const f of files) ctx.progress.note(`wrote ${f}`);
  return { dir: figureDir, files, failed: outcomes.filter((o) => o.status === 'failed').map((o) => ({ run: o.spec.name, error: o.error ?? 'failed' })), verdicts: claims };
}

export const FIGURE_LAYERS: FigureDefinition = {
  id: 'layers',
  title: 'MI between every pair of hidden layers over training (the Figure 5 architectures)',
  presets: { quick: LAYERS_PRESETS.quick.text, default: LAYERS_PRESETS.default.text, full: LAYERS_PRESETS.full.text },
  run: runLayersFigure,
};
