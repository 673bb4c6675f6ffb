// Persona-vector extraction (Persona Vectors, Chen et al. 2025): contrastive responses, an
// optional judge, block outputs averaged over the response tokens or at the prompt's last token,
// then mean difference or centred PCA per block, with separation statistics; then a steering sweep
// on held-out questions (sweep.ts) chooses the blocks, coefficient and positions recorded in the
// metadata, or the metadata says that none was tested.
//
// Phases, one file each: the samples (extract-samples.ts), the per-block means and directions and
// the per-sample projections (extract-means.ts: one pass over the samples; the projections come
// from the per-sample means kept in memory up to SAMPLE_MEANS_BUDGET, else from a second pass that
// reads back projections only), residual norms, metadata, and the recommendation (here).
import type { Context } from '../context';
import type { BlockSpec } from '../steering';
import { checkBlocks, checkFunction, checkKeys, checkNumber, checkObject, checkOneOf, checkSignal, optInt } from '../validate';
import { PersonaVector } from '../vector/persona-vector';
import type { PersonaVectorMetadata, SteerPositions } from '../vector/vector-metadata';
import { DEFAULT_SWEEP_QUESTIONS, type ExtractionPositions } from './defaults';
import { collectMeans, projectSamples } from './extract-means';
import { prepareSamples, type ExtractionPair, type PreparedSamples } from './extract-samples';
import { norm, separation, type Separation } from './extraction-math';
import { userText, type PromptFormat } from './prompt-format';
import { blocksPerRead, measureResidualNorms, newNormSums } from './residual-norms';
import type { Judge, ResponseGeneration, ResponsePair } from './responses';
import { sweepSteering, type SweepOptions, type SweepResult } from './sweep';
import type { TraitSpec } from './trait-spec';

export type { ExtractionPair };
export type ExtractionMethod = 'mean-diff' | 'pca';
export type { ExtractionPositions };

/** The steering sweep extraction runs (sweepSteering's options; the references are the kept pairs). */
export type ExtractionSweep = Partial<Omit<SweepOptions, 'references' | 'format' | 'judge' | 'signal' | 'onProgress'>>;

/** What the metadata recommends, and where it came from. */
export interface Recommendation {
  blocks: number[];
  /** Raw coefficient; absent when nothing chose one (no sweep and no options.coefficient). */
  coefficient?: number;
  positions: SteerPositions;
  /** 'sweep': tested by generating; 'separation': blocks ranked by separation only, not tested. */
  by: 'sweep' | 'separation';
  /** Why there is no swept recommendation (no sweep, or no setting qualified). */
  reason?: string;
}

/** Responses you already have, instead of a trait spec to generate them from. */
export interface ExtractionSamples {
  /** The trait's name (recorded as metadata.trait). */
  trait: string;
  description?: string;
  samples: ResponsePair[];
}

export interface ExtractionProgress {
  phase: 'generate' | 'judge' | 'activations' | 'statistics' | 'norms' | 'sweep';
  done: number;
  total: number;
}

export interface ExtractOptions {
  /** 'mean-diff' (default) or 'pca'. */
  method?: ExtractionMethod;
  /** Blocks to extract at (default 'all'). */
  blocks?: BlockSpec;
  /** How { system, user } prompts become text (default 'chat'; required for models without a template). */
  format?: PromptFormat;
  /** Keeps pairs whose positive answer scores >= 50 and negative answer < 50. */
  judge?: Judge;
  /** With a trait spec: answers per (pair, question) and polarity (default 1). */
  samplesPerQuestion?: number;
  /** With a trait spec: how answers are sampled. */
  generation?: ResponseGeneration;
  /**
   * Which tokens are averaged: 'response' (every response token, as in Persona Vectors),
   * 'last-prompt' (the prompt's last token only, where the model has read the system prompt and
   * not yet written anything, so the two poles' samples differ only in what the model carries), or
   * 'auto' (default): 'last-prompt' when every pair's two prompts differ (a trait spec's always
   * do), else 'response'. The result's `positions` says which was used.
   */
  positions?: ExtractionPositions | 'auto';
  /**
   * The steering sweep that chooses the recorded blocks, coefficient and positions: true (default
   * with a trait spec: its evaluation questions, else its extraction questions, the first 12), false
   * (default with supplied samples), or sweepSteering's options. It uses `judge` when given.
   */
  sweep?: boolean | ExtractionSweep;
  /** Without a sweep (or when it finds nothing): how many blocks to recommend, by separation (default 1). */
  recommend?: number;
  /** A raw steering coefficient: the only one the sweep tries; without a sweep, recorded as it is (default: none). */
  coefficient?: number;
  /** Samples whose response tokens measure the residual norms (default 16, alternating polarity). */
  normSamples?: number;
  signal?: AbortSignal;
  onProgress?: (event: ExtractionProgress) => void;
}

export interface BlockSeparation extends Separation {
  block: number;
  /** L2 norm of the vector at this block. */
  vectorNorm: number;
  /** Mean residual norm at this block (metadata.residualNorms[block]). */
  residualNorm: number;
}

export interface ExtractionResult {
  vector: PersonaVector;
  /** Per extracted block, ascending. */
  blocks: BlockSeparation[];
  /** Per block, each kept pair's mean projection on the unit vector, positive and negative. */
  projections: { block: number; positive: Float64Array; negative: Float64Array }[];
  pairs: ExtractionPair[];
  counts: { pairs: number; kept: number; empty: number; rejected: number };
  /** The tokens averaged ('auto' resolved). */
  positions: ExtractionPositions;
  /** What the metadata records, and how it was chosen. */
  recommendation: Recommendation;
  /** The sweep's every setting, when one ran. */
  sweep?: SweepResult;
}

const OPTION_KEYS = ['method', 'positions', 'blocks', 'format', 'judge', 'samplesPerQuestion', 'generation', 'sweep', 'recommend', 'coefficient',
  'normSamples', 'signal', 'onProgress'] as const;

/** Extracts a persona vector from a trait spec (responses generated) or from supplied response pairs. */
export async function extractPersonaVector(context: Context, input: TraitSpec | ExtractionSamples, options: ExtractOptions = {}): Promise<ExtractionResult> {
  const o = checkObject('options', options);
  checkKeys('options', o, OPTION_KEYS);
  const info = context.model.info;
  const method = checkOneOf('options.method', o.method, ['mean-diff', 'pca'] as const, 'mean-diff');
  const positions = checkOneOf('options.positions', o.positions, ['auto', 'response', 'last-prompt'] as const, 'auto');
  const blocks = checkBlocks('options.blocks', o.blocks ?? 'all', info.blockCount);
  const judge = checkFunction<Judge>('options.judge', o.judge);
  const recommend = optInt('options.recommend', o.recommend, 1, blocks.length, 1);
  const coefficient = o.coefficient === undefined ? undefined : checkNumber('options.coefficient', o.coefficient);
  if (o.sweep !== undefined && typeof o.sweep !== 'boolean') {
    checkKeys('options.sweep', checkObject('options.sweep', o.sweep, false), ['questions', 'blocks', 'coefficients', 'units', 'symmetric', 'positions',
      'system', 'maxTokens', 'maxNllRatio', 'maxRepetitionIncrease', 'minScore']);
  }
  const normSamples = optInt('options.normSamples', o.normSamples, 1, 1 << 20, 16);
  const signal = checkSignal('options.signal', o.signal);
  const onProgress = checkFunction<(e: ExtractionProgress) => void>('options.onProgress', o.onProgress);
  const progress = (phase: ExtractionProgress['phase'], done: number, total: number) => onProgress?.({ phase, done, total });

  const prepared = await prepareSamples(context, input, {
    positions, judge, format: o.format, samplesPerQuestion: o.samplesPerQuestion, generation: o.generation, signal, progress,
  });
  // Residual norms at every block up to the deepest extracted one (the metadata is indexed by block),
  // always over response tokens: the scale a steering coefficient acts against while generating.
  // When the extraction itself reads response tokens, the first samples' rows are read whole in the
  // activation pass and measured there, so no sample runs twice (memory permitting).
  const normBlocks = Array.from({ length: blocks[blocks.length - 1] + 1 }, (_, i) => i);
  const normItems = prepared.responses.slice(0, Math.min(prepared.responses.length, normSamples));
  const normSums = newNormSums(normBlocks);
  const fold = prepared.positions === 'response' && normItems.every((it) => blocksPerRead(it, info.embeddingSize) >= normBlocks.length);
  const means = await collectMeans(context, prepared.items, blocks, method, { signal, progress }, undefined,
    fold ? { count: normItems.length, blocks: normBlocks, sums: normSums } : undefined);
  const perBlock = await projectSamples(context, prepared.items, blocks, means, { signal, progress });
  const norms = await measureResidualNorms(context, fold ? [] : normItems, normBlocks, signal, (dn, t) => progress('norms', dn, t), normSums);
  if (fold) progress('norms', normItems.length, normItems.length);
  const residualNorms = normBlocks.map((b) => norms.get(b)!);
  const stats: BlockSeparation[] = blocks.map((b) => {
    const p = perBlock.get(b)!;
    return { block: b, ...separation(p.positive, p.negative), vectorNorm: norm(means.directions.get(b)!), residualNorm: residualNorms[b] };
  });

  const metadata: PersonaVectorMetadata = {
    trait: prepared.trait,
    method: prepared.positions === 'response' ? method : `${method}/${prepared.positions}`,
    ...(prepared.description !== undefined ? { description: prepared.description } : {}),
    modelHint: info.architecture,
    source: { architecture: info.architecture, blockCount: info.blockCount, embeddingSize: info.embeddingSize, hash: info.fileHash },
    residualNorms,
  };
  const unswept = PersonaVector.fromBlocks(means.directions, metadata);
  const sweepWanted = o.sweep === undefined ? prepared.generated : o.sweep !== false;
  const { recommendation, sweep } = await chooseRecommendation(context, unswept, prepared, stats, {
    sweep: sweepWanted ? ((typeof o.sweep === 'object' ? o.sweep : {}) as ExtractionSweep) : null,
    recommend, coefficient, judge, signal, progress,
  });
  const vector = unswept.withMetadata({
    recommendedBlocks: recommendation.blocks,
    ...(recommendation.coefficient !== undefined ? { coefficient: recommendation.coefficient } : {}),
    positions: recommendation.positions,
    recommendedBy: recommendation.by,
  });
  return {
    vector,
    blocks: stats,
    projections: blocks.map((b) => ({ block: b, ...perBlock.get(b)! })),
    pairs: prepared.records,
    counts: prepared.counts,
    positions: prepared.positions,
    recommendation,
    ...(sweep ? { sweep } : {}),
  };
}

/** The recorded blocks, coefficient and positions: from a steering sweep, or by separation alone (said so). */
async function chooseRecommendation(context: Context, unswept: PersonaVector, prepared: PreparedSamples, stats: BlockSeparation[], o: {
  sweep: ExtractionSweep | null; recommend: number; coefficient?: number; judge?: Judge; signal?: AbortSignal;
  progress(phase: 'sweep', done: number, total: number): void;
}): Promise<{ recommendation: Recommendation; sweep?: SweepResult }> {
  const bySeparation = (reason: string): Recommendation => ({
    blocks: recommendBlocks(stats, o.recommend),
    ...(o.coefficient !== undefined ? { coefficient: o.coefficient } : {}),
    positions: prepared.positions === 'last-prompt' ? 'prompt' : 'all',
    by: 'separation',
    reason,
  });
  if (!o.sweep) return { recommendation: bySeparation('no steering sweep was run (options.sweep is false)') };
  const kept = prepared.records.filter((r) => r.kept).map((r) => r.pair);
  const questions = o.sweep.questions ?? (prepared.specQuestions ?? [...new Set(kept.map((p) => p.question ?? userText(p.positive.prompt)))]).slice(0, DEFAULT_SWEEP_QUESTIONS);
  const sweep = await sweepSteering(context, unswept, {
    ...o.sweep,
    questions,
    ...(o.coefficient !== undefined && o.sweep.coefficients === undefined ? { coefficients: [Math.abs(o.coefficient)] } : {}),
    references: kept,
    format: prepared.format,
    ...(o.judge ? { judge: o.judge } : {}),
    signal: o.signal,
    onProgress: (dn, t) => o.progress('sweep', dn, t),
  });
  const r = sweep.recommendation;
  if (r) {
    const coefficient = o.coefficient !== undefined && o.coefficient < 0 ? -r.coefficient : r.coefficient;
    return { recommendation: { blocks: r.blocks, coefficient, positions: r.positions, by: 'sweep' }, sweep };
  }
  const top = sweep.settings.filter((x) => x.coherent).reduce((m, x) => Math.max(m, x.score), -Infinity);
  return {
    recommendation: bySeparation(sweep.best
      ? 'the best setting uses a relative coefficient that is not one raw coefficient on its blocks'
      : Number.isFinite(top) ? `no coherent setting steered at least half the questions (best score ${top.toFixed(2)})` : 'no setting kept the answers coherent'),
    sweep,
  };
}

/**
 * The `count` blocks of highest separation (gap / pooled spread), ascending. Blocks whose
 * separation is undefined (fewer than three samples, or no spread) rank after the others, by their
 * gap relative to the residual norm.
 */
export function recommendBlocks(stats: readonly BlockSeparation[], count: number): number[] {
  const key = (s: BlockSeparation) => (Number.isFinite(s.separation) ? s.separation : -Infinity);
  const rel = (s: BlockSeparation) => (s.residualNorm > 0 ? s.gap / s.residualNorm : s.gap);
  return [...stats]
    .sort((a, b) => key(b) - key(a) || rel(b) - rel(a) || a.block - b.block)
    .slice(0, count)
    .map((s) => s.block)
    .sort((a, b) => a - b);
}
