/**
 * MI benchmark: one KSG estimate (k = 3) on activation-like data (bench/activations.ts: MNIST through an
 * untrained depth-5 tanh MLP, x = first hidden layer, y = last, 2W dims each, float32), side by side on the same
 * data in the same process tree (the data goes to the children as .npy files in a temp folder):
 *   - the TypeScript brute-force reference (small N only),
 *   - the kernel on the calling thread (MIEstimator, workers 1) and on the pool (workers = the core count),
 *   - a native brute force with early exit (bench/native/ksg_brute.c, built here; skipped with a note when no C
 *     compiler works), whose MI must equal the kernel's to 1e-9 relative (else the run fails),
 *   - NPEET's mi() through Python with scikit-learn (bench/npeet/mi.py), up to MI_BENCH_NPEET_MAX_N.
 * Rounds interleave the kernel, the pool and the native program, so all see the same load; NPEET runs once.
 *
 * MI_BENCH_MODE=estimate (default): the estimate alone (in-process for ours; the programs' own timers around
 * the computation, file reads excluded, for the peers). MI_BENCH_MODE=process: whole processes, `node
 * dist/cli.js mi X Y --json` against `ksg_brute X Y` (and NPEET's script with its imports), as the issue quotes.
 * Sizes: MI_BENCH_N / MI_BENCH_W (comma lists); defaults: estimate N 1k..100k x W 8..64 (--quick: N 1k, 3k;
 * W 8, 32), process N 30k x W 32, 64 (--quick: N 3k, W 8). MI_BENCH_REPEATS fixes the rounds (default: 5, 2
 * or 1 by the kernel's first time; process mode 5). A contender whose predicted time at a size (from its CPU
 * seconds at the previous N, same W: the kernel as N^2.2, the brute force (CPU / threads) and NPEET as N^2)
 * exceeds MI_BENCH_BUDGET_S (default 120 s) is skipped there and says so. MI_BENCH_NPEET_MAX_N (default
 * 10,000) caps NPEET. MI_BENCH_WORKERS sets the pool's and OpenMP's threads (default: the core count).
 * Prints the table and writes the mode's part of bench/results/mi.json (replacing the rows of the sizes it ran).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { MIEstimator } from '../src/mi/index.js';
import { referenceMI } from '../src/mi/reference.js';
import { writeNpy } from '../src/npy/index.js';
import { findRepoFile } from '../src/repo-files.js';
import { mnistActivations } from './activations.js';
import { findPython, jsonAnswer, runTimed } from './child.js';
import { buildNative, type NativeBuild, runNative } from './native.js';
import { loadAverage, machine, machineLine, markdownTable, median, secondsCell } from './table.js';

/** Wall and CPU seconds of each recorded run (CPU null where not measurable). */
interface Runs {
  wall: number[];
  cpu: (number | null)[];
}

interface Row {
  n: number;
  width: number;
  dims: string;
  bits: number | null;
  reference?: Runs;
  kernel?: Runs;
  pool?: Runs;
  native?: Runs;
  npeet?: Runs;
  npeetBits?: number;
  /** median wall of ours (pool; process mode: the CLI) over the native brute force's, and of CPU seconds */
  oursOverNative?: { wall: number; cpu: number | null };
  oursOverNpeet?: { wall: number; cpu: number | null };
  memoryRatio?: number;
  notes: string[];
  /** when the row was measured, and the 1-minute load average then */
  measuredAt: string;
  load1: number;
}

const REL_TOL = 1e-9;
const list = (env: string | undefined, dflt: number[]): number[] => (env ? env.split(',').map(Number) : dflt);
const runs = (): Runs => ({ wall: [], cpu: [] });
const newRow = (n: number, width: number): Row => ({ n, width, dims: `${2 * width} + ${2 * width}`, bits: null, notes: [], measuredAt: new Date().toISOString(), load1: loadavg()[0] });
const push = (r: Runs, wall: number, cpu: number | null) => {
  r.wall.push(wall);
  r.cpu.push(cpu);
};
const relDiff = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
const medianCpu = (r: Runs): number | null => (r.cpu.every((c) => c !== null) ? median(r.cpu as number[]) : null);
const ratio = (ours: Runs, peer: Runs) => {
  const oc = medianCpu(ours);
  const pc = medianCpu(peer);
  return { wall: median(ours.wall) / median(peer.wall), cpu: oc !== null && pc !== null ? oc / pc : null };
};

export async function timed(f: () => Promise<number> | number): Promise<{ wall: number; cpu: number; value: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6, value };
}

function slope(points: [number, number][]): number | null {
  if (points.length < 2) return null;
  const xs = points.map(([n]) => Math.log(n));
  const ys = points.map(([, t]) => Math.log(t));
  const mx = xs.reduce((a, b) => a + b) / xs.length;
  const my = ys.reduce((a, b) => a + b) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * (ys[i] - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

/** The peers this machine has: the native build and the Python for NPEET, or the notes saying why not. */
interface Peers {
  native: NativeBuild | null;
  python: string | null;
  npeetScript: string;
  notes: string[];
}

function findPeers(): Peers {
  const notes: string[] = [];
  const built = buildNative();
  const native = 'binary' in built ? built : null;
  if (!native) notes.push(`native brute force skipped: ${'note' in built ? built.note : ''}`);
  else if (!native.flags.includes('-fopenmp')) notes.push('native brute force built without OpenMP: one thread');
  const py = findPython(['numpy', 'scipy', 'sklearn']);
  const python = 'python' in py ? py.python : null;
  if (!python) notes.push(`NPEET skipped: ${'note' in py ? py.note : ''}`);
  return { native, python, npeetScript: findRepoFile('bench/npeet/mi.py'), notes };
}

interface NpeetAnswer {
  bits: number;
  seconds: number;
  cpuSeconds: number;
  npeet: string;
  sklearn: string;
}

/** Predicted seconds at n from the previous measured size at the same width, growing as N^power. */
const predict = (prev: { n: number; t: number } | undefined, n: number, power: number) => (prev ? prev.t * (n / prev.n) ** power : 0);

interface Settings {
  budget: number;
  npeetMaxN: number;
  repeats: number | null;
  workers: number;
}

function settings(): Settings {
  return {
    budget: Number(process.env.MI_BENCH_BUDGET_S ?? 120),
    npeetMaxN: Number(process.env.MI_BENCH_NPEET_MAX_N ?? 10_000),
    repeats: process.env.MI_BENCH_REPEATS ? Number(process.env.MI_BENCH_REPEATS) : null,
    workers: Number(process.env.MI_BENCH_WORKERS ?? availableParallelism()),
  };
}

/** The kernel's MI against a peer's: equal to REL_TOL or the benchmark stops (the comparison would be void). */
function checkEqual(what: string, n: number, w: number, peerBits: number, bits: number): void {
  if (relDiff(peerBits, bits) > REL_TOL) {
    throw new Error(`N=${n} W=${w}: ${what} gives ${peerBits} bits, the kernel ${bits} (relative difference ${relDiff(peerBits, bits).toExponential(2)} > ${REL_TOL}): one of them is wrong`);
  }
}

/** NPEET once at this size if allowed; fills row.npeet / npeetBits or a note. */
function runNpeet(peers: Peers, s: Settings, row: Row, files: { x: string; y: string }, prev: { n: number; t: number } | undefined, wholeProcess: boolean) {
  if (!peers.python) return undefined;
  if (row.n > s.npeetMaxN) {
    row.notes.push(`NPEET skipped: N > MI_BENCH_NPEET_MAX_N = ${s.npeetMaxN}`);
    return undefined;
  }
  const predicted = predict(prev, row.n, 2);
  if (predicted > s.budget) {
    row.notes.push(`NPEET skipped: predicted ${predicted.toFixed(0)} s > budget ${s.budget} s`);
    return undefined;
  }
  const run = runTimed(peers.python, [peers.npeetScript, files.x, files.y, '3'], { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' });
  const a = jsonAnswer<NpeetAnswer>('NPEET (bench/npeet/mi.py)', run);
  row.npeet = runs();
  if (wholeProcess) push(row.npeet, run.wall, run.cpu);
  else push(row.npeet, a.seconds, a.cpuSeconds);
  row.npeetBits = a.bits;
  return a;
}

async function estimateMode(ns: number[], ws: number[], s: Settings, peers: Peers, dir: string): Promise<Row[]> {
  const one = new MIEstimator({ workers: 1 });
  const pool = new MIEstimator({ workers: s.workers });
  const rows: Row[] = [];
  const sink: number[] = [];
  const threads = { ...process.env, OMP_NUM_THREADS: String(s.workers) };
  try {
    for (const w of ws) {
      const prev: Record<'kernel' | 'native' | 'npeet', { n: number; t: number } | undefined> = { kernel: undefined, native: undefined, npeet: undefined };
      for (const n of ns) {
        const row = newRow(n, w);
        rows.push(row);
        const predicted = predict(prev.kernel, n, 2.2);
        if (predicted > s.budget) {
          row.notes.push(`skipped: predicted ${predicted.toFixed(0)} CPU s on one thread > budget ${s.budget} s`);
          console.log(`N=${n} W=${w}: ${row.notes[0]}`);
          continue;
        }
        const a = mnistActivations(n, w);
        const x = { data: a.x, shape: [n, a.dims] };
        const y = { data: a.y, shape: [n, a.dims] };
        const files = { x: join(dir, `x_${n}_${w}.npy`), y: join(dir, `y_${n}_${w}.npy`) };
        writeNpy(files.x, a.x, [n, a.dims]);
        writeNpy(files.y, a.y, [n, a.dims]);
        if (n <= 3000 && (n <= 1000 || w <= 16)) {
          const r = await timed(() => referenceMI({ data: a.x, n, d: a.dims }, { data: a.y, n, d: a.dims }, 3).nats);
          row.reference = { wall: [r.wall], cpu: [r.cpu] };
          sink.push(r.value);
        }
        // warm-up of both estimators (also the first round when one estimate takes many seconds)
        const k0 = await timed(async () => (await one.estimate(x, y)).mi);
        const p0 = await timed(async () => (await pool.estimate(x, y)).mi);
        const bits = k0.value;
        row.bits = bits;
        row.memoryRatio = one.memoryBytes / (n * 2 * a.dims * 4);
        const slow = k0.wall > 5;
        const rounds = s.repeats ?? (slow ? 1 : k0.wall > 1 ? 2 : 5);
        row.kernel = runs();
        row.pool = runs();
        if (slow) {
          push(row.kernel, k0.wall, k0.cpu);
          push(row.pool, p0.wall, p0.cpu);
        }
        const nativePredicted = predict(prev.native, n, 2);
        const native = peers.native && nativePredicted <= s.budget ? peers.native : null;
        if (peers.native && !native) row.notes.push(`native skipped: predicted ${nativePredicted.toFixed(0)} s > budget ${s.budget} s`);
        if (native) row.native = runs();
        for (let r = 0; r < rounds; r++) {
          if (row.kernel.wall.length < rounds) {
            const k = await timed(async () => (await one.estimate(x, y)).mi);
            const p = await timed(async () => (await pool.estimate(x, y)).mi);
            if (k.value !== bits || p.value !== bits) throw new Error(`N=${n} W=${w}: the kernel's estimates differ between runs or worker counts`);
            push(row.kernel, k.wall, k.cpu);
            push(row.pool, p.wall, p.cpu);
          }
          if (native) {
            const { answer } = runNative(native, files.x, files.y, 3, threads);
            checkEqual('the native brute force', n, w, answer.bits, bits);
            push(row.native!, answer.seconds, answer.cpuSeconds);
          }
        }
        if (p0.value !== bits) throw new Error(`N=${n} W=${w}: pool and one thread disagree`);
        prev.kernel = { n, t: median(row.kernel.cpu as number[]) };
        if (row.native) {
          // predictions from CPU seconds (the work; wall seconds under load say more about the neighbours)
          prev.native = { n, t: (medianCpu(row.native) ?? median(row.native.wall)) / s.workers };
          row.oursOverNative = ratio(row.pool, row.native);
          // CPU: the single-thread kernel's work against the brute force's (all threads)
          row.oursOverNative.cpu = median(row.kernel.cpu as number[]) / medianCpu(row.native)!;
        }
        if (runNpeet(peers, s, row, files, prev.npeet, false)) {
          prev.npeet = { n, t: row.npeet!.cpu[0] ?? row.npeet!.wall[0] };
          row.oursOverNpeet = ratio(row.pool, row.npeet!);
          if (relDiff(row.npeetBits!, bits) > REL_TOL) row.notes.push(`NPEET's MI ${row.npeetBits} differs from the kernel's by ${relDiff(row.npeetBits!, bits).toExponential(1)} relative`);
        }
        rmSync(files.x);
        rmSync(files.y);
        console.log(
          `N=${n} W=${w}: ${bits.toFixed(4)} bits; 1 thread ${secondsCell(row.kernel.wall, row.kernel.cpu)}, pool ${secondsCell(row.pool.wall, row.pool.cpu)}, ` +
            `native ${row.native ? secondsCell(row.native.wall, row.native.cpu) : '-'}, NPEET ${row.npeet ? secondsCell(row.npeet.wall, row.npeet.cpu) : '-'} s${row.notes.length ? `; ${row.notes.join('; ')}` : ''}`,
        );
      }
    }
  } finally {
    await one.close();
    await pool.close();
  }
  if (sink.some((v) => !Number.isFinite(v))) throw new Error('the reference gave a non-finite MI');
  return rows;
}

async function processMode(ns: number[], ws: number[], s: Settings, peers: Peers, dir: string): Promise<Row[]> {
  const cli = findRepoFile('dist/cli.js');
  const rows: Row[] = [];
  const threads = { ...process.env, OMP_NUM_THREADS: String(s.workers) };
  for (const w of ws) {
    let prevNpeet: { n: number; t: number } | undefined;
    for (const n of ns) {
      const row = newRow(n, w);
      rows.push(row);
      const a = mnistActivations(n, w);
      const files = { x: join(dir, `x_${n}_${w}.npy`), y: join(dir, `y_${n}_${w}.npy`) };
      writeNpy(files.x, a.x, [n, a.dims]);
      writeNpy(files.y, a.y, [n, a.dims]);
      row.pool = runs();
      if (peers.native) row.native = runs();
      for (let r = 0; r < (s.repeats ?? 5); r++) {
        const run = runTimed(process.execPath, [cli, 'mi', files.x, files.y, '--json', '--workers', String(s.workers)]);
        const bits = jsonAnswer<{ mi: number }>('node dist/cli.js mi', run).mi;
        if (row.bits !== null && bits !== row.bits) throw new Error(`N=${n} W=${w}: infoflow mi gave ${bits}, then ${row.bits} bits`);
        row.bits = bits;
        push(row.pool, run.wall, run.cpu);
        if (peers.native) {
          const { answer, process: p } = runNative(peers.native, files.x, files.y, 3, threads);
          checkEqual('the native brute force', n, w, answer.bits, bits);
          push(row.native!, p.wall, p.cpu);
        }
      }
      if (row.native) row.oursOverNative = ratio(row.pool, row.native);
      if (runNpeet(peers, s, row, files, prevNpeet, true)) {
        prevNpeet = { n, t: row.npeet!.cpu[0] ?? row.npeet!.wall[0] };
        row.oursOverNpeet = ratio(row.pool, row.npeet!);
      }
      rmSync(files.x);
      rmSync(files.y);
      console.log(
        `N=${n} W=${w}: ${row.bits!.toFixed(4)} bits; infoflow mi ${secondsCell(row.pool.wall, row.pool.cpu)}, native ${row.native ? secondsCell(row.native.wall, row.native.cpu) : '-'}, ` +
          `NPEET ${row.npeet ? secondsCell(row.npeet.wall, row.npeet.cpu) : '-'} s (whole processes)`,
      );
    }
  }
  return rows;
}

const ratioCell = (r?: { wall: number; cpu: number | null }) => (r ? `${r.wall.toFixed(2)}${r.cpu === null ? '' : ` (cpu ${r.cpu.toFixed(2)})`}` : '-');
const cell = (r?: Runs) => (r ? secondsCell(r.wall, r.cpu) : '-');

function table(mode: 'estimate' | 'process', rows: Row[], workers: number): string {
  const peer = mode === 'estimate' ? 'NPEET mi() s' : 'NPEET script, whole process s';
  const header =
    mode === 'estimate'
      ? ['N', 'W', 'dims x + y', 'MI (bits)', 'reference s', 'kernel 1 thread s', `pool ${workers} workers s`, 'native brute force s', peer, 'ours / native', 'ours / NPEET', 'memory / input', 'notes']
      : ['N', 'W', 'dims x + y', 'MI (bits)', `infoflow mi --workers ${workers}, whole process s`, 'ksg_brute, whole process s', peer, 'ours / native', 'ours / NPEET', 'notes'];
  const body = rows.map((r) => {
    const head = [String(r.n), String(r.width), r.dims, r.bits === null ? '-' : r.bits.toFixed(4)];
    const tail = [ratioCell(r.oursOverNative), ratioCell(r.oursOverNpeet)];
    const notes = r.notes.join('; ') || '';
    return mode === 'estimate'
      ? [...head, cell(r.reference), cell(r.kernel), cell(r.pool), cell(r.native), cell(r.npeet), ...tail, r.memoryRatio ? `${r.memoryRatio.toFixed(1)}x` : '-', notes]
      : [...head, cell(r.pool), cell(r.native), cell(r.npeet), ...tail, notes];
  });
  return markdownTable(header, body);
}

function growthLine(rows: Row[], ws: number[]): { text: string; fits: Record<string, unknown>[] } {
  const fits = ws.map((w) => {
    const pts = (key: 'kernel' | 'pool' | 'native', cpu: boolean): [number, number][] =>
      rows.filter((r) => r.width === w && r[key] && r.n >= 3000).map((r) => [r.n, cpu ? (medianCpu(r[key]!) ?? NaN) : median(r[key]!.wall)]);
    return { width: w, kernelCpu: slope(pts('kernel', true)), pool: slope(pts('pool', false)), native: slope(pts('native', false)) };
  });
  const f2 = (v: number | null) => (v === null || !Number.isFinite(v) ? '-' : v.toFixed(2));
  const text = fits.map((g) => `W=${g.width}: kernel ${f2(g.kernelCpu)} (1 thread, CPU s), pool ${f2(g.pool)} (wall), native ${f2(g.native)} (wall)`).join('; ');
  return { text, fits };
}

export async function run(opts: { quick: boolean }): Promise<void> {
  const mode = (process.env.MI_BENCH_MODE ?? 'estimate') as 'estimate' | 'process';
  if (mode !== 'estimate' && mode !== 'process') throw new Error(`MI_BENCH_MODE must be estimate or process; got '${String(mode)}'`);
  const dflt = mode === 'process' ? (opts.quick ? [[3000], [8]] : [[30000], [32, 64]]) : opts.quick ? [[1000, 3000], [8, 32]] : [[1000, 3000, 10000, 30000, 100000], [8, 16, 32, 64]];
  const ns = list(process.env.MI_BENCH_N, dflt[0]);
  const ws = list(process.env.MI_BENCH_W, dflt[1]);
  const s = settings();
  const m = machine();
  const loadStart = loadAverage();
  const startedAt = new Date().toISOString();
  const peers = findPeers();
  for (const note of peers.notes) console.log(note);
  const dir = mkdtempSync(join(tmpdir(), 'infoflow-bench-mi-'));
  let rows: Row[];
  try {
    rows = mode === 'estimate' ? await estimateMode(ns, ws, s, peers, dir) : await processMode(ns, ws, s, peers, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const loadEnd = loadAverage();
  const growth = mode === 'estimate' ? growthLine(rows, ws) : null;
  const nativeLine = peers.native ? `native: ${peers.native.compiler}, ${peers.native.flags.join(' ')}, OMP_NUM_THREADS=${s.workers}` : 'native: skipped';
  const npeetLine = peers.python ? `NPEET: ${peers.python} (N <= ${s.npeetMaxN}, its noise off)` : 'NPEET: skipped';
  const text = [
    `MI benchmark, ${mode} mode, k = 3, ${startedAt}. ${machineLine(m, loadStart, loadEnd)}`,
    `${nativeLine}; ${npeetLine}. Cells: wall seconds min / median over the rounds (cpu: CPU seconds of the fastest run, all threads). ours = ${mode === 'estimate' ? `the ${s.workers}-worker pool (cpu: the 1-thread kernel)` : 'infoflow mi'}.`,
    '',
    table(mode, rows, s.workers),
    ...(growth ? ['', `Growth exponent in N (log-log least squares over N >= 3000): ${growth.text}`] : []),
  ].join('\n');
  console.log(`\n${text}`);

  const resultsDir = join(dirname(findRepoFile('bench/README.md')), 'results');
  const resultsFile = join(resultsDir, 'mi.json');
  mkdirSync(resultsDir, { recursive: true });
  // each mode keeps its own part of the file, and a run replaces only the rows (N, W) it measured: a rerun of
  // one size leaves the rest of the grid (each row says when it was measured and under what load)
  const previous = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Record<string, { rows?: Row[] }>) : {};
  const keep = Object.fromEntries(Object.entries(previous).filter(([key]) => key === 'estimate' || key === 'process'));
  const measured = new Set(rows.map((r) => `${r.n}x${r.width}`));
  const kept = (previous[mode]?.rows ?? []).filter((r) => r.measuredAt && !measured.has(`${r.n}x${r.width}`));
  const allRows = [...kept, ...rows].sort((a, b) => a.width - b.width || a.n - b.n);
  const result = {
    startedAt,
    machine: m,
    loadAverage: { start: loadStart, end: loadEnd },
    quick: opts.quick,
    settings: s,
    native: peers.native,
    python: peers.python,
    notes: peers.notes,
    rows: allRows,
    growth: growth?.fits ?? null,
  };
  writeFileSync(resultsFile, `${JSON.stringify({ ...keep, [mode]: result }, null, 2)}\n`);
}
