import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InfoflowError } from '../src/errors.js';
import { formatNpy, parseNpy, readNpy } from '../src/npy/index.js';
import { Xoshiro128 } from '../src/random.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'npy');
const GOLDEN = join(import.meta.dirname, 'fixtures', 'golden');

interface ManifestEntry {
  file: string;
  descr: string;
  shape: number[];
  fortran_order: boolean;
  version: [number, number];
  values_c_order: number[];
}
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as {
  valid: ManifestEntry[];
  invalid: { file: string; descr: string; message_contains: string }[];
};

const tmp = mkdtempSync(join(tmpdir(), 'infoflow-npy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The error parseNpy throws for `bytes` (fails the test if it does not throw an InfoflowError). */
function errorOf(bytes: Uint8Array, source = 'f.npy'): InfoflowError {
  try {
    parseNpy(bytes, source);
  } catch (e) {
    expect(e).toBeInstanceOf(InfoflowError);
    return e as InfoflowError;
  }
  throw new Error('expected parseNpy to throw');
}

/** A version 1.0 file with the given header text (padded as NumPy does) and data bytes. */
function npyBytes(header: string, data: Uint8Array = new Uint8Array(0), version = 1): Uint8Array {
  const lenBytes = version === 1 ? 2 : 4;
  const pre = 8 + lenBytes;
  const pad = (64 - ((pre + header.length + 1) % 64)) % 64;
  const h = header + ' '.repeat(pad) + '\n';
  const out = new Uint8Array(pre + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, h.length, true);
  else view.setUint32(8, h.length, true);
  out.set(new TextEncoder().encode(h), pre);
  out.set(data, pre + h.length);
  return out;
}

const f4 = (values: number[]): Uint8Array => new Uint8Array(new Float32Array(values).buffer);

describe('readNpy on files written by NumPy (test/fixtures/npy/make.py)', () => {
  it.each(manifest.valid.map((m) => [m.file, m] as const))('%s', (_name, m) => {
    const arr = readNpy(join(FIXTURES, m.file));
    expect(arr.shape).toEqual(m.shape);
    expect(arr.dtype).toBe(m.descr);
    expect(arr.fortranOrder).toBe(m.fortran_order);
    expect(arr.version).toEqual(m.version);
    expect(Array.from(arr.data)).toEqual(m.values_c_order);
    // exact conversion: float32 for types float32 holds exactly, float64 for the rest
    const code = m.descr.slice(1);
    const expected32 = ['f2', 'f4', 'b1', 'i1', 'u1', 'i2', 'u2'].includes(code);
    expect(arr.data).toBeInstanceOf(expected32 ? Float32Array : Float64Array);
  });

  it('covers every dtype in both byte orders and both memory orders', () => {
    const descrs = new Set(manifest.valid.map((m) => m.descr));
    for (const code of ['f2', 'f4', 'f8', 'i2', 'i4', 'i8', 'u2', 'u4', 'u8']) {
      expect(descrs.has(`<${code}`) && descrs.has(`>${code}`)).toBe(true);
    }
    for (const d of ['|i1', '|u1', '|b1']) expect(descrs.has(d)).toBe(true);
    expect(manifest.valid.filter((m) => m.fortran_order).length).toBeGreaterThan(12);
    expect(new Set(manifest.valid.map((m) => m.version.join('.')))).toEqual(new Set(['1.0', '2.0', '3.0']));
  });

  it.each(manifest.invalid.map((m) => [m.file, m] as const))('refuses %s with a message naming the dtype and the fix', (_name, m) => {
    let err: unknown;
    try {
      readNpy(join(FIXTURES, m.file));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InfoflowError);
    const msg = (err as Error).message;
    expect(msg).toContain(m.file);
    expect(msg).toContain(m.message_contains);
    expect(msg).toMatch(/astype|save/);
    expect(msg).not.toContain('\n');
  });

  it('reads every golden file as float32 (N, d) matching golden.json', () => {
    const golden = JSON.parse(readFileSync(join(GOLDEN, 'golden.json'), 'utf8')) as {
      cases: { x: string; y: string; N: number; dx: number; dy: number }[];
    };
    expect(golden.cases.length).toBeGreaterThan(0);
    for (const c of golden.cases) {
      const x = readNpy(join(GOLDEN, c.x));
      const y = readNpy(join(GOLDEN, c.y));
      expect(x.shape).toEqual([c.N, c.dx]);
      expect(y.shape).toEqual([c.N, c.dy]);
      expect(x.data).toBeInstanceOf(Float32Array);
      expect(x.data.every(Number.isFinite)).toBe(true);
    }
  });

  it('Fortran-order and big-endian copies hold the same values as the C-order original', () => {
    const c = readNpy(join(GOLDEN, 'act_W4_N500_y.npy'));
    const f = readNpy(join(FIXTURES, 'mi_W4_N500_y_fortran_be.npy'));
    expect(f.fortranOrder).toBe(true);
    expect(f.dtype).toBe('>f4');
    expect(f.shape).toEqual(c.shape);
    expect(Buffer.from(f.data.buffer).equals(Buffer.from(c.data.buffer))).toBe(true);
  });
});

describe('writeNpy / formatNpy', () => {
  it('round-trips float32 and float64 in 0-d, 1-d, 2-d and 3-d shapes', async () => {
    const { writeNpy } = await import('../src/npy/index.js');
    const cases: [Float32Array | Float64Array, number[]][] = [
      [new Float32Array([1.5]), []],
      [new Float32Array([1, -2, 3.25, NaN, Infinity]), [5]],
      [Float64Array.from({ length: 12 }, (_, i) => Math.sin(i) * 1e10), [3, 4]],
      [Float32Array.from({ length: 24 }, (_, i) => i / 7), [2, 3, 4]],
      [new Float64Array(0), [0, 7]],
    ];
    for (const [data, shape] of cases) {
      const path = join(tmp, `rt-${shape.join('x')}.npy`);
      writeNpy(path, data, shape);
      const back = readNpy(path);
      expect(back.shape).toEqual(shape);
      expect(back.data).toBeInstanceOf(data.constructor);
      expect(Array.from(back.data)).toEqual(Array.from(data));
      expect(back.dtype).toBe(data instanceof Float32Array ? '<f4' : '<f8');
      expect(back.fortranOrder).toBe(false);
      expect(back.version).toEqual([1, 0]);
    }
  });

  // NumPy itself reads what writeNpy writes (where python3 with NumPy is installed; make.py needs it too)
  const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!hasNumpy)('NumPy reads writeNpy files back exactly', async () => {
    const { writeNpy } = await import('../src/npy/index.js');
    const a = Float32Array.from({ length: 12 }, (_, i) => i / 3 - 1);
    const b = Float64Array.from({ length: 5 }, (_, i) => Math.PI * 10 ** i);
    writeNpy(join(tmp, 'np-a.npy'), a, [3, 4]);
    writeNpy(join(tmp, 'np-b.npy'), b, [5]);
    const py = [
      'import json, sys, numpy as np',
      `a = np.load(${JSON.stringify(join(tmp, 'np-a.npy'))}); b = np.load(${JSON.stringify(join(tmp, 'np-b.npy'))})`,
      'print(json.dumps([a.dtype.str, list(a.shape), a.ravel().astype(float).tolist(), b.dtype.str, list(b.shape), b.tolist()]))',
    ].join('\n');
    const r = spawnSync('python3', ['-c', py], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(['<f4', [3, 4], Array.from(a), '<f8', [5], Array.from(b)]);
  });

  it('writes the header NumPy writes: 64-byte aligned, ending in a newline', () => {
    const bytes = formatNpy(new Float32Array(6), [2, 3]);
    const headerLength = new DataView(bytes.buffer).getUint16(8, true);
    expect((10 + headerLength) % 64).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength));
    expect(header.trimEnd()).toBe("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
    expect(header.endsWith('\n')).toBe(true);
    expect(bytes.length).toBe(10 + headerLength + 24);
    expect(new TextDecoder().decode(formatNpy(new Float64Array(3), [3]).subarray(10, 80))).toContain("'shape': (3,)");
  });

  it('rejects a shape that does not fit the data, and an unwritable path', async () => {
    const { writeNpy } = await import('../src/npy/index.js');
    expect(() => formatNpy(new Float32Array(5), [2, 3])).toThrow(InfoflowError);
    expect(() => formatNpy(new Float32Array(5), [-5])).toThrow(InfoflowError);
    expect(() => writeNpy(join(tmp, 'no', 'such', 'dir', 'a.npy'), new Float32Array(1), [1])).toThrow(/cannot write/);
  });
});

describe('bad .npy input: one-line InfoflowError naming the file and the fix', () => {
  const good = npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", f4([1, 2, 3, 4]));

  it('parses the hand-made file this block corrupts', () => {
    expect(Array.from(parseNpy(good, 'g.npy').data)).toEqual([1, 2, 3, 4]);
  });

  it('missing file, directory', () => {
    expect(() => readNpy(join(tmp, 'nope.npy'))).toThrow(/nope\.npy: file not found/);
    expect(() => readNpy(tmp)).toThrow(/is a directory/);
    // a device would be read forever (/dev/zero) or wait for typing (a terminal): refused up front
    expect(() => readNpy('/dev/zero')).toThrow(/is a device or socket/);
  });

  it('wrong magic, empty file, unsupported version', () => {
    expect(errorOf(new TextEncoder().encode('a,b,c\n1,2,3\n'), 'x.csv').message).toBe(
      'x.csv: not a .npy file (expected magic \\x93NUMPY); write it with np.save',
    );
    expect(errorOf(new Uint8Array(0)).message).toMatch(/empty file/);
    const v4 = good.slice();
    v4[6] = 4;
    expect(errorOf(v4).message).toMatch(/unsupported \.npy format version 4\.0/);
  });

  it('truncated header and truncated data say how many bytes were expected and found', () => {
    expect(errorOf(good.subarray(0, 40)).message).toMatch(/truncated header: the header says 118 bytes but the file ends after 30/);
    expect(errorOf(good.subarray(0, good.length - 3)).message).toMatch(/truncated data: shape \(2, 2\) of <f4 needs 16 bytes but the file holds 13/);
    const extra = new Uint8Array(good.length + 4);
    extra.set(good);
    expect(errorOf(extra).message).toMatch(/size mismatch: .* needs 16 bytes but the file holds 20/);
  });

  it.each([
    ["{'descr': '<f4', 'fortran_order': False}", /keys are/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), 'extra': 1}", /keys are/],
    ["{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 2)}", /fortran_order/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': [2, 2]}", /'shape' is not a tuple/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (2, -2)}", /non-negative/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2.0)}", /bad number/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2)", /ends early|expected/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2)} junk", /after the dict/],
    ["{'descr': '<f4, 'fortran_order': False, 'shape': (2, 2)}", /malformed header/],
    ["{'descr': __import__('os').system('true'), 'fortran_order': False, 'shape': (2, 2)}", /unexpected/],
    ["['descr', '<f4']", /does not start with \{/],
    ["{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (4,)}", /appears twice/],
    ['(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((', /does not start/],
    ["{'a': " + '('.repeat(5000) + '}', /nested too deeply/],
  ])('malformed header %s', (header, pattern) => {
    const err = errorOf(npyBytes(header, f4([1, 2, 3, 4])));
    expect(err.message).toMatch(pattern);
    expect(err.message).not.toContain('\n');
  });

  it('accepts the header variants NumPy has written: double quotes, Python 2 longs, no trailing comma', () => {
    for (const header of [
      '{"descr": "<f4", "fortran_order": False, "shape": (2, 2)}',
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 2L), }",
      "{'shape': (2,2),'fortran_order':False,'descr':'<f4'}",
    ]) {
      expect(Array.from(parseNpy(npyBytes(header, f4([1, 2, 3, 4])), 'v.npy').data)).toEqual([1, 2, 3, 4]);
    }
  });

  it('unsupported dtypes name the dtype and the fix', () => {
    for (const [descr, words] of [
      ['<c8', 'complex'],
      ['|O', 'objects'],
      ['<U3', 'strings'],
      ['|S3', 'strings'],
      ['<M8[D]', "unsupported dtype '<M8[D]'"],
      ['<f16', 'long double'],
      ['<i3', 'integer of 3 bytes'],
      ['|f4', "byte order '|'"],
      ['', 'not a plain numeric type'],
    ] as const) {
      const err = errorOf(npyBytes(`{'descr': '${descr}', 'fortran_order': False, 'shape': (1,)}`, new Uint8Array(16)));
      expect(err.message).toContain(words);
      expect(err.message).toContain('astype(np.float32)');
    }
  });

  it('rejects int64 values that float64 cannot hold exactly', () => {
    const data = new Uint8Array(new BigInt64Array([1n, 2n ** 53n + 1n]).buffer);
    expect(errorOf(npyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (2,)}", data)).message).toMatch(/beyond 2\^53/);
  });

  it('absurd shapes fail on the size check, before any allocation', () => {
    for (const shape of ['(4294967296, 4294967296)', '(9007199254740991,)', '(100000000000, 1000000000, 1000)', '(2147483647, 3)']) {
      const err = errorOf(npyBytes(`{'descr': '<f8', 'fortran_order': False, 'shape': ${shape}}`, new Uint8Array(64)));
      expect(err.message).toMatch(/truncated data|absurdly large/);
    }
    expect(errorOf(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}")).message).toMatch(/non-negative integer/);
  });
});

describe('fuzz: corrupted .npy files either parse or throw InfoflowError', () => {
  // a hang would hit this test's timeout (the whole fuzz runs in about a second)
  it('3000 seeded corruptions of valid files', { timeout: 30_000 }, () => {
    const seeds = manifest.valid.map((m) => readFileSync(join(FIXTURES, m.file)));
    // seeded, so every run throws the same corruptions
    const rng = new Xoshiro128(20260522);
    const rand = (): number => rng.uniform();
    const int = (n: number): number => Math.floor(rand() * n);
    const enc = new TextEncoder();
    const headerEdits = [
      (h: string) => h.replace(/\(([^)]*)\)/, `(${int(2) ? 2 ** (20 + int(40)) : -int(5)}, ${int(1e6)})`),
      (h: string) => h.replace(/'descr': '[^']*'/, `'descr': '${['<f4', '>f8', '<c8', '|O', 'xx', '<f', '<i8', '|b1', '<u2'][int(9)]}'`),
      (h: string) => h.replace('False', ['True', 'false', '0', 'None', ''][int(5)]!).replace('True', 'False'),
      (h: string) => h.slice(0, int(h.length)) + h.slice(int(h.length)),
      (h: string) => h.replace(/[{}()',:]/, ['', '[', ']', '"', '{', '(('][int(6)]!),
      (h: string) => h.slice(0, int(h.length)) + String.fromCharCode(int(256)) + h.slice(int(h.length)),
    ];
    let parsed = 0;
    let refused = 0;
    for (let trial = 0; trial < 3000; trial++) {
      const src = seeds[int(seeds.length)]!;
      let bytes = new Uint8Array(src);
      const kind = trial % 6;
      if (kind === 0) {
        // bit flips anywhere, denser in the first 128 bytes (magic, version, length, header)
        const flips = 1 + int(4);
        for (let f = 0; f < flips; f++) {
          const at = int(2) ? int(Math.min(128, bytes.length)) : int(bytes.length);
          bytes[at] = bytes[at]! ^ (1 << int(8));
        }
      } else if (kind === 1) {
        bytes = bytes.slice(0, int(bytes.length + 1));
      } else if (kind === 2) {
        // rewrite the header text, keeping the data
        const major = bytes[6]!;
        const pre = major === 1 ? 10 : 12;
        const len = major === 1 ? new DataView(bytes.buffer).getUint16(8, true) : new DataView(bytes.buffer).getUint32(8, true);
        const header = new TextDecoder('latin1').decode(bytes.subarray(pre, pre + len));
        const edited = headerEdits[int(headerEdits.length)]!(header);
        const h = enc.encode(edited);
        const out = new Uint8Array(pre + h.length + bytes.length - pre - len);
        out.set(bytes.subarray(0, pre));
        if (major === 1) new DataView(out.buffer).setUint16(8, h.length & 0xffff, true);
        else new DataView(out.buffer).setUint32(8, h.length, true);
        out.set(h, pre);
        out.set(bytes.subarray(pre + len), pre + h.length);
        bytes = out;
      } else if (kind === 3) {
        // random bytes after a valid magic, or entirely random
        const n = int(300);
        const out = new Uint8Array(n);
        for (let i = 0; i < n; i++) out[i] = int(256);
        if (int(2) && n >= 8) out.set(bytes.subarray(0, 8));
        bytes = out;
      } else if (kind === 4) {
        // a random header length
        const v = new DataView(bytes.buffer);
        if (bytes[6] === 1) v.setUint16(8, int(65536), true);
        else v.setUint32(8, int(2) ? int(4294967296) : int(400), true);
      } else {
        // splice: cut a chunk out or duplicate one
        const a = int(bytes.length);
        const b = a + int(40);
        const cut = int(2) === 0;
        const parts = cut ? [bytes.subarray(0, a), bytes.subarray(b)] : [bytes.subarray(0, b), bytes.subarray(a)];
        bytes = new Uint8Array(Buffer.concat(parts));
      }
      try {
        const arr = parseNpy(bytes, `fuzz-${trial}.npy`);
        let count = 1;
        for (const d of arr.shape) count *= d;
        expect(arr.data.length).toBe(count);
        parsed++;
      } catch (e) {
        if (!(e instanceof InfoflowError)) {
          throw new Error(`trial ${trial} (kind ${kind}) threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
        }
        expect(e.message).toMatch(/^fuzz-\d+\.npy: /);
        expect(e.message).not.toContain('\n');
        refused++;
      }
    }
    expect(parsed + refused).toBe(3000);
    expect(refused).toBeGreaterThan(1000);
    expect(parsed).toBeGreaterThan(100);
  });
});

describe('writeFileSync fixture sanity', () => {
  it('a file written by hand with npyBytes is read back by readNpy', () => {
    const path = join(tmp, 'hand.npy');
    writeFileSync(path, npyBytes("{'descr': '>f4', 'fortran_order': True, 'shape': (2, 2)}", new Uint8Array([63, 128, 0, 0, 64, 0, 0, 0, 64, 64, 0, 0, 64, 128, 0, 0]), 2));
    // Fortran (2, 2) [1, 2, 3, 4] column-major -> rows [1, 3], [2, 4]
    expect(Array.from(readNpy(path).data)).toEqual([1, 3, 2, 4]);
  });
});
