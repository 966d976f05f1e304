/**
 * Durable writes (src/io/durable.ts) and the file-system error causes (src/io/fs-errors.ts): short writes
 * are finished or reported, a failed replace or append leaves the previous file byte for byte, and a real
 * full file system (a tmpfs mounted when the tests run as root) gives the one-line ENOSPC error.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InfoflowError } from '../src/errors.js';
import { appendDurable, type WriteFn, writeAll, writeFileDurable } from '../src/io/durable.js';
import { explainFsCode, fsError } from '../src/io/fs-errors.js';

const root = mkdtempSync(join(tmpdir(), 'infoflow-durable-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A disk that takes `room` more bytes, `chunk` at most per call, then fails with `code` (or writes 0). */
function fillingDisk(room: number, chunk: number, code: string | null): WriteFn {
  let left = room;
  return (fd, buffer, offset, length) => {
    if (left === 0) {
      if (code === null) return 0;
      throw Object.assign(new Error(`${code}: injected`), { code });
    }
    const n = Math.min(length, chunk, left);
    left -= n;
    return writeSync(fd, buffer, offset, n);
  };
}

describe('durable writes', () => {
  it('writeAll finishes short writes and reports a write that makes no progress', () => {
    const p = join(root, 'short.bin');
    const data = Buffer.from('x'.repeat(10_000));
    const fd = openSync(p, 'w');
    writeAll(fd, data, fillingDisk(Infinity, 777, null));
    expect(readFileSync(p).length).toBe(10_000);
    const fd2 = openSync(join(root, 'short2.bin'), 'w');
    expect(() => writeAll(fd2, data, fillingDisk(5000, 999, null))).toThrow(/no progress after 5000 of 10000 bytes/);
  });

  it('a replace that fails (short write, then ENOSPC) keeps the old file and leaves no temp file', () => {
    const dir = join(root, 'replace');
    mkdirSync(dir);
    const p = join(dir, 'state.json');
    writeFileDurable(p, '{"epoch":1}');
    for (const code of ['ENOSPC', 'EDQUOT', 'EIO', null] as const) {
      const err = (() => {
        try {
          writeFileDurable(p, JSON.stringify({ epoch: 2, pad: 'y'.repeat(300_000) }), fillingDisk(200_704, 65_536, code));
        } catch (e) {
          return e;
        }
      })();
      expect(err, String(code)).toBeInstanceOf(InfoflowError);
      const msg = (err as Error).message;
      expect(msg).not.toContain('\n');
      expect(msg.startsWith(`${p}: cannot write: `)).toBe(true);
      expect(msg).toMatch(code === 'EDQUOT' ? /quota/ : code === 'EIO' ? /input\/output error/ : /no space left/);
      expect((err as InfoflowError).exitCode).toBe(2);
      expect(readFileSync(p, 'utf8')).toBe('{"epoch":1}');
      expect(readdirSync(dir)).toEqual(['state.json']);
    }
  });

  it('an append that fails is cut back to the previous length: no partial line', () => {
    const p = join(root, 'metrics.jsonl');
    appendDurable(p, '{"epoch":0}\n');
    const line = `${JSON.stringify({ epoch: 1, pad: 'z'.repeat(5000) })}\n`;
    expect(() => appendDurable(p, line, fillingDisk(3000, 1000, 'ENOSPC'))).toThrow(/no space left on the device/);
    expect(readFileSync(p, 'utf8')).toBe('{"epoch":0}\n');
    appendDurable(p, line);
    expect(readFileSync(p, 'utf8')).toBe(`{"epoch":0}\n${line}`);
  });

  it('names the real cause: a file in place of a folder, a read-only folder', () => {
    const file = join(root, 'a-file');
    writeFileSync(file, '');
    const e1 = fsError(join(file, 'run', 'config.json'), Object.assign(new Error('x'), { code: 'ENOTDIR' }));
    expect(e1.message).toMatch(new RegExp(`${file} is a file, not a folder \\(ENOTDIR\\); remove it or choose a writable --out`));
    const e2 = fsError(file, Object.assign(new Error('x'), { code: 'EEXIST' }), 'create the folder');
    expect(e2.message).toMatch(/is a file, not a folder \(EEXIST\)/);
    expect(explainFsCode('EROFS', '/x')).toMatch(/read-only/);
    // a real write into a file's place
    expect(() => writeFileDurable(join(file, 'x.json'), '{}')).toThrow(/is a file, not a folder \(ENOTDIR\)/);
    if (process.getuid?.() !== 0) {
      const ro = join(root, 'ro');
      mkdirSync(ro);
      chmodSync(ro, 0o500);
      expect(() => writeFileDurable(join(ro, 'x.json'), '{}')).toThrow(/permission denied \(EACCES\)/);
    }
  });

  const asRoot = process.getuid?.() === 0 && process.platform === 'linux';
  it.skipIf(!asRoot)('a real full tmpfs: ENOSPC as one line, the old file intact; a read-only mount: EROFS', () => {
    const mnt = join(root, 'tmpfs');
    mkdirSync(mnt);
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
    if (mount.status !== 0) return; // no CAP_SYS_ADMIN (a container): the injected failures above cover it
    try {
      const p = join(mnt, 'state.json');
      writeFileDurable(p, 'old');
      expect(() => writeFileDurable(p, Buffer.alloc(300_000, 65))).toThrow(/state\.json: cannot write: no space left on the device \(ENOSPC\)/);
      // the old one and the new temp could not both fit: the old one is kept, the temp removed
      expect(readFileSync(p, 'utf8')).toBe('old');
      expect(readdirSync(mnt)).toEqual(['state.json']);
      expect(spawnSync('mount', ['-o', 'remount,ro', mnt]).status).toBe(0);
      expect(() => writeFileDurable(p, 'new')).toThrow(/read-only \(EROFS\)/);
      expect(existsSync(p)).toBe(true);
    } finally {
      spawnSync('umount', ['-l', mnt]);
    }
  });
});
