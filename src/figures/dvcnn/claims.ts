/**
 * The claims of Unterthiner & Hochreiter's Figures 1-3, each computed from the runs' metrics and layer
 * statistics (a verdict: supported, not supported, or inconclusive, with the numbers that decide).
 */
import type { MetricsRow } from '../../train/metrics.js';
import type { LayerStats } from '../../train/dvcnn.js';
import { type Claim, fmt, majority } from '../pipeline/verdicts.js';

const pct = (x: number) => `${fmt(100 * x, 1)}%`;

export function vc1Claims(runs: { depth: number; rows: MetricsRow[] }[]): Claim[] {
  const ok = runs.filter((r) => r.rows.length > 1);
  const fell = ok.filter((r) => {
    const first = r.rows[0].trainError;
    const best = Math.min(...r.rows.map((x) => x.trainError));
    return Number.isFinite(best) && best < first - 0.05;
  });
  const best = ok.map((r) => ({ depth: r.depth, err: Math.min(...r.rows.map((x) => x.trainError)) })).sort((a, b) => a.depth - b.depth);
  let pairs = 0;
  let agree = 0;
  for (let i = 0; i < best.length; i++) for (let j = i + 1; j < best.length; j++) {
    pairs++;
    if (best[j].err < best[i].err - 0.005) agree++;
  }
  const table = best.map((b) => `depth ${b.depth}: ${pct(b.err)}`).join(', ');
  return [
    {
      claim: 'DVCNNs of every depth train: the training error falls (no vanishing gradients, Figure 1)',
      supported: majority(fell.length, ok.length),
      evidence: `${fell.length} of ${ok.length} depths lowered their training error by more than 5 points below the untrained net's (best: ${table})`,
    },
    {
      claim: 'deeper nets reach a lower training error',
      supported: majority(agree, pairs),
      evidence: `${agree} of ${pairs} pairs of depths have the deeper net at least 0.5 points lower (best training error: ${table})`,
    },
  ];
}

/** Whether a run learned at all: its training error ended at least 10 points below the untrained net's. */
export function converged(rows: MetricsRow[]): boolean {
  return rows.length > 1 && rows[rows.length - 1].trainError < rows[0].trainError - 0.1;
}

/** vc2/vc3 phases: the untrained net, after centred SGD (it learns), after plain uncentred SGD (the control) */
export const PHASES = ['before training', 'after training', 'after plain SGD, no centring (control)'] as const;

/** The uncentred control run's end state, for the evidence lines. */
export interface Control {
  after: LayerStats[];
  rows: MetricsRow[];
}

function controlNote(c: Control | undefined, what: string): string {
  if (!c || c.after.length === 0) return '';
  const last = c.rows[c.rows.length - 1];
  return `; control, plain SGD without centring (lr 0.01, ${pct(last.trainError)} training error after ${last.epoch} epochs${converged(c.rows) ? '' : ': it did not learn'}): ${what}`;
}

export function vc2Claims(before: LayerStats[], after: LayerStats[], rows: MetricsRow[], control?: Control): Claim[] {
  if (before.length === 0 || after.length === 0) {
    return [{ claim: 'drift (Figure 2)', supported: null, evidence: 'the run did not finish' }];
  }
  const L = before.length;
  let rising = 0;
  for (let l = 1; l < L; l++) if (before[l].meanY > before[l - 1].meanY) rising++;
  const topB = before[L - 1].meanY;
  const topA = after[L - 1].meanY;
  const last = rows[rows.length - 1];
  const trained = `after ${last.epoch} epochs at ${pct(last.trainError)} training error (${pct(rows[0].trainError)} untrained)`;
  const learned = converged(rows);
  return [
    {
      claim: 'untrained, the mean activation grows from layer to layer (drift effect)',
      supported: majority(rising, L - 1) === true && topB > before[0].meanY + 1 ? true : rising <= 0.25 * (L - 1) ? false : null,
      evidence: `mean of y rises in ${rising} of ${L - 1} layer steps, from ${fmt(before[0].meanY)} (layer 1) to ${fmt(topB)} (layer ${L})`,
    },
    {
      claim: 'untrained, the top layer mean reaches over 70 (100 layers, 784 units)',
      supported: L < 100 ? null : topB > 70,
      evidence: `top layer mean ${fmt(topB)} at ${L} layers${L < 100 ? ' (fewer than the paper\'s 100 layers: not comparable)' : ''}; the height hardly depends on the width (docs/DVCNN.md) but on the weight init, which the paper does not give`,
    },
    {
      claim: 'after training the drift is still there but much less pronounced',
      supported: !learned ? null : topA < 0.5 * topB && topA > before[0].meanY ? true : topA >= 0.9 * topB ? false : null,
      evidence: `${learned ? '' : 'the net did not learn (training error within 10 points of chance), so this is not the paper\'s converged net: '}top layer mean ${fmt(topB)} before, ${fmt(topA)} after (${fmt((100 * topA) / topB, 0)}% of before), ${trained}${controlNote(control, control && control.after.length ? `top layer mean ${fmt(control.after[L - 1].meanY)} (${fmt((100 * control.after[L - 1].meanY) / topB, 0)}% of before)` : '')}`,
    },
  ];
}

export function vc3Claims(before: LayerStats[], after: LayerStats[], rows: MetricsRow[], control?: Control): Claim[] {
  if (before.length === 0 || after.length === 0) {
    return [{ claim: 'distribution of f (Figure 3)', supported: null, evidence: 'the run did not finish' }];
  }
  const L = before.length;
  const avg = (s: LayerStats[], k: keyof LayerStats) => s.reduce((a, x) => a + (x[k] as number), 0) / s.length;
  const zb = avg(before, 'nearZero');
  const za = avg(after, 'nearZero');
  let lower = 0;
  // a change below 0.01 (on f's 0..1 scale) does not count
  for (let l = 0; l < L; l++) if (after[l].q50 < before[l].q50 - 0.01) lower++;
  const last = rows[rows.length - 1];
  const learned = converged(rows);
  const caveat = learned ? '' : 'the net did not learn (training error within 10 points of chance), so this is not the paper\'s converged net: ';
  return [
    {
      claim: 'trained nets push most non-linearities to zero',
      supported: !learned ? null : za > 0.5 && za > zb + 0.05 ? true : za <= zb + 0.05 ? false : null,
      evidence: `${caveat}share of f < 0.05 over all layers: ${pct(zb)} before, ${pct(za)} after (${last.epoch} epochs, ${pct(last.trainError)} training error)${controlNote(control, control && control.after.length ? `${pct(avg(control.after, 'nearZero'))} after` : '')}`,
    },
    {
      claim: 'the typical (median) value of f falls with training',
      supported: learned ? majority(lower, L) : null,
      evidence: `${caveat}median of f lower by more than 0.01 after training in ${lower} of ${L} layers (mean median ${fmt(avg(before, 'q50'), 3)} -> ${fmt(avg(after, 'q50'), 3)})${controlNote(control, control && control.after.length ? `mean median ${fmt(avg(control.after, 'q50'), 3)}` : '')}`,
    },
  ];
}
