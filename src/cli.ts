#!/usr/bin/env node
/**
 * The command line. This is the only file that prints errors and sets exit codes:
 * commands throw InfoflowError (src/errors.ts) and this file turns them into one line and exit 2.
 */
import { Command, CommanderError } from 'commander';
import { isInfoflowError } from './errors.js';
import { registerMiCommand } from './commands/mi.js';
import { registerReproduceCommand } from './commands/reproduce.js';
import { registerTrainCommand } from './commands/train.js';

function fail(message: string, code: number): never {
  process.stderr.write(`infoflow: ${message}\n`);
  process.exit(code);
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name('infoflow')
    .description('Mutual information between the layers of a neural network while it trains (KSG estimator, SIMD WebAssembly).')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerMiCommand(program);
  registerTrainCommand(program);
  registerReproduceCommand(program);
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are exits with code 0; parse errors were already printed by commander
      process.exit(e.exitCode === 0 ? 0 : 2);
    }
    if (isInfoflowError(e)) fail(e.message, e.exitCode);
    const err = e as NodeJS.ErrnoException;
    if (err && (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED')) process.exit(0);
    // an internal error: still one line, and a pointer to the stack for bug reports
    if (process.env.INFOFLOW_DEBUG) process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
    fail(`internal error: ${(e as Error)?.message ?? String(e)} (set INFOFLOW_DEBUG=1 for the stack trace, and please report it)`, 1);
  }
}

await main(process.argv);
