/**
 * What Slurm says about the tasks of a job array, read from `scontrol -o show job <arrayJobId>`: one line per
 * task that has started or finished, and one line for the tasks still pending together (`ArrayTaskId=2-4%2`).
 * scontrol rather than sacct because sacct needs accounting (slurmdbd), which many small clusters and the test
 * cluster lack; the controller keeps finished tasks for MinJobAge (default 300 s), after which the run
 * directory's done.json is the only word on a task.
 */

/** Where a task stands: still queued or running, or over (with the state Slurm gave it). */
export type TaskPhase = 'active' | 'completed' | 'failed';

export interface TaskState {
  /** the array index (SLURM_ARRAY_TASK_ID) */
  index: number;
  /** `<arrayJobId>_<index>`, as squeue and scancel spell it */
  id: string;
  /** Slurm's JobState: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, ... */
  state: string;
  phase: TaskPhase;
  /** `code:signal` from ExitCode (e.g. '3:0'), or undefined while pending */
  exitCode?: string;
  reason?: string;
  /** the task's log (StdOut), when scontrol names it */
  stdout?: string;
}

// JobState values (slurm.h job_state_string) of a task that is queued, running or on its way out of either
const ACTIVE_STATES = new Set([
  'PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING', 'SUSPENDED', 'REQUEUED', 'REQUEUE_FED', 'REQUEUE_HOLD',
  'RESIZING', 'SIGNALING', 'STAGE_OUT', 'STOPPED', 'RESV_DEL_HOLD', 'SPECIAL_EXIT',
]);

export function phaseOf(state: string): TaskPhase {
  if (state === 'COMPLETED') return 'completed';
  return ACTIVE_STATES.has(state) ? 'active' : 'failed';
}

/** The fields of one `scontrol -o` line; a value runs to the next ` Key=` (values may hold spaces). */
export function parseScontrolLine(line: string): Record<string, string> {
  const fields: Record<string, string> = {};
  const keys = [...line.matchAll(/(?:^|\s)([A-Za-z][\w:/.-]*)=/g)];
  keys.forEach((m, i) => {
    const start = m.index! + m[0].length;
    const end = i + 1 < keys.length ? keys[i + 1].index! : line.length;
    fields[m[1]] = line.slice(start, end).trim();
  });
  return fields;
}

/** Array indices of `ArrayTaskId`: '3', '2-4%2', '1,5-7:2%4' (steps and the throttle suffix included). */
export function expandArrayIds(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.replace(/%\d+$/, '').split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!m) continue;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    const step = m[3] === undefined ? 1 : Math.max(1, Number(m[3]));
    for (let i = from; i <= to; i += step) out.push(i);
  }
  return out;
}

/** Every task of one array job in `scontrol -o show job` output, by array index. */
export function parseArrayJob(output: string, arrayJobId: string): Map<number, TaskState> {
  const tasks = new Map<number, TaskState>();
  for (const line of output.split('\n')) {
    if (!line.trim()) continue;
    const f = parseScontrolLine(line);
    if (f.ArrayJobId !== arrayJobId || f.ArrayTaskId === undefined) continue;
    const state = (f.JobState ?? 'UNKNOWN').split(/\s/)[0];
    for (const index of expandArrayIds(f.ArrayTaskId)) {
      tasks.set(index, {
        index,
        id: `${arrayJobId}_${index}`,
        state,
        phase: phaseOf(state),
        ...(state !== 'PENDING' && f.ExitCode ? { exitCode: f.ExitCode } : {}),
        ...(f.Reason && f.Reason !== 'None' ? { reason: f.Reason } : {}),
        ...(f.StdOut && state !== 'PENDING' ? { stdout: f.StdOut } : {}),
      });
    }
  }
  return tasks;
}

/** Whether scontrol's error says the job is gone (purged after MinJobAge, or never known to this controller). */
export function isUnknownJob(stderr: string): boolean {
  return /Invalid job id specified/i.test(stderr);
}

/** The job id `sbatch --parsable` prints: `12345` or `12345;cluster`. */
export function parseSbatchOutput(stdout: string): string | undefined {
  const m = /^\s*(\d+)(?:;\S+)?\s*$/m.exec(stdout);
  return m ? m[1] : undefined;
}
