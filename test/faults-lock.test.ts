/**
 * One writer per folder (src/io/lock.ts): a live holder is refused by name, a dead one's stale lock is taken
 * over and reported, another host's lock is refused naming that host, and releasing removes only our own lock.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InfoflowError } from '../src/errors.js';
import { LOCK_FILE, lockFolder, processAlive, staleLockNote } from '../src/io/lock.js';

const root = mkdtempSync(join(tmpdir(), 'infoflow-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function folder(name: string): string {
  const d = join(root, name);
  mkdirSync(d);
  return d;
}

const holderFile = (pid: number, host = hostname()) => `${JSON.stringify({ pid, host, command: 'train', started: '2026-12-01T20:00:00.000Z' })}\n`;

describe('folder locks', () => {
  it('holds pid, host and command; a second lock in the same process is refused; release removes it', () => {
    const d = folder('own');
    const lock = lockFolder(d, 'train');
    const held = JSON.parse(readFileSync(join(d, LOCK_FILE), 'utf8'));
    expect(held).toMatchObject({ pid: process.pid, host: hostname(), command: 'train' });
    expect(() => lockFolder(d, 'reproduce')).toThrow(/this process already writes here/);
    lock.release();
    expect(existsSync(join(d, LOCK_FILE))).toBe(false);
    lockFolder(d, 'train').release();
  });

  it('a live process holding the lock is refused by name; once it is dead its lock is taken over with a note', async () => {
    const d = folder('live');
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    await new Promise((r) => sleeper.once('spawn', r));
    writeFileSync(join(d, LOCK_FILE), holderFile(sleeper.pid!));
    const err = (() => {
      try {
        lockFolder(d, 'train');
      } catch (e) {
        return e as InfoflowError;
      }
    })();
    expect(err).toBeInstanceOf(InfoflowError);
    expect(err!.exitCode).toBe(2);
    expect(err!.message).toBe(`${d}: another process writes here: pid ${sleeper.pid} on ${hostname()} (train, since 2026-12-01T20:00:00.000Z); wait for it to end or stop it, then run the command again`);
    sleeper.kill('SIGKILL');
    await new Promise((r) => sleeper.once('exit', r));
    expect(processAlive(sleeper.pid!)).toBe(false);
    const lock = lockFolder(d, 'train');
    expect(lock.tookOver?.pid).toBe(sleeper.pid);
    expect(staleLockNote(d, lock)).toMatch(new RegExp(`took over the lock of pid ${sleeper.pid} .*no longer running`));
    expect(JSON.parse(readFileSync(join(d, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  it('a lock from another host is refused, naming it; an old unreadable lock file is stale', () => {
    const d = folder('remote');
    writeFileSync(join(d, LOCK_FILE), holderFile(1, 'node-17.cluster'));
    expect(() => lockFolder(d, 'train')).toThrow(/locked by pid 1 on node-17\.cluster \(train, .*\), another host; wait for that run to end, or if it is over, delete .*\.infoflow\.lock$/);
    const u = folder('unreadable');
    writeFileSync(join(u, LOCK_FILE), '{"pid": 12');
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(u, LOCK_FILE), old, old);
    const lock = lockFolder(u, 'train');
    expect(lock.tookOver?.command).toMatch(/unreadable/);
    lock.release();
  });

  it('an orphan holder (its parent is dead) is waited for, then its lock is taken over', async () => {
    const d = folder('orphan');
    const deadParent = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => deadParent.once('exit', r));
    // the orphan: alive now, it stops by itself (at the end of its epoch) 0.5 s later
    const orphan = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 500)']);
    await new Promise((r) => orphan.once('spawn', r));
    writeFileSync(join(d, LOCK_FILE), `${JSON.stringify({ pid: orphan.pid, host: hostname(), command: 'train', started: 'now', parent: deadParent.pid })}\n`);
    const lock = lockFolder(d, 'train');
    expect(lock.tookOver?.pid).toBe(orphan.pid);
    lock.release();
  });

  it('a Slurm task takes over the lock of an earlier Slurm job, even from another node', () => {
    const d = folder('slurm');
    writeFileSync(join(d, LOCK_FILE), `${JSON.stringify({ pid: 1, host: 'node-17', command: 'train', started: 'then', slurmJob: '41' })}\n`);
    expect(() => lockFolder(d, 'train')).toThrow(/another host/);
    process.env.SLURM_JOB_ID = '42';
    try {
      const lock = lockFolder(d, 'train');
      expect(lock.tookOver).toMatchObject({ host: 'node-17', slurmJob: '41' });
      expect(JSON.parse(readFileSync(join(d, LOCK_FILE), 'utf8')).slurmJob).toBe('42');
      lock.release();
    } finally {
      delete process.env.SLURM_JOB_ID;
    }
  });

  it('release leaves a lock that is no longer ours', () => {
    const d = folder('replaced');
    const lock = lockFolder(d, 'train');
    writeFileSync(join(d, LOCK_FILE), holderFile(process.pid + 1_000_000));
    lock.release();
    expect(existsSync(join(d, LOCK_FILE))).toBe(true);
  });
});
