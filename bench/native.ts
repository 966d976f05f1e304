/**
 * The MI benchmark's native comparator, bench/native/ksg_brute.c: built with the system's C compiler ($CC, else
 * cc) as `-O3 -march=native -fopenmp` into dist-bench/native/, rebuilt when the source is newer, and run on two
 * .npy files. Without OpenMP support it is built for one thread (and says so); without a compiler it is skipped
 * with a note.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { findRepoFile } from '../src/repo-files.js';
import { type ChildRun, jsonAnswer, runTimed } from './child.js';

export interface NativeBuild {
  binary: string;
  /** the compiler's first --version line and the flags used */
  compiler: string;
  flags: string[];
}

/** What ksg_brute prints (one JSON line). */
export interface NativeAnswer {
  n: number;
  dx: number;
  dy: number;
  k: number;
  nats: number;
  bits: number;
  zeroEpsPoints: number;
  threads: number;
  simd: string;
  /** reading the two .npy files */
  secondsRead: number;
  /** the estimate after reading: k-NN, counts, psi sum */
  seconds: number;
  secondsKnn: number;
  secondsCount: number;
  cpuSeconds: number;
}

const FLAG_SETS = [
  ['-O3', '-march=native', '-fopenmp'],
  ['-O3', '-march=native'],
];

/** Build (or reuse) the binary under `outDir` (default <repo>/dist-bench/native); a note when no compiler works. */
export function buildNative(outDir?: string): NativeBuild | { note: string } {
  const source = findRepoFile('bench/native/ksg_brute.c');
  const dir = outDir ?? join(dirname(source), '..', '..', 'dist-bench', 'native');
  const cc = process.env.CC || 'cc';
  const version = spawnSync(cc, ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) return { note: `no C compiler ('${cc} --version' failed; set CC)` };
  const compiler = version.stdout.split('\n')[0].trim();
  mkdirSync(dir, { recursive: true });
  const errors: string[] = [];
  for (const flags of FLAG_SETS) {
    const binary = join(dir, `ksg_brute${flags.includes('-fopenmp') ? '' : '_1thread'}`);
    if (existsSync(binary) && statSync(binary).mtimeMs > statSync(source).mtimeMs) return { binary, compiler, flags };
    const r = spawnSync(cc, [...flags, '-o', binary, source, '-lm'], { encoding: 'utf8' });
    if (r.status === 0) return { binary, compiler, flags };
    errors.push(`${flags.join(' ')}: ${r.stderr.trim().split('\n')[0]}`);
  }
  return { note: `C compiler '${cc}' failed (${errors.join('; ')})` };
}

/** Run the brute force on two .npy files: its answer and the whole process's wall and CPU seconds. */
export function runNative(build: NativeBuild, xPath: string, yPath: string, k = 3, env: NodeJS.ProcessEnv = process.env): { answer: NativeAnswer; process: ChildRun } {
  const run = runTimed(build.binary, [xPath, yPath, String(k)], env);
  return { answer: jsonAnswer<NativeAnswer>('ksg_brute', run), process: run };
}
