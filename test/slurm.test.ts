// `reproduce --executor slurm` against a real Slurm: the single-node cluster of test/slurm/cluster.sh (which
// .ci/run starts), or the cluster `sinfo` answers for. Skipped, with a line saying how to start one, when none is up.
// The first test trains for real (dist/cli.js train), cancels one array task mid-run, reruns, and compares the
// runs with local trainings and the figure's data with the local executor's; the second uses the stand-in train (test/fixtures/fake-train.mjs) for
// --no-wait and --collect.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type RunSpec, trainArgs } from '../src/figures/pipeline/runner.js';

const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli.js');
const fake = join(root, 'test', 'fixtures', 'fake-train.mjs');

/** Whether a cluster takes jobs, and the environment its commands need (SLURM_CONF for the test cluster). */
function findCluster(): { up: boolean; env: Record<string, string> } {
  const status = spawnSync('bash', [join(root, 'test', 'slurm', 'cluster.sh'), 'status'], { encoding: 'utf8' });
  const conf = /export SLURM_CONF=(\S+)/.exec(status.stdout ?? '');
  if (status.status === 0 && conf) return { up: true, env: { SLURM_CONF: conf[1] } };
  const sinfo = spawnSync('sinfo', ['-h', '-o', '%t'], { encoding: 'utf8' });
  return { up: sinfo.status === 0 && /\b(idle|mix|alloc)/.test(sinfo.stdout), env: {} };
}

const cluster = findCluster();
const SKIP_LINE = 'no Slurm cluster is up: start the single-node one with `test/slurm/cluster.sh start` (then `npm test`; stop it with `test/slurm/cluster.sh stop`)';
if (!cluster.up) process.stderr.write(`test/slurm.test.ts skipped: ${SKIP_LINE}\n`);

const tmp = mkdtempSync(join(tmpdir(), 'infoflow-slurm-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const env = (extra: Record<string, string> = {}) => ({ ...process.env, ...cluster.env, ...extra });

function reproduce(args: string[], extra: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, 'reproduce', ...args], { encoding: 'utf8', env: env(extra), timeout: 400_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function slurm(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: env() });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

interface Record_ { submissions: { jobId: string; tasks: Record<string, string> }[] }
const readRecord = (figureDir: string) => JSON.parse(readFileSync(join(figureDir, 'slurm.json'), 'utf8')) as Record_;
const metricsRows = (runDir: string) =>
  existsSync(join(runDir, 'metrics.jsonl')) ? readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').filter(Boolean).length : 0;
/** A run's metrics rows without the seconds each part took (the only fields that differ between two machines). */
const metricsWithoutTimes = (runDir: string) =>
  readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) =>
    Object.fromEntries(Object.entries(JSON.parse(l) as Record<string, unknown>).filter(([k]) => !k.startsWith('seconds'))));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => child.on('close', (code) => r(code)));
}

describe.skipIf(!cluster.up)(`reproduce --executor slurm on a real Slurm${cluster.up ? '' : ` (skipped: ${SKIP_LINE})`}`, () => {
  it('Figure 5 quick: a task cancelled mid-run is listed, only it is resubmitted, and the data equal a local run\'s', async () => {
    const out = join(tmp, 'slurm');
    const figureDir = join(out, 'figure-5');
    const args = ['reproduce', '--figure', '5', '--quick', '--out', out, '--executor', 'slurm', '--jobs', '2', '--slurm-poll', '1', '--slurm-time', '00:20:00'];
    const child = spawn(process.execPath, [cli, ...args], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    const done = exited(child);

    // the victim: a task seen running with a training epoch recorded; if it finished before the cancel landed
    // (quick epochs are short), the next one
    let victim: { run: string; task: string } | undefined;
    const tried = new Set<string>();
    for (let t = Date.now(); !victim && Date.now() - t < 300_000; await sleep(200)) {
      if (!existsSync(join(figureDir, 'slurm.json'))) continue;
      const s = readRecord(figureDir).submissions[0];
      const running = slurm('squeue', ['-h', '-r', '-j', s.jobId, '-t', 'RUNNING', '-o', '%i']).trim().split('\n').filter(Boolean);
      const id = running.find((task) => !tried.has(task));
      if (!id) continue;
      const run = s.tasks[id.split('_')[1]];
      const dir = join(figureDir, 'runs', run);
      if (metricsRows(dir) < 2 || existsSync(join(dir, 'done.json'))) continue;
      tried.add(id);
      slurm('scancel', [id]);
      while (slurm('squeue', ['-h', '-r', '-j', id, '-o', '%i']).trim() !== '') await sleep(200);
      if (!existsSync(join(dir, 'done.json'))) victim = { run, task: id };
    }
    expect(victim, 'no task was seen running mid-run').toBeDefined();
    expect(await done, `${stderr}\n${stdout}`).toBe(1);
    // the cancelled task is listed with its state and its log; the figure was still drawn from the others
    expect(stderr).toMatch(new RegExp(`${victim!.run}: FAILED: task ${victim!.task} CANCELLED.*\\(log .*slurm-logs/${victim!.task}\\.out\\)`));
    expect(stderr).toContain('run(s) failed');
    expect(existsSync(join(figureDir, 'data.csv'))).toBe(true);
    expect(existsSync(join(figureDir, 'runs', victim!.run, 'done.json'))).toBe(false);

    const again = reproduce(args.slice(1));
    expect(again.code, again.stderr).toBe(0);
    const record = readRecord(figureDir);
    expect(record.submissions).toHaveLength(2);
    expect(Object.values(record.submissions[1].tasks)).toEqual([victim!.run]);
    expect(existsSync(join(figureDir, 'figure-5.png'))).toBe(true);

    // the same numbers as training here, epoch for epoch: the resumed run and an untouched one, each trained by
    // the local executor's own command line (two runs rather than the figure's ten, to keep the suite short)
    const specs = (JSON.parse(readFileSync(join(figureDir, 'figure.json'), 'utf8')) as { runs: RunSpec[] }).runs;
    for (const spec of [specs.find((s) => s.name === victim!.run)!, specs.find((s) => s.name !== victim!.run)!]) {
      const dir = join(tmp, 'local-runs', spec.name);
      const r = spawnSync(process.execPath, [cli, ...trainArgs(spec, dir, 'auto', false)], { encoding: 'utf8', env: env(), timeout: 300_000 });
      expect(r.status, `${trainArgs(spec, dir, 'auto', false).join(' ')}\n${r.stderr}\n${r.stdout.slice(-500)}`).toBe(0);
      expect(metricsWithoutTimes(join(figureDir, 'runs', spec.name)), spec.name).toEqual(metricsWithoutTimes(dir));
    }
    // and the local executor, handed these run directories, draws the same figure data
    const redraw = join(tmp, 'redraw');
    cpSync(join(figureDir, 'runs'), join(redraw, 'figure-5', 'runs'), { recursive: true });
    cpSync(join(figureDir, 'figure.json'), join(redraw, 'figure-5', 'figure.json'));
    const local = reproduce(['--figure', '5', '--quick', '--out', redraw]);
    expect(local.code, local.stderr).toBe(0);
    expect(local.stderr.match(/already finished \(done\.json\), skipped/g)).toHaveLength(specs.length);
    expect(readFileSync(join(redraw, 'figure-5', 'data.csv'), 'utf8')).toBe(readFileSync(join(figureDir, 'data.csv'), 'utf8'));
    // nothing left to do: a third run submits nothing
    const third = reproduce(args.slice(1));
    expect(third.code, third.stderr).toBe(0);
    expect(readRecord(figureDir).submissions).toHaveLength(2);
  }, 600_000);

  it('--no-wait prints the job id and returns; --collect then draws from what finished', async () => {
    const out = join(tmp, 'nowait');
    const args = ['--figure', '5', '--quick', '--out', out, '--executor', 'slurm', '--slurm-poll', '1'];
    const submitted = reproduce([...args, '--no-wait'], { INFOFLOW_CLI: fake });
    expect(submitted.code, submitted.stderr).toBe(0);
    const jobId = /Slurm job (\d+)/.exec(submitted.stdout)?.[1];
    expect(jobId, submitted.stdout).toBeDefined();
    expect(existsSync(join(out, 'figure-5', 'data.csv'))).toBe(false);
    // a rerun while the tasks are queued or running submits nothing new
    const early = reproduce([...args, '--no-wait'], { INFOFLOW_CLI: fake });
    expect(early.code, early.stderr).toBe(0);
    expect(readRecord(join(out, 'figure-5')).submissions).toHaveLength(1);
    for (let t = Date.now(); Date.now() - t < 120_000; await sleep(500)) {
      if (slurm('squeue', ['-h', '-j', jobId!]).trim() === '') break;
    }
    const collected = reproduce([...args, '--collect'], { INFOFLOW_CLI: fake });
    expect(collected.code, collected.stderr).toBe(0);
    expect(existsSync(join(out, 'figure-5', 'data.csv'))).toBe(true);
    expect(readRecord(join(out, 'figure-5')).submissions).toHaveLength(1);
  }, 300_000);
});
