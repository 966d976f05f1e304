import type { Command } from 'commander';
import { InfoflowError } from '../errors.js';

// placeholder until the 'reproduce' command lands
export function registerReproduceCommand(program: Command): void {
  program.command('reproduce').description('(not built yet)').action(() => {
    throw new InfoflowError('usage', "the 'reproduce' command is not built yet");
  });
}
