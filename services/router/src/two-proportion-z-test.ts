// Two-proportion z-test (pooled), as used to compare a variant's success rate with the control's.

export interface ZTest {
  z: number;
  /** Two-sided p-value. */
  pValue: number;
}

/** successes/trials of control (a) and treatment (b). No trials on a side, or no variance: z 0, p 1. */
export function twoProportionZTest(successesA: number, trialsA: number, successesB: number, trialsB: number): ZTest {
  if (trialsA <= 0 || trialsB <= 0) return { z: 0, pValue: 1 };
  const pooled = (successesA + successesB) / (trialsA + trialsB);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / trialsA + 1 / trialsB));
  if (se === 0) return { z: 0, pValue: 1 };
  const z = (successesB / trialsB - successesA / trialsA) / se;
  return { z, pValue: Math.min(1, 2 * (1 - standardNormalCdf(Math.abs(z)))) };
}

/** Φ(x) via erf (Abramowitz & Stegun 7.1.26, absolute error < 1.5e-7): enough for a p-value on a dashboard. */
export function standardNormalCdf(x: number): number {
  const t = 1 / (1 + 0.3275911 * (Math.abs(x) / Math.SQRT2));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(x * x) / 2);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}
