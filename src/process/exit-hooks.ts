/**
 * Clean-ups that must run however the process ends: a normal exit, process.exit(), or SIGTERM, SIGINT or
 * SIGHUP (a killed `reproduce` must not orphan its children, a killed `train` must not leave its lock).
 * On one of those signals the hooks run and the signal is raised again with Node's default action, so the
 * process still ends as killed by it (exit status 128 + signal). SIGKILL runs nothing: the lock files it
 * leaves are stale and taken over (src/io/lock.ts), and children notice through their parent pipe
 * (parent-pipe.ts).
 */
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

const hooks = new Set<() => void>();
let installed = false;

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

/** Runs `hook` once when the process exits or is stopped by SIGTERM/SIGINT/SIGHUP; returns its removal. */
export function onProcessExit(hook: () => void): () => void {
  if (!installed) {
    installed = true;
    process.on('exit', runHooks);
    for (const s of SIGNALS) process.on(s, onSignal);
  }
  hooks.add(hook);
  return () => {
    hooks.delete(hook);
  };
}
