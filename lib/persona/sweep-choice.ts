// Picking a sweep's recommended setting from its measured cells (pure: no model). The rule, and
// why (docs/persona.md, "The sweep"):
//   1. only settings whose answers stay coherent (with both signs, in a symmetric sweep) qualify;
//   2. their score is min(trait rate with +c, 1 - trait rate with -c) (one sign: that sign's rate);
//      the best score must reach minScore, or there is no recommendation;
//   3. among settings with the best score, the (blocks, positions) that reaches it at the most
//      coefficients wins (a wide window survives new questions), ties to the lower mean NLL;
//   4. its coefficient is the lower median of that window, not its edge.

export interface ScoredSetting {
  /** Blocks and positions identify a group of settings that differ only by coefficient. */
  key: string;
  /** The coefficient's magnitude orders a group's window. */
  coefficient: number;
  score: number;
  coherent: boolean;
  /** Mean NLL of the setting's answers (both signs), for ties. */
  nll: number;
}

/** Index of the recommended setting, or -1 when none is coherent and scores at least minScore. */
export function chooseSetting(settings: readonly ScoredSetting[], minScore: number): number {
  let top = -Infinity;
  for (const s of settings) if (s.coherent && s.score > top) top = s.score;
  if (!(top >= minScore)) return -1;
  const groups = new Map<string, number[]>();
  settings.forEach((s, i) => {
    if (!s.coherent || s.score !== top) return;
    const g = groups.get(s.key);
    if (g) g.push(i); else groups.set(s.key, [i]);
  });
  let best: number[] | null = null;
  let bestNll = Infinity;
  for (const g of groups.values()) {
    const nll = g.reduce((a, i) => a + settings[i]!.nll, 0) / g.length;
    if (best === null || g.length > best.length || (g.length === best.length && nll < bestNll)) {
      best = g;
      bestNll = nll;
    }
  }
  const window = [...best!].sort((a, b) => Math.abs(settings[a]!.coefficient) - Math.abs(settings[b]!.coefficient) || a - b);
  return window[Math.floor((window.length - 1) / 2)]!;
}
