/**
 * The piscina pool that runs the kernel's queries in parallel over a shared memory (see worker.ts).
 * Private to the estimator: src/mi/index.ts validates, then delegates here.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { findRepoFile, type QueryJob } from './kernel.js';
import type { QueryTask } from './worker.js';

/** dist/mi/worker.js next to this file when compiled; from src/ (vitest) the built one in <repo>/dist. */
export function workerFile(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const sibling = join(here, 'worker.js');
  if (existsSync(sibling)) return sibling;
  return findRepoFile('dist/mi/worker.js');
}

export class QueryPool {
  private readonly pool: Piscina;
  constructor(readonly workers: number) {
    this.pool = new Piscina({ filename: workerFile(), minThreads: workers, maxThreads: workers, idleTimeout: 60_000 });
  }

  /** Run one phase, a task per chunk [bounds[c], bounds[c + 1]) (each thread in its own slot); progress after each task. */
  async run(job: QueryJob, phase: QueryTask['phase'], bounds: number[], onDone: (points: number) => void): Promise<void> {
    const tasks: Promise<void>[] = [];
    for (let c = 0; c + 1 < bounds.length; c++) {
      const task: QueryTask = { ...job, phase, p0: bounds[c], p1: bounds[c + 1] };
      tasks.push(this.pool.run(task).then((points: number) => onDone(points)));
    }
    await Promise.all(tasks);
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
