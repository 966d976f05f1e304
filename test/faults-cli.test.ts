/**
 * Faults end to end through the built CLI (dist/cli.js; `npm test` builds first): a full disk at several
 * points of a run (a real tmpfs, mounted when the tests run as root; test/faults-durable.test.ts injects the
 * same failures without root), two writers on one folder, `reproduce` killed with SIGKILL, closed pipes,
 * an address-space limit, a .npy file too large for the estimator, and the small ones (--version, -0,
 * --resume with --force).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { processAlive } from '../src/io/lock.js';
import { formatNpy } from '../src/npy/index.js';

const repo = resolve(import.meta.dirname, '..');
const cli = join(repo, 'dist', 'cli.js');
const tmp = mkdtempSync(join(tmpdir(), 'infoflow-faults-'));
const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  rmSync(tmp, { recursive: true, force: true });
});

function run(args: string[], opts: { env?: Record<string, string>; shell?: string } = {}) {
  const r = opts.shell
    ? spawnSync('bash', ['-c', opts.shell], { encoding: 'utf8', timeout: 110_000, env: { ...process.env, ...opts.env } })
    : spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 110_000, env: { ...process.env, ...opts.env } });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** The metrics that define a run (the seconds differ between runs). */
const rowsOf = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const r = JSON.parse(l);
      return { epoch: r.epoch, trainLoss: r.trainLoss, trainError: r.trainError, valError: r.valError, mi: r.mi };
    });

const TRAIN = ['train', '--width', '4', '--depth', '5', '--limit-train', '300', '--limit-val', '60', '--backend', 'wasm', '--mi-every', '1', '--quiet'];
const EPOCHS = 3;

let straight: ReturnType<typeof rowsOf> | undefined;
/** The uninterrupted run every faulted run must end up equal to. */
function uninterrupted() {
  if (!straight) {
    const dir = join(tmp, 'straight');
    const r = run([...TRAIN, '--epochs', String(EPOCHS), '--out', dir]);
    expect(r.code, r.stderr).toBe(0);
    straight = rowsOf(dir);
    expect(straight.map((r) => r.epoch)).toEqual([0, 1, 2, 3]);
  }
  return straight;
}

/** Running (a zombie, exited but not reaped by a container's first process, is not). */
const pidAlive = processAlive;

const asRoot = process.getuid?.() === 0 && process.platform === 'linux';

/** Resolves once `child` has printed `needle` on stdout; rejects with its stderr if it exits first. */
function untilLine(child: { stdout: Readable; stderr: Readable; once(event: 'exit', f: (code: number | null) => void): unknown }, needle: string): Promise<void> {
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise<void>((ok, fail) => {
    child.stdout.on('data', (d: Buffer) => ((out += d.toString()), out.includes(needle) && ok()));
    child.once('exit', (code) => fail(new Error(`exited (${code}) before printing ${needle}: ${err}`)));
  });
}

describe('a full disk', () => {
  it.skipIf(!asRoot)('at several points of a run: one line, exit 2, nothing corrupted, and --resume after freeing space gives the uninterrupted run', () => {
    const want = uninterrupted();
    const failedAt: number[] = [];
    // free space (KiB) on a 512 KiB tmpfs: none (config.json cannot be written), under one checkpoint
    // (71 KB: epoch 0's fails), and room for one checkpoint but not for the next one beside it
    for (const freeKiB of [0, 40, 100]) {
      const mnt = join(tmp, `disk-${freeKiB}`);
      mkdirSync(mnt);
      if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mnt]).status !== 0) return; // no CAP_SYS_ADMIN
      mounts.push(mnt);
      const filler = join(mnt, 'filler');
      const fd = openSync(filler, 'w');
      try {
        writeSync(fd, Buffer.alloc((512 - freeKiB) * 1024));
      } catch {
        // the disk is now as full as it gets
      }
      closeSync(fd);
      const dir = join(mnt, 'run');
      const r = run([...TRAIN, '--epochs', String(EPOCHS), '--out', dir]);
      expect(r.code, `${freeKiB} KiB free: ${r.stderr}`).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^infoflow: \/.*: cannot (write|take the lock): no space left on the device \(ENOSPC\); free some space or choose another --out, then run the same command again \(train: with --resume\); what was written before is intact$/);
      // nothing half-written: every metrics line parses, the checkpoint (if any) parses, no temp file is left
      const files = existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : [];
      expect(files.filter((f) => f.endsWith('.tmp')), files.join(' ')).toEqual([]);
      const rows = existsSync(join(dir, 'metrics.jsonl')) ? rowsOf(dir) : [];
      const ckPath = join(dir, 'checkpoint', 'state.json');
      const ckEpoch = existsSync(ckPath) ? (JSON.parse(readFileSync(ckPath, 'utf8')) as { epoch: number }).epoch : -1;
      expect(rows.length).toBeGreaterThanOrEqual(ckEpoch + 1);
      failedAt.push(ckEpoch);
      // free the space, resume: the same metrics as the run that never failed
      rmSync(filler);
      const resumed = run([...TRAIN, '--epochs', String(EPOCHS), '--out', dir, '--resume']);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(rowsOf(dir)).toEqual(want);
    }
    // the three fill levels stopped the run at different points: before any checkpoint, and after epoch 0's
    expect(failedAt).toEqual([-1, -1, 0]);
  }, 120_000);
});

describe('one writer per folder', () => {
  it('a second train on a running run directory is refused naming the holder; a killed holder\'s lock is taken over with a note', async () => {
    const dir = join(tmp, 'two-writers');
    const long = [...TRAIN, '--epochs', '5000', '--out', dir];
    const first = spawn(process.execPath, [cli, ...long, '--json']);
    await untilLine(first, '"epoch":1,');
    const second = run([...long, '--resume']);
    expect(second.code).toBe(2);
    expect(second.stderr.trim()).toMatch(new RegExp(`^infoflow: ${dir}: another process writes here: pid ${first.pid} on .* \\(train, since .*\\); wait for it to end or stop it, then run the command again$`));
    first.kill('SIGKILL');
    await new Promise((ok) => first.once('exit', ok));
    expect(JSON.parse(readFileSync(join(dir, '.infoflow.lock'), 'utf8')).pid).toBe(first.pid);
    // --width 8 differs from the run's config: refused as ever, but after taking over the stale lock
    const third = run([...TRAIN.filter((a) => a !== '--quiet').map((a) => (a === '4' ? '8' : a)), '--epochs', '5000', '--out', dir, '--resume']);
    expect(third.code).toBe(2);
    expect(third.stderr).toMatch(new RegExp(`infoflow: ${dir}: took over the lock of pid ${first.pid} on .* \\(train, since .*\\), which is no longer running`));
    expect(third.stderr).toMatch(/--resume with a different config \(.*width: 4 -> 8/);
    expect(existsSync(join(dir, '.infoflow.lock'))).toBe(false);
    const epochs = rowsOf(dir).map((r) => r.epoch);
    expect(epochs).toEqual(Array.from({ length: epochs.length }, (_, i) => i));
  }, 120_000);
});

describe('closed pipes', () => {
  it('train --json | head -1 ends quietly with exit 0 and keeps its epochs; --resume finishes the run', () => {
    const dir = join(tmp, 'epipe');
    const r = run([], { shell: `node ${cli} ${TRAIN.join(' ')} --epochs ${EPOCHS} --out ${dir} --json | head -1; echo "train exit \${PIPESTATUS[0]}" >&2` });
    expect(r.stderr.trim()).toBe('train exit 0');
    expect(JSON.parse(r.stdout.trim()).epoch).toBe(0);
    const rows = rowsOf(dir);
    expect(rows.length).toBeGreaterThanOrEqual(1);
    const resumed = run([...TRAIN, '--epochs', String(EPOCHS), '--out', dir, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(rowsOf(dir)).toEqual(uninterrupted());
  }, 120_000);

  it('reproduce --json | head -1 ends quietly with exit 0, no unhandled error, its lock released', () => {
    const out = join(tmp, 'epipe-reproduce');
    const env = { INFOFLOW_CLI: join(repo, 'test', 'fixtures', 'fake-train.mjs') };
    const r = run([], { env, shell: `node ${cli} reproduce --figure 5 --quick --out ${out} --jobs 2 --json | head -1; echo "reproduce exit \${PIPESTATUS[0]}" >&2` });
    expect(r.stderr.trim()).toBe('reproduce exit 0');
    expect(JSON.parse(r.stdout.trim()).event).toBe('run-start');
    // the exit released the figure folder's lock: the same command can go on at once
    expect(existsSync(join(out, 'figure-5', '.infoflow.lock'))).toBe(false);
  }, 120_000);
});

describe('reproduce killed with SIGKILL', () => {
  it('a second reproduce on the same --out is refused; after SIGKILL of the first no child survives, and the rerun resumes to the full figure', async () => {
    const out = join(tmp, 'orphans');
    const parent = spawn(process.execPath, [cli, 'reproduce', '--figure', '5', '--quick', '--out', out, '--jobs', '2', '--json', '--backend', 'wasm']);
    await untilLine(parent, '"event":"epoch"');
    // the children: the holders of the run directories' locks
    const runs = join(out, 'figure-5', 'runs');
    const children = readdirSync(runs)
      .map((r) => join(runs, r, '.infoflow.lock'))
      .filter(existsSync)
      .map((p) => (JSON.parse(readFileSync(p, 'utf8')) as { pid: number }).pid);
    expect(children.length).toBeGreaterThan(0);
    const second = run(['reproduce', '--figure', '5', '--quick', '--out', out, '--jobs', '2', '--quiet']);
    expect(second.code).toBe(2);
    expect(second.stderr.trim()).toMatch(new RegExp(`^infoflow: .*figure-5: another process writes here: pid ${parent.pid} on .* \\(reproduce --figure 5, since .*\\); wait for it to end or stop it, then run the command again$`));
    parent.kill('SIGKILL');
    await new Promise((ok) => parent.once('exit', ok));
    const t0 = Date.now();
    while (children.some(pidAlive) && Date.now() - t0 < 5000) await new Promise((ok) => setTimeout(ok, 50));
    expect(children.filter(pidAlive)).toEqual([]);
    // the rerun resumes every run where it stopped (with the stand-in for train, to keep the test short: the
    // real trainer's resume is tested by train.test.ts) and takes over the dead parent's figure lock
    const again = run(['reproduce', '--figure', '5', '--quick', '--out', out, '--jobs', '2'], { env: { INFOFLOW_CLI: join(repo, 'test', 'fixtures', 'fake-train.mjs') } });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`took over the lock of pid ${parent.pid}`));
    const data = JSON.parse(readFileSync(join(out, 'figure-5', 'data.json'), 'utf8')) as { run: string; panel: string; epoch: number }[];
    const epochsOf = new Map<string, number[]>();
    for (const row of data) epochsOf.set(`${row.panel} ${row.run}`, [...(epochsOf.get(`${row.panel} ${row.run}`) ?? []), row.epoch]);
    expect(epochsOf.size).toBeGreaterThan(0);
    // every epoch of every run exactly once: nothing lost, nothing written twice
    for (const [name, epochs] of epochsOf) expect(epochs, name).toEqual([0, 1, 2, 3, 4, 5]);
  }, 120_000);
});

describe('reproduce stopped with SIGTERM', () => {
  it('kills its children at once (here a child that hangs and watches nothing) and dies of the signal', async () => {
    const out = join(tmp, 'sigterm');
    const env = { ...process.env, INFOFLOW_CLI: join(repo, 'test', 'fixtures', 'fake-train.mjs'), FAKE_TRAIN_HANG_WIDTH: '8' };
    const parent = spawn(process.execPath, [cli, 'reproduce', '--figure', '5', '--quick', '--out', out, '--jobs', '2', '--json'], { env });
    await untilLine(parent, '"run":"residual-w8');
    await new Promise((ok) => setTimeout(ok, 300));
    const children = (spawnSync('pgrep', ['-P', String(parent.pid)], { encoding: 'utf8' }).stdout ?? '').split('\n').filter(Boolean).map(Number);
    expect(children.length).toBeGreaterThan(0);
    parent.kill('SIGTERM');
    await new Promise((ok) => parent.once('exit', ok));
    expect(parent.signalCode).toBe('SIGTERM');
    const t0 = Date.now();
    while (children.some(pidAlive) && Date.now() - t0 < 2000) await new Promise((ok) => setTimeout(ok, 50));
    expect(children.filter(pidAlive)).toEqual([]);
  }, 60_000);
});

describe('memory and size limits', () => {
  it('a .npy too large for the estimator is refused from its header, at once', () => {
    const big = join(tmp, 'big.npy');
    const header = formatNpy(new Float32Array(0), [0]);
    // the real header of a (5000000, 256) |u1 array, then a sparse 1.28 GB body that is never read
    const text = "{'descr': '|u1', 'fortran_order': False, 'shape': (5000000, 256), }";
    const pad = 64 - ((10 + text.length + 1) % 64);
    const head = Buffer.concat([Buffer.from(header.subarray(0, 8)), Buffer.alloc(2), Buffer.from(`${text}${' '.repeat(pad)}\n`)]);
    head.writeUInt16LE(head.length - 10, 8);
    const fd = openSync(big, 'w');
    writeSync(fd, head);
    ftruncateSync(fd, head.length + 5_000_000 * 256);
    closeSync(fd);
    const r = run(['mi', big, big]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      `infoflow: ${big}: shape (5000000, 256) holds 1,280,000,000 values, over the 536,870,912 that fit; the MI estimator's WebAssembly memory (4 GiB) holds 8 bytes per value of x and y together; subsample the rows, e.g. x[:N]`,
    );
  });

  it('mi under ulimit -v: one line with the cause and the fix, not an internal error', () => {
    const x = join(repo, 'test', 'fixtures', 'golden', 'act_W4_N500_x.npy');
    const y = join(repo, 'test', 'fixtures', 'golden', 'act_W4_N500_y.npy');
    const r = run([], { shell: `ulimit -v 8000000 && exec node ${cli} mi ${x} ${y}` });
    // Node 20's V8 reserves ~10 GiB per WebAssembly memory and fails here; Node 24's falls back and runs
    if (r.code === 0) expect(r.stdout).toMatch(/^I\(X;Y\) = 2\.2193 bits/);
    else {
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toMatch(/^infoflow: .*WebAssembly could not get its memory .*address space \(ulimit -v\).*raise the limit \(ulimit -v unlimited\)$/);
    }
    expect(r.stderr).not.toMatch(/internal error|reinstall/);
  });

  it('mi under ulimit -v 12 GB: one thread fits, threads that would not are refused in one line (no V8 abort)', () => {
    const x = join(repo, 'test', 'fixtures', 'golden', 'act_W16_N2000_x.npy');
    const y = join(repo, 'test', 'fixtures', 'golden', 'act_W16_N2000_y.npy');
    const one = run([], { shell: `ulimit -v 12000000 && exec node ${cli} mi ${x} ${y} --workers 1` });
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/^I\(X;Y\) = 3\.0851 bits/);
    const many = run([], { shell: `ulimit -v 12000000 && exec node ${cli} mi ${x} ${y} --workers 8` });
    if (many.code === 0) expect(many.stdout).toMatch(/^I\(X;Y\) = 3\.0851 bits/);
    else expect(many.stderr.trim()).toMatch(/^infoflow: --workers \/ --mi-workers: 8 worker threads need about 6\.4 GiB of address space and .* is left under this process's limit \(ulimit -v\); use \d+ \(1: no threads\) or raise the limit$/);
  });

  it.skipIf(!asRoot)('mi under a thread limit (ulimit -u) says to use fewer workers', () => {
    const x = join(repo, 'test', 'fixtures', 'golden', 'act_W16_N2000_x.npy');
    const y = join(repo, 'test', 'fixtures', 'golden', 'act_W16_N2000_y.npy');
    // as an unprivileged user (root ignores the limit), with room for the main thread's few helpers only
    const asNobody = (cmd: string) => run([], { shell: `setpriv --reuid=65534 --regid=65534 --clear-groups bash -c '${cmd}'` });
    if (asNobody(`exec node ${cli} --version`).code !== 0) return; // no setpriv, or the tree is not readable by nobody
    const r = asNobody(`ulimit -u 16 && exec node ${cli} mi ${x} ${y} --workers 16`);
    if (r.code === 0) return; // the limit did not bite here (another uid layout): nothing to check
    expect(r.stderr.trim()).toMatch(/^infoflow: --workers \/ --mi-workers: could not start 16 worker threads \(\w+: the system's limit on threads, ulimit -u, or its memory\); use fewer$/);
    expect(r.code).toBe(2);
  });

  it('train under ulimit -v says why the wasm backend cannot start, not "reinstall"', () => {
    const r = run([], { shell: `ulimit -v 8000000 && exec node ${cli} ${TRAIN.join(' ')} --epochs 1 --out ${join(tmp, 'ulimit-train')}` });
    // as for mi: Node 20 cannot reserve the memory under this limit, Node 24 can
    if (r.code !== 0) {
      expect(r.code).toBe(2);
      const last = r.stderr.trim().split('\n').at(-1)!;
      expect(last).toMatch(/^infoflow: --backend wasm: WebAssembly could not get its memory .*ulimit -v/);
    }
    expect(r.stderr).not.toMatch(/npm ci|internal error/);
  });
});

describe('the small ones', () => {
  it('--version and -V print the package version', () => {
    const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;
    for (const flag of ['--version', '-V']) {
      const r = run([flag]);
      expect(r.code, flag).toBe(0);
      expect(r.stdout.trim()).toBe(version);
    }
  });

  it('a zero estimate prints as 0, not -0', () => {
    const x = join(tmp, 'const-x.npy');
    const y = join(tmp, 'y.npy');
    writeFileSync(x, formatNpy(new Float32Array(200).fill(1), [200, 1]));
    writeFileSync(y, formatNpy(Float32Array.from({ length: 200 }, (_, i) => Math.sin(i * 12.9898) * 437.5453 % 1), [200, 1]));
    const r = run(['mi', x, y]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^I\(X;Y\) = 0\.0000 bits/);
  });

  it('--quiet prints nothing on stderr: no TensorFlow.js banner', () => {
    const r = run(['train', '--width', '4', '--limit-train', '100', '--limit-val', '20', '--backend', 'cpu', '--mi-every', '0', '--epochs', '1', '--quiet', '--out', join(tmp, 'quiet')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('the real cause of an unwritable --out: a file in its place (ENOTDIR), a read-only file system (EROFS)', () => {
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'x');
    const r = run(['train', '--epochs', '1', '--quiet', '--out', file]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`infoflow: ${file}: cannot write the run directory: ${file} is a file, not a folder (ENOTDIR); remove it or choose a writable --out`);
    if (!asRoot) return;
    const ro = join(tmp, 'ro');
    mkdirSync(ro);
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,ro', 'tmpfs', ro]).status !== 0) return;
    mounts.push(ro);
    const t = run(['train', '--epochs', '1', '--quiet', '--out', join(ro, 'run')]);
    expect(t.stderr.trim()).toBe(`infoflow: ${join(ro, 'run')}: cannot write the run directory: the file system is read-only (EROFS); choose a writable --out`);
    const p = run(['reproduce', '--figure', '5', '--quick', '--quiet', '--out', join(ro, 'figures')]);
    expect(p.stderr.trim()).toBe(`infoflow: --out: cannot create or write the folder ${join(ro, 'figures')}: the file system is read-only (EROFS); choose a writable --out`);
  });

  it('--resume with --force is refused with one line', () => {
    for (const cmd of ['train', 'train-dvcnn']) {
      const r = run([cmd, '--out', join(tmp, `both-${cmd}`), '--resume', '--force']);
      expect(r.code, cmd).toBe(2);
      expect(r.stderr.trim(), cmd).toMatch(/^infoflow: --resume\/--force: choose one: continue the run, or start it again$/);
    }
  });
});
