/** What every benchmark table states: a Markdown table, the machine it ran on, and seconds formatted one way. */
import { cpus, loadavg } from 'node:os';

/** A Markdown table (pipes; it reads as plain text on a terminal too). */
export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
}

export function machine(): Machine {
  return { cpu: cpus()[0]?.model ?? 'unknown CPU', cores: cpus().length, node: process.version };
}

/** The 1, 5 and 15 minute load averages, e.g. "1.2 0.8 0.5". */
export function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
}

/** "Machine: <cpu>, <cores> cores, Node <version>; load average at the start 1.2 0.8 0.5, at the end ...". */
export function machineLine(m: Machine, loadStart: string, loadEnd: string): string {
  return `Machine: ${m.cpu}, ${m.cores} cores, Node ${m.node}; load average (1, 5, 15 min) at the start ${loadStart}, at the end ${loadEnd}.`;
}

/** Median of a non-empty list (the lower middle for an even count). */
export function median(v: number[]): number {
  return [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)];
}

/** "min / median" seconds, with the CPU seconds of the fastest run when known: "1.234 / 1.300 (cpu 2.41)". */
export function secondsCell(wall: number[], cpu: (number | null)[] = []): string {
  if (!wall.length) return '-';
  const best = wall.indexOf(Math.min(...wall));
  const c = cpu[best];
  return `${Math.min(...wall).toFixed(3)} / ${median(wall).toFixed(3)}${c === null || c === undefined ? '' : ` (cpu ${c.toFixed(2)})`}`;
}
