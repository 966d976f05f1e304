/** The check of a shuffle count, shared by the API and the CLI; no estimator import, so the CLI's checks stay fast. */
import { usageError } from '../errors.js';

/** More shuffles than this resolve p-values below 1e-5, which no KSG bias analysis supports; refused. */
export const MAX_PERMUTATIONS = 100_000;

/** The one check of a shuffle count, for the API (`permutations`) and the CLI (`--permutations`). */
export function checkPermutations(value: unknown, option = 'permutations'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_PERMUTATIONS) {
    throw usageError(
      option,
      `must be an integer from 1 to ${MAX_PERMUTATIONS} (shuffles of Y; 1000 resolves p-values down to 0.001); got ${typeof value === 'string' ? `'${value}'` : String(value)}`,
    );
  }
  return value;
}
