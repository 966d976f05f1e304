/**
 * Every error the library throws on bad input, in one table (see: piscina src/errors.ts).
 * The library throws; only src/cli.ts prints and sets exit codes.
 *
 * An InfoflowError's message is one line that names the file or option and says what to do.
 * The CLI prints `infoflow: <message>` and exits with `exitCode` (2 for bad input).
 */
export type ErrorKind =
  | 'usage' // a bad option or argument value
  | 'input' // a bad input file or array (missing, truncated, malformed, NaN, N mismatch)
  | 'config' // a run directory or figure spec that does not fit
  | 'io' // the output could not be written
  | 'internal'; // a library function called against its contract: a bug in infoflow, not bad input (exit 1)

export class InfoflowError extends Error {
  readonly kind: ErrorKind;
  readonly exitCode: number;
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'InfoflowError';
    this.kind = kind;
    this.exitCode = options?.exitCode ?? 2;
  }
}

/** A bad option value: `option` as the user spells it (e.g. `--k` or `k`). */
export function usageError(option: string, message: string): InfoflowError {
  return new InfoflowError('usage', `${option}: ${message}`);
}

/** A bad input file or array; `source` is the file path or the argument name. */
export function inputError(source: string, message: string, cause?: unknown): InfoflowError {
  return new InfoflowError('input', `${source}: ${message}`, { cause });
}

export function configError(source: string, message: string): InfoflowError {
  return new InfoflowError('config', `${source}: ${message}`);
}

export function ioError(path: string, message: string, cause?: unknown): InfoflowError {
  return new InfoflowError('io', `${path}: ${message}`, { cause });
}

/** A broken invariant between infoflow's own modules; `where` names the function or argument. */
export function internalError(where: string, message: string): InfoflowError {
  return new InfoflowError('internal', `internal error: ${where}: ${message} (please report it)`, { exitCode: 1 });
}

export function isInfoflowError(e: unknown): e is InfoflowError {
  return e instanceof InfoflowError;
}
