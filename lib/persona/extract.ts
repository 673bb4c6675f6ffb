// Persona-vector extraction (Persona Vectors, Chen et al. 2025): contrastive responses, an
// optional judge, block outputs averaged over the response tokens or at the prompt's last token,
// then mean difference or centred PCA per block, with separation statistics; then a steering sweep
// on held-out questions (sweep.ts) chooses the blocks, coefficient and positions recorded in the
// metadata, or the metadata says that none was tested.
//
// Memory: mean-diff makes two passes, neither of which keeps activations per sample. Pass 1 sums
// per-sample means inside the graph (Context.captureMean, O(blocks x n_embd)); pass 2 reads back
// only the per-sample projections on the new vector (Context.projectionMeans, O(samples x blocks)).
// PCA needs every sample's mean activation: O(samples x blocks x n_embd).
import type { Context, MeanItem } from '../context';
import { ErrorCodes, PersonaSteerError, invalidArg } from '../errors';
import type { BlockSpec } from '../steering';
import { checkBlocks, checkFunction, checkKeys, checkNumber, checkObject, checkOneOf, checkSignal, checkString, optInt } from '../validate';
import { PersonaVector } from '../vector/persona-vector';
import type { PersonaVectorMetadata, SteerPositions } from '../vector/vector-metadata';
import { DEFAULT_SWEEP_QUESTIONS, type ExtractionPositions } from './defaults';
import { VectorMean, meanDifference, norm, pcaVector, separation, type Separation } from './extraction-math';
import { checkFormat, sampleTokens, type PromptFormat } from './prompt-format';
import { measureResidualNorms } from './residual-norms';
import { checkPairs, generateResponses, judgePairs, type Judge, type ResponseGeneration, type ResponsePair } from './responses';
import { sweepSteering, type SweepOptions, type SweepResult } from './sweep';
import { parseTraitSpec, type TraitSpec } from './trait-spec';
import { userText } from './prompt-format';

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

export interface ExtractionPair {
  pair: ResponsePair;
  kept: boolean;
  /** Why a pair was left out: a response with no tokens, or the judge's scores. */
  dropped?: 'empty' | 'judge';
  positiveScore?: number;
  negativeScore?: number;
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
const PROJECTION_CHUNK = 16;

/** The prompt's last token alone: the response is still needed to judge the pair, not to average. */
function lastPromptToken(it: MeanItem): MeanItem {
  return { tokens: Array.prototype.slice.call(it.tokens, 0, it.start) as number[], start: it.start - 1, end: it.start };
}

function aborted(): PersonaSteerError {
  return new PersonaSteerError(ErrorCodes.ABORTED, 'extraction was aborted');
}

function isSpecLike(v: unknown): boolean {
  return typeof v === 'object' && v !== null && 'extractionQuestions' in v;
}

/** Extracts a persona vector from a trait spec (responses generated) or from supplied response pairs. */
export async function extractPersonaVector(context: Context, input: TraitSpec | ExtractionSamples, options: ExtractOptions = {}): Promise<ExtractionResult> {
  const o = checkObject('options', options);
  checkKeys('options', o, OPTION_KEYS);
  const info = context.model.info;
  const method = checkOneOf('options.method', o.method, ['mean-diff', 'pca'] as const, 'mean-diff');
  const requestedPositions = checkOneOf('options.positions', o.positions, ['auto', 'response', 'last-prompt'] as const, 'auto');
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

  let trait: string;
  let description: string | undefined;
  let pairs: ResponsePair[];
  let generated = false;
  let format: PromptFormat;
  if (isSpecLike(input)) {
    const spec = parseTraitSpec(input);
    trait = spec.name;
    description = spec.description;
    format = checkFormat('options.format', o.format, context.model);
    pairs = await generateResponses(context, spec, {
      format, samplesPerQuestion: o.samplesPerQuestion as number | undefined, generation: o.generation as ResponseGeneration | undefined,
      signal, onProgress: (d, t) => progress('generate', d, t),
    });
    generated = true;
  } else {
    const io = checkObject('input', input, false);
    checkKeys('input', io, ['trait', 'description', 'samples']);
    trait = checkString('input.trait', io.trait);
    if (io.description !== undefined) description = checkString('input.description', io.description);
    pairs = checkPairs('input.samples', io.samples);
    if (o.samplesPerQuestion !== undefined) throw invalidArg('options.samplesPerQuestion', 'absent when responses are supplied (it applies to a trait spec)', o.samplesPerQuestion);
    if (o.generation !== undefined) throw invalidArg('options.generation', 'absent when responses are supplied (it applies to a trait spec)', o.generation);
    const templated = pairs.some((p) => typeof p.positive.prompt !== 'string' || typeof p.negative.prompt !== 'string');
    // Raw-text prompts need no format; do not demand a chat template for them.
    format = templated || o.format !== undefined ? checkFormat('options.format', o.format, context.model) : 'plain';
  }
  const samePrompt = (p: ResponsePair) => JSON.stringify(p.positive.prompt) === JSON.stringify(p.negative.prompt);
  const positions: ExtractionPositions = requestedPositions !== 'auto' ? requestedPositions : pairs.some(samePrompt) ? 'response' : 'last-prompt';
  const sweepWanted = o.sweep === undefined ? generated : o.sweep !== false;
  const sweepOptions = (typeof o.sweep === 'object' ? o.sweep : {}) as ExtractionSweep;
  const specQuestions = isSpecLike(input) ? (() => {
    const spec = input as TraitSpec;
    return spec.evaluationQuestions ?? spec.extractionQuestions;
  })() : undefined;

  // Token ids and response ranges; generated responses that ended at once have no tokens to average.
  const records: ExtractionPair[] = [];
  const items: { pos: MeanItem; neg: MeanItem }[] = [];
  const candidates: { index: number; pos: MeanItem; neg: MeanItem }[] = [];
  pairs.forEach((pair, i) => {
    const name = `${generated ? 'generated pairs' : 'input.samples'}[${i}]`;
    const empty = (s: ResponsePair['positive']) => s.responseTokens !== undefined && s.responseTokens.length === 0;
    if (generated && (empty(pair.positive) || empty(pair.negative))) {
      records.push({ pair, kept: false, dropped: 'empty' });
      return;
    }
    const pos = sampleTokens(context.model, pair.positive, format, `${name}.positive`);
    const neg = sampleTokens(context.model, pair.negative, format, `${name}.negative`);
    records.push({ pair, kept: true });
    candidates.push({ index: records.length - 1, pos, neg });
  });
  if (judge) {
    const judged = await judgePairs(candidates.map((c) => records[c.index].pair), judge, { signal, onProgress: (d, t) => progress('judge', d, t) });
    judged.forEach((j, k) => {
      const rec = records[candidates[k].index];
      rec.positiveScore = j.positiveScore;
      rec.negativeScore = j.negativeScore;
      if (!j.kept) { rec.kept = false; rec.dropped = 'judge'; }
    });
  }
  const at = (it: MeanItem): MeanItem => (positions === 'response' ? it : lastPromptToken(it));
  const responses: MeanItem[] = [];
  for (const c of candidates) {
    if (!records[c.index].kept) continue;
    items.push({ pos: at(c.pos), neg: at(c.neg) });
    responses.push(c.pos, c.neg);
  }
  const counts = {
    pairs: records.length,
    kept: items.length,
    empty: records.filter((r) => r.dropped === 'empty').length,
    rejected: records.filter((r) => r.dropped === 'judge').length,
  };
  if (items.length === 0) {
    throw new PersonaSteerError(ErrorCodes.EXTRACTION,
      `no pair is left to extract from (${counts.pairs} pairs: ${counts.empty} with an empty response, ${counts.rejected} rejected by the judge)`);
  }

  // Pass 1: the direction per block.
  const d = info.embeddingSize;
  const meanOf = async (it: MeanItem) => {
    if (signal?.aborted) throw aborted();
    return context.captureMean([it], { blocks, signal });
  };
  const directions = new Map<number, Float32Array>();
  const total = items.length * 2;
  if (method === 'mean-diff') {
    const pos = new Map(blocks.map((b) => [b, new VectorMean(d)]));
    const neg = new Map(blocks.map((b) => [b, new VectorMean(d)]));
    let done = 0;
    for (const it of items) {
      for (const m of await meanOf(it.pos)) pos.get(m.block)!.add(m.mean);
      progress('activations', ++done, total);
      for (const m of await meanOf(it.neg)) neg.get(m.block)!.add(m.mean);
      progress('activations', ++done, total);
    }
    for (const b of blocks) directions.set(b, meanDifference(pos.get(b)!.mean(), neg.get(b)!.mean()));
  } else {
    const pos = new Map<number, Float32Array[]>(blocks.map((b) => [b, []]));
    const neg = new Map<number, Float32Array[]>(blocks.map((b) => [b, []]));
    let done = 0;
    for (const it of items) {
      for (const m of await meanOf(it.pos)) pos.get(m.block)!.push(m.mean);
      progress('activations', ++done, total);
      for (const m of await meanOf(it.neg)) neg.get(m.block)!.push(m.mean);
      progress('activations', ++done, total);
    }
    for (const b of blocks) {
      const v = pcaVector(pos.get(b)!, neg.get(b)!);
      if (v) directions.set(b, v);
      else directions.set(b, new Float32Array(d));
    }
  }
  const flat = blocks.filter((b) => norm(directions.get(b)!) === 0);
  if (flat.length > 0) {
    throw new PersonaSteerError(ErrorCodes.EXTRACTION,
      `the positive and negative samples give no direction at block${flat.length > 1 ? 's' : ''} ${flat.join(', ')} (identical mean activations); leave ${flat.length > 1 ? 'them' : 'it'} out of options.blocks`);
  }

  // Pass 2: per-sample projections on the unit vectors, for the separation statistics.
  const all = items.flatMap((it) => [it.pos, it.neg]);
  const perBlock = new Map(blocks.map((b) => [b, { positive: new Float64Array(items.length), negative: new Float64Array(items.length) }]));
  for (let c = 0; c < all.length; c += PROJECTION_CHUNK) {
    if (signal?.aborted) throw aborted();
    const chunk = all.slice(c, c + PROJECTION_CHUNK);
    const r = await context.projectionMeans(chunk, [{ name: 'persona', vector: directions, blocks }], { signal });
    for (const slot of r) {
      const dst = perBlock.get(slot.block)!;
      slot.values.forEach((v, k) => {
        const idx = c + k;
        (idx % 2 === 0 ? dst.positive : dst.negative)[idx >> 1] = v;
      });
    }
    progress('statistics', Math.min(all.length, c + PROJECTION_CHUNK), all.length);
  }

  // Residual norms at every block up to the deepest extracted one (the metadata is indexed by block).
  const normBlocks = Array.from({ length: blocks[blocks.length - 1] + 1 }, (_, i) => i);
  // Always over response tokens: the scale a steering coefficient acts against while generating.
  const normItems = responses.slice(0, Math.min(responses.length, normSamples));
  const norms = await measureResidualNorms(context, normItems, normBlocks, signal, (dn, t) => progress('norms', dn, t));
  const residualNorms = normBlocks.map((b) => norms.get(b)!);

  const stats: BlockSeparation[] = blocks.map((b) => {
    const p = perBlock.get(b)!;
    return { block: b, ...separation(p.positive, p.negative), vectorNorm: norm(directions.get(b)!), residualNorm: residualNorms[b] };
  });

  const metadata: PersonaVectorMetadata = {
    trait,
    method: positions === 'response' ? method : `${method}/${positions}`,
    ...(description !== undefined ? { description } : {}),
    modelHint: info.architecture,
    source: { architecture: info.architecture, nLayer: info.blockCount, nEmbd: d, hash: info.fileHash },
    residualNorms,
  };
  const unswept = PersonaVector.fromBlocks(directions, metadata);
  const bySeparation = (reason: string): Recommendation => ({
    blocks: recommendBlocks(stats, recommend),
    ...(coefficient !== undefined ? { coefficient } : {}),
    positions: positions === 'last-prompt' ? 'prompt' : 'all',
    by: 'separation',
    reason,
  });
  let recommendation: Recommendation;
  let sweep: SweepResult | undefined;
  if (!sweepWanted) {
    recommendation = bySeparation('no steering sweep was run (options.sweep is false)');
  } else {
    const kept = records.filter((r) => r.kept).map((r) => r.pair);
    const questions = sweepOptions.questions ?? (specQuestions ?? [...new Set(kept.map((p) => p.question ?? userText(p.positive.prompt)))]).slice(0, DEFAULT_SWEEP_QUESTIONS);
    sweep = await sweepSteering(context, unswept, {
      ...sweepOptions,
      questions,
      ...(coefficient !== undefined && sweepOptions.coefficients === undefined ? { coefficients: [Math.abs(coefficient)] } : {}),
      references: kept,
      format,
      ...(judge ? { judge } : {}),
      signal,
      onProgress: (dn, t) => progress('sweep', dn, t),
    });
    const r = sweep.recommendation;
    if (r) {
      recommendation = { blocks: r.blocks, coefficient: coefficient !== undefined && coefficient < 0 ? -r.coefficient : r.coefficient, positions: r.positions, by: 'sweep' };
    } else {
      const top = sweep.settings.filter((x) => x.coherent).reduce((m, x) => Math.max(m, x.score), -Infinity);
      recommendation = bySeparation(sweep.best
        ? 'the best setting uses a relative coefficient that is not one raw coefficient on its blocks'
        : Number.isFinite(top) ? `no coherent setting steered at least half the questions (best score ${top.toFixed(2)})` : 'no setting kept the answers coherent');
    }
  }
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
    pairs: records,
    counts,
    positions,
    recommendation,
    ...(sweep ? { sweep } : {}),
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
