// OpenAI's request and response shapes for /v1/chat/completions and /v1/completions: a validated
// body becomes a GenerationJob; a result (or a stream of token events) becomes the objects the
// `openai` client parses, with the persona trace added under "persona".
import { randomUUID } from 'node:crypto';
import type { ChatMessage } from '../model';
import type { Projection } from '../monitor-layout';
import type { GenerationResult, StopReason } from '../generation-stream';
import type { Engine, GenerationJob } from './engine';
import { badRequest } from './errors';
import { resolveSteering, type SteeringFields } from './plan';

export type Kind = 'chat' | 'completion';

interface CommonBody extends SteeringFields {
  model?: string;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number;
  min_p?: number;
  repeat_penalty?: number;
  seed?: number | null;
  stop?: string | string[] | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  ignore_eos?: boolean;
}

export interface ChatBody extends CommonBody {
  messages: { role: string; content: string | { type: 'text'; text: string }[] }[];
}

export interface CompletionBody extends CommonBody {
  prompt: string | string[] | number[];
}

export interface WireProjection { vector: string; block: number; value: number }

export function wireProjections(list: readonly Projection[]): WireProjection[] {
  return list.map((p) => ({ vector: p.name, block: p.block, value: p.value }));
}

function messagesOf(body: ChatBody): ChatMessage[] {
  return body.messages.map((m) => ({
    // OpenAI's newer name for the system role.
    role: m.role === 'developer' ? 'system' : m.role,
    content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''),
  }));
}

/** The request as a job for the engine: prompt, sampling, limits, and its own plan and monitor. */
export function toJob(kind: Kind, body: ChatBody | CompletionBody, engine: Engine): GenerationJob {
  const maxTokens = (kind === 'chat' ? (body as ChatBody & CommonBody).max_completion_tokens ?? body.max_tokens : body.max_tokens) ?? undefined;
  const maxParam = kind === 'chat' && body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens';
  if (maxTokens !== undefined && maxTokens > engine.limits.maxTokens) {
    throw badRequest(maxParam, `${maxParam} is ${maxTokens}; this server generates at most ${engine.limits.maxTokens} tokens per request (--max-tokens)`);
  }
  const sampling: GenerationJob['sampling'] = {};
  if (body.temperature != null) {
    sampling.temperature = body.temperature;
    if (body.temperature === 0) sampling.greedy = true;
  }
  if (body.top_p != null) sampling.topP = body.top_p;
  if (body.top_k !== undefined) sampling.topK = body.top_k;
  if (body.min_p !== undefined) sampling.minP = body.min_p;
  if (body.repeat_penalty !== undefined) sampling.repeatPenalty = body.repeat_penalty;
  // OpenAI takes any integer; the sampler takes 32 bits.
  if (body.seed != null) sampling.seed = ((body.seed % 2 ** 32) + 2 ** 32) % 2 ** 32;
  const stop = body.stop == null ? [] : typeof body.stop === 'string' ? [body.stop] : body.stop;
  const { plan, monitor } = resolveSteering(body, engine.defaults, engine.registry);
  let prompt: GenerationJob['prompt'];
  if (kind === 'chat') {
    prompt = { messages: messagesOf(body as ChatBody) };
  } else {
    const p = (body as CompletionBody).prompt;
    prompt = typeof p === 'string' ? p : typeof p[0] === 'string' ? (p as string[])[0]! : (p as number[]);
  }
  if (typeof prompt === 'string' && prompt.length === 0) throw badRequest('prompt', 'prompt must not be empty');
  return {
    prompt,
    promptParam: kind === 'chat' ? 'messages' : 'prompt',
    maxTokens,
    sampling,
    stop,
    stopAtEog: body.ignore_eos !== true,
    plan,
    monitor,
  };
}

export function finishReason(r: StopReason): 'stop' | 'length' | null {
  if (r === 'eog' || r === 'stop-string') return 'stop';
  if (r === 'max-tokens' || r === 'context-full') return 'length';
  return null;
}

export interface ResponseIds {
  id: string;
  created: number;
  model: string;
}

export function newIds(kind: Kind, model: string): ResponseIds {
  return { id: `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replace(/-/g, '')}`, created: Math.floor(Date.now() / 1000), model };
}

/** The fields every response object and stream chunk starts with (OpenAI's id, object, created, model). */
function envelope(kind: Kind, ids: ResponseIds, stream: boolean) {
  const object = kind === 'chat' ? (stream ? 'chat.completion.chunk' : 'chat.completion') : 'text_completion';
  return { id: ids.id, object, created: ids.created, model: ids.model };
}

export function usage(promptTokens: number, completionTokens: number) {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

/** The whole answer (stream: false). */
export function responseBody(kind: Kind, ids: ResponseIds, r: GenerationResult, monitored: boolean): Record<string, unknown> {
  const choice = kind === 'chat'
    ? { index: 0, message: { role: 'assistant', content: r.text }, logprobs: null, finish_reason: finishReason(r.stopReason) }
    : { index: 0, text: r.text, logprobs: null, finish_reason: finishReason(r.stopReason) };
  return {
    ...envelope(kind, ids, false),
    choices: [choice],
    usage: usage(r.promptTokens, r.generatedTokens),
    ...(monitored ? { persona: { last_prompt: wireProjections(r.lastPromptProjections), tokens: r.projections.map(wireProjections) } } : {}),
  };
}

/** One stream chunk: new text (or a role, or a finish reason) and the projections of its tokens. */
export function chunk(kind: Kind, ids: ResponseIds, delta: { role?: 'assistant'; content?: string }, finish: 'stop' | 'length' | null,
  persona?: { last_prompt?: WireProjection[]; tokens: WireProjection[][] }): Record<string, unknown> {
  const choice = kind === 'chat'
    ? { index: 0, delta, logprobs: null, finish_reason: finish }
    : { index: 0, text: delta.content ?? '', logprobs: null, finish_reason: finish };
  return {
    ...envelope(kind, ids, true),
    choices: [choice],
    ...(persona ? { persona } : {}),
  };
}

/** The last chunk when stream_options.include_usage is set: no choices, the usage. */
export function usageChunk(kind: Kind, ids: ResponseIds, promptTokens: number, completionTokens: number): Record<string, unknown> {
  return {
    ...envelope(kind, ids, true),
    choices: [],
    usage: usage(promptTokens, completionTokens),
  };
}
