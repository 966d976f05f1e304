/**
 * The pool's worker (compiled to dist/mi/worker.js; piscina needs JavaScript). A task names a prepared shared
 * memory, a phase and a range of positions; the worker instantiates the kernel over that memory once (cached by
 * memory id) and runs the queries in place: the data is never copied, the results land in the shared arrays.
 */
import { threadId } from 'node:worker_threads';
import { claimSlot, instantiate, type KernelExports, type PhaseName, type QueryJob } from './kernel.js';

export interface QueryTask extends QueryJob {
  /** 'knn': eps for joint positions [p0, p1); 'ball': KSG-2's radii for them; 'count': their nx and ny; 'knnCount': eps, nx and ny in one pass */
  phase: PhaseName;
  p0: number;
  p1: number;
}

let cachedId = '';
let cached: KernelExports | undefined;

export default function runQuery(task: QueryTask): number {
  if (!cached || cachedId !== task.memoryId) {
    cached = instantiate(task.module, task.memory);
    cachedId = task.memoryId;
  }
  const slot = claimSlot(new Int32Array(task.claims), threadId);
  cached[task.phase](task.ctx, task.p0, task.p1, slot);
  return task.p1 - task.p0;
}
