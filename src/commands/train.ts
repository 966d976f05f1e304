import type { Command } from 'commander';
import { InfoflowError } from '../errors.js';

// placeholder until the 'train' command lands
export function registerTrainCommand(program: Command): void {
  program.command('train').description('(not built yet)').action(() => {
    throw new InfoflowError('usage', "the 'train' command is not built yet");
  });
}
