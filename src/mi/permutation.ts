/**
 * Significance of an MI estimate by permutations (the shuffle test of NPEET's shuffle_test and JIDT's
 * computeSignificance): Y's rows are shuffled P times with a seeded generator, which keeps both marginals and
 * destroys the dependence, and each shuffle is estimated like the original. The p-value is the share of
 * shuffles at or above the estimate with the +1 correction, (1 + #{null >= est}) / (1 + P) (Phipson & Smyth
 * 2010: never 0, and exact as a test at level alpha).
 *
 * What is reused between shuffles: the checked and converted inputs, one kernel memory and one worker pool (an
 * MIEstimator). The kernel's trees are rebuilt per shuffle: the joint tree changes with the pairing, and the
 * kernel keeps the marginal trees over Z's rows in joint-tree order (assembly/tree.ts), so they move with it;
 * bench/README.md ("mi-family") measures what that costs against P separate estimates.
 */
import { usageError } from '../errors.js';
import { checkSingleK } from './estimator-check.js';
import { checkPermutations } from './permutation-check.js';
import { selectRows, toMatrix, type Matrix, type MatrixInput } from '../matrix.js';
import { Xoshiro128 } from '../random.js';
import { MIEstimator, type MIOptions, type MIResult } from './index.js';

export { checkPermutations, MAX_PERMUTATIONS } from './permutation-check.js';

/** The null distribution of the estimate under shuffled pairings, in the estimate's units. */
export interface NullDistribution {
  permutations: number;
  /** seed of the shuffles (the shuffle generator is Xoshiro128(seed)) */
  seed: number;
  mean: number;
  /** sample standard deviation of the shuffled estimates (P - 1 in the denominator; 0 for P = 1) */
  sd: number;
  /** (1 + #{shuffled >= estimate}) / (1 + P); null when no estimate was given to compare (a baseline only) */
  pValue: number | null;
  /** every shuffle's estimate, in shuffle order */
  values: number[];
  /** seconds spent on the shuffles */
  seconds: number;
}

export interface PermutationResult extends MIResult {
  significance: NullDistribution;
}

export interface PermutationOptions extends MIOptions {
  /** shuffles of Y's rows, 1 to MAX_PERMUTATIONS */
  permutations: number;
}

/** What the shuffles need of an estimator: MIEstimator's estimate (a test may pass a counting wrapper). */
export interface Estimating {
  estimate(x: MatrixInput, y: MatrixInput, opts?: Omit<MIOptions, 'workers'>): Promise<MIResult>;
}

const asInput = (m: Matrix): MatrixInput => ({ data: m.data, shape: [m.n, m.d] });

/**
 * The estimates of `permutations` seeded shuffles of y's rows against x, on `estimator` (its pool and kernel
 * memory reused). Each shuffle reshuffles the last one's order: a uniform permutation, independent of the others.
 * `observedNats`, when given, is the unshuffled estimate the p-value compares against (else pValue is null).
 */
export async function shuffledEstimates(
  estimator: Estimating,
  x: Matrix,
  y: Matrix,
  opts: { permutations: number; seed: number; observedNats?: number; estimate?: Omit<MIOptions, 'workers' | 'onProgress'>; onEach?: () => void },
): Promise<NullDistribution> {
  const permutations = checkPermutations(opts.permutations);
  const t0 = performance.now();
  const rng = new Xoshiro128(opts.seed);
  const order = new Int32Array(y.n).map((_, i) => i);
  const values: number[] = [];
  let atOrAbove = 0;
  for (let p = 0; p < permutations; p++) {
    rng.shuffle(order);
    const r = await estimator.estimate(asInput(x), asInput(selectRows(y, order)), opts.estimate ?? {});
    // compared in nats: the units' division could round two different values to one
    if (opts.observedNats !== undefined && r.nats >= opts.observedNats) atOrAbove++;
    values.push(r.mi);
    opts.onEach?.();
  }
  const mean = values.reduce((a, b) => a + b, 0) / permutations;
  const sd = permutations > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (permutations - 1)) : 0;
  return {
    permutations,
    seed: opts.seed,
    mean,
    sd,
    pValue: opts.observedNats === undefined ? null : (1 + atOrAbove) / (1 + permutations),
    values,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Check the options, estimate I(X;Y), then its null over `permutations` shuffles of Y on one estimator. */
export async function permutationTestOn(estimator: Estimating, xIn: MatrixInput, yIn: MatrixInput, opts: Omit<PermutationOptions, 'workers'>): Promise<PermutationResult> {
  if (opts === null || typeof opts !== 'object') throw usageError('options', 'must be an object with permutations');
  const { permutations, onProgress, ...estimateOpts } = opts;
  checkPermutations(permutations);
  checkSingleK(estimateOpts.k, 'permutationTest');
  // the unshuffled estimate first: it checks x, y and every estimator option before any shuffle
  const observed = await estimator.estimate(xIn, yIn, estimateOpts);
  const x = toMatrix(xIn, 'x');
  const y = toMatrix(yIn, 'y');
  let done = 1;
  onProgress?.(done, permutations + 1);
  const significance = await shuffledEstimates(estimator, x, y, {
    permutations,
    seed: opts.seed ?? 0,
    observedNats: observed.nats,
    estimate: estimateOpts,
    onEach: () => onProgress?.(++done, permutations + 1),
  });
  return { ...observed, seconds: observed.seconds + significance.seconds, significance };
}

/** One permutation test with a pool of its own (created and closed here). onProgress counts estimates (P + 1). */
export async function permutationTest(x: MatrixInput, y: MatrixInput, opts: PermutationOptions): Promise<PermutationResult> {
  const { workers, ...rest } = opts ?? ({} as PermutationOptions);
  const est = new MIEstimator({ workers });
  try {
    return await permutationTestOn(est, x, y, rest);
  } finally {
    await est.close();
  }
}
