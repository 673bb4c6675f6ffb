// Runs fuzz cases and accounts for them: outcome counts, the slowest case, and memory growth
// (peak RSS and heap over the run, sampled as it goes).

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PersonaSteerError } from '../../../lib/errors';

// Collecting before each sample measures what the code keeps, not garbage not yet collected.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export interface FuzzStats {
  cases: number;
  outcomes: Record<string, number>;
  /** Reasons for rejection, by the first words of the message. */
  reasons: Map<string, number>;
  /** Cases that threw something other than the expected error, with how to replay them. */
  failures: string[];
  maxCaseMs: number;
  totalMs: number;
  /** Peak RSS growth over the run, sampled after every case. */
  peakRssGrowthMb: number;
  /** Peak growth of the heap still in use after a full collection (what is kept), every 1000 cases. */
  peakHeapGrowthMb: number;
}

export function runFuzz<I>(opts: {
  cases: number;
  /** Builds case i; must be deterministic in i. */
  make: (i: number) => I;
  /** Runs one case and returns 'valid' after checking the result, or throws. */
  run: (input: I) => 'valid';
  expectedCode: string;
  describe: (input: I) => string;
}): FuzzStats {
  const stats: FuzzStats = {
    cases: 0, outcomes: { valid: 0, [opts.expectedCode]: 0 }, reasons: new Map(), failures: [],
    maxCaseMs: 0, totalMs: 0, peakRssGrowthMb: 0, peakHeapGrowthMb: 0,
  };
  gc();
  const mem0 = process.memoryUsage();
  const start = performance.now();
  for (let i = 0; i < opts.cases; i++) {
    const input = opts.make(i);
    const t0 = performance.now();
    try {
      opts.run(input);
      stats.outcomes.valid! += 1;
    } catch (e) {
      if (e instanceof PersonaSteerError && e.code === opts.expectedCode) {
        stats.outcomes[opts.expectedCode]! += 1;
        // Quoted names and numbers vary from case to case; the rest says what kind of problem it was.
        const reason = e.message.replace(/^invalid [A-Za-z -]+: /, '').replace(/"[^"]*"/g, '"…"')
          .replace(/\d+/g, 'N').slice(0, 70);
        stats.reasons.set(reason, (stats.reasons.get(reason) ?? 0) + 1);
      } else {
        const kind = e instanceof Error ? `${e.constructor.name}${(e as { code?: string }).code ? ` ${(e as { code?: string }).code}` : ''}` : typeof e;
        stats.outcomes[kind] = (stats.outcomes[kind] ?? 0) + 1;
        if (stats.failures.length < 10) stats.failures.push(`case ${i}: ${kind}: ${(e as Error)?.message} — ${opts.describe(input)}`);
      }
    }
    stats.maxCaseMs = Math.max(stats.maxCaseMs, performance.now() - t0);
    stats.cases += 1;
    // RSS after every case, garbage included: a case that allocated hugely would show here.
    stats.peakRssGrowthMb = Math.max(stats.peakRssGrowthMb, (process.memoryUsage.rss() - mem0.rss) / 2 ** 20);
    if (i % 1000 === 999 || i === opts.cases - 1) {
      gc();
      stats.peakHeapGrowthMb = Math.max(stats.peakHeapGrowthMb, (process.memoryUsage().heapUsed - mem0.heapUsed) / 2 ** 20);
    }
  }
  stats.totalMs = performance.now() - start;
  return stats;
}

export function report(name: string, s: FuzzStats): string {
  const top = [...s.reasons.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12)
    .map(([r, n]) => `    ${String(n).padStart(6)}  ${r}`).join('\n');
  return [
    `${name}: ${s.cases} cases in ${(s.totalMs / 1000).toFixed(1)} s (slowest ${s.maxCaseMs.toFixed(1)} ms)`,
    `  outcomes: ${JSON.stringify(s.outcomes)}`,
    `  peak growth: rss ${s.peakRssGrowthMb.toFixed(1)} MB (any case), heap kept ${s.peakHeapGrowthMb.toFixed(1)} MB`,
    `  most common rejections:\n${top}`,
  ].join('\n');
}
