/**
 * Figure 5 of Hodas & Stinis (2018): (A) residual networks of several widths, no shortcut; (B) MLP, S,
 * Res and S Res at one width. x = MI first-last layer (bits), y = test error, each epoch a point.
 * The claims are those of the paper's section 3 about Figure 5.
 */
import { type FigureDefinition, type Preset, presetTexts } from '../pipeline/figure.js';
import {
  ARCH_LABEL, ERROR_MARGIN, MI_MARGIN, type Arch, type FigurePreset, type PanelRun, errorAt, finalError, lastEpoch, miAfterFirst, miSeries,
  runTrajectoryFigure, traceTag,
} from './trajectory.js';
import type { Trace } from './traces.js';
import { type Claim, fmt, majority, mean } from '../pipeline/verdicts.js';

interface Fig5Plan {
  /** widths of panel A (residual nets) */
  widths: number[];
  /** the width of panel B (the four architectures) */
  widthB: number;
  depth: number;
  seeds: number[];
}

/** Figure 5's presets in one place. */
export const FIG5_PRESETS: Record<Preset, FigurePreset<Fig5Plan>> = {
  quick: {
    plan: { widths: [8, 16], widthB: 16, depth: 5, seeds: [0] },
    text: 'Res at W=8,16 (A); MLP, S, Res, S Res at W=16 (B); depth 5; 5 epochs of minibatches of 200 on 2,000 training / 500 validation images',
  },
  default: {
    plan: { widths: [16, 32, 64], widthB: 32, depth: 5, seeds: [0] },
    // Full-batch RMSprop at lr 1e-3 needs ~100 epochs before the test error flattens (docs/MODELS.md, "Training
    // budget"); MI every epoch (the ResNet rise-peak-fall and the shortcut's first epoch need every point) over
    // the first 10,000 validation images (the MNIST test set), which keeps the KSG cost within the budget
    // (bench/README.md); the test error uses all 30,000.
    size: { epochs: 100, options: { 'mi-samples': 10000 } },
    text: 'Res at W=16,32,64 (A); MLP, S, Res, S Res at W=32 (B); depth 5; 100 full-batch epochs on 40,000 training images; test error on all 30,000 validation images, MI every epoch on the first 10,000 (the MNIST test set)',
  },
  full: {
    plan: { widths: [16, 32, 64, 128], widthB: 64, depth: 5, seeds: [0, 1, 2] },
    text: 'Res at W=16,32,64,128 (A); the four nets at W=64 (B); depth 5; seeds 0-2; 200 full-batch epochs on 40,000 / 30,000 images',
  },
};

const ARCHS_B: Arch[] = ['mlp', 'shortcut', 'residual', 'shortcut-residual'];

export function fig5Runs(preset: Preset): PanelRun[] {
  const p = FIG5_PRESETS[preset].plan;
  const runs: PanelRun[] = [];
  for (const width of p.widths) {
    for (const seed of p.seeds) runs.push({ panel: 'A', series: `W=${width}`, group: '', arch: 'residual', width, depth: p.depth, seed });
  }
  for (const arch of ARCHS_B) {
    for (const seed of p.seeds) runs.push({ panel: 'B', series: ARCH_LABEL[arch], group: '', arch, width: p.widthB, depth: p.depth, seed });
  }
  return runs;
}

/** "ResNet MI rises, peaks, then falls": the MI peak strictly inside the run, MI_MARGIN above both ends. */
export function claimResnetRisePeakFall(traces: Trace[]): Claim {
  const claim = `ResNet MI rises, peaks, then falls (5A; peak strictly inside the run, at least ${MI_MARGIN} bits above both the first and the last epoch)`;
  const res = traces.filter((t) => t.panel === 'A' && t.arch === 'residual');
  if (res.length === 0) return { claim, supported: null, evidence: 'no residual runs with data' };
  const short = res.filter((t) => miSeries(t).length < 4);
  if (short.length > 0) return { claim, supported: null, evidence: `runs too short: ${short.map(traceTag).join(', ')} have fewer than 4 MI points` };
  let agree = 0;
  const parts = res.map((t) => {
    const s = miSeries(t);
    let peak = 0;
    for (let i = 1; i < s.length; i++) if (s[i].mi > s[peak].mi) peak = i;
    const first = s[0].mi;
    const last = s[s.length - 1].mi;
    const ok = peak > 0 && peak < s.length - 1 && s[peak].mi - first >= MI_MARGIN && s[peak].mi - last >= MI_MARGIN;
    if (ok) agree++;
    return `W=${t.width} s${t.seed}: ${fmt(first)} -> peak ${fmt(s[peak].mi)} at epoch ${s[peak].epoch} -> ${fmt(last)} at epoch ${s[s.length - 1].epoch} (${ok ? 'yes' : 'no'})`;
  });
  return { claim, supported: majority(agree, res.length), evidence: `${agree} of ${res.length} runs: ${parts.join('; ')}` };
}

/** Mean of a measurement over the panel-B runs of one architecture (over seeds). */
function meanOf(traces: Trace[], arch: Arch, f: (t: Trace) => number | undefined): number | undefined {
  const xs = traces.filter((t) => t.panel === 'B' && t.arch === arch).map(f).filter((x): x is number => x !== undefined && Number.isFinite(x));
  return xs.length > 0 ? mean(xs) : undefined;
}

function pct(x: number): string {
  return `${fmt(100 * x, 1)}%`;
}

/** "Residuals improve the final accuracy of MLP and shortcut": Res < MLP and S Res < S in final test error. */
export function claimResidualsImprove(traces: Trace[]): Claim {
  const claim = 'Residuals improve the final accuracy of both the MLP and the shortcut net (5B: final test error Res < MLP and S Res < S)';
  const e = (a: Arch) => meanOf(traces, a, finalError);
  const [mlp, s, res, sres] = [e('mlp'), e('shortcut'), e('residual'), e('shortcut-residual')];
  if (mlp === undefined || s === undefined || res === undefined || sres === undefined) {
    return { claim, supported: null, evidence: 'panel B lacks one of MLP, S, Res, S Res' };
  }
  const forMlp = res < mlp - ERROR_MARGIN;
  const forS = sres < s - ERROR_MARGIN;
  const evidence = `final test error MLP ${pct(mlp)} -> Res ${pct(res)} (${forMlp ? 'better' : 'not better'}); S ${pct(s)} -> S Res ${pct(sres)} (${forS ? 'better' : 'not better'}); margin ${pct(ERROR_MARGIN)}`;
  return { claim, supported: forMlp && forS, evidence };
}

/** "The main improvement over the MLP comes from the shortcut": MLP - S larger than MLP - Res, and positive. */
export function claimShortcutMainGain(traces: Trace[]): Claim {
  const claim = 'The main improvement over the MLP comes from the shortcut (5B: the gain MLP -> S exceeds the gain MLP -> Res)';
  const e = (a: Arch) => meanOf(traces, a, finalError);
  const [mlp, s, res] = [e('mlp'), e('shortcut'), e('residual')];
  if (mlp === undefined || s === undefined || res === undefined) return { claim, supported: null, evidence: 'panel B lacks one of MLP, S, Res' };
  const gainS = mlp - s;
  const gainRes = mlp - res;
  return {
    claim,
    supported: gainS > ERROR_MARGIN && gainS > gainRes,
    evidence: `final test error MLP ${pct(mlp)}, S ${pct(s)} (gain ${pct(gainS)}), Res ${pct(res)} (gain ${pct(gainRes)})`,
  };
}

/** "Shortcut nets start at high MI": MI after epoch 1 of S and S Res above that of MLP and Res. */
export function claimShortcutStartsHigh(traces: Trace[]): Claim {
  const claim = 'Shortcut nets start at high MI (5B: MI after the first epoch of S and S Res above that of MLP and Res)';
  const m = (a: Arch) => meanOf(traces, a, miAfterFirst);
  const [mlp, s, res, sres] = [m('mlp'), m('shortcut'), m('residual'), m('shortcut-residual')];
  if (mlp === undefined || s === undefined || res === undefined || sres === undefined) {
    return { claim, supported: null, evidence: 'panel B lacks one of MLP, S, Res, S Res, or MI after epoch 1' };
  }
  const low = Math.max(mlp, res);
  const high = Math.min(s, sres);
  return {
    claim,
    supported: high > low + MI_MARGIN,
    evidence: `MI after epoch 1: S ${fmt(s)}, S Res ${fmt(sres)} vs MLP ${fmt(mlp)}, Res ${fmt(res)} bits (margin ${MI_MARGIN})`,
  };
}

/** "Shortcut nets are largely trained within one epoch": epoch 1 gives at least half of the run's error drop. */
export function claimShortcutTrainedInOneEpoch(traces: Trace[]): Claim {
  const claim = 'Shortcut nets are largely trained within one epoch (5B: epoch 1 brings at least half of the whole test-error drop of S and S Res)';
  const shortcut = traces.filter((t) => t.panel === 'B' && (t.arch === 'shortcut' || t.arch === 'shortcut-residual'));
  if (shortcut.length === 0) return { claim, supported: null, evidence: 'panel B has no shortcut runs with data' };
  const share = (t: Trace) => {
    const e0 = errorAt(t, 0);
    const e1 = errorAt(t, 1);
    const eN = finalError(t);
    if (e0 === undefined || e1 === undefined || eN === undefined || lastEpoch(t) < 2 || e0 - eN <= 0) return undefined;
    return (e0 - e1) / (e0 - eN);
  };
  const shares = shortcut.map((t) => ({ t, f: share(t) }));
  if (shares.some((x) => x.f === undefined)) {
    return { claim, supported: null, evidence: 'runs too short (need epochs 0, 1 and a later one) or the test error never fell' };
  }
  const agree = shares.filter((x) => (x.f as number) >= 0.5).length;
  const others = traces.filter((t) => t.panel === 'B' && (t.arch === 'mlp' || t.arch === 'residual')).map((t) => ({ t, f: share(t) }));
  const fmtShare = (x: { t: Trace; f: number | undefined }) => `${ARCH_LABEL[x.t.arch as Arch]} s${x.t.seed} ${x.f === undefined ? 'n/a' : pct(x.f)}`;
  return {
    claim,
    supported: majority(agree, shares.length),
    evidence: `share of the error drop made in epoch 1: ${shares.map(fmtShare).join(', ')}${others.length ? `; for comparison ${others.map(fmtShare).join(', ')}` : ''}`,
  };
}

export function fig5Claims(traces: Trace[]): Claim[] {
  return [
    claimResnetRisePeakFall(traces),
    claimResidualsImprove(traces),
    claimShortcutMainGain(traces),
    claimShortcutStartsHigh(traces),
    claimShortcutTrainedInOneEpoch(traces),
  ];
}

export const FIGURE_5: FigureDefinition = {
  id: '5',
  title: 'Figure 5 (Hodas & Stinis 2018)',
  presets: presetTexts(FIG5_PRESETS),
  run: (ctx) =>
    runTrajectoryFigure(
      {
        id: '5',
        title: 'Figure 5 (Hodas & Stinis 2018)',
        runs: fig5Runs(ctx.preset),
        panelTitles: { A: '(A) ResNets of several widths, no shortcut', B: `(B) Architectures at W=${FIG5_PRESETS[ctx.preset].plan.widthB}` },
        seriesTitles: { A: 'Width', B: 'Network' },
        seriesOrder: { B: ['MLP', 'S', 'Res', 'S Res'] },
        claims: fig5Claims,
        notes: [
          'MLP, Multilayer Perceptron; S, Shortcut; Res, Residual Network; S Res, Shortcut Residual Network.',
          ctx.preset === 'default'
            ? 'Test error = error on the 30,000-image validation ensemble; MI between the first and last hidden layers (KSG, k=3, bits) over its first 10,000 images (the MNIST test set).'
            : 'Test error = error on the validation ensemble; MI between the first and last hidden layers over it (KSG, k=3, bits).',
        ],
        size: FIG5_PRESETS[ctx.preset].size,
      },
      ctx,
    ),
};
