// Conditional steering (CAST: "Programming Refusal with Conditional Activation Steering", Lee et
// al. 2024): read the prompt's projection on condition vectors at chosen blocks once the prompt is
// processed, and steer the answer only when the conditions hold (any or all of them). Built on
// the public Context API: an unsteered measuring pass over the prompt (projectionMeans), then the
// generation with the plan or without it.
import type { Context, GenerateOptions, MeanItem, PromptInput } from '../context';
import { ErrorCodes, PersonaSteerError, invalidArg } from '../errors';
import type { GenerationResult, GenerationStream } from '../generation-stream';
import type { SteeringPlan, SteerOp } from '../steering';
import { checkInt, checkKeys, checkNumber, checkObject, checkOneOf, checkSignal } from '../validate';
import { PersonaVector } from '../vector/persona-vector';
import { capThresholdBlocks } from '../vector/vector-metadata';
import { extractionPositions } from './defaults';

export interface SteeringCondition {
  /** The condition vector. */
  vector: PersonaVector;
  /** Block read (default: the last of the vector's capBlocks, else of its recommended blocks, else its last block). */
  block?: number;
  /** Threshold on the projection h.v/|v| (default: the vector's recorded cap threshold at `block`). */
  threshold?: number;
  /** 'above' (default): holds when the projection is above the threshold; 'below': when it is below. */
  when?: 'above' | 'below';
  /**
   * Prompt tokens read: 'last' (the prompt's last token; default for vectors read there) or 'mean'
   * (the mean over the prompt's tokens, a leading BOS left out, as CAST reads them; default otherwise).
   */
  tokens?: 'last' | 'mean';
}

export interface ConditionalSteering {
  conditions: SteeringCondition[];
  /** 'any' (default): steer when at least one condition holds; 'all': when every one does. */
  mode?: 'any' | 'all';
  /** The plan for a prompt that meets the conditions. */
  steer: SteeringPlan | SteerOp[];
  /** The plan for one that does not (default: null, unsteered). */
  otherwise?: SteeringPlan | SteerOp[] | null;
}

export interface ConditionCheck {
  matched: boolean;
  mode: 'any' | 'all';
  /** Per condition, in order: what was read and whether it holds. */
  values: { block: number; value: number; threshold: number; when: 'above' | 'below'; tokens: 'last' | 'mean'; holds: boolean }[];
}

export interface ConditionalGeneration {
  check: ConditionCheck;
  stream: GenerationStream;
}

export type ConditionalResult = GenerationResult & { condition: ConditionCheck };

interface Resolved { vector: PersonaVector; block: number; threshold: number; when: 'above' | 'below'; tokens: 'last' | 'mean' }

function resolve(c: unknown, i: number, blockCount: number): Resolved {
  const name = `conditions[${i}]`;
  const o = checkObject(name, c, false);
  checkKeys(name, o, ['vector', 'block', 'threshold', 'when', 'tokens']);
  if (!(o.vector instanceof PersonaVector)) throw invalidArg(`${name}.vector`, 'a PersonaVector', o.vector);
  const v = o.vector;
  const md = v.metadata;
  const fallback = capThresholdBlocks(md) ?? v.blocks;
  const block = o.block === undefined ? fallback[fallback.length - 1]! : checkInt(`${name}.block`, o.block, 0, blockCount - 1);
  if (!v.has(block)) throw invalidArg(`${name}.block`, `a block the vector has (${v.blocks.join(', ')})`, block);
  if (block >= blockCount) throw invalidArg(`${name}.block`, `a block of the model (0 to ${blockCount - 1})`, block);
  let threshold: number;
  if (o.threshold !== undefined) threshold = checkNumber(`${name}.threshold`, o.threshold);
  else {
    const owner = capThresholdBlocks(md);
    const k = owner?.indexOf(block) ?? -1;
    if (md.capThresholds === undefined || k < 0) {
      throw invalidArg(`${name}.threshold`, `a number (the vector records no cap threshold at block ${block} to default to)`, undefined);
    }
    threshold = md.capThresholds[k]!;
  }
  const when = checkOneOf(`${name}.when`, o.when, ['above', 'below'] as const, 'above');
  const tokens = checkOneOf(`${name}.tokens`, o.tokens, ['last', 'mean'] as const, extractionPositions(v) === 'last-prompt' ? 'last' : 'mean');
  return { vector: v, block, threshold, when, tokens };
}

function checkConditional(value: unknown, blockCount: number): { conditions: Resolved[]; mode: 'any' | 'all'; steer: SteeringPlan | SteerOp[]; otherwise: SteeringPlan | SteerOp[] | null } {
  const o = checkObject('conditional', value, false);
  checkKeys('conditional', o, ['conditions', 'mode', 'steer', 'otherwise']);
  if (!Array.isArray(o.conditions) || o.conditions.length === 0) throw invalidArg('conditional.conditions', 'a non-empty array of conditions', o.conditions);
  const conditions = o.conditions.map((c, i) => resolve(c, i, blockCount));
  const mode = checkOneOf('conditional.mode', o.mode, ['any', 'all'] as const, 'any');
  if (typeof o.steer !== 'object' || o.steer === null) throw invalidArg('conditional.steer', 'a steering plan or an array of ops', o.steer);
  const otherwise = o.otherwise === undefined ? null : o.otherwise as SteeringPlan | SteerOp[] | null;
  return { conditions, mode, steer: o.steer as SteeringPlan | SteerOp[], otherwise };
}

async function measure(context: Context, prompt: Int32Array, conditions: Resolved[], mode: 'any' | 'all', signal?: AbortSignal): Promise<ConditionCheck> {
  const bos = context.model.info.bosToken;
  const n = prompt.length;
  const start = { last: n - 1, mean: prompt[0] === bos && n > 1 ? 1 : 0 };
  const values: ConditionCheck['values'] = [];
  for (const kind of ['last', 'mean'] as const) {
    const idx = conditions.flatMap((c, i) => (c.tokens === kind ? [i] : []));
    if (idx.length === 0) continue;
    const item: MeanItem = { tokens: prompt, start: start[kind], end: n };
    const r = await context.projectionMeans([item], idx.map((i) => ({ name: String(i), vector: conditions[i]!.vector, blocks: [conditions[i]!.block] })), { signal });
    for (const i of idx) {
      const c = conditions[i]!;
      const value = r.find((x) => x.name === String(i) && x.block === c.block)!.values[0]!;
      values[i] = { block: c.block, value, threshold: c.threshold, when: c.when, tokens: c.tokens, holds: c.when === 'above' ? value > c.threshold : value < c.threshold };
    }
  }
  const matched = mode === 'any' ? values.some((v) => v.holds) : values.every((v) => v.holds);
  return { matched, mode, values };
}

/** Reads the prompt's projections on the conditions' vectors (unsteered) and whether they hold. */
export async function checkConditions(context: Context, prompt: PromptInput, conditions: SteeringCondition[],
  options: { mode?: 'any' | 'all'; signal?: AbortSignal } = {}): Promise<ConditionCheck> {
  const o = checkObject('options', options);
  checkKeys('options', o, ['mode', 'signal']);
  const mode = checkOneOf('options.mode', o.mode, ['any', 'all'] as const, 'any');
  const signal = checkSignal('options.signal', o.signal);
  if (!Array.isArray(conditions) || conditions.length === 0) throw invalidArg('conditions', 'a non-empty array of conditions', conditions);
  const resolved = conditions.map((c, i) => resolve(c, i, context.model.info.blockCount));
  return measure(context, context.tokens(prompt), resolved, mode, signal);
}

/**
 * Generates with `conditional.steer` when the prompt meets the conditions, else with
 * `conditional.otherwise` (unsteered by default). The prompt is measured first, unsteered; the
 * returned stream is the generation (options as generate's, without `steer`).
 */
export async function generateConditional(context: Context, prompt: PromptInput, conditional: ConditionalSteering,
  options: Omit<GenerateOptions, 'steer'> = {}): Promise<ConditionalGeneration> {
  const c = checkConditional(conditional, context.model.info.blockCount);
  const o = checkObject('options', options);
  if ('steer' in o) throw invalidArg('options.steer', 'absent (the conditional chooses the plan)', o.steer);
  const tokens = context.tokens(prompt);
  const signal = checkSignal('options.signal', o.signal);
  const check = await measure(context, tokens, c.conditions, c.mode, signal);
  if (signal?.aborted) throw new PersonaSteerError(ErrorCodes.ABORTED, 'conditional generation was aborted');
  const stream = context.generate(tokens, { ...options, steer: check.matched ? c.steer : c.otherwise });
  return { check, stream };
}

/** generateConditional, awaited: the generation's result with the condition check. */
export async function completeConditional(context: Context, prompt: PromptInput, conditional: ConditionalSteering,
  options: Omit<GenerateOptions, 'steer'> = {}): Promise<ConditionalResult> {
  const { check, stream } = await generateConditional(context, prompt, conditional, options);
  return { ...(await stream.result), condition: check };
}
