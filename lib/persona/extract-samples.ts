// Extraction, phase 1: the contrastive samples. Responses generated from a trait spec (or supplied),
// judged when a judge is given, turned into token ids with the range each sample averages.
import type { Context, MeanItem } from '../context';
import { ErrorCodes, PersonaSteerError, invalidArg } from '../errors';
import { checkKeys, checkObject, checkString } from '../validate';
import type { ExtractionPositions } from './defaults';
import { checkFormat, sampleTokens, type PromptFormat } from './prompt-format';
import { checkPairs, generateResponses, judgePairs, type Judge, type ResponseGeneration, type ResponsePair } from './responses';
import { parseTraitSpec, type TraitSpec } from './trait-spec';

export interface ExtractionPair {
  pair: ResponsePair;
  kept: boolean;
  /** Why a pair was left out: a response with no tokens, or the judge's scores. */
  dropped?: 'empty' | 'judge';
  positiveScore?: number;
  negativeScore?: number;
}

export interface PreparedSamples {
  trait: string;
  description?: string;
  /** Whether the responses were generated here (from a trait spec). */
  generated: boolean;
  format: PromptFormat;
  positions: ExtractionPositions;
  /** Every pair, with whether it was kept and why not. */
  records: ExtractionPair[];
  /** The kept pairs' averaged ranges (response tokens, or the prompt's last token). */
  items: { pos: MeanItem; neg: MeanItem }[];
  /** The kept pairs' response ranges, alternating polarity (where residual norms are measured). */
  responses: MeanItem[];
  counts: { pairs: number; kept: number; empty: number; rejected: number };
  /** A trait spec's evaluation (else extraction) questions, for the sweep. */
  specQuestions?: readonly string[];
}

export interface SampleOptions {
  positions: ExtractionPositions | 'auto';
  judge?: Judge;
  format?: unknown;
  samplesPerQuestion?: unknown;
  generation?: unknown;
  signal?: AbortSignal;
  progress(phase: 'generate' | 'judge', done: number, total: number): void;
}

function isSpecLike(v: unknown): boolean {
  return typeof v === 'object' && v !== null && 'extractionQuestions' in v;
}

/** The prompt's last token alone: the response is still needed to judge the pair, not to average. */
function lastPromptToken(it: MeanItem): MeanItem {
  return { tokens: Array.prototype.slice.call(it.tokens, 0, it.start) as number[], start: it.start - 1, end: it.start };
}

export async function prepareSamples(context: Context, input: unknown, o: SampleOptions): Promise<PreparedSamples> {
  let trait: string;
  let description: string | undefined;
  let pairs: ResponsePair[];
  let generated = false;
  let format: PromptFormat;
  let specQuestions: readonly string[] | undefined;
  if (isSpecLike(input)) {
    const spec = parseTraitSpec(input);
    trait = spec.name;
    description = spec.description;
    specQuestions = (input as TraitSpec).evaluationQuestions ?? (input as TraitSpec).extractionQuestions;
    format = checkFormat('options.format', o.format, context.model);
    pairs = await generateResponses(context, spec, {
      format, samplesPerQuestion: o.samplesPerQuestion as number | undefined, generation: o.generation as ResponseGeneration | undefined,
      signal: o.signal, onProgress: (d, t) => o.progress('generate', d, t),
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
  const positions: ExtractionPositions = o.positions !== 'auto' ? o.positions : pairs.some(samePrompt) ? 'response' : 'last-prompt';

  // Token ids and response ranges; generated responses that ended at once have no tokens to average.
  const records: ExtractionPair[] = [];
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
  if (o.judge) {
    const judged = await judgePairs(candidates.map((c) => records[c.index].pair), o.judge, { signal: o.signal, onProgress: (d, t) => o.progress('judge', d, t) });
    judged.forEach((j, k) => {
      const rec = records[candidates[k].index];
      rec.positiveScore = j.positiveScore;
      rec.negativeScore = j.negativeScore;
      if (!j.kept) { rec.kept = false; rec.dropped = 'judge'; }
    });
  }
  const at = (it: MeanItem): MeanItem => (positions === 'response' ? it : lastPromptToken(it));
  const items: PreparedSamples['items'] = [];
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
  return { trait, ...(description !== undefined ? { description } : {}), generated, format, positions, records, items, responses, counts, specQuestions };
}
