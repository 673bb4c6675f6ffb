// Data screening by projection difference (Persona Vectors): for a training sample (x, y) and the
// model's own answer y' to x, dP = (mean_t h(x, y) - mean_t h(x, y')) . v/|v|, averaged over response
// tokens. A large positive dP flags a sample that would push the model toward the trait.
// Only per-sample projections come back from the graph (Context.projectionMeans).
import type { Context, MeanItem } from '../context';
import { ErrorCodes, PersonaSteerError, invalidArg } from '../errors';
import type { BlockSpec } from '../steering';
import { checkFunction, checkKeys, checkObject, checkSignal, checkString } from '../validate';
import { PersonaVector } from '../vector/persona-vector';
import { checkFormat, checkPromptText, sampleTokens, type PromptFormat, type PromptText } from './prompt-format';
import { answer, checkGeneration, type ResponseGeneration } from './responses';
import { resolveBlocks } from './vector-blocks';

export interface ScreenSample {
  prompt: PromptText;
  /** The dataset's response y. */
  response: string;
  /** The model's own response y' (generated when absent). */
  modelResponse?: string;
}

export interface ProjectionDifferenceOptions {
  /** How { system, user } prompts become text (as for extraction). */
  format?: PromptFormat;
  /** Default: the vector's recommendedBlocks, else every block it has. */
  blocks?: BlockSpec;
  /** Sampling of the model's own responses. */
  generation?: ResponseGeneration;
  signal?: AbortSignal;
  onProgress?: (event: { phase: 'generate' | 'project'; done: number; total: number }) => void;
}

export interface ProjectionDifferenceSample {
  /** Parallel to the result's blocks. */
  datasetProjection: number[];
  modelProjection: number[];
  /** datasetProjection - modelProjection; NaN where the model's response has no tokens. */
  deltaP: number[];
  modelResponse: string;
}

export interface ProjectionDifferenceResult {
  blocks: number[];
  samples: ProjectionDifferenceSample[];
}

const CHUNK = 16;

export async function projectionDifference(context: Context, vector: PersonaVector, samples: ScreenSample[], options: ProjectionDifferenceOptions = {}): Promise<ProjectionDifferenceResult> {
  if (!(vector instanceof PersonaVector)) throw invalidArg('vector', 'a PersonaVector', vector);
  const o = checkObject('options', options);
  checkKeys('options', o, ['format', 'blocks', 'generation', 'signal', 'onProgress']);
  const signal = checkSignal('options.signal', o.signal);
  const onProgress = checkFunction<NonNullable<ProjectionDifferenceOptions['onProgress']>>('options.onProgress', o.onProgress);
  const gen = checkGeneration('options.generation', o.generation);
  if (!Array.isArray(samples) || samples.length === 0) throw invalidArg('samples', 'a non-empty array of { prompt, response, modelResponse? }', samples);
  const checked = samples.map((s, i) => {
    const so = checkObject(`samples[${i}]`, s, false);
    checkKeys(`samples[${i}]`, so, ['prompt', 'response', 'modelResponse']);
    return {
      prompt: checkPromptText(`samples[${i}].prompt`, so.prompt),
      response: checkString(`samples[${i}].response`, so.response),
      modelResponse: so.modelResponse === undefined ? undefined : checkString(`samples[${i}].modelResponse`, so.modelResponse, false),
    };
  });
  const templated = checked.some((s) => typeof s.prompt !== 'string');
  const format: PromptFormat = templated || o.format !== undefined ? checkFormat('options.format', o.format, context.model) : 'plain';
  const blocks = resolveBlocks('options.blocks', vector, o.blocks, { blockCount: context.model.info.blockCount });

  const missing = checked.filter((s) => s.modelResponse === undefined).length;
  let generated = 0;
  const pairs: { dataset: MeanItem; model: MeanItem | null; modelResponse: string }[] = [];
  for (let i = 0; i < checked.length; i++) {
    const s = checked[i];
    const dataset = sampleTokens(context.model, { prompt: s.prompt, response: s.response }, format, `samples[${i}]`);
    let model: MeanItem | null;
    let modelResponse: string;
    if (s.modelResponse === undefined) {
      if (signal?.aborted) throw new PersonaSteerError(ErrorCodes.ABORTED, 'projectionDifference was aborted');
      const a = await answer(context, s.prompt, format, gen, gen.seed + i, signal);
      modelResponse = a.response;
      model = a.responseTokens!.length > 0 ? sampleTokens(context.model, a, format, `samples[${i}] (generated)`) : null;
      onProgress?.({ phase: 'generate', done: ++generated, total: missing });
    } else {
      modelResponse = s.modelResponse;
      model = s.modelResponse.length > 0 ? sampleTokens(context.model, { prompt: s.prompt, response: s.modelResponse }, format, `samples[${i}]`) : null;
    }
    pairs.push({ dataset, model, modelResponse });
  }

  const items: MeanItem[] = [];
  const where = pairs.map((p) => {
    const d = items.push(p.dataset) - 1;
    const m = p.model ? items.push(p.model) - 1 : -1;
    return { d, m };
  });
  const entry = [{ name: 'persona', vector, blocks }];
  let resultBlocks: number[] = [];
  const values: Float64Array[] = [];
  for (let c = 0; c < items.length; c += CHUNK) {
    if (signal?.aborted) throw new PersonaSteerError(ErrorCodes.ABORTED, 'projectionDifference was aborted');
    const r = await context.projectionMeans(items.slice(c, c + CHUNK), entry, { signal });
    if (c === 0) {
      resultBlocks = r.map((x) => x.block);
      resultBlocks.forEach(() => values.push(new Float64Array(items.length)));
    }
    r.forEach((x, bi) => values[bi].set(x.values, c));
    onProgress?.({ phase: 'project', done: Math.min(items.length, c + CHUNK), total: items.length });
  }
  return {
    blocks: resultBlocks,
    samples: pairs.map((p, i) => {
      const datasetProjection = resultBlocks.map((_, bi) => values[bi][where[i].d]);
      const modelProjection = resultBlocks.map((_, bi) => (where[i].m >= 0 ? values[bi][where[i].m] : NaN));
      return { datasetProjection, modelProjection, deltaP: datasetProjection.map((x, bi) => x - modelProjection[bi]), modelResponse: p.modelResponse };
    }),
  };
}
