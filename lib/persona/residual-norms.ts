// The typical size of the residual stream per block: the mean L2 norm of the block output over
// the response tokens of some samples. It gives coefficients and thresholds a scale (docs/persona.md,
// "relative coefficients"). Rows are read a few blocks at a time and dropped after each sample,
// so memory stays O(tokens x blocks-per-read x n_embd) whatever the number of samples.
import type { Context, MeanItem } from '../context';
import { ErrorCodes, PersonaSteerError } from '../errors';
import { norm } from './extraction-math';

const BLOCKS_PER_READ = 8;

export async function measureResidualNorms(context: Context, items: MeanItem[], blocks: number[], signal?: AbortSignal,
  onProgress?: (done: number, total: number) => void): Promise<Map<number, number>> {
  const sums = new Map<number, { sum: number; n: number }>(blocks.map((b) => [b, { sum: 0, n: 0 }]));
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    const mask = Array.from(it.tokens, (_, k) => k >= it.start && k < it.end);
    for (let c = 0; c < blocks.length; c += BLOCKS_PER_READ) {
      if (signal?.aborted) throw new PersonaSteerError(ErrorCodes.ABORTED, 'measuring residual norms was aborted');
      const r = await context.capture(it.tokens, { blocks: blocks.slice(c, c + BLOCKS_PER_READ), positions: mask, steer: null });
      for (const rows of r.blocks) {
        const acc = sums.get(rows.block)!;
        for (const row of rows.rows) { acc.sum += norm(row); acc.n++; }
      }
    }
    onProgress?.(i + 1, items.length);
  }
  return new Map([...sums].map(([b, a]) => [b, a.n > 0 ? a.sum / a.n : 0]));
}
