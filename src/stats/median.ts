/** The median (jStat's: the mean of the two middle values of an even count). */
import jstatModule from 'jstat';

const { jStat } = jstatModule;

export function median(values: readonly number[]): number {
  return jStat.median([...values]);
}
