/**
 * NumPy .npy reader and writer (format versions 1.0, 2.0, 3.0).
 * See: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 *
 * Written by hand because no npm package handles the whole format: npyjs 1.x and numpy-parser read the
 * header with regular expressions, ignore big-endian byte order (they read '>f4' as if it were '<f4'),
 * return Fortran-order data untransposed, decode version 3.0 (utf-8) headers as latin1, and do not check the
 * data length against the shape (a truncated file gives a RangeError or a short array).
 *
 * Layout of a file: magic "\x93NUMPY", major and minor version bytes, header length (uint16 LE for 1.0,
 * uint32 LE for 2.0/3.0), the header (a Python dict literal: {'descr': '<f4', 'fortran_order': False,
 * 'shape': (N, d), }), padded with spaces and ending in '\n', then the raw data.
 *
 * What the reader returns, whatever the dtype in the file: numbers in C (row-major) order, as
 * - Float32Array for float16, float32, bool and 8- and 16-bit integers (all exact in float32);
 * - Float64Array for float64 and 32- and 64-bit integers (exact in float64; a 64-bit integer beyond 2^53
 *   in magnitude is rejected rather than rounded).
 * So the estimator always gets float data it can use as is, and the conversion never loses a digit.
 * Every malformed input throws an InfoflowError (inputError) whose message names the file and the fix.
 */
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { endianness } from 'node:os';
import { InfoflowError, inputError, usageError } from '../errors.js';
import { writeFileDurable } from '../io/durable.js';

export interface NpyArray {
  /** the values, always in C (row-major) order; see the file comment for the element type */
  data: Float32Array | Float64Array;
  /** the array's shape; [] for a 0-d array (one value) */
  shape: number[];
  /** the NumPy descr as written in the file, e.g. '<f4', '>i8', '|b1' */
  dtype: string;
  /** whether the file stored the data in Fortran order (the returned data is C order regardless) */
  fortranOrder: boolean;
  /** the format version, e.g. [1, 0] */
  version: [number, number];
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const HOST_LITTLE_ENDIAN = endianness() === 'LE';
const FIX_DTYPE = 'save it as float32 in NumPy: np.save(path, arr.astype(np.float32))';

/** Options of readNpy. */
export interface ReadNpyOptions {
  /**
   * Refuse a file with more values than this, from its header, before its data is read (a reader that would
   * fail on a too large input anyway, e.g. the MI estimator's 4 GiB WebAssembly memory, says so at once).
   */
  maxValues?: number;
  /** the end of the refusal: why the limit exists and what to do (default: subsample the rows) */
  maxValuesWhy?: string;
}

/** The prelude: magic, version, and the header length (uint16 for 1.0, uint32 for 2.0/3.0). */
const PRELUDE_BYTES = 12;
/** NumPy's headers are a few hundred bytes (large only for structured dtypes, which are refused anyway). */
const MAX_HEADER_BYTES = 1 << 20;

/** The first bytes of a file: the prelude and, once its length is known, the whole header. */
function readHead(fd: number, size: number): Uint8Array {
  const take = (n: number) => {
    const buf = Buffer.alloc(Math.min(n, size));
    let got = 0;
    while (got < buf.length) {
      const r = readSync(fd, buf, got, buf.length - got, got);
      if (r === 0) break;
      got += r;
    }
    return buf.subarray(0, got);
  };
  const prelude = take(PRELUDE_BYTES);
  if (prelude.length < 10) return prelude;
  const major = prelude[6];
  const headerLength = major === 1 ? prelude.readUInt16LE(8) : prelude.readUInt32LE(8);
  return take((major === 1 ? 10 : 12) + Math.min(headerLength, MAX_HEADER_BYTES));
}

/** Read a .npy file. Throws InfoflowError (exit code 2 in the CLI) for a missing, unreadable or malformed file. */
export function readNpy(path: string, opts: ReadNpyOptions = {}): NpyArray {
  let bytes: Uint8Array;
  try {
    // a device (/dev/zero, a terminal as /dev/stdin) would be read forever or wait for typing: refuse it first
    const st = statSync(path);
    if (st.isCharacterDevice() || st.isBlockDevice() || st.isSocket()) {
      throw inputError(path, 'is a device or socket, not a .npy file; pass a file written with np.save');
    }
    if (st.isDirectory()) throw inputError(path, 'is a directory, not a .npy file');
    // the header first: a malformed, truncated or too large file is refused before its data is read
    const fd = openSync(path, 'r');
    try {
      const head = parseHead(readHead(fd, st.size), path, st.size);
      if (opts.maxValues !== undefined && head.count > opts.maxValues) {
        throw inputError(
          path,
          `shape (${head.shape.join(', ')}) holds ${head.count.toLocaleString('en-US')} values, over the ${opts.maxValues.toLocaleString('en-US')} that fit; ${opts.maxValuesWhy ?? 'subsample the rows'}`,
        );
      }
    } finally {
      closeSync(fd);
    }
    bytes = readFileSync(path);
  } catch (e) {
    if (e instanceof InfoflowError) throw e;
    const code = (e as NodeJS.ErrnoException)?.code;
    if (code === 'ENOENT') throw inputError(path, 'file not found; check the path', e);
    if (code === 'EISDIR') throw inputError(path, 'is a directory, not a .npy file', e);
    if (code === 'EACCES' || code === 'EPERM') throw inputError(path, 'permission denied; make the file readable', e);
    if (code === 'ERR_FS_FILE_TOO_LARGE') throw inputError(path, 'file too large to read at once (over 2 GiB); subsample the rows', e);
    throw inputError(path, `cannot read the file (${(e as Error)?.message ?? String(e)})`, e);
  }
  return parseNpy(bytes, path);
}

/** What a file's header says, checked against the file's size. */
interface Head {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  type: NumericType;
  major: number;
  minor: number;
  dataStart: number;
  count: number;
  needed: number;
}

/** Parse and check the prelude and header in `bytes` (the file's first bytes) of a file of `fileSize` bytes. */
function parseHead(bytes: Uint8Array, source: string, fileSize: number): Head {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) {
    if (fileSize === 0) throw inputError(source, 'empty file, not a .npy file (expected magic \\x93NUMPY); write it with np.save');
    throw inputError(source, 'not a .npy file (expected magic \\x93NUMPY); write it with np.save');
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (!((major === 1 || major === 2 || major === 3) && minor === 0)) {
    throw inputError(source, `unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0); re-save it with np.save`);
  }
  const lengthBytes = major === 1 ? 2 : 4;
  const headerStart = 8 + lengthBytes;
  if (bytes.length < headerStart) {
    throw inputError(source, `truncated header: expected at least ${headerStart} bytes, found ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = headerStart + headerLength;
  if (headerLength > MAX_HEADER_BYTES && fileSize >= dataStart) {
    throw inputError(source, `malformed header: it says it is ${headerLength} bytes long (NumPy writes a few hundred); re-save it with np.save`);
  }
  if (fileSize < dataStart || bytes.length < dataStart) {
    throw inputError(source, `truncated header: the header says ${headerLength} bytes but the file ends after ${fileSize - headerStart}`);
  }
  const headerBytes = bytes.subarray(headerStart, dataStart);
  let headerText: string;
  if (major === 3) {
    try {
      headerText = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
    } catch (e) {
      throw inputError(source, 'malformed header: not valid utf-8 (format 3.0); re-save it with np.save', e);
    }
  } else {
    headerText = new TextDecoder('latin1').decode(headerBytes);
  }

  const header = parseHeader(headerText, source);
  const { descr, fortranOrder, shape } = header;
  const type = parseDescr(descr, source);

  // size checks before any allocation: an absurd shape fails here, against the real file size
  const available = fileSize - dataStart;
  let count = 1;
  for (const dim of shape) count *= dim;
  const needed = count * type.size;
  if (!Number.isSafeInteger(needed)) {
    throw inputError(source, `shape (${shape.join(', ')}) is absurdly large for a file of ${fileSize} bytes; the header is corrupt, re-save it with np.save`);
  }
  if (needed > available) {
    throw inputError(source, `truncated data: shape (${shape.join(', ')}${shape.length === 1 ? ',' : ''}) of ${descr} needs ${needed} bytes but the file holds ${available} after the header; the file is incomplete or the header is wrong`);
  }
  if (needed < available) {
    throw inputError(source, `size mismatch: shape (${shape.join(', ')}${shape.length === 1 ? ',' : ''}) of ${descr} needs ${needed} bytes but the file holds ${available} after the header (extra bytes at the end); re-save it with np.save`);
  }
  return { descr, fortranOrder, shape, type, major, minor, dataStart, count, needed };
}

/** Parse the bytes of a .npy file; `source` names the file in error messages. */
export function parseNpy(bytes: Uint8Array, source: string): NpyArray {
  const { descr, fortranOrder, shape, type, major, minor, dataStart, count, needed } = parseHead(bytes, source, bytes.length);
  const raw = decode(bytes.subarray(dataStart, dataStart + needed), count, type, source);
  const data = fortranOrder && shape.length > 1 ? fortranToC(raw, shape) : raw;
  return { data, shape, dtype: descr, fortranOrder, version: [major, minor] };
}

// ---------------------------------------------------------------------------------------------------------
// The header: a Python dict literal, parsed by a small strict recursive-descent parser (never eval).

type PyValue = string | number | boolean | null | PyValue[] | { tuple: PyValue[] } | Map<string, PyValue>;

interface Header {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
}

function parseHeader(text: string, source: string): Header {
  const bad = (why: string): InfoflowError =>
    inputError(source, `malformed header (${why}); expected {'descr': '<f4', 'fortran_order': False, 'shape': (N, d)}; re-save it with np.save`);
  let pos = 0;
  const skipSpace = (): void => {
    while (pos < text.length && (text[pos] === ' ' || text[pos] === '\t' || text[pos] === '\n' || text[pos] === '\r')) pos++;
  };
  let depth = 0;
  const parseValue = (): PyValue => {
    skipSpace();
    const c = text[pos];
    if (c === undefined) throw bad('ends early');
    if (c === "'" || c === '"') return parseString();
    if (c === '{') return parseDict();
    if (c === '(' || c === '[') return parseSequence();
    if (/[0-9+-]/.test(c)) return parseNumber();
    const word = /^[A-Za-z_]+/.exec(text.slice(pos, pos + 16))?.[0] ?? '';
    pos += word.length;
    if (word === 'True') return true;
    if (word === 'False') return false;
    if (word === 'None') return null;
    throw bad(`unexpected ${word ? `'${word}'` : `character '${c}'`} at offset ${pos}`);
  };
  const parseString = (): string => {
    const quote = text[pos++];
    let out = '';
    while (pos < text.length && text[pos] !== quote) {
      if (text[pos] === '\\') {
        const next = text[pos + 1];
        if (next === undefined) break;
        out += next === 'n' ? '\n' : next === 't' ? '\t' : next;
        pos += 2;
      } else {
        out += text[pos++];
      }
    }
    if (text[pos] !== quote) throw bad('unterminated string');
    pos++;
    return out;
  };
  const parseNumber = (): number => {
    const m = /^[+-]?[0-9]+[Ll]?/.exec(text.slice(pos, pos + 40));
    if (!m) throw bad(`bad number at offset ${pos}`);
    pos += m[0].length;
    if (/[0-9.eEjx]/.test(text[pos] ?? '')) throw bad(`bad number at offset ${pos}`);
    return Number(m[0].replace(/[Ll]$/, ''));
  };
  const enter = (): void => {
    if (++depth > 32) throw bad('nested too deeply');
  };
  const parseSequence = (): PyValue => {
    enter();
    const open = text[pos++];
    const close = open === '(' ? ')' : ']';
    const items: PyValue[] = [];
    let sawComma = false;
    for (;;) {
      skipSpace();
      if (text[pos] === close) break;
      items.push(parseValue());
      skipSpace();
      if (text[pos] === ',') {
        pos++;
        sawComma = true;
        continue;
      }
      if (text[pos] !== close) throw bad(`expected ',' or '${close}' at offset ${pos}`);
      break;
    }
    pos++;
    depth--;
    // Python: (x) is x, not a tuple; (x,) and () are tuples
    if (open === '(') return items.length === 1 && !sawComma ? items[0]! : { tuple: items };
    return items;
  };
  const parseDict = (): Map<string, PyValue> => {
    enter();
    pos++;
    const out = new Map<string, PyValue>();
    for (;;) {
      skipSpace();
      if (text[pos] === '}') break;
      const key = parseValue();
      if (typeof key !== 'string') throw bad('a dict key is not a string');
      skipSpace();
      if (text[pos] !== ':') throw bad(`expected ':' after '${key}'`);
      pos++;
      if (out.has(key)) throw bad(`key '${key}' appears twice`);
      out.set(key, parseValue());
      skipSpace();
      if (text[pos] === ',') {
        pos++;
        continue;
      }
      if (text[pos] !== '}') throw bad(`expected ',' or '}' at offset ${pos}`);
      break;
    }
    pos++;
    depth--;
    return out;
  };

  skipSpace();
  if (text[pos] !== '{') throw bad('does not start with {');
  const dict = parseDict();
  skipSpace();
  // NumPy pads the header with spaces (and, in old versions, NUL bytes) before the final newline
  while (pos < text.length && text[pos] === '\0') pos++;
  skipSpace();
  if (pos !== text.length) throw bad(`unexpected text after the dict at offset ${pos}`);

  const keys = [...dict.keys()].sort().join(', ');
  if (keys !== 'descr, fortran_order, shape') throw bad(`keys are {${keys}}, expected exactly descr, fortran_order, shape`);
  const descr = dict.get('descr');
  if (Array.isArray(descr)) {
    throw inputError(source, `unsupported dtype: a structured (record) array with fields; save one plain numeric field instead, e.g. np.save(path, arr['field'].astype(np.float32))`);
  }
  if (typeof descr !== 'string') throw bad("'descr' is not a string");
  const fortran = dict.get('fortran_order');
  if (typeof fortran !== 'boolean') throw bad("'fortran_order' is not True or False");
  const shapeValue = dict.get('shape');
  if (shapeValue === null || typeof shapeValue !== 'object' || !('tuple' in shapeValue)) throw bad("'shape' is not a tuple");
  const shape: number[] = [];
  for (const dim of shapeValue.tuple) {
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) throw bad(`shape entry ${String(dim)} is not a non-negative integer`);
    shape.push(dim);
  }
  return { descr, fortranOrder: fortran, shape };
}

// ---------------------------------------------------------------------------------------------------------
// dtypes

type Kind = 'f' | 'i' | 'u' | 'b';
interface NumericType {
  kind: Kind;
  size: number;
  littleEndian: boolean;
}

function parseDescr(descr: string, source: string): NumericType {
  const m = /^([<>|=]?)([a-zA-Z?])(\d*)$/.exec(descr);
  const unsupported = (what: string): InfoflowError =>
    inputError(source, `unsupported dtype '${descr}' (${what}); ${FIX_DTYPE}`);
  if (!m) throw unsupported('not a plain numeric type');
  const [, order, code, sizeText] = m as unknown as [string, string, string, string];
  const size = sizeText === '' ? (code === 'b' || code === '?' ? 1 : 0) : Number(sizeText);
  let kind: Kind;
  switch (code) {
    case 'f':
      if (size !== 2 && size !== 4 && size !== 8) throw unsupported(size === 16 ? 'long double' : `float of ${size} bytes`);
      kind = 'f';
      break;
    case 'i':
    case 'u':
      if (size !== 1 && size !== 2 && size !== 4 && size !== 8) throw unsupported(`integer of ${size} bytes`);
      kind = code;
      break;
    case 'b':
      // the array-protocol typestr for bool is 'b1' (NumPy writes '|b1')
      if (sizeText !== '1') throw unsupported('not a plain numeric type');
      kind = 'b';
      break;
    case '?':
      kind = 'b';
      break;
    case 'c':
      throw unsupported('complex numbers: save the real part or the magnitude');
    case 'O':
      throw unsupported('Python objects');
    case 'U':
    case 'S':
    case 'a':
      throw unsupported('strings');
    case 'M':
    case 'm':
      throw unsupported('datetime or timedelta');
    case 'V':
      throw unsupported('raw bytes (void)');
    default:
      throw unsupported('not a numeric type');
  }
  if (size !== 1 && order === '|') throw unsupported(`byte order '|' on a ${size}-byte type`);
  // '=' is the writer's native order, which the file does not record: little-endian, as on every machine NumPy runs on today
  return { kind, size, littleEndian: order !== '>' };
}

const TWO_53 = 2n ** 53n;

function decode(raw: Uint8Array, count: number, type: NumericType, source: string): Float32Array | Float64Array {
  // copy into a fresh, aligned buffer, swapping bytes into host order where needed
  const bytes = new Uint8Array(count * type.size);
  bytes.set(raw);
  if (type.size > 1 && type.littleEndian !== HOST_LITTLE_ENDIAN) {
    const s = type.size;
    for (let i = 0; i < bytes.length; i += s) {
      for (let a = i, b = i + s - 1; a < b; a++, b--) {
        const t = bytes[a]!;
        bytes[a] = bytes[b]!;
        bytes[b] = t;
      }
    }
  }
  const buffer = bytes.buffer;
  switch (`${type.kind}${type.size}`) {
    case 'f4':
      return new Float32Array(buffer);
    case 'f8':
      return new Float64Array(buffer);
    case 'f2': {
      const h = new Uint16Array(buffer);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(h[i]!);
      return out;
    }
    case 'b1': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = bytes[i] !== 0 ? 1 : 0;
      return out;
    }
    case 'i1':
      return Float32Array.from(new Int8Array(buffer));
    case 'u1':
      return Float32Array.from(bytes);
    case 'i2':
      return Float32Array.from(new Int16Array(buffer));
    case 'u2':
      return Float32Array.from(new Uint16Array(buffer));
    case 'i4':
      return Float64Array.from(new Int32Array(buffer));
    case 'u4':
      return Float64Array.from(new Uint32Array(buffer));
    case 'i8':
    case 'u8': {
      const big = type.kind === 'i' ? new BigInt64Array(buffer) : new BigUint64Array(buffer);
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const b = big[i]!;
        if (b > TWO_53 || b < -TWO_53) {
          throw inputError(source, `value ${big[i]} at flat index ${i} is beyond 2^53 and cannot be held exactly as a float64; ${FIX_DTYPE}`);
        }
        out[i] = Number(b);
      }
      return out;
    }
    default:
      throw inputError(source, `unsupported dtype ${type.kind}${type.size}; ${FIX_DTYPE}`);
  }
}

/** IEEE 754 binary16 -> number (exact). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

/** Reorder Fortran-order (column-major) data into C order (row-major) for the same shape. */
function fortranToC<T extends Float32Array | Float64Array>(src: T, shape: number[]): T {
  const out = new (src.constructor as { new (n: number): T })(src.length);
  if (src.length === 0) return out;
  const nd = shape.length;
  if (nd === 2) {
    const [rows, cols] = shape as [number, number];
    for (let c = 0; c < cols; c++) {
      const base = c * rows;
      for (let r = 0; r < rows; r++) out[r * cols + c] = src[base + r]!;
    }
    return out;
  }
  // general case: walk the source in Fortran order (first index fastest), keep the C offset in step
  const cStride = new Array<number>(nd);
  let s = 1;
  for (let a = nd - 1; a >= 0; a--) {
    cStride[a] = s;
    s *= shape[a]!;
  }
  const index = new Array<number>(nd).fill(0);
  let cOffset = 0;
  for (let f = 0; f < src.length; f++) {
    out[cOffset] = src[f]!;
    for (let a = 0; a < nd; a++) {
      index[a] = index[a]! + 1;
      cOffset += cStride[a]!;
      if (index[a]! < shape[a]!) break;
      cOffset -= index[a]! * cStride[a]!;
      index[a] = 0;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Writer

/** The bytes of a .npy file (version 1.0, little-endian, C order) holding `data` with `shape`. */
export function formatNpy(data: Float32Array | Float64Array, shape: readonly number[]): Uint8Array {
  let count = 1;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) throw usageError('shape', `entries must be non-negative integers; got (${shape.join(', ')})`);
    count *= dim;
  }
  if (count !== data.length) {
    throw usageError('shape', `(${shape.join(', ')}) holds ${count} values but the data has ${data.length}`);
  }
  const descr = data instanceof Float32Array ? '<f4' : '<f8';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // pad with spaces so that magic + length + header (ending in '\n') is a multiple of 64, as NumPy does
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  if (header.length > 0xffff) throw usageError('shape', 'too many dimensions for a version 1.0 header');
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const body = out.subarray(10 + header.length);
  body.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  if (!HOST_LITTLE_ENDIAN) {
    const s = data.BYTES_PER_ELEMENT;
    for (let i = 0; i < body.length; i += s) body.subarray(i, i + s).reverse();
  }
  return out;
}

/** Write `data` with `shape` to `path` as .npy (v1.0, little-endian, C order). Written to a temporary file, then renamed. */
export function writeNpy(path: string, data: Float32Array | Float64Array, shape: readonly number[]): void {
  writeFileDurable(path, formatNpy(data, shape));
}
