/**
 * Children die with their parent, SIGKILL included. A parent that runs training children (the figure runner)
 * spawns them with one more pipe, fd 3, that it never writes to, and names it in INFOFLOW_PARENT_PIPE. The
 * kernel closes the parent's end however the parent dies, so the child reads end-of-file and stops. The
 * child's writes are synchronous and atomic (src/io/durable.ts), so stopping between them leaves its run
 * directory at its last complete epoch, ready for --resume. The parent also kills its children (SIGTERM)
 * when it exits or is stopped by a signal (exit-hooks.ts), the faster path when it can run code.
 */
import { type ChildProcess, type ChildProcessByStdio, spawn } from 'node:child_process';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { onProcessExit } from './exit-hooks.js';

export const PARENT_PIPE_ENV = 'INFOFLOW_PARENT_PIPE';
const PARENT_FD = 3;

const children = new Set<ChildProcess>();
let hooked = false;

/** Kills `child` (SIGTERM) if it is still running when this process exits or is stopped by a signal. */
function killWithParent(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (hooked) return;
  hooked = true;
  onProcessExit(
    () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    },
    { signals: true },
  );
}

/**
 * Spawns `command args` with stdout and stderr piped and fd 3 its parent pipe, so that it stops when this
 * process dies; it is also killed (SIGTERM) when this process exits or is stopped by a signal.
 */
export function spawnWithParentPipe(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcessByStdio<null, Readable, Readable> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: { ...env, [PARENT_PIPE_ENV]: String(PARENT_FD) } });
  killWithParent(child);
  return child as unknown as ChildProcessByStdio<null, Readable, Readable>;
}

/** Set by watchParentPipe: what to do when the parent is gone, and the parent it started with. */
let whenParentGone: (() => void) | undefined;
let parentPid = 0;

/**
 * In a child started with spawnWithParentPipe: calls `onParentGone` once when the parent pipe closes, or
 * when checkParent() finds the parent gone. Returns false (and watches nothing) when this process was not
 * started that way.
 */
export function watchParentPipe(onParentGone: () => void): boolean {
  const fd = Number(process.env[PARENT_PIPE_ENV]);
  if (!Number.isInteger(fd) || fd < 3) return false;
  // the variable is for this process only: its own children (none today) get their own pipe
  delete process.env[PARENT_PIPE_ENV];
  let socket: Socket;
  try {
    socket = new Socket({ fd, readable: true, writable: false });
  } catch {
    return false;
  }
  let gone = false;
  const fire = () => {
    if (gone) return;
    gone = true;
    onParentGone();
  };
  whenParentGone = fire;
  parentPid = process.ppid;
  socket.on('end', fire);
  socket.on('close', fire);
  socket.on('error', fire);
  socket.on('data', () => {});
  // the watch must not keep the process alive once its work is done
  socket.unref();
  return true;
}

/**
 * Between two units of work (a trainer calls it after each epoch's checkpoint): acts at once if the parent
 * died. The pipe's end-of-file needs the event loop, which a training loop on the in-process backends does
 * not turn; a dead parent's children are re-parented, so a changed parent pid says the same, synchronously.
 */
export function checkParent(): void {
  if (whenParentGone && process.ppid !== parentPid) whenParentGone();
}

/** The parent this process stops with (watchParentPipe), if any. */
export function watchedParent(): number | undefined {
  return whenParentGone ? parentPid : undefined;
}
