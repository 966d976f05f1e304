/**
 * Making output folders and writing figure files. Not `mkdirSync(path, { recursive: true })`: on Node 20 it loops forever on some
 * paths (e.g. /proc/x); this walks up to the first existing ancestor and creates each level in turn.
 */
import { accessSync, constants, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ioError } from '../../errors.js';

/**
 * Creates `dir` and its missing parents and checks it is writable; an io error naming `what`
 * (the option or file the user gave) otherwise.
 */
export function ensureDir(dir: string, what = dir): void {
  const missing: string[] = [];
  let p = resolve(dir);
  try {
    for (;;) {
      let isDir: boolean | undefined;
      try {
        isDir = statSync(p).isDirectory();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      if (isDir === false) throw Object.assign(new Error(`${p} is a file`), { code: 'ENOTDIR' });
      if (isDir === true) break;
      missing.push(p);
      const up = dirname(p);
      if (up === p) break;
      p = up;
    }
    for (const m of missing.reverse()) mkdirSync(m);
    accessSync(resolve(dir), constants.W_OK);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw ioError(what, `cannot create or write the folder ${dir} (${err.code ?? err.message}); choose a writable output folder`, e);
  }
}

/** Writes a figure's output file (its folder must exist); an io error naming `what` otherwise. */
export function writeTextFile(path: string, content: string | Uint8Array, what = path): void {
  try {
    writeFileSync(path, content);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw ioError(path, `cannot write ${what} (${err.code ?? err.message}); choose a writable output folder`, e);
  }
}
