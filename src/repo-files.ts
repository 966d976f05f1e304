/** Files the build puts beside the package (build/*.wasm, dist/mi/worker.js), found from src/, dist/ or dist-bench/src/. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InfoflowError } from './errors.js';

/** <repo>/<rel>, searched upwards from this file; an io error naming the file and the fix when it is missing. */
export function findRepoFile(rel: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, rel);
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  throw new InfoflowError('io', `${rel}: not found next to the package; run 'npm run build'`);
}
