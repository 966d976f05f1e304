// No import cycle in src/, between files or between folders: madge reads the import graph (type imports
// included, `.js` specifiers resolved to the `.ts` files), and the folder graph is built from it here.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import madge from 'madge';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

async function importGraph(dir: string): Promise<{ files: Record<string, string[]>; fileCycles: string[][] }> {
  const res = await madge(dir, { fileExtensions: ['ts'], tsConfig: join(root, 'tsconfig.json'), detectiveOptions: { ts: { skipTypeImports: false } } });
  return { files: res.obj(), fileCycles: res.circular() };
}

/** The folder of a file (`figures/dvcnn`); a file at the top of src/ is its own node (`cli.ts`). */
function nodeOf(file: string): string {
  const d = dirname(file);
  return d === '.' ? file : d;
}

/** Cycles in the graph of folders (Tarjan's strongly connected components of two or more nodes). */
function folderCycles(files: Record<string, string[]>): string[][] {
  const edges = new Map<string, Set<string>>();
  for (const [from, tos] of Object.entries(files)) {
    const a = nodeOf(from);
    if (!edges.has(a)) edges.set(a, new Set());
    for (const to of tos) if (nodeOf(to) !== a) edges.get(a)!.add(nodeOf(to));
  }
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return out;
}

const tmp = mkdtempSync(join(tmpdir(), 'infoflow-cycles-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('import graph', () => {
  it('finds a cycle of files and a cycle of folders when there is one', async () => {
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(tmp, path)), { recursive: true });
      writeFileSync(join(tmp, path), text);
    };
    write('a.ts', "import { b } from './b.js';\nexport const a = () => b;\n");
    write('b.ts', "import { a } from './a.js';\nexport const b = () => a;\n");
    write('x/one.ts', "import type { Two } from '../y/two.js';\nexport type One = Two;\n");
    write('y/two.ts', "import { three } from '../x/three.js';\nexport type Two = number;\nexport const t = three;\n");
    write('x/three.ts', 'export const three = 3;\n');
    const g = await importGraph(tmp);
    expect(g.fileCycles).toEqual([['a.ts', 'b.ts']]);
    // top-level files are nodes of the folder graph too
    expect(folderCycles(g.files).sort()).toEqual([['a.ts', 'b.ts'], ['x', 'y']]);
  }, 60_000);

  it('src/ has no cycle between files or between folders', async () => {
    const g = await importGraph(join(root, 'src'));
    // the graph is real: the CLI reaches the figures through the commands
    expect(g.files['commands/reproduce.ts']).toContain('figures/index.ts');
    expect(g.fileCycles).toEqual([]);
    expect(folderCycles(g.files)).toEqual([]);
  }, 60_000);
});
