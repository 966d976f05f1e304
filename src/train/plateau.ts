/**
 * When a run has converged (`train --until-plateau`): its validation error has gained less than
 * PLATEAU.minGain over the last PLATEAU.window of its epochs, checked from PLATEAU.minEpochs on. The
 * gain is the best error before the window minus the best error so far, so one noisy epoch neither
 * stops a run nor keeps it going; `--epochs` stays the cap. Nor does a run stop while its last epoch is more
 * than PLATEAU.spike above the window's median: full-batch RMSprop spikes now and then (training error 0.2 % ->
 * 3 % and back within a few epochs), and the first Figure 5 rerun under this rule stopped Res W = 32 seed 5 at
 * epoch 279 inside one, 7.28 % against 4.6 % before it. (The median, not the best: a run whose error has settled
 * above its best, as an overfitting one, still stops.)
 */
import { median } from '../stats/median.js';

export const PLATEAU = {
  /** the trailing share of the epochs so far that must bring the gain */
  window: 0.2,
  /** 0.1 percentage points of validation error */
  minGain: 0.001,
  /** no run stops before this epoch (a window of 10 epochs at the earliest) */
  minEpochs: 50,
  /** nor while its last epoch's error is more than this above the window's median (0.5 percentage points) */
  spike: 0.005,
} as const;

export type PlateauRule = { window: number; minGain: number; minEpochs: number; spike: number };

/** Whether the run whose validation errors by epoch (index = epoch, 0 = untrained) are `valErrors` has plateaued. */
export function plateaued(valErrors: readonly number[], rule: PlateauRule = PLATEAU): boolean {
  const epoch = valErrors.length - 1;
  if (epoch < rule.minEpochs) return false;
  const windowStart = Math.floor((1 - rule.window) * epoch);
  let bestBefore = Infinity;
  let best = Infinity;
  for (let e = 0; e <= epoch; e++) {
    if (e <= windowStart) bestBefore = Math.min(bestBefore, valErrors[e]);
    best = Math.min(best, valErrors[e]);
  }
  return bestBefore - best < rule.minGain && valErrors[epoch] - median(valErrors.slice(windowStart + 1)) <= rule.spike;
}

/**
 * Whether every one of a run's validation-error series (e.g. one per BatchNorm evaluation mode, index = epoch;
 * missing values as Infinity) has plateaued: one evaluation that stalls while another still falls does not stop it.
 */
export function allPlateaued(series: readonly (readonly number[])[], rule: PlateauRule = PLATEAU): boolean {
  return series.every((errs) => plateaued(errs, rule));
}
