/** Making output folders (src/io/dirs.ts) and writing figure files, with the real cause when they fail. */
import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import { ioError } from '../../errors.js';
import { makeDirs } from '../../io/dirs.js';
import { writeFileDurable } from '../../io/durable.js';
import { fsCause } from '../../io/fs-errors.js';

/**
 * Creates `dir` and its missing parents and checks it is writable; an io error naming `what`
 * (the option or file the user gave) otherwise.
 */
export function ensureDir(dir: string, what = dir): void {
  try {
    makeDirs(dir);
    accessSync(resolve(dir), constants.W_OK);
  } catch (e) {
    throw ioError(what, `cannot create or write the folder ${dir}: ${fsCause(e, dir)}`, e);
  }
}

/**
 * Writes a figure's output file (its folder must exist) atomically: a full disk leaves the previous file,
 * never a truncated one; an io error naming `what` otherwise.
 */
export function writeTextFile(path: string, content: string | Uint8Array, what = path): void {
  try {
    writeFileDurable(path, content);
  } catch (e) {
    throw ioError(path, `cannot write ${what}: ${fsCause((e as Error).cause ?? e, path)}`, e);
  }
}
