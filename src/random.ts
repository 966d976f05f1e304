/**
 * The seeded random numbers of the whole toolkit: one sampler layer (uniform, Gaussian, shuffle) over two
 * documented generators.
 *
 * - Xoshiro128: xoshiro128** (Blackman & Vigna) seeded through splitmix32, 53-bit uniforms. The estimator's
 *   tie-breaking noise, the data and the DVCNN initialisation draw from it.
 * - Mulberry32: mulberry32 (Tommy Ettinger), 32-bit uniforms. The Hodas & Stinis initialisation and minibatch
 *   order draw from it; it stays so that those networks start from the same weights and train to the same
 *   metrics at the same config (a change of generator would change every trained number).
 *
 * Both streams are pinned by test/random.test.ts to values computed with the code they replaced.
 */
export abstract class SeededRandom {
  private spare: number | undefined;
  private sine = 0;

  /** U[0,1). */
  abstract uniform(): number;

  /** A uniform draw that is never 0, for the logarithm of Box-Muller. */
  protected abstract uniformNonzero(): number;

  /** One N(0,1) draw; draws come in Box-Muller pairs, so every second call costs no uniforms. */
  gaussian(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    const v = this.boxMuller(1);
    this.spare = this.sine;
    return v;
  }

  /** Fills `out` with N(0, std^2) draws, a fresh Box-Muller pair per two entries (an odd tail drops a sine). */
  fillGaussian<T extends Float32Array | Float64Array>(out: T, std = 1): T {
    for (let k = 0; k < out.length; k += 2) {
      out[k] = this.boxMuller(std);
      if (k + 1 < out.length) out[k + 1] = this.sine;
    }
    return out;
  }

  /** Fisher-Yates in place: every permutation of `a` equally likely. */
  shuffle<T extends Int32Array | Uint32Array | Float32Array | Float64Array>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.uniform() * (i + 1));
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** see: Box & Muller 1958. Returns std * r cos(theta) and leaves std * r sin(theta) in `sine`. */
  private boxMuller(std: number): number {
    const r = std * Math.sqrt(-2 * Math.log(this.uniformNonzero()));
    const theta = 2 * Math.PI * this.uniform();
    this.sine = r * Math.sin(theta);
    return r * Math.cos(theta);
  }
}

/** xoshiro128** seeded through splitmix32 from all 53 bits of an integer seed; uniform() has 53 random bits. */
export class Xoshiro128 extends SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  constructor(seed: number) {
    super();
    let z = seed >>> 0 ^ Math.floor(seed / 4294967296) >>> 0;
    const next = (): number => {
      // splitmix32
      z = (z + 0x9e3779b9) | 0;
      let t = z ^ (z >>> 16);
      t = Math.imul(t, 0x21f0aaad);
      t ^= t >>> 15;
      t = Math.imul(t, 0x735a2d97);
      return (t ^ (t >>> 15)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  uniform(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  protected uniformNonzero(): number {
    return 1 - this.uniform();
  }
}

/** mulberry32 (Tommy Ettinger, public domain); uniform() has 32 random bits. */
export class Mulberry32 extends SeededRandom {
  private s: number;
  constructor(seed: number) {
    super();
    this.s = (seed >>> 0) ^ 0x9e3779b9;
  }

  uniform(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  protected uniformNonzero(): number {
    let u = 0;
    while (u === 0) u = this.uniform();
    return u;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
