/**
 * The digamma function psi at positive integers (all the KSG estimator needs), to ~1e-16 relative.
 * Small arguments use the exact recurrence psi(n) = -gamma + H(n-1); larger ones the asymptotic series
 * (Abramowitz & Stegun 6.3.18) after shifting the argument up to at least 16.
 */
export const EULER_GAMMA = 0.57721566490153286061;

const SMALL = 16;
const PSI_SMALL = new Float64Array(SMALL + 1);
{
  // psi(1) = -gamma, psi(n+1) = psi(n) + 1/n: exact to a few ulp for n <= 16
  PSI_SMALL[1] = -EULER_GAMMA;
  for (let n = 1; n < SMALL; n++) PSI_SMALL[n + 1] = PSI_SMALL[n] + 1 / n;
}

/** psi(x) for real x > 0. Exact for integers in the sense above; fine for non-integers too. */
export function psi(x: number): number {
  if (!(x > 0)) return x === 0 ? -Infinity : NaN;
  if (Number.isInteger(x) && x <= SMALL) return PSI_SMALL[x];
  let shift = 0;
  while (x < SMALL) {
    shift += 1 / x;
    x += 1;
  }
  const r = 1 / (x * x);
  // see: A&S 6.3.18, Bernoulli-number series; the x^-12 term is below 1e-17 relative for x >= 16
  const series = r * (1 / 12 - r * (1 / 120 - r * (1 / 252 - r * (1 / 240 - r * (1 / 132 - r * (691 / 32760))))));
  return Math.log(x) - 0.5 / x - series - shift;
}
