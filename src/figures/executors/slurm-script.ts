/**
 * The batch script of a figure's job array: one array task per run, task i = the figure's i-th run (its order
 * in figure.json, so the indices stay the same across resubmissions). It is written into the figure folder to be
 * read and, if need be, resubmitted by hand (`sbatch --array=2,4 slurm.sh`): every task trains with --resume,
 * so a task run again continues its run directory from the last checkpoint.
 */

/** The sbatch resources asked for: --slurm-partition, --slurm-time, --slurm-cpus, --slurm-mem. */
export interface SlurmResources {
  partition?: string;
  time?: string;
  cpus?: number;
  mem?: string;
}

export interface BatchScriptParams {
  /** e.g. 'Figure 5 (preset quick)' */
  title: string;
  jobName: string;
  /** each run's name and its arguments after `node <cli>` (already with --resume) */
  runs: { name: string; args: string[] }[];
  /** the Node binary on the submitting machine (used on the node if it exists there) */
  node: string;
  /** dist/cli.js, absolute */
  cli: string;
  /** where this script is written, absolute (for the resubmit example in its header) */
  scriptPath: string;
  /** folder for the per-task logs, absolute */
  logDir: string;
  resources: SlurmResources;
  /** most tasks running at once (the array's %J); undefined: as many as the scheduler gives */
  throttle?: number;
  /** --slurm-args, shown in the header (they go on the sbatch command line) */
  extraArgs: string[];
}

/** Quotes a word for bash (single quotes; plain words stay as they are, for the reader). */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `0-5%2`, `1,3%2`, `0-5`: the --array value for these indices. */
export function arraySpec(indices: number[], throttle?: number): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : `${sorted[i]}`);
    i = j + 1;
  }
  return `${parts.join(',')}${throttle !== undefined ? `%${throttle}` : ''}`;
}

/** The #SBATCH lines for the resources (only those given: the cluster's defaults apply to the rest). */
export function resourceDirectives(r: SlurmResources): string[] {
  const lines: string[] = [];
  if (r.partition) lines.push(`#SBATCH --partition=${r.partition}`);
  if (r.time) lines.push(`#SBATCH --time=${r.time}`);
  if (r.cpus !== undefined) lines.push(`#SBATCH --cpus-per-task=${r.cpus}`);
  if (r.mem) lines.push(`#SBATCH --mem=${r.mem}`);
  return lines;
}

export function batchScript(p: BatchScriptParams): string {
  const n = p.runs.length;
  const cases = p.runs.map((run, i) => `  ${i}) RUN=${shellQuote(run.name)}; ARGS=(${run.args.map(shellQuote).join(' ')}) ;;`);
  return [
    '#!/bin/bash',
    `# ${p.title}: ${n} training run${n === 1 ? '' : 's'} as one Slurm job array, array task i = run i below.`,
    '# Written by `infoflow reproduce --executor slurm`, which submits the tasks of unfinished runs only; by hand,',
    `# the same for runs 0 and ${n - 1}: sbatch --array=${arraySpec([0, n - 1])} ${shellQuote(p.scriptPath)}`,
    '# Every task trains with --resume: run again, it continues its run directory from the last checkpoint.',
    '# The figure folder must be on a filesystem every node sees, and Node must be on the nodes.',
    ...(p.extraArgs.length > 0 ? [`# Extra sbatch options (--slurm-args), given on the sbatch command line: ${p.extraArgs.map(shellQuote).join(' ')}`] : []),
    `#SBATCH --job-name=${p.jobName}`,
    `#SBATCH --array=${arraySpec(p.runs.map((_, i) => i), p.throttle)}`,
    `#SBATCH --output=${p.logDir}/%A_%a.out`,
    ...resourceDirectives(p.resources),
    'set -euo pipefail',
    '',
    '# the Node that submitted, where the node has it; else the first node on PATH',
    `NODE=${shellQuote(p.node)}`,
    '[ -x "$NODE" ] || NODE="$(command -v node)" || { echo "infoflow: no node on PATH on $(hostname); load or install Node 20+ on the nodes" >&2; exit 2; }',
    `CLI=${shellQuote(p.cli)}`,
    '',
    'case "${SLURM_ARRAY_TASK_ID:?not an array task: submit with sbatch --array}" in',
    ...cases,
    '  *) echo "infoflow: no run for array task $SLURM_ARRAY_TASK_ID (this figure has ' + n + ' runs: 0-' + (n - 1) + ')" >&2; exit 2 ;;',
    'esac',
    'echo "slurm.sh: run $RUN, array task $SLURM_ARRAY_TASK_ID of job ${SLURM_ARRAY_JOB_ID:-?} on $(hostname)" >&2',
    'exec "$NODE" "$CLI" "${ARGS[@]}"',
    '',
  ].join('\n');
}
