/**
 * What the machine allows this process: its address-space limit (`ulimit -v`), and the one-line errors for
 * the failures such limits cause (WebAssembly memory that cannot be reserved, worker threads that cannot
 * start), each saying what to change instead of "internal error".
 */
import { readFileSync } from 'node:fs';
import { InfoflowError } from '../errors.js';

/** This process's address-space limit in bytes (`ulimit -v`, from /proc/self/limits), or null if none or unknown. */
export function addressSpaceLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max address space'));
    const soft = line?.slice('Max address space'.length).trim().split(/\s+/)[0];
    return soft && /^\d+$/.test(soft) ? Number(soft) : null;
  } catch {
    return null;
  }
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/** Address space this process has reserved (VmSize, /proc/self/status), or null if unknown. */
function addressSpaceUsed(): number | null {
  try {
    const kib = /VmSize:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kib ? Number(kib) * 1024 : null;
  } catch {
    return null;
  }
}

/** Address space one worker thread reserves (its V8 isolate and code range): 0.6-0.8 GiB on Node 20 and 24. */
const WORKER_ADDRESS_SPACE = 0.8 * 2 ** 30;

/**
 * Under an address-space limit, refuses `workers` threads that would not fit in what is left: V8 does not fail
 * a worker that cannot reserve its memory, it aborts the whole process ("Fatal process OOM").
 */
export function checkThreadRoom(option: string, workers: number): void {
  const limit = addressSpaceLimit();
  const used = addressSpaceUsed();
  if (limit === null || used === null) return;
  const fit = Math.floor((limit - used) / WORKER_ADDRESS_SPACE);
  if (workers <= fit) return;
  throw new InfoflowError(
    'usage',
    `${option}: ${workers} worker threads need about ${gib(workers * WORKER_ADDRESS_SPACE)} of address space and ${gib(Math.max(0, limit - used))} is left under this process's limit (ulimit -v); use ${Math.max(1, fit)} (1: no threads) or raise the limit`,
  );
}

/**
 * A WebAssembly memory that could not be created or grown, for `what` ('the MI estimator', 'the wasm
 * backend'). V8 on 64-bit reserves about 10 GiB of address space for every WebAssembly memory, whatever its
 * size (bounds checks by guard pages), so an address-space limit below that fails even for tiny inputs.
 */
export function wasmMemoryError(what: string, e: unknown, lower: string): InfoflowError {
  const cause = (e as Error)?.message ?? String(e);
  const limit = addressSpaceLimit();
  if (limit !== null) {
    return new InfoflowError(
      'config',
      `${what}: WebAssembly could not get its memory (${cause}): this process may use ${gib(limit)} of address space (ulimit -v) and each WebAssembly memory reserves about 10 GiB of it whatever its size; raise the limit (ulimit -v unlimited)`,
      { cause: e },
    );
  }
  return new InfoflowError('config', `${what}: out of memory (${cause}); free memory or ${lower}`, { cause: e });
}

/** `f()`, with a WebAssembly memory that cannot be created or grown turned into wasmMemoryError(what, ..., lower). */
export function withWasmMemoryErrors<T>(f: () => T, what: string, lower: string): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RangeError && /WebAssembly|Wasm memory|allocate memory/i.test(e.message)) throw wasmMemoryError(what, e, lower);
    throw e;
  }
}

/** Whether `e` says the system refused a new thread or process (a thread limit, or memory for its stack). */
export function isThreadLimit(e: unknown): boolean {
  const err = e as NodeJS.ErrnoException;
  return err?.code === 'EAGAIN' || err?.code === 'ERR_WORKER_INIT_FAILED' || /EAGAIN|Resource temporarily unavailable/.test(err?.message ?? '');
}

/** A worker pool of `workers` threads that could not start: say what to lower. */
export function threadLimitError(option: string, workers: number, e: unknown): InfoflowError {
  const cause = (e as NodeJS.ErrnoException)?.code ?? (e as Error)?.message ?? String(e);
  return new InfoflowError(
    'usage',
    `${option}: could not start ${workers} worker threads (${cause}: the system's limit on threads, ulimit -u, or its memory); use fewer`,
    { cause: e },
  );
}

/**
 * The most values one .npy input of `infoflow mi` can hold: the estimator keeps every value in float64 in
 * one WebAssembly memory of at most 4 GiB (2^32 / 8 values, before its trees), so a larger file is refused
 * from its header instead of after reading and converting it.
 */
export const MI_INPUT_LIMIT = {
  maxValues: 2 ** 29,
  maxValuesWhy: "the MI estimator's WebAssembly memory (4 GiB) holds 8 bytes per value of x and y together; subsample the rows, e.g. x[:N]",
};
