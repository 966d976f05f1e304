/**
 * One-line causes and fixes for the file-system errors a run can meet (full disk, quota, read-only mount,
 * failing device, a file where a folder should be, permissions). Every writer of run and figure folders turns
 * a Node error into an InfoflowError here, so the user reads the real cause, not "internal error: ENOSPC".
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InfoflowError, isInfoflowError } from '../errors.js';

/** What to do after a failed write: the previous files are intact, so the same command picks up from them. */
const RETRY = 'run the same command again (train: with --resume); what was written before is intact';

/** The first ancestor of `path` (itself included) that exists and is not a folder, if any. */
function fileInTheWay(path: string): string | undefined {
  let p = resolve(path);
  for (;;) {
    try {
      return statSync(p).isDirectory() ? undefined : p;
    } catch {
      const up = dirname(p);
      if (up === p) return undefined;
      p = up;
    }
  }
}

/** The cause and the fix of `code` for `path`, or undefined for codes with no better words than Node's. */
export function explainFsCode(code: string | undefined, path: string): string | undefined {
  switch (code) {
    case 'ENOSPC':
      return `no space left on the device (ENOSPC); free some space or choose another --out, then ${RETRY}`;
    case 'EDQUOT':
      return `disk quota exceeded (EDQUOT); free some space or choose another --out, then ${RETRY}`;
    case 'EROFS':
      return 'the file system is read-only (EROFS); choose a writable --out';
    case 'EIO':
      return `input/output error (EIO): the device failed (a bad disk or a lost network mount); check it, then ${RETRY}`;
    case 'ENOTDIR':
    case 'EEXIST': {
      const file = fileInTheWay(path);
      if (file) return `${file} is a file, not a folder (${code}); remove it or choose a writable --out`;
      return code === 'ENOTDIR' ? 'a part of the path is not a folder (ENOTDIR); choose a writable --out' : undefined;
    }
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code}); fix its permissions or choose a writable --out`;
    case 'EMFILE':
    case 'ENFILE':
      return `too many open files (${code}); raise the limit (ulimit -n) or run fewer jobs at once (--jobs)`;
    case 'ENAMETOOLONG':
      return 'the path is too long (ENAMETOOLONG); choose a shorter, writable --out';
    default:
      return undefined;
  }
}

/** The cause and fix of a failed file-system call on `path`, always some words (Node's code at worst). */
export function fsCause(e: unknown, path: string): string {
  const err = e as NodeJS.ErrnoException;
  return explainFsCode(err?.code, path) ?? `${err?.code ?? err?.message ?? String(e)}; choose a writable --out`;
}

/** An InfoflowError ('io', exit 2) for a failed `doing` ('write', 'create the folder') on `path`. */
export function fsError(path: string, e: unknown, doing = 'write'): InfoflowError {
  if (isInfoflowError(e)) return e;
  return new InfoflowError('io', `${path}: cannot ${doing}: ${fsCause(e, path)}`, { cause: e });
}
