/**
 * TensorFlow.js backend selection: `auto | tensorflow-gpu | tensorflow | wasm | cpu`.
 *
 * `auto` tries @tensorflow/tfjs-node-gpu (kept only when it sees a GPU), then @tensorflow/tfjs-node, then the
 * wasm backend. The native packages are optional dependencies that cannot install everywhere, so they are
 * loaded with a dynamic import and their absence is not an error for `auto`. The wasm backend's .wasm files
 * come from the npm package itself (setWasmPaths to its dist folder): nothing is downloaded.
 * Generic on purpose: the training code of both papers uses it.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { usageError } from './errors.js';
import { wasmMemoryError } from './process/limits.js';

export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
export type ResolvedBackend = Exclude<BackendName, 'auto'>;

export interface BackendInfo {
  /** what was asked for */
  requested: BackendName;
  /** what runs */
  name: ResolvedBackend;
  /** tfjs's own name for it ('tensorflow', 'wasm', 'cpu') */
  tfBackend: string;
  /** why auto chose it / what it skipped */
  note: string;
}

export function parseBackend(value: string): BackendName {
  if ((BACKENDS as readonly string[]).includes(value)) return value as BackendName;
  throw usageError('--backend', `unknown backend '${value}'; use one of ${BACKENDS.join(', ')}`);
}

let current: BackendInfo | null = null;

/** The tfjs-core instance a native package registers with must be ours: it is resolved from this package. */
async function tryNative(pkg: string): Promise<string | null> {
  try {
    await import(pkg);
    return null;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}

function hasGpu(): boolean {
  // tfjs-node-gpu falls back to the CPU silently when CUDA finds no device; ask TensorFlow for its devices
  try {
    const backend = tf.findBackend('tensorflow') as unknown as { binding?: { isUsingGpuDevice?: () => boolean } } | undefined;
    return Boolean(backend?.binding?.isUsingGpuDevice?.());
  } catch {
    return false;
  }
}

/**
 * tfjs's own console lines ("Hi, looks like you are running TensorFlow.js in Node.js...", "The kernel ... is
 * already registered" when both native packages load) and libtensorflow's INFO logs: nothing a user can act
 * on, and they break --quiet. Our own note says which backend runs and why.
 */
function silenceTfjs(): void {
  tf.enableProdMode();
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
}

/** Why the wasm backend did not start: its factory's own error (tfjs only logs it), else its missing files. */
async function wasmFailure(): Promise<Error> {
  const probe = (() => {
    try {
      new WebAssembly.Memory({ initial: 1 });
      return null;
    } catch (e) {
      return e;
    }
  })();
  if (probe) return wasmMemoryError('--backend wasm', probe, 'use --backend cpu');
  return usageError('--backend', 'the wasm backend failed to initialise (its .wasm files are missing or damaged); reinstall with npm ci, or use --backend cpu');
}

async function setWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const require = createRequire(import.meta.url);
  const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  // the package's own .wasm files; a trailing separator because tfjs appends file names to a prefix
  wasm.setWasmPaths(join(dist, '/'));
  // one thread: runs share the machine's cores (reproduce runs several trainings in parallel)
  wasm.setThreadsCount(1);
  if (!(await tf.setBackend('wasm'))) throw await wasmFailure();
}

async function setCpu(): Promise<void> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw usageError('--backend', 'the cpu backend failed to initialise; reinstall with npm ci');
}

/** Select (once per process) and initialise a backend; a second call with another name switches. */
export async function initBackend(requested: BackendName = 'auto'): Promise<BackendInfo> {
  if (current && (current.requested === requested || current.name === requested)) return current;
  silenceTfjs();
  let info: BackendInfo;
  if (requested === 'cpu') {
    await setCpu();
    info = { requested, name: 'cpu', tfBackend: 'cpu', note: 'asked for' };
  } else if (requested === 'wasm') {
    await setWasm();
    info = { requested, name: 'wasm', tfBackend: 'wasm', note: 'asked for' };
  } else if (requested === 'tensorflow' || requested === 'tensorflow-gpu') {
    const pkg = requested === 'tensorflow' ? '@tensorflow/tfjs-node' : '@tensorflow/tfjs-node-gpu';
    const err = await tryNative(pkg);
    if (err !== null) {
      throw usageError('--backend', `${requested} needs the optional package ${pkg}, which is not installed (${err}); run 'npm install ${pkg}@4.22' or use --backend wasm`);
    }
    await tf.setBackend('tensorflow');
    if (requested === 'tensorflow-gpu' && !hasGpu()) {
      throw usageError('--backend', `${pkg} is installed but TensorFlow sees no GPU; check CUDA, or use --backend tensorflow`);
    }
    info = { requested, name: requested, tfBackend: 'tensorflow', note: 'asked for' };
  } else {
    const skipped: string[] = [];
    let chosen: ResolvedBackend | null = null;
    const gpuErr = await tryNative('@tensorflow/tfjs-node-gpu');
    if (gpuErr === null && (await tf.setBackend('tensorflow')) && hasGpu()) chosen = 'tensorflow-gpu';
    else skipped.push(gpuErr === null ? 'tfjs-node-gpu: no GPU' : 'tfjs-node-gpu: not installed');
    if (!chosen) {
      const cpuErr = gpuErr === null ? null : await tryNative('@tensorflow/tfjs-node');
      if (cpuErr === null && (await tf.setBackend('tensorflow'))) chosen = 'tensorflow';
      else skipped.push('tfjs-node: not installed');
    }
    if (!chosen) {
      await setWasm();
      chosen = 'wasm';
    }
    info = { requested, name: chosen, tfBackend: tf.getBackend(), note: skipped.length ? `auto (${skipped.join('; ')})` : 'auto' };
  }
  current = info;
  return info;
}

export { tf };
