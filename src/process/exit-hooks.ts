/**
 * Clean-ups that must run however the process ends: a normal exit or process.exit(), and, for hooks that ask,
 * SIGTERM, SIGINT and SIGHUP too (a killed `reproduce` must not orphan its children). On one of those
 * signals every hook runs and the signal is raised again with Node's default action, so the process still
 * ends as killed by it (exit status 128 + signal).
 * Only a process whose event loop turns often may catch signals: a JavaScript signal handler waits for the
 * loop, and a training loop on the in-process backends never yields to it (its awaits settle at once), so a
 * handler there would make SIGTERM wait for the end of the run. Trainers therefore keep the default action;
 * the lock they leave is stale and taken over (src/io/lock.ts). SIGKILL runs nothing anywhere; children
 * notice it through their parent pipe (parent-pipe.ts).
 */
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

const hooks = new Set<() => void>();
let installed = false;
let catching = false;

function runHooks(): void {
  for (const hook of [...hooks]) {
    hooks.delete(hook);
    try {
      hook();
    } catch {
      // a clean-up that fails must not stop the others
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  runHooks();
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.kill(process.pid, signal);
}

/** Runs `hook` once when the process exits (and, with `signals`, when SIGTERM/SIGINT/SIGHUP stop it); returns its removal. */
export function onProcessExit(hook: () => void, opts: { signals?: boolean } = {}): () => void {
  if (!installed) {
    installed = true;
    process.on('exit', runHooks);
  }
  if (opts.signals && !catching) {
    catching = true;
    for (const s of SIGNALS) process.on(s, onSignal);
  }
  hooks.add(hook);
  return () => {
    hooks.delete(hook);
  };
}
