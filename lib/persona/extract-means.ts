// Extraction, phases 2 and 3: one pass over the samples sums each one's block outputs inside the
// graph (Context.captureMean) and gives the direction per block (mean difference or centred PCA);
// the per-sample projections on the new directions, for the separation statistics, come from the
// per-sample means kept in memory (the projection of a mean is the mean of the projections), or,
// when those would take more than SAMPLE_MEANS_BUDGET, from a second pass that reads back only the
// projections (Context.projectionMeans).
import type { Context, MeanItem } from '../context';
import { ErrorCodes, PersonaSteerError } from '../errors';
import { VectorMean, dot, meanDifference, norm, pcaVector } from './extraction-math';
import { addRowNorms, responseMask, type NormSums } from './residual-norms';

/** Bytes of per-sample block means kept to skip the second pass (samples x blocks x n_embd x 4). */
export const SAMPLE_MEANS_BUDGET = 256 * 1024 * 1024;
const PROJECTION_CHUNK = 16;

export interface CollectedMeans {
  directions: Map<number, Float32Array>;
  /** Per block, every kept pair's positive and negative mean, when they fit the budget (always for PCA). */
  samples: Map<number, { positive: Float32Array[]; negative: Float32Array[] }> | null;
}

export type PairProjections = Map<number, { positive: Float64Array; negative: Float64Array }>;

interface PassOptions {
  signal?: AbortSignal;
  progress(phase: 'activations' | 'statistics', done: number, total: number): void;
}

function aborted(): PersonaSteerError {
  return new PersonaSteerError(ErrorCodes.ABORTED, 'extraction was aborted');
}

/**
 * Samples whose response rows the pass reads whole (instead of summing them in the graph), to
 * measure residual norms at `blocks` without running them again: the first `count` samples in
 * pass order (pair by pair, positive first), when the extraction reads response tokens.
 */
export interface NormRows {
  count: number;
  blocks: number[];
  sums: NormSums;
}

/** One sample's block means from its captured rows (float64 sums, as VectorMean). */
function meansFromRows(captured: { block: number; rows: Float32Array[] }[], blocks: number[], d: number): { block: number; mean: Float32Array }[] {
  const wanted = new Set(blocks);
  return captured.filter((c) => wanted.has(c.block)).map((c) => {
    const acc = new VectorMean(d);
    for (const row of c.rows) acc.add(row);
    return { block: c.block, mean: Float32Array.from(acc.mean()) };
  });
}

export async function collectMeans(context: Context, items: { pos: MeanItem; neg: MeanItem }[], blocks: number[], method: 'mean-diff' | 'pca',
  o: PassOptions, budget = SAMPLE_MEANS_BUDGET, normRows?: NormRows): Promise<CollectedMeans> {
  const d = context.model.info.embeddingSize;
  const keep = method === 'pca' || items.length * 2 * blocks.length * d * 4 <= budget;
  const samples = keep ? new Map(blocks.map((b) => [b, { positive: [] as Float32Array[], negative: [] as Float32Array[] }])) : null;
  const sums = { positive: new Map(blocks.map((b) => [b, new VectorMean(d)])), negative: new Map(blocks.map((b) => [b, new VectorMean(d)])) };
  const total = items.length * 2;
  let done = 0;
  for (const it of items) {
    for (const [side, item] of [['positive', it.pos], ['negative', it.neg]] as const) {
      if (o.signal?.aborted) throw aborted();
      let sampleMeans: { block: number; mean: Float32Array }[];
      if (normRows && done < normRows.count) {
        const r = await context.capture(item.tokens, { blocks: normRows.blocks, positions: responseMask(item), steer: null });
        addRowNorms(normRows.sums, r.blocks);
        sampleMeans = meansFromRows(r.blocks, blocks, d);
      } else {
        sampleMeans = await context.captureMean([item], { blocks, signal: o.signal });
      }
      for (const m of sampleMeans) {
        sums[side].get(m.block)!.add(m.mean);
        samples?.get(m.block)![side].push(m.mean);
      }
      o.progress('activations', ++done, total);
    }
  }
  const directions = new Map<number, Float32Array>();
  for (const b of blocks) {
    if (method === 'mean-diff') directions.set(b, meanDifference(sums.positive.get(b)!.mean(), sums.negative.get(b)!.mean()));
    else directions.set(b, pcaVector(samples!.get(b)!.positive, samples!.get(b)!.negative) ?? new Float32Array(d));
  }
  const flat = blocks.filter((b) => norm(directions.get(b)!) === 0);
  if (flat.length > 0) {
    throw new PersonaSteerError(ErrorCodes.EXTRACTION,
      `the positive and negative samples give no direction at block${flat.length > 1 ? 's' : ''} ${flat.join(', ')} (identical mean activations); leave ${flat.length > 1 ? 'them' : 'it'} out of options.blocks`);
  }
  return { directions, samples };
}

/** Per block, each kept pair's mean projection on the unit direction, positive and negative. */
export async function projectSamples(context: Context, items: { pos: MeanItem; neg: MeanItem }[], blocks: number[], means: CollectedMeans,
  o: PassOptions): Promise<PairProjections> {
  const out: PairProjections = new Map(blocks.map((b) => [b, { positive: new Float64Array(items.length), negative: new Float64Array(items.length) }]));
  if (means.samples) {
    for (const b of blocks) {
      const dir = means.directions.get(b)!;
      const inv = 1 / norm(dir);
      const s = means.samples.get(b)!;
      const dst = out.get(b)!;
      s.positive.forEach((m, k) => { dst.positive[k] = dot(m, dir) * inv; });
      s.negative.forEach((m, k) => { dst.negative[k] = dot(m, dir) * inv; });
    }
    o.progress('statistics', items.length * 2, items.length * 2);
    return out;
  }
  const all = items.flatMap((it) => [it.pos, it.neg]);
  for (let c = 0; c < all.length; c += PROJECTION_CHUNK) {
    if (o.signal?.aborted) throw aborted();
    const chunk = all.slice(c, c + PROJECTION_CHUNK);
    const r = await context.projectionMeans(chunk, [{ name: 'persona', vector: means.directions, blocks }], { signal: o.signal });
    for (const slot of r) {
      const dst = out.get(slot.block)!;
      slot.values.forEach((v, k) => {
        const idx = c + k;
        (idx % 2 === 0 ? dst.positive : dst.negative)[idx >> 1] = v;
      });
    }
    o.progress('statistics', Math.min(all.length, c + PROJECTION_CHUNK), all.length);
  }
  return out;
}
