// The Slurm executor without a cluster: the batch script it writes (run by bash with a stand-in CLI), the
// parsing of `scontrol -o show job` output recorded on the single-node test cluster (test/slurm/fixtures/),
// and its errors when sbatch is missing or refuses (stand-in sbatch/scontrol on PATH).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InfoflowError } from '../src/errors.js';
import { arraySpec, batchScript, shellQuote } from '../src/figures/executors/slurm-script.js';
import { expandArrayIds, isUnknownJob, parseArrayJob, parseSbatchOutput, parseScontrolLine, phaseOf } from '../src/figures/executors/slurm-state.js';
import { DEFAULT_POLL_SECONDS, resolveExecutor } from '../src/figures/executors/options.js';
import { failureText, refuseWhileOnSlurm, runOnSlurm, splitArgs } from '../src/figures/executors/slurm.js';
import type { ExecRun } from '../src/figures/executors/types.js';

const fixtures = resolve(import.meta.dirname, 'slurm', 'fixtures');
const tmp = mkdtempSync(join(tmpdir(), 'infoflow-slurm-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const fixture = (name: string) => readFileSync(join(fixtures, name), 'utf8');
// the recorded jobs (test/slurm/fixtures/README.md)
const fixtureJob = () => '12';

describe('batch script', () => {
  const runs = [
    { name: 'res-w8-s0', args: ['train', '--epochs', '5', '--out', '/shared/fig 5/runs/res-w8-s0', '--arch', 'residual', '--resume'] },
    { name: "odd'name", args: ['train', '--note', "it's", '--resume'] },
    { name: 'mlp-w16-s0', args: ['train', '--epochs', '5', '--resume'] },
  ];
  const params = {
    title: 'Figure 5 (preset quick)', jobName: 'infoflow-fig5', runs, node: '/no/such/node', cli: join(tmp, 'echo-cli.mjs'),
    scriptPath: join(tmp, 'slurm.sh'), logDir: '/shared/fig5/slurm-logs',
    resources: { partition: 'debug', time: '00:30:00', cpus: 2, mem: '4G' }, throttle: 2, extraArgs: ['--qos=low', '--comment', 'a b'],
  };

  it('asks for one array task per run, the resources given, and a log per task in the figure folder', () => {
    const s = batchScript(params);
    const directives = s.split('\n').filter((l) => l.startsWith('#SBATCH'));
    expect(directives).toEqual([
      '#SBATCH --job-name=infoflow-fig5',
      '#SBATCH --array=0-2%2',
      '#SBATCH --output=/shared/fig5/slurm-logs/%A_%a.out',
      '#SBATCH --partition=debug',
      '#SBATCH --time=00:30:00',
      '#SBATCH --cpus-per-task=2',
      '#SBATCH --mem=4G',
    ]);
    expect(s).toContain("--qos=low --comment 'a b'");
    const bare = batchScript({ ...params, resources: {}, throttle: undefined, extraArgs: [] });
    expect(bare.split('\n').filter((l) => l.startsWith('#SBATCH'))).toEqual([
      '#SBATCH --job-name=infoflow-fig5', '#SBATCH --array=0-2', '#SBATCH --output=/shared/fig5/slurm-logs/%A_%a.out',
    ]);
  });

  it('runs, under bash, the CLI with exactly the arguments of the task\'s run (quoting kept)', () => {
    writeFileSync(params.cli, 'console.log(JSON.stringify(process.argv.slice(2)));\n');
    const script = join(tmp, 'slurm.sh');
    writeFileSync(script, batchScript(params));
    for (const [i, run] of runs.entries()) {
      const r = spawnSync('bash', [script], { encoding: 'utf8', env: { ...process.env, SLURM_ARRAY_TASK_ID: String(i), SLURM_ARRAY_JOB_ID: '7' } });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual(run.args);
      expect(r.stderr).toContain(`run ${run.name}, array task ${i} of job 7`);
    }
    const outside = spawnSync('bash', [script], { encoding: 'utf8', env: { ...process.env, SLURM_ARRAY_TASK_ID: '3' } });
    expect(outside.status).toBe(2);
    expect(outside.stderr).toContain('no run for array task 3 (this figure has 3 runs: 0-2)');
  });

  it('spells array ranges as sbatch reads them', () => {
    expect(arraySpec([0, 1, 2, 3, 4, 5], 4)).toBe('0-5%4');
    expect(arraySpec([5, 1, 3, 2])).toBe('1-3,5');
    expect(arraySpec([4])).toBe('4');
    expect(shellQuote('plain/path-1.5')).toBe('plain/path-1.5');
    expect(shellQuote("it's here")).toBe("'it'\\''s here'");
  });

  it('splits --slurm-args as a shell would', () => {
    expect(splitArgs(' --qos=high  --account "my group" --comment=\'x y\' a\\ b ')).toEqual(['--qos=high', '--account', 'my group', '--comment=x y', 'a b']);
    expect(splitArgs('')).toEqual([]);
    expect(() => splitArgs('--comment "open')).toThrow(/--slurm-args: unclosed "/);
  });
});

describe('scheduler state (recorded on the test cluster)', () => {
  it('reads every task of an array job while some run and some wait behind the throttle', () => {
    const job = fixtureJob();
    const tasks = parseArrayJob(fixture('snapshot-running.txt'), job);
    expect([...tasks.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    for (const i of [0, 1]) expect(tasks.get(i)).toMatchObject({ state: 'RUNNING', phase: 'active', id: `${job}_${i}`, exitCode: '0:0' });
    for (const i of [2, 3, 4, 5]) expect(tasks.get(i)).toMatchObject({ state: 'PENDING', phase: 'active', reason: 'Resources', id: `${job}_${i}` });
    expect(tasks.get(4)?.stdout).toBeUndefined();
    expect(tasks.get(0)?.stdout).toBe(`/tmp/sl-fx/${job}_0.out`);
  });

  it('tells completed from failed, timed out and cancelled tasks once they are over', () => {
    const job = fixtureJob();
    const tasks = parseArrayJob(fixture('snapshot-over.txt'), job);
    expect(tasks.get(0)).toMatchObject({ state: 'COMPLETED', phase: 'completed', exitCode: '0:0' });
    expect(tasks.get(1)).toMatchObject({ state: 'FAILED', phase: 'failed', exitCode: '3:0', reason: 'NonZeroExitCode' });
    expect(tasks.get(2)).toMatchObject({ state: 'TIMEOUT', phase: 'failed', reason: 'TimeLimit', exitCode: '0:15' });
    // cancelled while pending: the task drops out of the job (the executor then treats the run as unfinished)
    expect(tasks.has(3)).toBe(false);
    expect(tasks.get(4)).toMatchObject({ state: 'COMPLETED', phase: 'completed' });
    expect(tasks.get(5)).toMatchObject({ state: 'COMPLETED', phase: 'completed' });
    const cancelled = parseArrayJob(fixture('snapshot-cancelled.txt'), '6');
    expect(cancelled.get(0)).toMatchObject({ state: 'CANCELLED', phase: 'failed', exitCode: '0:15', stdout: '/tmp/sl-t/t-6_0.out' });
    expect(cancelled.get(1)).toMatchObject({ state: 'FAILED', exitCode: '3:0' });
    expect([2, 3].map((i) => cancelled.get(i)?.state)).toEqual(['RUNNING', 'RUNNING']);
    expect(cancelled.get(4)).toMatchObject({ state: 'PENDING', reason: 'JobArrayTaskLimit' });
    // another job's lines are not this job's tasks
    expect(parseArrayJob(fixture('snapshot-over.txt'), '1').size).toBe(0);
  });

  it('knows the states a controller may report for a task', () => {
    for (const s of ['PENDING', 'RUNNING', 'COMPLETING', 'CONFIGURING', 'SUSPENDED', 'REQUEUED']) expect(phaseOf(s)).toBe('active');
    for (const s of ['FAILED', 'CANCELLED', 'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE']) expect(phaseOf(s)).toBe('failed');
    expect(phaseOf('COMPLETED')).toBe('completed');
  });

  it('parses fields whose values hold spaces, array id lists, sbatch and scontrol answers', () => {
    expect(parseScontrolLine('JobId=5 Comment=two words here JobState=RUNNING')).toEqual({ JobId: '5', Comment: 'two words here', JobState: 'RUNNING' });
    expect(expandArrayIds('2-4%2')).toEqual([2, 3, 4]);
    expect(expandArrayIds('1,5-9:2%4')).toEqual([1, 5, 7, 9]);
    expect(parseSbatchOutput('1234\n')).toBe('1234');
    expect(parseSbatchOutput('1234;cluster2\n')).toBe('1234');
    expect(parseSbatchOutput('sbatch: error: nope')).toBeUndefined();
    expect(isUnknownJob(fixture('unknown.txt'))).toBe(true);
    expect(isUnknownJob('slurm_load_jobs error: Unable to contact slurm controller (connect failure)')).toBe(false);
  });

  it('says why a task failed with its state, exit code and the last lines of its log', () => {
    const job = fixtureJob();
    const tasks = parseArrayJob(fixture('snapshot-over.txt'), job);
    const log = join(tmp, 'task.out');
    writeFileSync(log, 'task 1\n{"epoch":0}\ninfoflow: something broke\n');
    expect(failureText(tasks.get(1), log)).toMatch(new RegExp(`^task ${job}_1 FAILED, exit code 3 \\(log .*task\\.out\\); last lines: task 1 \\| \\{"epoch":0\\} \\| infoflow: something broke$`));
    expect(failureText(tasks.get(2), join(tmp, 'none.out'))).toMatch(new RegExp(`^task ${job}_2 TIMEOUT, signal 15 \\(log `));
    expect(failureText(undefined, log)).toContain('Slurm no longer knows its task');
  });
});

describe('runOnSlurm without a cluster', () => {
  const savedPath = process.env.PATH;
  let bin: string;
  let figureDir: string;
  beforeEach(() => {
    bin = mkdtempSync(join(tmp, 'bin-'));
    figureDir = mkdtempSync(join(tmp, 'fig-'));
  });
  afterEach(() => {
    process.env.PATH = savedPath;
  });
  const runs = (): ExecRun[] => ['a', 'b', 'c'].map((name) => ({ name, dir: join(figureDir, 'runs', name), totalEpochs: 3, args: ['train', '--out', join(figureDir, 'runs', name), '--resume'] }));
  const events: string[] = [];
  const io = {
    progress: {
      runStart: (run: string) => void events.push(`start ${run}`),
      epoch: (run: string, row: { epoch: number }) => void events.push(`epoch ${run} ${row.epoch}`),
      runEnd: (run: string, status: string) => void events.push(`end ${run} ${status}`),
      note: (m: string) => void events.push(`note ${m}`),
    },
    readRows: () => [] as { epoch: number }[],
  };
  const fig = () => ({ title: 'Figure T', jobName: 'infoflow-test', dir: figureDir, cli: '/x/cli.js', node: process.execPath });
  const opts = { resources: {}, extraArgs: [], wait: false, collect: false, pollSeconds: 0.05 };
  const tool = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };

  it('a missing sbatch is a one-line usage error that names the fix (exit code 2)', async () => {
    process.env.PATH = bin; // nothing there
    const e = await runOnSlurm(fig(), runs(), opts, io).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InfoflowError);
    expect((e as InfoflowError).exitCode).toBe(2);
    expect((e as InfoflowError).message).toMatch(/^--executor slurm: 'sbatch' not found on PATH; .*--executor local$/);
  });

  it('an sbatch that refuses is one line with its reason (exit code 2), and nothing is recorded', async () => {
    tool('sbatch', 'echo "sbatch: error: Batch job submission failed: Invalid partition name specified" >&2; exit 1');
    process.env.PATH = `${bin}:${savedPath}`;
    const e = (await runOnSlurm(fig(), runs(), opts, io).catch((x: unknown) => x)) as InfoflowError;
    expect(e).toBeInstanceOf(InfoflowError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/^sbatch refused the job array \(sbatch: error: Batch job submission failed: Invalid partition name specified\); check --slurm-partition/);
    expect(e.message).not.toContain('\n');
    expect(existsSync(join(figureDir, 'slurm.json'))).toBe(false);
  });

  it('submits only runs without done.json, never a queued one again, and records the task -> run map', async () => {
    const calls = join(bin, 'calls.log');
    // a stand-in controller: job 41's tasks pending (the array `sbatch` was given), anything else unknown
    tool('sbatch', `echo "sbatch $*" >> ${calls}; echo 41`);
    tool('scontrol', `if [ "$4" = 41 ]; then echo "JobId=41 ArrayJobId=41 ArrayTaskId=0,2 JobState=PENDING Reason=Priority ExitCode=0:0"; exit 0; fi; echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1`);
    process.env.PATH = `${bin}:${savedPath}`;
    mkdirSync(join(figureDir, 'runs', 'b'), { recursive: true });
    writeFileSync(join(figureDir, 'runs', 'b', 'done.json'), '{}');
    const first = await runOnSlurm(fig(), runs(), opts, io);
    expect(first.submitted).toEqual({ jobId: '41', runs: ['a', 'c'] });
    expect(first.queued).toEqual(['a', 'c']);
    expect(first.outcomes.map((o) => o.status)).toEqual(['queued', 'done', 'queued']);
    const record = JSON.parse(readFileSync(join(figureDir, 'slurm.json'), 'utf8')) as { submissions: { jobId: string; tasks: Record<string, string> }[] };
    expect(record.submissions).toHaveLength(1);
    expect(record.submissions[0]).toMatchObject({ jobId: '41', tasks: { 0: 'a', 2: 'c' } });
    expect(readFileSync(calls, 'utf8')).toMatch(/^sbatch --parsable --array=0,2 \S+slurm\.sh\n$/);
    // again: both still pending, so nothing is submitted
    const second = await runOnSlurm(fig(), runs(), opts, io);
    expect(second.submitted).toBeUndefined();
    expect(second.queued).toEqual(['a', 'c']);
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(readFileSync(join(figureDir, 'slurm.sh'), 'utf8')).toContain('#SBATCH --array=0-2');
  });

  it('refuses the local executor, and --force, on a folder whose Slurm tasks are queued; not once they are over', async () => {
    tool('sbatch', 'echo 41');
    const active = join(bin, 'active');
    writeFileSync(active, '');
    tool('scontrol', `if [ -e ${active} ]; then echo "JobId=41 ArrayJobId=41 ArrayTaskId=0-2 JobState=PENDING Reason=Priority"; exit 0; fi; echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1`);
    process.env.PATH = `${bin}:${savedPath}`;
    await refuseWhileOnSlurm(figureDir, 'local', false); // no slurm.json yet
    await runOnSlurm(fig(), runs(), opts, io);
    await expect(refuseWhileOnSlurm(figureDir, 'local', false)).rejects.toThrow(/Slurm job 41 of this figure folder is still queued or running and the local executor would train the same runs alongside; .*scancel 41 first$/);
    await expect(refuseWhileOnSlurm(figureDir, 'slurm', true)).rejects.toThrow(/--force would delete the folder under them/);
    await refuseWhileOnSlurm(figureDir, 'slurm', false); // waiting for them is the Slurm executor's job
    rmSync(active);
    await refuseWhileOnSlurm(figureDir, 'local', false);
    await refuseWhileOnSlurm(figureDir, 'slurm', true);
  });
});

describe('--executor and the --slurm-* options', () => {
  it('default to local, and refuse Slurm options without --executor slurm', () => {
    expect(resolveExecutor({})).toEqual({ kind: 'local' });
    expect(() => resolveExecutor({ executor: 'local', slurmTime: '10' })).toThrow(/^--slurm-time: only with --executor slurm$/);
    expect(() => resolveExecutor({ executor: 'local', wait: false })).toThrow(/^--no-wait: only with --executor slurm$/);
    expect(() => resolveExecutor({ executor: 'pbs' })).toThrow(/^--executor: unknown executor 'pbs'; choose one of local, slurm$/);
  });

  it('turn the Slurm options into resources, pass-through words, a throttle only when --jobs is given', () => {
    const s = resolveExecutor({ executor: 'slurm', slurmPartition: 'gpu,debug', slurmTime: '1-02:00:00', slurmCpus: '2', slurmMem: '4G', slurmArgs: '--qos=low --comment "a b"', jobs: '3' });
    expect(s).toEqual({
      kind: 'slurm', resources: { partition: 'gpu,debug', time: '1-02:00:00', cpus: 2, mem: '4G' }, extraArgs: ['--qos=low', '--comment', 'a b'],
      throttle: 3, wait: true, collect: false, pollSeconds: DEFAULT_POLL_SECONDS,
    });
    expect(resolveExecutor({ executor: 'slurm', wait: false, slurmPoll: '0.5' })).toMatchObject({ wait: false, pollSeconds: 0.5, resources: {}, extraArgs: [] });
    expect(resolveExecutor({ executor: 'slurm' })).not.toHaveProperty('throttle');
  });

  it('name the option and what it takes on a bad value', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ slurmTime: '2h' }, /^--slurm-time: a Slurm time limit per run: minutes, HH:MM:SS or D-HH:MM:SS; got '2h'$/],
      [{ slurmCpus: '0' }, /^--slurm-cpus: CPUs per run, an integer in \[1, 1024\]; got '0'$/],
      [{ slurmMem: '4 GB' }, /^--slurm-mem: memory per run/],
      [{ slurmPartition: 'a b' }, /^--slurm-partition: /],
      [{ slurmPoll: '0' }, /^--slurm-poll: seconds between looks at the queue, in \[0.2, 3600\]; got '0'$/],
      [{ collect: true, wait: false }, /^--collect\/--no-wait: choose one/],
    ];
    for (const [o, message] of bad) expect(() => resolveExecutor({ executor: 'slurm', ...o })).toThrow(message);
  });
});
