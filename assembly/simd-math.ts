// Elementwise float32 math for four SIMD lanes, shared by the kernels (assembly/dvcnn.ts, assembly/hodas.ts).

// exp(x) for four lanes (Cephes expf: x = n ln2 + r, |r| <= ln2 / 2, a degree-6 polynomial for e^r, then
// 2^n through the exponent bits; relative error about 1e-7, like Mathf.exp). x is clamped to [-87.3, 88.7],
// so e^x neither overflows nor goes subnormal; sigmoid needs nothing outside that range.
@inline export function exp4(x: v128): v128 {
  x = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-87.33654)), f32x4.splat(88.72283));
  // n = round-half-even(x log2 e) by adding 1.5 * 2^23 (whose ulp is 1): the same n as f32x4.nearest, and the
  // sum's low bits are n as an integer, which saves trunc_sat's saturation fix-ups below
  const shifted = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), f32x4.splat(12582912));
  const n = f32x4.sub(shifted, f32x4.splat(12582912));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), f32x4.splat(1));
  // shifted's bits are 0x4b400000 + n; shifting left by 23 drops the 0x4b4 and leaves 2^n's exponent field
  const scale = i32x4.shl(i32x4.add(shifted, i32x4.splat(127)), 23);
  return f32x4.mul(p, scale);
}

// tanh(x) for four lanes (Cephes tanhf): an odd polynomial below |x| = 0.625, where 1 - 2 / (e^2x + 1) would
// lose the low bits to cancellation, and 1 - 2 / (e^2|x| + 1) with x's sign above; about 2e-7 relative.
@inline export function tanh4(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let p = f32x4.splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-3.33332819422e-1));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), x), x);
  const one = f32x4.splat(1);
  const big = f32x4.sub(one, f32x4.div(f32x4.splat(2), f32x4.add(exp4(f32x4.add(ax, ax)), one)));
  // the sign bit of x on the large branch
  const signed = v128.or(big, v128.and(x, i32x4.splat(0x80000000)));
  return v128.bitselect(small, signed, f32x4.lt(ax, f32x4.splat(0.625)));
}

// tanh(x) as 1 - 2 / (e^2x + 1) for four lanes, one branch: to about 1e-7 absolute (near 0 the subtraction
// loses the low bits, as tfjs's 2 sigmoid(2x) - 1 does), for BatchNorm's tanh, where values are compared on the
// scale of 1; exp4's clamp makes the large |x| give exactly -1 and 1. About half the work of tanh4.
@inline export function tanhFast4(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.sub(one, f32x4.div(f32x4.splat(2), f32x4.add(exp4(f32x4.add(x, x)), one)));
}
