// Responses for extraction: each extraction question answered under the positive and under the
// negative system prompt of every pair of a trait spec (Persona Vectors), or pairs supplied by
// the user; then the optional judge keeps the pairs where the trait shows only under the positive prompt.
import type { Context } from '../context';
import { ErrorCodes, PersonaSteerError, invalidArg } from '../errors';
import { parseTraitSpec, type TraitSpec } from './trait-spec';
import { checkFormat, checkSample, promptTokens, userText, type PromptFormat, type Sample } from './prompt-format';
import { checkFunction, checkInt, checkKeys, checkObject, checkSignal, checkString, optBool, optInt, optNumber } from '../validate';

/** A question answered twice: once showing the trait (positive), once its opposite (negative). */
export interface ResponsePair {
  /** What the judge is asked about (default: the positive prompt's user turn). */
  question?: string;
  positive: Sample;
  negative: Sample;
}

/** Scores a response for the trait, 0 (absent) to 100 (strong); may be async. */
export type Judge = (question: string, answer: string) => number | Promise<number>;

/** Sampling for generated responses (Persona Vectors samples at temperature 1). */
export interface ResponseGeneration {
  /** Tokens per response (default 64). */
  maxTokens?: number;
  /** Default 1. */
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repeatPenalty?: number;
  /** Greedy decoding (then samplesPerQuestion > 1 repeats identical answers). */
  greedy?: boolean;
  /** Seed of the first response; response i uses seed + i (default 0, so runs are reproducible). */
  seed?: number;
}

export interface GenerateResponsesOptions {
  /** Default 'chat' (an error for models without a chat template). */
  format?: PromptFormat;
  /** Answers per (pair, question) and polarity (default 1). */
  samplesPerQuestion?: number;
  generation?: ResponseGeneration;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

const GENERATION_KEYS = ['maxTokens', 'temperature', 'topK', 'topP', 'minP', 'repeatPenalty', 'greedy', 'seed'] as const;

export function checkGeneration(name: string, value: unknown): Required<Pick<ResponseGeneration, 'maxTokens' | 'temperature' | 'seed' | 'greedy'>> & ResponseGeneration {
  const o = checkObject(name, value);
  checkKeys(name, o, GENERATION_KEYS);
  const out: ReturnType<typeof checkGeneration> = {
    maxTokens: optInt(`${name}.maxTokens`, o.maxTokens, 1, 1 << 16, 64),
    temperature: optNumber(`${name}.temperature`, o.temperature, 0, 100, 1),
    seed: optInt(`${name}.seed`, o.seed, 0, 0xffffffff, 0),
    greedy: optBool(`${name}.greedy`, o.greedy, false),
  };
  if (o.topK !== undefined) out.topK = checkInt(`${name}.topK`, o.topK, 0, 1 << 24);
  if (o.topP !== undefined) out.topP = optNumber(`${name}.topP`, o.topP, 0, 1, 1);
  if (o.minP !== undefined) out.minP = optNumber(`${name}.minP`, o.minP, 0, 1, 0);
  if (o.repeatPenalty !== undefined) out.repeatPenalty = optNumber(`${name}.repeatPenalty`, o.repeatPenalty, 0.01, 100, 1);
  return out;
}

function aborted(what: string): PersonaSteerError {
  return new PersonaSteerError(ErrorCodes.ABORTED, `${what} was aborted`);
}

/** Generates one answer to a prompt; the response keeps the exact generated token ids. */
export async function answer(context: Context, prompt: Sample['prompt'], format: PromptFormat, gen: ReturnType<typeof checkGeneration>, seed: number, signal?: AbortSignal): Promise<Sample> {
  const tokens = promptTokens(context.model, prompt, format);
  const { seed: _base, ...sampling } = gen;
  const r = await context.complete(tokens, { ...sampling, seed: seed >>> 0, signal, steer: null });
  if (r.stopReason === 'abort') throw aborted('generating responses');
  return { prompt, response: r.text, responseTokens: r.tokens };
}

/**
 * Answers every extraction question of the spec under each pair's positive and negative system
 * prompts, samplesPerQuestion times. Order: pair, question, sample.
 */
export async function generateResponses(context: Context, spec: TraitSpec, options: GenerateResponsesOptions): Promise<ResponsePair[]> {
  const s = parseTraitSpec(spec);
  const o = checkObject('options', options, false);
  checkKeys('options', o, ['format', 'samplesPerQuestion', 'generation', 'signal', 'onProgress']);
  const format = checkFormat('options.format', o.format, context.model);
  const n = optInt('options.samplesPerQuestion', o.samplesPerQuestion, 1, 10_000, 1);
  const gen = checkGeneration('options.generation', o.generation);
  const signal = checkSignal('options.signal', o.signal);
  const onProgress = checkFunction<(done: number, total: number) => void>('options.onProgress', o.onProgress);
  const total = s.pairs.length * s.extractionQuestions.length * n;
  const out: ResponsePair[] = [];
  let seed = gen.seed;
  for (const pair of s.pairs) {
    for (const question of s.extractionQuestions) {
      for (let k = 0; k < n; k++) {
        if (signal?.aborted) throw aborted('generating responses');
        const positive = await answer(context, { system: pair.positive, user: question }, format, gen, seed++, signal);
        const negative = await answer(context, { system: pair.negative, user: question }, format, gen, seed++, signal);
        out.push({ question, positive, negative });
        onProgress?.(out.length, total);
      }
    }
  }
  return out;
}

export function checkPairs(name: string, value: unknown): ResponsePair[] {
  if (!Array.isArray(value) || value.length === 0) throw invalidArg(name, 'a non-empty array of { question?, positive, negative }', value);
  return value.map((p, i) => {
    const o = checkObject(`${name}[${i}]`, p, false);
    checkKeys(`${name}[${i}]`, o, ['question', 'positive', 'negative']);
    const pair: ResponsePair = {
      positive: checkSample(`${name}[${i}].positive`, o.positive),
      negative: checkSample(`${name}[${i}].negative`, o.negative),
    };
    if (o.question !== undefined) pair.question = checkString(`${name}[${i}].question`, o.question);
    return pair;
  });
}

export interface JudgedPair {
  pair: ResponsePair;
  positiveScore: number;
  negativeScore: number;
  kept: boolean;
}

/** The judge's answer, or ERR_ABORTED as soon as the signal aborts (a judge may never settle). */
function untilAborted<T>(value: T | Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return Promise.resolve(value);
  if (signal.aborted) return Promise.reject(aborted('judging responses'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted('judging responses'));
    signal.addEventListener('abort', onAbort, { once: true });
    Promise.resolve(value).then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

async function score(judge: Judge, question: string, text: string, name: string, signal?: AbortSignal): Promise<number> {
  const s = await untilAborted(judge(question, text), signal);
  if (typeof s !== 'number' || !Number.isFinite(s) || s < 0 || s > 100) {
    throw invalidArg(`the score options.judge returned for ${name}`, 'a finite number in [0, 100]', s);
  }
  return s;
}

/** Keeps a pair when the positive answer scores >= 50 and the negative one < 50 (Persona Vectors' rule). */
export async function judgePairs(pairs: ResponsePair[], judge: Judge, options: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<JudgedPair[]> {
  if (typeof judge !== 'function') throw invalidArg('judge', 'a function (question, answer) => score', judge);
  const o = checkObject('options', options);
  checkKeys('options', o, ['signal', 'onProgress']);
  checkSignal('options.signal', o.signal);
  checkFunction('options.onProgress', o.onProgress);
  const list = checkPairs('pairs', pairs);
  const out: JudgedPair[] = [];
  for (let i = 0; i < list.length; i++) {
    if (options.signal?.aborted) throw aborted('judging responses');
    const pair = list[i];
    const q = pair.question ?? userText(pair.positive.prompt);
    const positiveScore = await score(judge, q, pair.positive.response, `pairs[${i}].positive`, options.signal);
    const negativeScore = await score(judge, pair.question ?? userText(pair.negative.prompt), pair.negative.response, `pairs[${i}].negative`, options.signal);
    out.push({ pair, positiveScore, negativeScore, kept: positiveScore >= 50 && negativeScore < 50 });
    options.onProgress?.(i + 1, list.length);
  }
  return out;
}
