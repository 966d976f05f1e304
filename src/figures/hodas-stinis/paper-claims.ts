/**
 * Every claim Hodas & Stinis (2018) make about their Figures 4 and 5, as data: the claim in testable
 * words, the paper's own sentence and its section (../shared/papers/001_*.txt, the published text), and
 * the effect parts that decide it (effects.ts; the rules in docs/FIGURES.md, "Verdicts").
 *
 * "Start" is the MI after the first training epoch: at epoch 0 a net and its shortcut twin have the same
 * hidden layers (same seed, same weights; the shortcut only changes what the softmax reads), so their MI
 * is identical there; the paper's plots begin after the first epoch.
 */
import { type EffectPart, groupsPerSeed, minus, paired, perRun, type Select } from './effects.js';
import {
  type ClaimRun, epochsToError, finalError, firstEpochShare, miEnd, miPeak, miPeakAboveBest, miStart, slopeMiCorrelation, SPEED_LEVEL,
} from './measures.js';

export interface PaperClaim {
  id: string;
  figure: '4' | '5';
  /** the claim as tested */
  claim: string;
  /** the paper's words */
  quote: string;
  /** where they are: '3. Results', '4. Discussion' */
  section: string;
  /** all parts must hold (decision.ts, allOf) */
  parts: EffectPart[];
}

/** Test-error differences smaller than this (0.1 percentage points) count as no difference. */
export const ERROR_MARGIN = 0.001;
/** Shares of the error drop within this of the threshold count as undecided. */
export const SHARE_MARGIN = 0.05;
/** Rank correlations within this of zero count as no relation. */
export const RHO_MARGIN = 0.1;
/** Differences in training speed of less than an epoch count as none. */
export const EPOCH_MARGIN = 1;
/** Figure 4B: MLPs at least this deep are "beyond 5-10 layers"; those at most SHALLOW_DEPTH are the baseline. */
export const DEEP_DEPTH = 10;
export const SHALLOW_DEPTH = 5;

const arch = (a: string, panel?: string): Select => (r: ClaimRun) => r.arch === a && (panel === undefined || r.panel === panel);
const RESULTS = '3. Results';
const DISCUSSION = '4. Discussion';
const pts = { unit: 'points', rule: 'fixed', margin: ERROR_MARGIN } as const;
const mi = { unit: 'bits', rule: 'mi' } as const;

export const FIGURE_5_CLAIMS: readonly PaperClaim[] = [
  {
    id: '5A-rise-peak-fall',
    figure: '5',
    claim: 'ResNet MI rises from the untrained net, peaks, then falls (5A; smoothed MI trace, per run)',
    quote: 'As ResNets train, they start with low mutual information between weights. The MI gradually increases as it trains, maximizes and begins to decrease again (see Figure 5A).',
    section: RESULTS,
    parts: [
      { label: 'rise: smoothed MI peak - MI of the untrained net (epoch 0), per Res run of 5A', side: 1, ...mi, sample: perRun(arch('residual', 'A'), (r) => miPeak(r)?.rise) },
      { label: 'fall: smoothed MI peak - smoothed MI at the last epoch, per Res run of 5A', side: 1, ...mi, sample: perRun(arch('residual', 'A'), (r) => miPeak(r)?.drop) },
    ],
  },
  {
    id: '5A-high-mi-not-necessary',
    figure: '5',
    claim: 'High MI is not a necessary condition for accuracy (5A: each ResNet is most accurate below its MI peak)',
    quote: 'In Figure 5A we see evidence that high mutual information is not a necessary condition for accuracy.',
    section: RESULTS,
    parts: [
      { label: 'smoothed MI peak - smoothed MI at the lowest smoothed test error, per Res run of 5A', side: 1, ...mi, sample: perRun(arch('residual', 'A'), miPeakAboveBest) },
    ],
  },
  {
    id: '5A-slope-at-high-mi',
    figure: '5',
    claim: 'High MI goes with a rapid decrease in test error (5A: the error falls faster per epoch at higher MI)',
    quote: 'The points that represent the outcome of each epoch of training show a high slope (and decrease in error) at high mutual information, and a low slope at low mutual information',
    section: RESULTS,
    parts: [
      { label: "Spearman's rho(MI, test-error drop per epoch) over each Res run's MI steps, 5A", unit: 'rho', side: 1, rule: 'fixed', margin: RHO_MARGIN, sample: perRun(arch('residual', 'A'), slopeMiCorrelation) },
    ],
  },
  {
    id: '5B-shortcut-improves',
    figure: '5',
    claim: 'The shortcut improves on the MLP (5B: lower final test error)',
    quote: 'The objective of Figure 5B is twofold: (i) to show that the shortcut improves upon the traditional MLP',
    section: RESULTS,
    parts: [{ label: 'final test error, MLP - S, paired by seed', side: 1, ...pts, sample: paired(arch('mlp', 'B'), arch('shortcut', 'B'), finalError) }],
  },
  {
    id: '5B-main-gain-from-shortcut',
    figure: '5',
    claim: 'The main improvement over the MLP comes from the shortcut (5B: S ends below Res)',
    quote: 'Note that the main improvement over the traditional MLP comes from the shortcut (as can be seen from the green crosses and the blue diamonds).',
    section: RESULTS,
    parts: [{ label: 'final test error, Res - S (= gain of S over MLP - gain of Res), paired by seed', side: 1, ...pts, sample: paired(arch('residual', 'B'), arch('shortcut', 'B'), finalError) }],
  },
  {
    id: '5B-residuals-mild-gain',
    figure: '5',
    claim: 'Residuals add a mild improvement to both the MLP and the shortcut net (5B)',
    quote: 'The residuals add an extra mild improvement for both the traditional MLP and the shortcut (as can be seen from the red and turqoise circles).',
    section: RESULTS,
    parts: [
      { label: 'final test error, MLP - Res, paired by seed', side: 1, ...pts, sample: paired(arch('mlp', 'B'), arch('residual', 'B'), finalError) },
      { label: 'final test error, S - S Res, paired by seed', side: 1, ...pts, sample: paired(arch('shortcut', 'B'), arch('shortcut-residual', 'B'), finalError) },
    ],
  },
  {
    id: '5B-shortcut-starts-high',
    figure: '5',
    claim: 'Nets with a shortcut start at high MI (5B: MI after epoch 1 above their twins without it)',
    quote: 'The training progress of networks (both MLP and ResNets) with shortcut connections, indicated by the larger turquoise circles and green crosses, starts with such a high mutual information',
    section: RESULTS,
    parts: [
      { label: 'MI after epoch 1, S - MLP, paired by seed', side: 1, ...mi, sample: paired(arch('shortcut', 'B'), arch('mlp', 'B'), miStart) },
      { label: 'MI after epoch 1, S Res - Res, paired by seed', side: 1, ...mi, sample: paired(arch('shortcut-residual', 'B'), arch('residual', 'B'), miStart) },
    ],
  },
  {
    id: '5B-trained-in-one-epoch',
    figure: '5',
    claim: 'Nets with a shortcut are largely trained within one epoch (5B: epoch 1 makes more than half of the whole test-error drop)',
    quote: 'starts with such a high mutual information that the networks are largely trained within a single epoch.',
    section: RESULTS,
    parts: [
      { label: 'share of the test-error drop made in epoch 1, minus 1/2, per S run', unit: 'share', side: 1, rule: 'fixed', margin: SHARE_MARGIN, sample: perRun(arch('shortcut', 'B'), minus(firstEpochShare, 0.5)) },
      { label: 'share of the test-error drop made in epoch 1, minus 1/2, per S Res run', unit: 'share', side: 1, rule: 'fixed', margin: SHARE_MARGIN, sample: perRun(arch('shortcut-residual', 'B'), minus(firstEpochShare, 0.5)) },
    ],
  },
];

const mlp = arch('mlp');
const shortcut = arch('shortcut');
const deepMlp: Select = (r) => r.panel === 'B' && r.arch === 'mlp' && r.depth >= DEEP_DEPTH;
const shallowMlp: Select = (r) => r.panel === 'B' && r.arch === 'mlp' && r.depth <= SHALLOW_DEPTH;
const speed = (r: ClaimRun) => epochsToError(r, SPEED_LEVEL);

export const FIGURE_4_CLAIMS: readonly PaperClaim[] = [
  {
    id: '4-toward-optimum-mi',
    figure: '4',
    claim: 'As they train, the nets move toward an apparent optimum MI (4A, 4B: the MI gap between a shortcut net and its MLP twin narrows)',
    quote: 'As shown in Figures 4A,B, as the nets train, they progressively move toward an apparent optimum mutual information between the first and last layers.',
    section: RESULTS,
    parts: [
      {
        label: '|MI S - MI MLP| after epoch 1 - |MI S - MI MLP| at the end, paired by width, depth and seed',
        side: 1,
        ...mi,
        sample: (runs) => {
          const gap = (start: boolean) => paired(shortcut, mlp, start ? miStart : miEnd, undefined, (a, b) => Math.abs(a - b))(runs);
          const [s, e] = [gap(true), gap(false)];
          const ends = new Map(e.values.map((v) => [v.key, v.value]));
          return {
            values: s.values.filter((v) => ends.has(v.key)).map((v) => ({ key: v.key, value: v.value - (ends.get(v.key) as number) })),
            used: s.used,
            missing: [...new Set([...s.missing, ...e.missing, ...s.values.filter((v) => !ends.has(v.key)).map((v) => v.key)])],
          };
        },
      },
    ],
  },
  {
    id: '4-mlp-mi-rises',
    figure: '4',
    claim: 'MLPs increase their MI systematically (4A, 4B: MI at the end above MI after epoch 1)',
    quote: 'Traditional MLPs follow a trend of systematically increasing the mutual information.',
    section: RESULTS,
    parts: [{ label: 'MI at the end - MI after epoch 1, per MLP run', side: 1, ...mi, sample: perRun(mlp, minus(miEnd, miStart)) }],
  },
  {
    id: '4-shortcut-starts-higher',
    figure: '4',
    claim: 'MLPs with a shortcut start at higher MI (4A, 4B: MI after epoch 1, shortcut above its MLP twin)',
    quote: 'On the other hand, MLPs with shortcuts start with higher mutual information',
    section: RESULTS,
    parts: [{ label: 'MI after epoch 1, MLP w/ Shortcut - MLP, paired by width, depth and seed', side: 1, ...mi, sample: paired(shortcut, mlp, miStart) }],
  },
  {
    id: '4-shortcut-mi-decreases',
    figure: '4',
    claim: "The shortcut nets' MI then decreases toward the optimum (4A, 4B: MI after epoch 1 above the end)",
    quote: 'which then decreases toward the optimum.',
    section: RESULTS,
    parts: [{ label: 'MI after epoch 1 - MI at the end, per MLP w/ Shortcut run', side: 1, ...mi, sample: perRun(shortcut, minus(miStart, miEnd)) }],
  },
  {
    id: '4B-deep-mlp-slower',
    figure: '4',
    claim: `Beyond 5-10 layers an MLP trains slower (4B: more epochs to reach ${100 * SPEED_LEVEL} % test error, depth >= ${DEEP_DEPTH} against depth <= ${SHALLOW_DEPTH})`,
    quote: 'As we see in Figure 4B, beyond 5–10 layers, adding depth to a MLP slows training',
    section: DISCUSSION,
    parts: [{ label: `epochs to ${100 * SPEED_LEVEL} % test error, deep - shallow MLPs (means per seed)`, unit: 'epochs', side: 1, rule: 'fixed', margin: EPOCH_MARGIN, sample: groupsPerSeed(deepMlp, shallowMlp, speed) }],
  },
  {
    id: '4B-deep-mlp-less-accurate',
    figure: '4',
    claim: `Beyond 5-10 layers an MLP converges to a lower accuracy (4B: final test error, depth >= ${DEEP_DEPTH} against depth <= ${SHALLOW_DEPTH})`,
    quote: 'and converges to a lower accuracy.',
    section: DISCUSSION,
    parts: [{ label: 'final test error, deep - shallow MLPs (means per seed)', side: 1, ...pts, sample: groupsPerSeed(deepMlp, shallowMlp, finalError) }],
  },
  {
    id: '4B-deep-mlp-lower-mi',
    figure: '4',
    claim: `Deeper MLPs have a lower first-last MI (4B: MI at the end, depth <= ${SHALLOW_DEPTH} against depth >= ${DEEP_DEPTH})`,
    quote: 'Our measures of mutual information also show that deeper networks reduce mutual information between the first and last layer',
    section: DISCUSSION,
    parts: [{ label: 'MI at the end, shallow - deep MLPs (means per seed)', side: 1, ...mi, sample: groupsPerSeed(shallowMlp, deepMlp, miEnd) }],
  },
  {
    id: '4-shortcut-speeds-training',
    figure: '4',
    claim: `The shortcut speeds training (4A, 4B: fewer epochs to ${100 * SPEED_LEVEL} % test error than the MLP twin)`,
    quote: 'By encouraging the correlation with shortcuts, we reduce the effective size of the training space, and we speed training and increase accuracy.',
    section: DISCUSSION,
    parts: [{ label: `epochs to ${100 * SPEED_LEVEL} % test error, MLP - MLP w/ Shortcut, paired by width, depth and seed`, unit: 'epochs', side: 1, rule: 'fixed', margin: EPOCH_MARGIN, sample: paired(mlp, shortcut, speed) }],
  },
  {
    id: '4-shortcut-more-accurate',
    figure: '4',
    claim: 'The shortcut increases accuracy (4A, 4B: lower final test error than the MLP twin)',
    quote: 'we speed training and increase accuracy.',
    section: DISCUSSION,
    parts: [{ label: 'final test error, MLP - MLP w/ Shortcut, paired by width, depth and seed', side: 1, ...pts, sample: paired(mlp, shortcut, finalError) }],
  },
];
