// The typical size of the residual stream per block: the mean L2 norm of the block output over
// the response tokens of some samples. It gives coefficients and thresholds a scale (docs/persona.md,
// "relative coefficients"). A sample's rows are read for as many blocks at once as fit in
// ROWS_BUDGET (every block in one pass for ordinary samples: each extra read re-runs the sample
// through the model) and dropped after the sample, so memory stays bounded whatever the number of
// samples.
import type { Context, MeanItem } from '../context';
import { ErrorCodes, PersonaSteerError } from '../errors';
import { norm } from './extraction-math';

/** Bytes of captured rows held at once (one sample, some blocks). */
const ROWS_BUDGET = 64 * 1024 * 1024;

/** Per block, the running sum of row norms and the number of rows. */
export type NormSums = Map<number, { sum: number; n: number }>;

export function newNormSums(blocks: number[]): NormSums {
  return new Map(blocks.map((b) => [b, { sum: 0, n: 0 }]));
}

/** Adds one read's rows to the sums. */
export function addRowNorms(sums: NormSums, blocks: { block: number; rows: Float32Array[] }[]): void {
  for (const rows of blocks) {
    const acc = sums.get(rows.block);
    if (acc) for (const row of rows.rows) { acc.sum += norm(row); acc.n++; }
  }
}

/** The item's response positions, as a capture mask. */
export function responseMask(item: MeanItem): boolean[] {
  return Array.from(item.tokens, (_, k) => k >= item.start && k < item.end);
}

/** How many blocks of the item's response rows one read may hold within ROWS_BUDGET (at least 1). */
export function blocksPerRead(item: MeanItem, embeddingSize: number): number {
  return Math.max(1, Math.floor(ROWS_BUDGET / (Math.max(1, item.end - item.start) * embeddingSize * 4)));
}

/**
 * Mean row norm per block over the items' response rows, continuing `sums` (rows the activation
 * pass already read, so those samples are not run again).
 */
export async function measureResidualNorms(context: Context, items: MeanItem[], blocks: number[], signal?: AbortSignal,
  onProgress?: (done: number, total: number) => void, sums: NormSums = newNormSums(blocks)): Promise<Map<number, number>> {
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    const mask = responseMask(it);
    const perRead = blocksPerRead(it, context.model.info.embeddingSize);
    for (let c = 0; c < blocks.length; c += perRead) {
      if (signal?.aborted) throw new PersonaSteerError(ErrorCodes.ABORTED, 'measuring residual norms was aborted');
      const r = await context.capture(it.tokens, { blocks: blocks.slice(c, c + perRead), positions: mask, steer: null });
      addRowNorms(sums, r.blocks);
    }
    onProgress?.(i + 1, items.length);
  }
  return new Map([...sums].map(([b, a]) => [b, a.n > 0 ? a.sum / a.n : 0]));
}
