/**
 * Writes that cannot lie. `fs.writeSync` may write fewer bytes than asked (a nearly full disk writes what fits
 * and says so only in its return value), so every write loops until all bytes are down and fails when a call
 * makes no progress. A replaced file goes to a temp file in the same folder, is fsync'ed, renamed over the old
 * one, and the folder is fsync'ed: a crash or a full disk leaves the old file or the new one, never a mix. An
 * append that fails is cut back to the file's previous length, so a file never ends in half a line.
 * Failures are InfoflowErrors with the cause and the fix (fs-errors.ts).
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fsError } from './fs-errors.js';

/** `fs.writeSync`'s shape, a parameter so that tests can hand in a disk that fills up. */
export type WriteFn = (fd: number, buffer: Uint8Array, offset: number, length: number) => number;

const nodeWrite: WriteFn = (fd, buffer, offset, length) => writeSync(fd, buffer, offset, length);

/** What a durable write takes: text, bytes, or bytes in parts (written in order, never joined in memory). */
export type DurableData = string | Uint8Array | readonly Uint8Array[];

function partsOf(data: DurableData): readonly Uint8Array[] {
  return typeof data === 'string' ? [Buffer.from(data)] : data instanceof Uint8Array ? [data] : data;
}

/** Writes every byte of `data` to `fd`; a call that writes nothing is reported as a full disk (ENOSPC). */
export function writeAll(fd: number, data: Uint8Array, write: WriteFn = nodeWrite): void {
  let done = 0;
  while (done < data.length) {
    const n = write(fd, data, done, data.length - done);
    if (!(n > 0)) throw Object.assign(new Error(`write made no progress after ${done} of ${data.length} bytes`), { code: 'ENOSPC' });
    done += n;
  }
}

/** fsync a folder so that a rename in it is on disk; file systems that cannot (EINVAL, EISDIR) are skipped. */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw e;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Replaces `path` with `data` atomically and durably. On any failure the temp file is removed, `path` is as
 * it was, and an InfoflowError names `path`, the cause and the fix.
 */
export function writeFileDurable(path: string, data: DurableData, write: WriteFn = nodeWrite): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    for (const part of partsOf(data)) writeAll(fd, part, write);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
    fsyncDir(dirname(path));
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // the write's error is the one to report
      }
    }
    try {
      rmSync(tmp, { force: true });
    } catch {
      // no temp file was made (its folder is missing or not a folder)
    }
    throw fsError(path, e);
  }
}

/**
 * Appends `data` to `path` (created if missing) and fsyncs it. On failure the file is cut back to its length
 * before the call (a full disk can always shrink a file), so it never ends in a partial record.
 */
export function appendDurable(path: string, data: DurableData, write: WriteFn = nodeWrite): void {
  let fd: number | undefined;
  let before = -1;
  try {
    fd = openSync(path, 'a');
    before = fstatSync(fd).size;
    for (const part of partsOf(data)) writeAll(fd, part, write);
    fsyncSync(fd);
  } catch (e) {
    if (fd !== undefined && before >= 0) {
      try {
        ftruncateSync(fd, before);
        fsyncSync(fd);
      } catch {
        // nothing more can be done here; readers drop a last partial line
      }
    }
    throw fsError(path, e);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
