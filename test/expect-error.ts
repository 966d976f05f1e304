/** The message of the InfoflowError that `fn` throws; fails the test if it throws nothing or something else. */
import { expect } from 'vitest';
import { InfoflowError } from '../src/errors.js';

export function infoflowErrorMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InfoflowError);
    return (e as Error).message;
  }
  throw new Error('expected an InfoflowError');
}
