/**
 * Figure 4 of Hodas & Stinis (2018): MLP vs "MLP w/ Shortcut" at (A) several widths and (B) several
 * depths, each trace one seed. x = MI first-last layer (bits), y = test error, each epoch a point.
 * The claims are those of the paper's sections 3 and 4 about Figure 4.
 */
import { type FigureDefinition, type Preset, presetTexts } from '../pipeline/figure.js';
import {
  ERROR_MARGIN, MI_MARGIN, type FigurePreset, type PanelRun, finalError, lastMi, miAfterFirst, miSeries, runTrajectoryFigure,
} from './trajectory.js';
import type { Trace } from './traces.js';
import { type Claim, fmt, majority, mean } from '../pipeline/verdicts.js';

interface Fig4Plan {
  /** widths of panel A, at depth depthA */
  widths: number[];
  depthA: number;
  /** depths of panel B, at width widthB */
  depths: number[];
  widthB: number;
  seeds: number[];
}

/** Figure 4's presets in one place (the schedule of each: PRESET_SIZE in trajectory.ts). */
export const FIG4_PRESETS: Record<Preset, FigurePreset<Fig4Plan>> = {
  quick: {
    plan: { widths: [8, 16], depthA: 5, depths: [3, 12], widthB: 8, seeds: [0, 1] },
    text: 'MLP and MLP w/ Shortcut at W=8,16 (A, depth 5) and depths 3,12 (B, W=8), seeds 0-1; 5 epochs of minibatches of 200 on 2,000 / 500 images',
  },
  default: {
    plan: { widths: [16, 32, 64], depthA: 5, depths: [2, 5, 10, 20], widthB: 32, seeds: [0, 1, 2] },
    text: 'W=16,32,64 (A, depth 5) and depths 2,5,10,20 (B, W=32), seeds 0-2; 50 full-batch epochs on 40,000 / 5,000 images',
  },
  full: {
    plan: { widths: [16, 32, 64, 128], depthA: 5, depths: [2, 5, 10, 20, 40], widthB: 32, seeds: [0, 1, 2, 3, 4] },
    text: 'W=16..128 (A) and depths 2..40 (B), seeds 0-4; 200 full-batch epochs on 40,000 / 30,000 images',
  },
};

const LABEL: Record<'mlp' | 'shortcut', string> = { mlp: 'MLP', shortcut: 'MLP w/ Shortcut' };

export function fig4Runs(preset: Preset): PanelRun[] {
  const p = FIG4_PRESETS[preset].plan;
  const runs: PanelRun[] = [];
  for (const arch of ['mlp', 'shortcut'] as const) {
    for (const width of p.widths) {
      for (const seed of p.seeds) runs.push({ panel: 'A', series: LABEL[arch], group: `W=${width}`, arch, width, depth: p.depthA, seed });
    }
    for (const depth of p.depths) {
      for (const seed of p.seeds) runs.push({ panel: 'B', series: LABEL[arch], group: `L=${depth}`, arch, width: p.widthB, depth, seed });
    }
  }
  return runs;
}

/** Each trace once (panels A and B may share a run). */
function uniqueRuns(traces: Trace[]): Trace[] {
  return [...new Map(traces.map((t) => [t.run, t])).values()];
}

/** MLP and shortcut traces of the same width, depth and seed. */
function pairs(traces: Trace[]): { mlp: Trace; s: Trace }[] {
  const runs = uniqueRuns(traces);
  const out: { mlp: Trace; s: Trace }[] = [];
  for (const m of runs.filter((t) => t.arch === 'mlp')) {
    const s = runs.find((t) => t.arch === 'shortcut' && t.width === m.width && t.depth === m.depth && t.seed === m.seed);
    if (s) out.push({ mlp: m, s });
  }
  return out;
}

const tag = (t: Trace) => `W=${t.width} L=${t.depth} s${t.seed}`;

/** "MLPs systematically increase their MI during training": last MI above the first (epoch 0) by MI_MARGIN. */
export function claimMlpMiRises(traces: Trace[]): Claim {
  const claim = `MLP MI rises during training (first to last epoch, by more than ${MI_MARGIN} bits)`;
  const mlps = uniqueRuns(traces).filter((t) => t.arch === 'mlp');
  if (mlps.length === 0) return { claim, supported: null, evidence: 'no MLP runs with data' };
  const short = mlps.filter((t) => miSeries(t).length < 2);
  if (short.length > 0) return { claim, supported: null, evidence: `runs too short: ${short.map(tag).join(', ')}` };
  const firsts = mlps.map((t) => miSeries(t)[0].mi);
  const lasts = mlps.map((t) => lastMi(t) as number);
  const deltas = mlps.map((_, i) => lasts[i] - firsts[i]);
  const agree = deltas.filter((d) => d > MI_MARGIN).length;
  return {
    claim,
    supported: majority(agree, mlps.length),
    evidence: `mean ${fmt(mean(firsts))} -> ${fmt(mean(lasts))} bits; ${agree} of ${mlps.length} runs rise: ${mlps.map((t, i) => `${tag(t)} ${fmt(deltas[i], 2, true)}`).join(', ')}`,
  };
}

/** "Shortcut nets start at higher MI than MLPs": MI after epoch 1, paired by width, depth and seed. */
export function claimShortcutStartsHigher(traces: Trace[]): Claim {
  const claim = 'MLPs with shortcut start at higher MI than MLPs (MI after the first epoch, same width, depth and seed)';
  const ps = pairs(traces).filter((p) => miAfterFirst(p.mlp) !== undefined && miAfterFirst(p.s) !== undefined);
  if (ps.length === 0) return { claim, supported: null, evidence: 'no MLP/shortcut pair with MI after epoch 1' };
  const m = ps.map((p) => miAfterFirst(p.mlp) as number);
  const s = ps.map((p) => miAfterFirst(p.s) as number);
  const agree = ps.filter((_, i) => s[i] > m[i]).length;
  return {
    claim,
    supported: majority(agree, ps.length),
    evidence: `mean ${fmt(mean(s))} (shortcut) vs ${fmt(mean(m))} (MLP) bits; higher in ${agree} of ${ps.length} pairs: ${ps.map((p, i) => `${tag(p.mlp)} ${fmt(s[i] - m[i], 2, true)}`).join(', ')}`,
  };
}

/** "Shortcut nets' MI then decreases toward the optimum": last MI below the MI after epoch 1 by MI_MARGIN. */
export function claimShortcutMiDecreases(traces: Trace[]): Claim {
  const claim = `The shortcut nets' MI then decreases toward the optimum (from after epoch 1 to the last epoch, by more than ${MI_MARGIN} bits)`;
  const ss = uniqueRuns(traces).filter((t) => t.arch === 'shortcut' && miAfterFirst(t) !== undefined);
  if (ss.length === 0) return { claim, supported: null, evidence: 'no shortcut runs with MI after epoch 1' };
  const short = ss.filter((t) => miSeries(t).filter((p) => p.epoch >= 1).length < 3);
  if (short.length > 0) return { claim, supported: null, evidence: `runs too short (fewer than 3 trained epochs with MI): ${short.map(tag).join(', ')}` };
  const start = ss.map((t) => miAfterFirst(t) as number);
  const last = ss.map((t) => lastMi(t) as number);
  const agree = ss.filter((_, i) => start[i] - last[i] > MI_MARGIN).length;
  return {
    claim,
    supported: majority(agree, ss.length),
    evidence: `mean ${fmt(mean(start))} -> ${fmt(mean(last))} bits; falls in ${agree} of ${ss.length} runs: ${ss.map((t, i) => `${tag(t)} ${fmt(last[i] - start[i], 2, true)}`).join(', ')}`,
  };
}

/** "The shortcut improves on the MLP": lower final test error, paired. */
export function claimShortcutImproves(traces: Trace[]): Claim {
  const claim = 'The shortcut improves on the MLP (lower final test error, same width, depth and seed)';
  const ps = pairs(traces).filter((p) => finalError(p.mlp) !== undefined && finalError(p.s) !== undefined);
  if (ps.length === 0) return { claim, supported: null, evidence: 'no MLP/shortcut pair with data' };
  const m = ps.map((p) => finalError(p.mlp) as number);
  const s = ps.map((p) => finalError(p.s) as number);
  const agree = ps.filter((_, i) => s[i] < m[i]).length;
  return {
    claim,
    supported: majority(agree, ps.length),
    evidence: `mean final test error ${fmt(100 * mean(s), 1)}% (shortcut) vs ${fmt(100 * mean(m), 1)}% (MLP); lower in ${agree} of ${ps.length} pairs`,
  };
}

/** Epochs a trace needs to make 90% of its whole test-error drop (a speed of training). */
export function epochsTo90(t: Trace): number | undefined {
  if (t.rows.length < 2) return undefined;
  const e0 = t.rows[0].valError;
  const eN = t.rows[t.rows.length - 1].valError;
  if (!(e0 > eN)) return undefined;
  const target = e0 - 0.9 * (e0 - eN);
  return t.rows.find((r) => r.valError <= target)?.epoch;
}

/**
 * "Beyond 5-10 layers MLPs train slower, reach lower accuracy and have lower first-last MI" (panel B):
 * MLPs deeper than 5 layers against those of at most 5, three claims.
 */
export function claimsDeepMlp(traces: Trace[]): Claim[] {
  const mlps = traces.filter((t) => t.panel === 'B' && t.arch === 'mlp');
  const shallow = mlps.filter((t) => t.depth <= 5);
  const deep = mlps.filter((t) => t.depth > 5);
  const names = ['reach lower accuracy (higher final test error)', 'train slower (more epochs to 90% of their error drop)', 'have lower first-last MI (last epoch)'];
  const claims = names.map((n) => `Beyond 5-10 layers, MLPs ${n} (4B: depth > 5 vs depth <= 5)`);
  if (shallow.length === 0 || deep.length === 0) {
    const why = `panel B needs MLPs of depth <= 5 and > 5; has depths ${[...new Set(mlps.map((t) => t.depth))].join(', ') || 'none'}`;
    return claims.map((claim) => ({ claim, supported: null, evidence: why }));
  }
  const depthsOf = (ts: Trace[]) => [...new Set(ts.map((t) => t.depth))].join(',');
  const groups = `depth ${depthsOf(deep)} (${deep.length} runs) vs depth ${depthsOf(shallow)} (${shallow.length} runs)`;
  const avg = (ts: Trace[], f: (t: Trace) => number | undefined) => {
    const xs = ts.map(f).filter((x): x is number => x !== undefined && Number.isFinite(x));
    return xs.length === ts.length ? mean(xs) : undefined;
  };
  const out: Claim[] = [];
  const [eD, eS] = [avg(deep, finalError), avg(shallow, finalError)];
  out.push(
    eD === undefined || eS === undefined
      ? { claim: claims[0], supported: null, evidence: 'a run has no test error' }
      : { claim: claims[0], supported: eD > eS + ERROR_MARGIN, evidence: `mean final test error ${fmt(100 * eD, 1)}% vs ${fmt(100 * eS, 1)}%; ${groups}` },
  );
  const [sD, sS] = [avg(deep, epochsTo90), avg(shallow, epochsTo90)];
  out.push(
    sD === undefined || sS === undefined
      ? { claim: claims[1], supported: null, evidence: `a run is too short or its error never fell; ${groups}` }
      : { claim: claims[1], supported: sD > sS, evidence: `mean epochs to 90% of the drop ${fmt(sD, 1)} vs ${fmt(sS, 1)}; ${groups}` },
  );
  const [mD, mS] = [avg(deep, lastMi), avg(shallow, lastMi)];
  out.push(
    mD === undefined || mS === undefined
      ? { claim: claims[2], supported: null, evidence: `a run has no MI; ${groups}` }
      : { claim: claims[2], supported: mD < mS - MI_MARGIN, evidence: `mean last-epoch MI ${fmt(mD)} vs ${fmt(mS)} bits (margin ${MI_MARGIN}); ${groups}` },
  );
  return out;
}

export function fig4Claims(traces: Trace[]): Claim[] {
  return [
    claimMlpMiRises(traces),
    claimShortcutStartsHigher(traces),
    claimShortcutMiDecreases(traces),
    claimShortcutImproves(traces),
    ...claimsDeepMlp(traces),
  ];
}

export const FIGURE_4: FigureDefinition = {
  id: '4',
  title: 'Figure 4 (Hodas & Stinis 2018)',
  presets: presetTexts(FIG4_PRESETS),
  run: (ctx) =>
    runTrajectoryFigure(
      {
        id: '4',
        title: 'Figure 4 (Hodas & Stinis 2018)',
        runs: fig4Runs(ctx.preset),
        panelTitles: { A: `(A) Layer widths (depth ${FIG4_PRESETS[ctx.preset].plan.depthA})`, B: `(B) Numbers of hidden layers (W=${FIG4_PRESETS[ctx.preset].plan.widthB})` },
        seriesTitles: { A: 'Network', B: 'Network' },
        seriesOrder: { A: ['MLP', 'MLP w/ Shortcut'], B: ['MLP', 'MLP w/ Shortcut'] },
        groupTitles: { A: 'Width', B: 'Depth' },
        claims: fig4Claims,
        notes: ['Each trace is one random initialisation (seed). Test error = error on the validation ensemble; MI between the first and last hidden layers (KSG, k=3, bits).'],
      },
      ctx,
    ),
};
