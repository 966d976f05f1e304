#!/usr/bin/env node
/**
 * The command line. This is the only file that prints errors and sets exit codes:
 * commands throw InfoflowError (src/errors.ts) and this file turns them into one line and exit 2.
 */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { isInfoflowError } from './errors.js';
import { watchParentPipe } from './process/parent-pipe.js';

type Register = (program: Command) => void;

/**
 * Each command's module is imported only when that command runs (or for the help listing): the figure
 * code pulls in vega and resvg, which would otherwise add ~0.2 s to every `infoflow mi`.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  mi: async () => (await import('./commands/mi.js')).registerMiCommand,
  entropy: async () => (await import('./commands/entropy.js')).registerEntropyCommand,
  train: async () => (await import('./commands/train.js')).registerTrainCommand,
  'train-dvcnn': async () => (await import('./commands/train-dvcnn.js')).registerTrainDvcnnCommand,
  reproduce: async () => (await import('./commands/reproduce.js')).registerReproduceCommand,
};

function fail(message: string, code: number): never {
  process.stderr.write(`infoflow: ${message}\n`);
  process.exit(code);
}

/**
 * A closed stdout or stderr (`infoflow train --json | head -1`) is a normal end, as SIGPIPE is for C tools, but
 * with exit code 0 and no message: every epoch already computed is on disk (durable writes, src/io/), the
 * exit hooks release the locks and stop `reproduce`'s children, and the same command resumes.
 */
function endQuietlyOnClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') process.exit(0);
      throw e;
    });
  }
}

export async function main(argv: string[]): Promise<void> {
  endQuietlyOnClosedPipes();
  // a child of `reproduce`: stop when the parent dies (its last complete epoch is on disk; a rerun resumes it)
  watchParentPipe(() => process.exit(1));
  const { version } = createRequire(import.meta.url)('../package.json') as { version: string };
  const program = new Command();
  program
    .name('infoflow')
    .version(version, '-V, --version', 'print the version')
    .description('Mutual information between the layers of a neural network while it trains (KSG estimator, SIMD WebAssembly).')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  try {
    const name = argv[2];
    const versionOnly = name === '--version' || name === '-V';
    const wanted = name !== undefined && Object.hasOwn(COMMANDS, name) ? [name] : versionOnly ? [] : Object.keys(COMMANDS);
    for (const register of await Promise.all(wanted.map((n) => COMMANDS[n]!()))) register(program);
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are exits with code 0; parse errors were already printed by commander
      process.exit(e.exitCode === 0 ? 0 : 2);
    }
    if (isInfoflowError(e)) {
      // a broken contract between infoflow's own modules is a bug: its stack helps the report, as below
      if (e.kind === 'internal' && process.env.INFOFLOW_DEBUG) process.stderr.write(`${e.stack ?? ''}\n`);
      fail(e.message, e.exitCode);
    }
    const err = e as NodeJS.ErrnoException;
    if (err && (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED')) process.exit(0);
    // an internal error: still one line, and a pointer to the stack for bug reports
    if (process.env.INFOFLOW_DEBUG) process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
    fail(`internal error: ${(e as Error)?.message ?? String(e)} (set INFOFLOW_DEBUG=1 for the stack trace, and please report it)`, 1);
  }
}

await main(process.argv);
