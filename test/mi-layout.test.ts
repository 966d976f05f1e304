/**
 * The kernel's memory layout has one definition (assembly/layout.ts); src/mi/kernel.ts reads it from the module's
 * exports. These tests check that the two sides agree: the same header fields, sound offsets, the magic and
 * version checked on both sides, and a clear error for a module built from other sources.
 */
import { describe, expect, it } from 'vitest';
import { InfoflowError } from '../src/errors.js';
import {
  F64_FIELDS, KsgKernel, LAYOUT_MAGIC, LAYOUT_VERSION, REGION_FIELDS, SCALAR_FIELDS, instantiate, kernelLayout, kernelModule, readLayout,
} from '../src/mi/kernel.js';
import { seededData } from './mi-fixtures.js';

const exportsOf = (): Record<string, unknown> =>
  instantiate(kernelModule(), new WebAssembly.Memory({ initial: 16, maximum: 65536, shared: true })) as unknown as Record<string, unknown>;

describe('kernel memory layout', () => {
  it('the module exports exactly the header fields kernel.ts writes, with its magic and version', () => {
    const ex = exportsOf();
    const exported = Object.keys(ex).filter((k) => k.startsWith('HEADER_') && k !== 'HEADER_BYTES').map((k) => k.slice(7)).sort();
    expect(exported).toEqual([...SCALAR_FIELDS, ...REGION_FIELDS, ...F64_FIELDS].sort());
    const L = kernelLayout();
    expect(L.magic).toBe(LAYOUT_MAGIC);
    expect(L.version).toBe(LAYOUT_VERSION);
    // 'KSG1' in the first header word, the version in the second
    expect(L.offsets.magic).toBe(0);
    expect(L.offsets.version).toBe(4);
    expect(Buffer.from(new Uint32Array([L.magic]).buffer).toString('latin1')).toBe('KSG1');
  });

  it('offsets are aligned, inside the header and do not overlap', () => {
    const L = kernelLayout();
    const fields = Object.entries(L.offsets).map(([name, at]) => ({ name, at, size: (F64_FIELDS as readonly string[]).includes(name) ? 8 : 4 }));
    fields.sort((a, b) => a.at - b.at);
    for (const f of fields) {
      expect(f.at % f.size, f.name).toBe(0);
      expect(f.at + f.size, f.name).toBeLessThanOrEqual(L.headerBytes);
    }
    for (let i = 1; i < fields.length; i++) expect(fields[i].at, fields[i].name).toBeGreaterThanOrEqual(fields[i - 1].at + fields[i - 1].size);
    // the slot scratch is whole cache lines and holds per query of a block (up to 1,024) a (lo, hi) row pair per dim
    // and the k best; it grows with n (the queries of a block, then the one-pass list's room per query) up to a limit
    for (const dz of [2, 64, 130]) {
      for (const k of [1, 3, 20]) {
        for (const n of [1, 300, 1024, 50000]) {
          expect(L.slotBytes(dz, k, n) % 128).toBe(0);
          expect(L.slotBytes(dz, k, n)).toBeGreaterThanOrEqual(Math.min(n, 1024) * (2 * (dz + 4) * 8 + k * 8));
        }
        expect(L.slotBytes(dz, k, 300)).toBeLessThan(L.slotBytes(dz, k, 1024));
        expect(L.slotBytes(dz, k, 1024)).toBeLessThan(L.slotBytes(dz, k, 30000));
        expect(L.slotBytes(dz, k, 50000)).toBe(L.slotBytes(dz, k, 16384));
      }
    }
    // a slab word is one v128 of positions; 16 bins of the 8-bit levels
    expect([L.word, L.bins]).toEqual([128, 16]);
    // u8 rows in whole 32-byte steps (two v128 per step of rowMax8)
    expect([1, 32, 33, 64, 130].map((d) => L.row8Bytes(d))).toEqual([32, 32, 64, 64, 160]);
  });

  it('the module reads the magic and version where kernel.ts writes them, and refuses a header that does not match', () => {
    const kernel = new KsgKernel();
    const { x, y } = seededData(200, 3, 2, 1);
    kernel.prepare(x, y, { n: x.n, dx: x.d, dy: y.d, k: 3, slots: 1 });
    const { memory, ctx, module } = kernel.job;
    const L = kernelLayout();
    const ex = instantiate(module, memory);
    const h32 = new Uint32Array(memory.buffer, ctx, L.headerBytes >> 2);
    expect(h32[L.offsets.magic >> 2]).toBe(LAYOUT_MAGIC);
    expect(ex.build(ctx)).toBe(0);
    h32[L.offsets.version >> 2] = LAYOUT_VERSION + 1;
    expect(ex.build(ctx)).toBe(-1);
    h32[L.offsets.version >> 2] = LAYOUT_VERSION;
    h32[L.offsets.magic >> 2] = 0;
    expect(ex.build(ctx)).toBe(-1);
  });

  it('a module without the layout exports is refused with one line naming the fix', () => {
    // the smallest valid wasm module: no exports at all, like a build from other sources
    const empty = new WebAssembly.Module(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    let err: unknown;
    try {
      readLayout(empty);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InfoflowError);
    expect((err as Error).message).toMatch(/^build\/release\.wasm does not match src\/mi\/kernel\.ts; rebuild it with `npm run build` \(it exports no LAYOUT_MAGIC\)$/);
  });
});
