/** Seeded uniform noise, as NPEET adds it (x + A * U[0,1) in float64; its default A = 1e-10) to break ties. */
import { Xoshiro128 } from '../random.js';

// Re-exported only while src/mi/kernel.ts and test/mi-kernel.test.ts import it from here.
export { Xoshiro128 };

/** A float64 copy of `data` plus amplitude * U[0,1) per value, drawn in order from `rng`. */
export function addNoise(data: Float32Array | Float64Array, amplitude: number, rng: Xoshiro128): Float64Array {
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] + amplitude * rng.uniform();
  return out;
}
