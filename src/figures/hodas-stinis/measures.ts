/**
 * The measurements the claims of Figures 4 and 5 make on one run (a trace of epochs): MI at the start and
 * the end, the smoothed MI peak, the final test error, training speed, the share of the error drop made in
 * the first epoch, and how the error's fall rate goes with the MI. Each returns undefined when the run
 * lacks the epochs it needs, so that a claim can say which runs were too short.
 */
import { spearman } from '../../stats/correlation.js';
import { median } from '../../stats/median.js';
import { centredMovingAverage, smoothedPeak } from '../../stats/smoothing.js';

/** One epoch of a run as the claims read it (a metrics row, or a variant's view of one). */
export interface ClaimRow {
  epoch: number;
  valError: number;
  mi: number | null;
  /** half-width (bits) of the MI point's noise band; null or absent when not measured */
  miBand?: number | null;
}

/** One run as the claims read it (a figure's Trace fits). */
export interface ClaimRun {
  run: string;
  panel: string;
  arch: string;
  width: number;
  depth: number;
  seed: number;
  rows: readonly ClaimRow[];
}

/** Points of the centred moving average the MI peaks are read from: 2 on each side (5 points). */
export const PEAK_SMOOTHING = 2;
/** The test error "training speed" is measured at: epochs until the test error is first at most this. */
export const SPEED_LEVEL = 0.1;

export function miSeries(t: ClaimRun): { epoch: number; mi: number }[] {
  return t.rows.filter((r) => r.mi !== null && Number.isFinite(r.mi)).map((r) => ({ epoch: r.epoch, mi: r.mi as number }));
}

/** Noise-band half-widths of the run's MI points that have one. */
export function miBands(t: ClaimRun): number[] {
  return t.rows.filter((r) => r.mi !== null && typeof r.miBand === 'number' && Number.isFinite(r.miBand)).map((r) => r.miBand as number);
}

/** MI after the first training epoch: what the paper's plots show as a net's start (epoch 0 is untrained). */
export function miStart(t: ClaimRun): number | undefined {
  return miSeries(t).find((p) => p.epoch === 1)?.mi;
}

/** MI at the run's last epoch (always measured). */
export function miEnd(t: ClaimRun): number | undefined {
  const s = miSeries(t);
  const last = t.rows[t.rows.length - 1];
  return s.length > 0 && last && s[s.length - 1].epoch === last.epoch ? s[s.length - 1].mi : undefined;
}

/**
 * The share of a run's last epochs whose median test error is its final error. Full-batch RMSprop spikes now and
 * then (training error 0.2 % -> 3 % and back within a few epochs), and a run can end inside one: in Figure 4's
 * default run 14 of 60 runs ended more than 0.5 points off the median of their last 15 epochs (MLP W = 32 seed 4:
 * 7.78 % at epoch 300, median 4.59 %).
 */
export const FINAL_SHARE = 0.05;

/** The median test error over the run's last FINAL_SHARE of its epochs (at least the last one). */
export function finalError(t: ClaimRun): number | undefined {
  if (t.rows.length === 0) return undefined;
  const last = t.rows[t.rows.length - 1].epoch;
  const window = Math.max(1, Math.round(FINAL_SHARE * last));
  return median(t.rows.filter((r) => r.epoch > last - window).map((r) => r.valError));
}

/** The smoothed MI peak with its rise from the untrained net and its drop to the end; needs 5 MI points. */
export function miPeak(t: ClaimRun): { epoch: number; value: number; rise: number; drop: number } | undefined {
  const s = miSeries(t);
  if (s.length < 2 * PEAK_SMOOTHING + 1 || s[0].epoch !== 0) return undefined;
  const p = smoothedPeak(s.map((x) => x.mi), PEAK_SMOOTHING);
  return { epoch: s[p.index].epoch, value: p.value, rise: p.rise, drop: p.drop };
}

/**
 * Smoothed MI at the peak minus smoothed MI at the most accurate epoch (lowest smoothed test error among
 * the MI epochs): positive when the net is most accurate below its MI peak.
 */
export function miPeakAboveBest(t: ClaimRun): number | undefined {
  const rows = t.rows.filter((r) => r.mi !== null && Number.isFinite(r.mi));
  if (rows.length < 2 * PEAK_SMOOTHING + 1) return undefined;
  const mi = centredMovingAverage(rows.map((r) => r.mi as number), PEAK_SMOOTHING);
  const err = centredMovingAverage(rows.map((r) => r.valError), PEAK_SMOOTHING);
  let peak = 0;
  let best = 0;
  for (let i = 1; i < rows.length; i++) {
    if (mi[i] > mi[peak]) peak = i;
    if (err[i] < err[best]) best = i;
  }
  return mi[peak] - mi[best];
}

/** Epochs until the test error is first at most `level`; a run that never gets there counts its length + 1. */
export function epochsToError(t: ClaimRun, level = SPEED_LEVEL): number | undefined {
  if (t.rows.length < 2) return undefined;
  const hit = t.rows.find((r) => r.valError <= level);
  return hit ? hit.epoch : t.rows[t.rows.length - 1].epoch + 1;
}

/** Share of the run's whole test-error drop (epoch 0 to the end) made by the first epoch. */
export function firstEpochShare(t: ClaimRun): number | undefined {
  const e0 = t.rows.find((r) => r.epoch === 0)?.valError;
  const e1 = t.rows.find((r) => r.epoch === 1)?.valError;
  const eN = finalError(t);
  if (e0 === undefined || e1 === undefined || eN === undefined || t.rows[t.rows.length - 1].epoch < 2 || !(e0 > eN)) return undefined;
  return (e0 - e1) / (e0 - eN);
}

/**
 * Spearman's rho between the MI and the test error's fall rate, over the steps between consecutive MI
 * epochs (rate = error drop per epoch over the step, MI = the mean of its two ends): positive when the
 * error falls fastest at high MI ("a high slope at high MI, a low slope at low MI"). Needs 4 steps.
 */
export function slopeMiCorrelation(t: ClaimRun): number | undefined {
  const rows = t.rows.filter((r) => r.mi !== null && Number.isFinite(r.mi));
  if (rows.length < 5) return undefined;
  const mis: number[] = [];
  const rates: number[] = [];
  for (let i = 1; i < rows.length; i++) {
    const [a, b] = [rows[i - 1], rows[i]];
    mis.push(((a.mi as number) + (b.mi as number)) / 2);
    rates.push((a.valError - b.valError) / (b.epoch - a.epoch));
  }
  const rho = spearman(mis, rates);
  return Number.isFinite(rho) ? rho : undefined;
}
