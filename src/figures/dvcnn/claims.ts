/**
 * The claims of Unterthiner & Hochreiter (section 3, Figures 1-3) as effects measured once per seed (or per
 * run), each judged three-way by src/stats: a 95 % t interval over the values, then `decide` under the part's
 * rule, and a claim holds when all its parts do (`allOf`). verdicts.ts writes the table.
 */
import { describeOptimiser } from '../../train/dvcnn-config.js';
import type { LayerStats } from '../../train/dvcnn.js';
import type { MetricsRow } from '../../train/metrics.js';
import type { FinishedRun } from './runs.js';

export type Unit = 'points' | 'activation' | 'share';

/** One measured effect of a claim: its values, the side the paper puts it on, and its rule's numbers. */
export interface ClaimPart {
  label: string;
  unit: Unit;
  side: 1 | -1;
  /** the smallest effect on the paper's side that supports it */
  threshold: number;
  /** an interval within ±margin does not support it */
  margin: number;
  values: { key: string; value: number }[];
  /** seeds or runs that could not be measured (failed, too short, a partner missing) */
  missing: string[];
}

export interface DvcnnClaim {
  id: string;
  claim: string;
  quote: string;
  section: string;
  /** the runs the parts come from, in words */
  conditions: string;
  parts: ClaimPart[];
  /**
   * how many leading parts are preconditions (e.g. "the net learned" for a claim about trained nets): unless
   * they are supported the claim cannot be tested here and is inconclusive, whatever the other parts say
   */
  preconditions?: number;
}

/** Training errors within this of each other count as no difference (0.5 points). */
export const ERROR_MARGIN = 0.005;
/** A net "trains" when its training error falls by more than this below the untrained net's (5 points). */
export const TRAINS_MARGIN = 0.05;
/** A net has "learned" (converged somewhere useful) when its training error fell by more than 10 points. */
export const LEARNED_MARGIN = 0.1;
/** The paper's height of the untrained drift at layer 100. */
export const PAPER_DRIFT_HEIGHT = 70;
/** |f| below this counts as "pushed to zero". */
export const NEAR_ZERO = 0.05;

const finiteRows = (rows: MetricsRow[]) => rows.filter((r) => Number.isFinite(r.trainError));

/** Training error of the untrained net minus the best after training (> 0: it fell); undefined when unmeasured. */
export function errorFall(rows: MetricsRow[]): number | undefined {
  const trained = finiteRows(rows).filter((r) => r.epoch > 0);
  if (rows.length === 0 || trained.length === 0) return undefined;
  return rows[0].trainError - Math.min(...trained.map((r) => r.trainError));
}

/** The best training error after epoch 0. */
export function bestTrainError(rows: MetricsRow[]): number | undefined {
  const trained = finiteRows(rows).filter((r) => r.epoch > 0);
  return trained.length ? Math.min(...trained.map((r) => r.trainError)) : undefined;
}

/** A loss that stopped being finite (NaN or infinite) at some epoch. */
export function numericalProblem(rows: MetricsRow[]): boolean {
  return rows.some((r) => !Number.isFinite(r.trainLoss) || r.trainLoss === null);
}

const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const topMeanY = (s: LayerStats[]) => s[s.length - 1].meanY;
const shareNearZero = (s: LayerStats[]) => meanOf(s.map((x) => x.nearZero));

/** One value per run that `measure` can measure; the others are listed as missing. */
function perRun(runs: FinishedRun[], measure: (r: FinishedRun) => number | undefined): Pick<ClaimPart, 'values' | 'missing'> {
  const out: Pick<ClaimPart, 'values' | 'missing'> = { values: [], missing: [] };
  for (const r of runs) {
    const v = r.failed ? undefined : measure(r);
    if (v === undefined || !Number.isFinite(v)) out.missing.push(r.name);
    else out.values.push({ key: r.name, value: v });
  }
  return out;
}

/** Per seed, `combine` of the values `measure` gives each group of runs of that seed (all must be measured). */
function perSeed(groups: FinishedRun[][], measure: (r: FinishedRun) => number | undefined, combine: (means: number[]) => number): Pick<ClaimPart, 'values' | 'missing'> {
  const seeds = [...new Set(groups.flat().map((r) => r.config.seed))].sort((a, b) => a - b);
  const out: Pick<ClaimPart, 'values' | 'missing'> = { values: [], missing: [] };
  for (const seed of seeds) {
    const means = groups.map((g) => {
      const vs = g.filter((r) => r.config.seed === seed).map((r) => (r.failed ? undefined : measure(r)));
      return vs.length && vs.every((v) => v !== undefined && Number.isFinite(v)) ? meanOf(vs as number[]) : undefined;
    });
    if (means.some((m) => m === undefined)) out.missing.push(`seed ${seed}`);
    else out.values.push({ key: `seed ${seed}`, value: combine(means as number[]) });
  }
  return out;
}

function describe(runs: FinishedRun[], extra = ''): string {
  if (runs.length === 0) return 'no runs';
  const c = runs[0].config;
  const seeds = [...new Set(runs.map((r) => r.config.seed))];
  const opt = describeOptimiser(c);
  const images = `${c.limitTrain ?? 10_000} training / ${c.limitVal ?? 2_000} validation images`;
  return `${c.width} units, ${extra}${opt}, batch ${c.batchSize}, ${images}, ${c.stop === 'plateau' ? `until the validation error plateaus (at most ${c.epochs} epochs)` : `${c.epochs} epochs`}, ${seeds.length} seed${seeds.length === 1 ? '' : 's'} (${seeds.join(', ')})`;
}

/** vc1 (Figure 1): every depth trains; deeper nets reach lower training error. */
export function vc1Claims(runs: FinishedRun[]): DvcnnClaim[] {
  const depths = [...new Set(runs.map((r) => r.config.depth))].sort((a, b) => a - b);
  const at = (d: number) => runs.filter((r) => r.config.depth === d);
  const c0 = runs[0]?.config;
  const net = c0 ? `${c0.activation}, bias ${c0.biasInit}, depths ${depths.join('/')}, ` : '';
  const [shallow, deep] = [depths[0], depths[depths.length - 1]];
  return [
    {
      id: 'vc1-trains',
      claim: 'DVCNNs of every depth train: the training error falls (no vanishing gradients)',
      quote: 'a DVCNN can easily be trained even with hundreds or thousands of layers, showing no signs of vanishing gradients at all',
      section: '3.1',
      conditions: describe(runs, net),
      parts: depths.map((d) => ({ label: `${d} layers: untrained minus best training error, per seed`, unit: 'points', side: 1, threshold: TRAINS_MARGIN, margin: TRAINS_MARGIN, ...perRun(at(d), (r) => errorFall(r.rows)) })),
    },
    {
      id: 'vc1-deeper',
      claim: 'deeper nets reach a lower training error',
      quote: 'deeper networks seemed to reach a lower training error',
      section: '3.1',
      conditions: describe(runs, net),
      parts:
        depths.length < 2
          ? []
          : [{ label: `best training error, ${deep} minus ${shallow} layers, per seed`, unit: 'points', side: -1, threshold: 0, margin: ERROR_MARGIN, ...perSeed([at(deep), at(shallow)], (r) => bestTrainError(r.rows), ([a, b]) => a - b) }],
    },
  ];
}

/** The drift claims of Figure 2 about the untrained net (the same for plain and centred runs: same init). */
function untrainedDrift(drift: FinishedRun[]): DvcnnClaim {
  const L = drift[0]?.config.depth ?? 0;
  return {
    id: 'vc2-drift-untrained',
    claim: `untrained, the mean activation grows with depth, to over ${PAPER_DRIFT_HEIGHT} at layer 100`,
    quote: 'the untrained network suffers heavily from the drift effect, with the average value increasing from 0 in the initial layer up to over 70 at the highest layer',
    section: '3.2, Figure 2',
    conditions: describe(drift, `${L} layers, sigmoid, bias -2, before training, `),
    parts: [
      { label: `mean of y, layer ${L} minus layer 1, per seed`, unit: 'activation', side: 1, threshold: 1, margin: 1, ...perRun(drift, (r) => (r.statsBefore.length ? topMeanY(r.statsBefore) - r.statsBefore[0].meanY : undefined)) },
      {
        label: `mean of y at layer ${L} minus ${PAPER_DRIFT_HEIGHT}, per seed${L < 100 ? ' (fewer than 100 layers: not measured)' : ''}`,
        unit: 'activation',
        side: 1,
        threshold: 0,
        margin: 0,
        ...(L < 100 ? { values: [], missing: drift.map((r) => r.name) } : perRun(drift, (r) => (r.statsBefore.length ? topMeanY(r.statsBefore) - PAPER_DRIFT_HEIGHT : undefined))),
      },
    ],
  };
}

function learnedPart(runs: FinishedRun[]): ClaimPart {
  return { label: 'the net learned: untrained minus best training error, per seed', unit: 'points', side: 1, threshold: LEARNED_MARGIN, margin: LEARNED_MARGIN, ...perRun(runs, (r) => errorFall(r.rows)) };
}

const optimiser = (runs: FinishedRun[]) => (runs[0]?.config.center === 'all' ? 'centred SGD (ablation)' : 'plain SGD');

/** Figure 2 after training: the drift much less pronounced (top-layer mean below half of before). */
function trainedDrift(runs: FinishedRun[]): DvcnnClaim {
  const L = runs[0]?.config.depth ?? 0;
  return {
    id: `vc2-drift-trained-${runs[0]?.role ?? 'none'}`,
    claim: `after training (${optimiser(runs)}) the drift is much less pronounced: the top layer's mean of y below half of before`,
    quote: 'After the network has trained, the drift effect is still noticeable, but much less pronounced',
    section: '3.2, Figure 2',
    conditions: describe(runs, `${L} layers, sigmoid, bias -2, `),
    preconditions: 1,
    parts: [
      learnedPart(runs),
      {
        label: `mean of y at layer ${L}, after / before training, minus 0.5, per seed`,
        unit: 'share',
        side: -1,
        threshold: 0,
        margin: 0,
        ...perRun(runs, (r) => (r.statsBefore.length && r.statsAfter.length ? topMeanY(r.statsAfter) / topMeanY(r.statsBefore) - 0.5 : undefined)),
      },
    ],
  };
}

/** Figure 3: most non-linearities pushed to zero after training. */
function pushedToZero(runs: FinishedRun[]): DvcnnClaim {
  const L = runs[0]?.config.depth ?? 0;
  const measured = (r: FinishedRun) => r.statsBefore.length > 0 && r.statsAfter.length > 0;
  return {
    id: `vc3-zero-${runs[0]?.role ?? 'none'}`,
    claim: `trained nets (${optimiser(runs)}) push most non-linearities to zero: more than half of f below ${NEAR_ZERO}, more than before`,
    quote: 'the network has learned to push most non-linearities to zero, only activating certain non-linearities when a given signal is presented',
    section: '3.2, Figure 3',
    conditions: describe(runs, `${L} layers, sigmoid, bias -2, `),
    preconditions: 1,
    parts: [
      learnedPart(runs),
      { label: `share of f < ${NEAR_ZERO} after training (all layers) minus 0.5, per seed`, unit: 'share', side: 1, threshold: 0, margin: 0, ...perRun(runs, (r) => (measured(r) ? shareNearZero(r.statsAfter) - 0.5 : undefined)) },
      { label: `share of f < ${NEAR_ZERO}, after minus before, per seed`, unit: 'share', side: 1, threshold: 0.05, margin: 0.05, ...perRun(runs, (r) => (measured(r) ? shareNearZero(r.statsAfter) - shareNearZero(r.statsBefore) : undefined)) },
    ],
  };
}

const initRuns = (runs: FinishedRun[], activation: string, biases?: number[]) =>
  runs.filter((r) => r.role === 'init' && r.config.activation === activation && (biases === undefined || biases.includes(r.config.biasInit)));

/** Section 3.2's claims on activations and bias inits, from the init runs. */
function initClaims(runs: FinishedRun[]): DvcnnClaim[] {
  const all = runs.filter((r) => r.role === 'init');
  const L = all[0]?.config.depth ?? 0;
  const relu = initRuns(all, 'relu');
  const testError = (r: FinishedRun) => r.test?.testError;
  const nTest = all.find((r) => r.test)?.test?.n ?? all[0]?.config.limitTest ?? 0;
  const biasPart = (activation: string, other: number[], name: string): ClaimPart => ({
    label: `${activation}: test error at bias ${name} minus at ±2 (mean of -2 and +2), per seed`,
    unit: 'points',
    side: 1,
    threshold: 0,
    margin: ERROR_MARGIN,
    ...perSeed([initRuns(all, activation, other), initRuns(all, activation, [-2, 2])], testError, ([a, b]) => a - b),
  });
  return [
    {
      id: 'vc2-relu',
      claim: 'ReLU DVCNNs run into numerical problems (a non-finite loss)',
      quote: 'Using DVCNNs with ReLU activation functions immediately leads to numerical problems',
      section: '3.2',
      conditions: describe(relu, `${L} layers, relu, bias ${relu[0]?.config.biasInit ?? 0}, `),
      parts: [{ label: 'non-finite loss (1) or not (0), minus 0.5, per seed', unit: 'share', side: 1, threshold: 0, margin: 0, ...perRun(relu, (r) => (r.rows.length ? Number(numericalProblem(r.rows)) - 0.5 : undefined)) }],
    },
    {
      id: 'vc2-sigmoid-tanh',
      claim: 'sigmoid and tanh DVCNNs train (training error falls by more than 5 points)',
      quote: 'both sigmoid and tanh activations worked nicely',
      section: '3.2',
      conditions: describe(all.filter((r) => r.config.activation !== 'relu'), `${L} layers, every bias init of the grid, `),
      parts: ['sigmoid', 'tanh'].map((a) => ({ label: `${a}: untrained minus best training error, mean over bias inits, per seed`, unit: 'points' as const, side: 1 as const, threshold: TRAINS_MARGIN, margin: TRAINS_MARGIN, ...perSeed([initRuns(all, a)], (r) => errorFall(r.rows), ([m]) => m) })),
    },
    {
      id: 'vc2-bias',
      claim: 'bias inits near ±2 (saturating) generalise best: lower test error than 0 and ±1',
      quote: 'a DVCNN would yield the best generalization performance when these non-linearities were initialized in their saturating regime. This was done by initializing the bias units to values such as ± 2',
      section: '3.2',
      conditions: describe(all.filter((r) => r.config.activation !== 'relu'), `${L} layers, test error on ${nTest.toLocaleString('en-US')} test images after the last epoch, `),
      parts: ['sigmoid', 'tanh'].flatMap((a) => [biasPart(a, [0], '0'), biasPart(a, [-1, 1], '±1 (mean)')]),
    },
  ];
}

/** vc2's claims: untrained drift, drift after plain SGD and after the centred ablation, and section 3.2's init claims. */
export function vc2Claims(runs: FinishedRun[]): DvcnnClaim[] {
  const drift = runs.filter((r) => r.role === 'drift');
  const centred = runs.filter((r) => r.role === 'drift-centred');
  return [untrainedDrift(drift), trainedDrift(drift), trainedDrift(centred), ...initClaims(runs)];
}

/** vc3's claims: non-linearities pushed to zero, after plain SGD and after the centred ablation. */
export function vc3Claims(runs: FinishedRun[]): DvcnnClaim[] {
  return [pushedToZero(runs.filter((r) => r.role === 'drift')), pushedToZero(runs.filter((r) => r.role === 'drift-centred'))];
}
