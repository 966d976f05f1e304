/**
 * Worker process for `reproduce --figure vc1 --jobs N`: trains one DVCNN run into its run directory and exits.
 * Not a user command (the `train` command is the Hodas & Stinis one): the figure spawns
 * `node dist/vc/child.js '<json>'` with { config, outDir, backend, resume }, reads one JSON metrics row per line on
 * stdout, and on failure the `infoflow: <message>` line on stderr (src/figures/runner.ts lastErrorLine). Like
 * cli.ts, this entry point is where its process prints and sets its exit code (2 for bad input).
 */
import { isInfoflowError } from '../errors.js';
import type { BackendName } from '../backend.js';
import { trainDvcnn, type VcTrainConfig } from './train.js';

interface ChildJob {
  config: VcTrainConfig;
  outDir: string;
  backend?: BackendName;
  /** false: start again even where a checkpoint exists (--force) */
  resume?: boolean;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as ChildJob;
  const res = await trainDvcnn(job.config, {
    outDir: job.outDir,
    backend: job.backend,
    resume: job.resume,
    onEpoch: (row) => process.stdout.write(`${JSON.stringify(row)}\n`),
  });
  for (const w of res.warnings) process.stderr.write(`warning: ${w}\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`infoflow: ${(e as Error).message ?? String(e)}\n`);
    process.exit(isInfoflowError(e) ? e.exitCode : 1);
  },
);
