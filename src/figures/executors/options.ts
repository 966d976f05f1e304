/**
 * The `reproduce` options that choose where the runs train (--executor local|slurm) and the Slurm ones, checked
 * at the command's door: a bad value is a usage error naming the option and what it takes.
 */
import type { Command } from 'commander';
import { usageError } from '../../errors.js';
import { splitArgs } from './slurm.js';
import type { SlurmOptions } from './slurm.js';

export const EXECUTORS = ['local', 'slurm'] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

/** The options as commander hands them over. */
export interface ExecutorCliOptions {
  executor?: string;
  slurmPartition?: string;
  slurmTime?: string;
  slurmCpus?: string;
  slurmMem?: string;
  slurmArgs?: string;
  slurmPoll?: string;
  /** commander's --no-wait: false when given */
  wait?: boolean;
  collect?: boolean;
  /** --jobs as given (undefined: not given), the array's %J on Slurm */
  jobs?: string;
}

export type ExecutorChoice = { kind: 'local' } | ({ kind: 'slurm' } & SlurmOptions);

/** Seconds between two looks at the Slurm queue unless --slurm-poll says otherwise. */
export const DEFAULT_POLL_SECONDS = 15;

// sbatch --time: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS
const SLURM_TIME = /^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2})$/;

export function resolveExecutor(o: ExecutorCliOptions): ExecutorChoice {
  const name = o.executor ?? 'local';
  if (!(EXECUTORS as readonly string[]).includes(name)) {
    throw usageError('--executor', `unknown executor '${name}'; choose one of ${EXECUTORS.join(', ')}`);
  }
  const slurmOnly: [string, unknown][] = [
    ['--slurm-partition', o.slurmPartition], ['--slurm-time', o.slurmTime], ['--slurm-cpus', o.slurmCpus], ['--slurm-mem', o.slurmMem],
    ['--slurm-args', o.slurmArgs], ['--slurm-poll', o.slurmPoll], ['--no-wait', o.wait === false ? true : undefined], ['--collect', o.collect || undefined],
  ];
  if (name === 'local') {
    const given = slurmOnly.find(([, v]) => v !== undefined);
    if (given) throw usageError(given[0], 'only with --executor slurm');
    return { kind: 'local' };
  }
  if (o.slurmPartition !== undefined && !/^[\w.-]+(,[\w.-]+)*$/.test(o.slurmPartition)) {
    throw usageError('--slurm-partition', `a partition name (or a comma-separated list); got '${o.slurmPartition}'`);
  }
  if (o.slurmTime !== undefined && !SLURM_TIME.test(o.slurmTime)) {
    throw usageError('--slurm-time', `a Slurm time limit per run: minutes, HH:MM:SS or D-HH:MM:SS; got '${o.slurmTime}'`);
  }
  let cpus: number | undefined;
  if (o.slurmCpus !== undefined) {
    cpus = Number(o.slurmCpus);
    if (!/^\d+$/.test(o.slurmCpus) || cpus < 1 || cpus > 1024) throw usageError('--slurm-cpus', `CPUs per run, an integer in [1, 1024]; got '${o.slurmCpus}'`);
  }
  if (o.slurmMem !== undefined && !/^\d+[KMGT]?$/i.test(o.slurmMem)) {
    throw usageError('--slurm-mem', `memory per run as sbatch --mem takes it (e.g. 4G, 4000M); got '${o.slurmMem}'`);
  }
  let pollSeconds = DEFAULT_POLL_SECONDS;
  if (o.slurmPoll !== undefined) {
    pollSeconds = Number(o.slurmPoll);
    if (o.slurmPoll.trim() === '' || !Number.isFinite(pollSeconds) || pollSeconds < 0.2 || pollSeconds > 3600) {
      throw usageError('--slurm-poll', `seconds between looks at the queue, in [0.2, 3600]; got '${o.slurmPoll}'`);
    }
  }
  if (o.collect && o.wait === false) throw usageError('--collect/--no-wait', 'choose one: --collect submits nothing, --no-wait submits and returns');
  return {
    kind: 'slurm',
    resources: {
      ...(o.slurmPartition !== undefined ? { partition: o.slurmPartition } : {}),
      ...(o.slurmTime !== undefined ? { time: o.slurmTime } : {}),
      ...(cpus !== undefined ? { cpus } : {}),
      ...(o.slurmMem !== undefined ? { mem: o.slurmMem } : {}),
    },
    extraArgs: o.slurmArgs !== undefined ? splitArgs(o.slurmArgs) : [],
    // --jobs caps the tasks running at once only when given: on a cluster the scheduler decides otherwise
    ...(o.jobs !== undefined ? { throttle: Number(o.jobs) } : {}),
    wait: o.wait !== false,
    collect: Boolean(o.collect),
    pollSeconds,
  };
}

/** Declares the options on `reproduce`; resolveExecutor reads them back. */
export function addExecutorOptions(cmd: Command): Command {
  return cmd
    .option('--executor <name>', `where the runs train: local (child processes here) or slurm (one Slurm job array; the --out folder must be on a filesystem every node sees, and Node 20+ must be on the nodes)`, 'local')
    .option('--slurm-partition <name>', 'slurm: sbatch --partition')
    .option('--slurm-time <limit>', 'slurm: time limit per run (sbatch --time), e.g. 02:00:00')
    .option('--slurm-cpus <n>', 'slurm: CPUs per run (sbatch --cpus-per-task)')
    .option('--slurm-mem <size>', 'slurm: memory per run (sbatch --mem), e.g. 4G')
    .option('--slurm-args <words>', 'slurm: more sbatch options, passed through (e.g. "--account=lab --qos=short")')
    .option('--slurm-poll <seconds>', `slurm: seconds between looks at the queue (default ${DEFAULT_POLL_SECONDS})`)
    .option('--no-wait', 'slurm: submit, print the job id and return; the same command later draws the figure')
    .option('--collect', 'slurm: submit nothing; draw from the runs that have finished');
}
