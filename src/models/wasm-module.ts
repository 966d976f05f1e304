/**
 * The WebAssembly JS API as far as the SIMD kernels use it (lib ES2022 and @types/node 20 do not declare it),
 * and their compiled modules, one per file, compiled on first use.
 */
import { readFileSync } from 'node:fs';
import { findRepoFile } from '../repo-files.js';

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (desc: { initial: number; maximum?: number }) => WasmMemory;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export const WASM_PAGE = 65536;
/** 4 GiB: what 32-bit wasm can address */
export const WASM_MAX_PAGES = 65536;

const modules = new Map<string, object>();

/** An instance of the kernel in `file` (relative to the repository, e.g. build/hodas.wasm) on its own memory. */
export function instantiateKernel<T>(file: string, initialBytes: number): { memory: WasmMemory; exports: T } {
  let module = modules.get(file);
  if (!module) modules.set(file, (module = new WA.Module(readFileSync(findRepoFile(file)))));
  const memory = new WA.Memory({ initial: Math.ceil(initialBytes / WASM_PAGE) + 1, maximum: WASM_MAX_PAGES });
  const inst = new WA.Instance(module, { env: { memory, abort: () => {} } });
  return { memory, exports: inst.exports as unknown as T };
}
