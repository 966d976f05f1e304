import type { Command } from 'commander';
import { InfoflowError } from '../errors.js';

// placeholder until the 'mi' command lands
export function registerMiCommand(program: Command): void {
  program.command('mi').description('(not built yet)').action(() => {
    throw new InfoflowError('usage', "the 'mi' command is not built yet");
  });
}
