// Token colours: a diverging scale around a centre projection. Above the centre (towards the
// trait) is orange, below is blue, and the strength grows with the distance, up to the largest
// distance seen in the conversation. The centre is the calibrated cap threshold at the viewed block
// when the vector records one (the line past which an answer counts as the trait), else the median.

export interface ColourScale { centre: number; spread: number; calibrated: boolean }

export function colourScale(values: readonly number[], threshold: number | null): ColourScale {
  let centre = threshold;
  if (centre === null) {
    const sorted = [...values].sort((a, b) => a - b);
    centre = sorted.length ? sorted[Math.floor(sorted.length / 2)]! : 0;
  }
  let spread = 0;
  for (const v of values) spread = Math.max(spread, Math.abs(v - centre));
  return { centre, spread: spread > 0 ? spread : 1, calibrated: threshold !== null };
}

const WARM = [230, 120, 20];
const COOL = [40, 110, 220];

/** A translucent background, so the text stays readable in light and dark themes. */
export function tokenColour(value: number, s: ColourScale): string {
  const x = Math.max(-1, Math.min(1, (value - s.centre) / s.spread));
  const [r, g, b] = x >= 0 ? WARM : COOL;
  return `rgba(${r}, ${g}, ${b}, ${(0.08 + 0.6 * Math.abs(x)).toFixed(3)})`;
}

export function formatValue(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a < 0.01 || a >= 1e5) ? v.toExponential(2) : v.toFixed(a < 10 ? 3 : 2);
}
