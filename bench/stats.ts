// Statistics for side-by-side runs: medians, min/max and ratios of throughputs (higher is better).
// Pure functions with no dependency on the library, so the unit tests import this file directly.

/** One timed run: `units` things (tokens) in `ms` milliseconds. */
export interface Sample {
  ms: number;
  units: number;
  /** CPU time of the whole process over the same span (user + system, every thread), when known. */
  cpuMs?: number;
}

export interface Summary {
  /** Throughput of each run, units per second, in run order. */
  values: number[];
  median: number;
  min: number;
  max: number;
}

/** Median of a non-empty list (mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of an empty list');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function throughput(s: Sample): number {
  if (!(s.ms > 0)) throw new RangeError(`a run must take some time (got ${s.ms} ms)`);
  return (s.units * 1000) / s.ms;
}

export function summarize(samples: readonly Sample[], clock: 'wall' | 'cpu' = 'wall'): Summary {
  const values = samples.map((s) => {
    if (clock === 'wall') return throughput(s);
    if (s.cpuMs === undefined) throw new RangeError('a sample without CPU time');
    return throughput({ ms: s.cpuMs, units: s.units });
  });
  return { values, median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** Candidate against baseline: ratio of the median throughputs (1 = same speed, < 1 = slower). */
export function ratio(candidate: Summary, baseline: Summary): number {
  return candidate.median / baseline.median;
}

/** Median of the per-round ratios (round i's candidate over round i's baseline). */
export function pairedRatio(candidate: Summary, baseline: Summary): number {
  const n = Math.min(candidate.values.length, baseline.values.length);
  if (n === 0) throw new RangeError('no rounds');
  return median(Array.from({ length: n }, (_, i) => candidate.values[i] / baseline.values[i]));
}

/** Relative slowdown in percent: 100 * (1 / ratio - 1); 0 when equal, 5 for 5 % more time per unit. */
export function overheadPercent(r: number): number {
  return 100 * (1 / r - 1);
}
