/**
 * MI benchmark (issue 2, item 10): seconds for one KSG estimate (k = 3, whole estimate: layout, trees,
 * queries, the psi sum) on activation-like data (bench/activations.ts: MNIST through an untrained depth-5 tanh
 * MLP, x = first hidden layer, y = last, 2W dims each), for N in 1k..100k and W in 8..64: the TypeScript
 * reference (small N), the kernel on one thread, the pool with 2 workers; min and median over repeats after a
 * warm-up; the growth exponent in N (log-log least squares); the kernel's memory against the input's size.
 *
 * Sizes: MI_BENCH_N / MI_BENCH_W (comma lists) override; --quick runs N 1k, 3k and W 8, 32. A size whose
 * predicted single-thread CPU time (from the previous N at the same W, growing as N^2.2) exceeds
 * MI_BENCH_BUDGET_S (default 120 s) is skipped and listed as such. Writes bench/results/mi.json and the table into bench/README.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MIEstimator } from '../src/mi/index.js';
import { referenceMI } from '../src/mi/reference.js';
import { mnistActivations } from './activations.js';

interface Timing {
  min: number;
  median: number;
  repeats: number;
  /** CPU seconds of the process (all threads) in the fastest run */
  cpu: number;
}
interface Row {
  n: number;
  width: number;
  dims: string;
  bits: number;
  reference?: Timing;
  kernel?: Timing;
  pool?: Timing;
  memoryRatio?: number;
  skipped?: string;
}

const here = dirname(fileURLToPath(import.meta.url));
/** <repo>/bench, from dist-bench/bench/ or bench/ */
const benchDir = existsSync(join(here, '..', '..', 'bench')) ? join(here, '..', '..', 'bench') : here;

const list = (env: string | undefined, dflt: number[]): number[] => (env ? env.split(',').map(Number) : dflt);

async function time(f: () => Promise<number> | number, slow: boolean): Promise<{ t: Timing; value: number }> {
  const runs: { wall: number; cpu: number }[] = [];
  let value = NaN;
  const once = async (): Promise<{ wall: number; cpu: number }> => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    value = await f();
    const c = process.cpuUsage(c0);
    return { wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
  };
  // warm-up (also the only run when one estimate takes many seconds)
  const first = await once();
  const repeats = slow || first.wall > 5 ? 0 : first.wall > 1 ? 2 : 5;
  if (repeats === 0) runs.push(first);
  for (let r = 0; r < repeats; r++) runs.push(await once());
  runs.sort((a, b) => a.wall - b.wall);
  const t = { min: runs[0].wall, median: runs[Math.floor((runs.length - 1) / 2)].wall, repeats: runs.length, cpu: runs[0].cpu };
  return { t, value };
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

const f2 = (v: number | null): string => (v === null ? '-' : v.toFixed(2));
const fmt = (t?: Timing): string => (t ? `${t.min.toFixed(3)} / ${t.median.toFixed(3)} (cpu ${t.cpu.toFixed(2)})` : '-');

export async function run(opts: { quick: boolean }): Promise<void> {
  const ns = list(process.env.MI_BENCH_N, opts.quick ? [1000, 3000] : [1000, 3000, 10000, 30000, 100000]);
  const ws = list(process.env.MI_BENCH_W, opts.quick ? [8, 32] : [8, 16, 32, 64]);
  const budget = Number(process.env.MI_BENCH_BUDGET_S ?? 120);
  const one = new MIEstimator({ workers: 1 });
  const two = new MIEstimator({ workers: 2 });
  const rows: Row[] = [];
  const sink: number[] = [];
  try {
    for (const w of ws) {
      let prev: { n: number; t: number } | undefined;
      for (const n of ns) {
        const dims = `${2 * w} + ${2 * w}`;
        const predicted = prev ? prev.t * (n / prev.n) ** 2.2 : 0;
        if (predicted > budget) {
          rows.push({ n, width: w, dims, bits: NaN, skipped: `predicted ${predicted.toFixed(0)} CPU s on one thread > budget ${budget} s` });
          console.log(`N=${n} W=${w}: skipped (predicted ${predicted.toFixed(0)} s)`);
          continue;
        }
        const a = mnistActivations(n, w);
        const x = { data: a.x, shape: [n, a.dims] };
        const y = { data: a.y, shape: [n, a.dims] };
        const row: Row = { n, width: w, dims, bits: NaN };
        if (n <= 3000 && (n <= 1000 || w <= 16)) {
          const r = await time(() => referenceMI({ data: a.x, n, d: a.dims }, { data: a.y, n, d: a.dims }, 3).nats, true);
          row.reference = r.t;
          sink.push(r.value);
        }
        const k1 = await time(async () => (await one.estimate(x, y)).mi, false);
        row.kernel = k1.t;
        row.bits = k1.value;
        const inputBytes = n * 2 * a.dims * 4;
        row.memoryRatio = one.memoryBytes / inputBytes;
        const k2 = await time(async () => (await two.estimate(x, y)).mi, k1.t.min > 5);
        row.pool = k2.t;
        if (k2.value !== k1.value) throw new Error(`N=${n} W=${w}: pool and one thread disagree`);
        rows.push(row);
        prev = { n, t: k1.t.cpu };
        console.log(`N=${n} W=${w}: ${row.bits.toFixed(4)} bits, ref ${fmt(row.reference)}, 1 thread ${fmt(row.kernel)}, pool ${fmt(row.pool)} s, memory ${row.memoryRatio.toFixed(1)}x input`);
      }
    }
  } finally {
    await one.close();
    await two.close();
  }

  const growth = ws.map((w) => {
    const pts = (key: 'kernel' | 'pool', cpu: boolean): [number, number][] =>
      rows.filter((r) => r.width === w && r[key] && r.n >= 3000).map((r) => [r.n, cpu ? r[key]!.cpu : r[key]!.min]);
    return { width: w, kernel: slope(pts('kernel', false)), pool: slope(pts('pool', false)), kernelCpu: slope(pts('kernel', true)) };
  });
  const machine = `${cpus()[0].model}, ${cpus().length} cores, Node ${process.version}`;
  const load = loadavg().map((l) => l.toFixed(1)).join(' ');
  const header = '| N | W | dims x + y | MI (bits) | reference s | kernel 1 thread s: min / median (cpu s) | pool 2 workers s: min / median (cpu s) | memory / input |';
  const lines = [header, '|---|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    if (r.skipped) lines.push(`| ${r.n} | ${r.width} | ${r.dims} | - | - | skipped: ${r.skipped} | - | - |`);
    else lines.push(`| ${r.n} | ${r.width} | ${r.dims} | ${r.bits.toFixed(4)} | ${fmt(r.reference)} | ${fmt(r.kernel)} | ${fmt(r.pool)} | ${r.memoryRatio!.toFixed(1)}x |`);
  }
  const growthLine = growth
    .map((g) => `W=${g.width}: ${f2(g.kernelCpu)} (1 thread, CPU s), ${f2(g.kernel)} (1 thread, wall), ${f2(g.pool)} (pool, wall)`)
    .join('; ');
  const table = `${lines.join('\n')}\n\nGrowth exponent in N (log-log least squares over N >= 3000): ${growthLine}\n\nMachine: ${machine}; load average at the end: ${load}.`;
  console.log(`\n${table}`);

  mkdirSync(join(benchDir, 'results'), { recursive: true });
  writeFileSync(join(benchDir, 'results', 'mi.json'), `${JSON.stringify({ machine, loadAverage: load, quick: opts.quick, rows, growth, sink: sink.length }, null, 2)}\n`);
  // the table between markers in bench/README.md (the rest of the README is kept)
  const readme = join(benchDir, 'README.md');
  const begin = '<!-- mi-table:begin -->';
  const end = '<!-- mi-table:end -->';
  const block = `${begin}\n${table}\n${end}`;
  let text = existsSync(readme) ? readFileSync(readme, 'utf8') : '# Benchmarks\n';
  text = text.includes(begin) ? text.replace(new RegExp(`${begin}[\\s\\S]*${end}`), block) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(readme, text);
}
