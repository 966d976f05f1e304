/**
 * Peers run as child processes of the benchmark (the C brute force, NPEET, PyTorch, `node dist/cli.js mi`):
 * one timed run, and the Python interpreter that has the modules a peer needs.
 *
 * CPU time of a child: Linux adds a waited-for child's CPU time (all its threads) to the parent's cutime and
 * cstime in /proc/self/stat, so the difference around spawnSync is the child's CPU seconds (10 ms ticks);
 * null where /proc is missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export interface ChildRun {
  stdout: string;
  stderr: string;
  status: number | null;
  /** wall seconds of the whole process, spawn to exit */
  wall: number;
  /** CPU seconds of the whole process (all threads), or null where not measurable */
  cpu: number | null;
}

const TICKS_PER_SECOND = 100;

/** CPU seconds of this process's finished children, from /proc/self/stat (fields 16 and 17, in ticks). */
function childrenCpu(): number | null {
  if (!existsSync('/proc/self/stat')) return null;
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // the fields after the command name, which is in parentheses and may hold spaces; [0] is field 3
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / TICKS_PER_SECOND;
}

export function runTimed(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildRun {
  const c0 = childrenCpu();
  const t0 = performance.now();
  const r = spawnSync(command, args, { encoding: 'utf8', env, maxBuffer: 64 << 20 });
  const wall = (performance.now() - t0) / 1000;
  const c1 = childrenCpu();
  if (r.error) throw r.error;
  return { stdout: r.stdout, stderr: r.stderr, status: r.status, wall, cpu: c0 === null || c1 === null ? null : c1 - c0 };
}

/** The last line of a child's stdout as JSON, or an error naming the command and its stderr. */
export function jsonAnswer<T>(what: string, run: ChildRun): T {
  const last = run.stdout.trim().split('\n').pop() ?? '';
  if (run.status !== 0 || !last.startsWith('{')) {
    throw new Error(`${what} failed (exit ${run.status}): ${run.stderr.trim().split('\n').slice(-3).join(' | ') || '(no stderr)'}`);
  }
  return JSON.parse(last) as T;
}

/**
 * The first Python that imports every module in `modules`: $BENCH_PYTHON, then python3 on PATH, then the
 * system's /usr/bin/python3 (Debian's python3-sklearn and python3-torch install there, which a pyenv python3
 * on PATH does not see). `note` says what was tried when none does.
 */
export function findPython(modules: string[]): { python: string } | { note: string } {
  const candidates = [process.env.BENCH_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  for (const python of [...new Set(candidates)]) {
    const r = spawnSync(python, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8' });
    if (r.status === 0) return { python };
  }
  return { note: `no Python with ${modules.join(', ')} (tried ${[...new Set(candidates)].join(', ')}; set BENCH_PYTHON)` };
}
