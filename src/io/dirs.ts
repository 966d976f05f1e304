/**
 * Making folders. Not `mkdirSync(path, { recursive: true })`: on Node 20 it loops forever on some paths
 * (e.g. /proc/x) and reports a read-only file system as ENOENT; this walks up to the first existing
 * ancestor and creates each level in turn, so the error is the real one (EROFS, EACCES, ENOTDIR).
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Creates `dir` and its missing parents; throws Node's error (a file in the way: code ENOTDIR). */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  let p = resolve(dir);
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
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m);
    } catch (e) {
      // another process made it meanwhile
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(m).isDirectory()) throw e;
    }
  }
}
