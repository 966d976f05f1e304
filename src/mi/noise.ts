/** Seeded uniform noise, as NPEET adds it (x + A * U[0,1) in float64; its default A = 1e-10) to break ties. */
import type { Xoshiro128 } from '../random.js';

/** A float64 copy of `data` plus amplitude * U[0,1) per value, drawn in order from `rng`. */
export function addNoise(data: Float32Array | Float64Array, amplitude: number, rng: Xoshiro128): Float64Array {
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] + amplitude * rng.uniform();
  return out;
}
