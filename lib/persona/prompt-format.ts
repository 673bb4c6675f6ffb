// Turning (system prompt, question, response) into the token ids the model reads and the range of
// response tokens that extraction and screening average over.
import { ErrorCodes, PersonaSteerError, invalidArg } from '../errors';
import type { ChatMessage, Model } from '../model';
import { checkKeys, checkObject, checkString } from '../validate';

/** A prompt: raw text used verbatim (no template), or a system prompt and a user turn to format. */
export type PromptText = string | { system?: string; user: string };

/**
 * How { system, user } becomes text: 'chat' uses the model's chat template (with the assistant
 * turn opened), 'plain' joins system and user with a blank line (for models without a template,
 * such as base models), or a function of your own.
 */
export type PromptFormat = 'chat' | 'plain' | ((prompt: { system?: string; user: string }) => string);

/** One prompt and its response; only the response tokens are averaged. */
export interface Sample {
  prompt: PromptText;
  response: string;
  /** The response's token ids when known (generated responses): used instead of re-tokenizing. */
  responseTokens?: ArrayLike<number>;
}

export interface SampleTokens {
  tokens: Int32Array;
  /** Half-open range [start, end) of the response tokens. */
  start: number;
  end: number;
}

export function checkFormat(name: string, value: unknown, model: Model): PromptFormat {
  if (typeof value === 'function') return value as PromptFormat;
  if (value === undefined) {
    if (model.info.chatTemplate) return 'chat';
    throw new PersonaSteerError(ErrorCodes.CHAT_TEMPLATE,
      `${name} defaults to 'chat' but the model has no chat template; pass format: 'plain' (or a function) to build prompts as plain text`);
  }
  if (value !== 'chat' && value !== 'plain') throw invalidArg(name, "'chat', 'plain' or a function ({ system, user }) => string", value);
  if (value === 'chat' && !model.info.chatTemplate) {
    throw new PersonaSteerError(ErrorCodes.CHAT_TEMPLATE, `${name} is 'chat' but the model has no chat template; use 'plain' or a function`);
  }
  return value;
}

export function checkPromptText(name: string, value: unknown): PromptText {
  if (typeof value === 'string') return checkString(name, value);
  const o = checkObject(name, value, false);
  checkKeys(name, o, ['system', 'user']);
  const user = checkString(`${name}.user`, o.user);
  if (o.system === undefined) return { user };
  return { system: checkString(`${name}.system`, o.system), user };
}

export function checkSample(name: string, value: unknown): Sample {
  const o = checkObject(name, value, false);
  checkKeys(name, o, ['prompt', 'response', 'responseTokens']);
  const out: Sample = { prompt: checkPromptText(`${name}.prompt`, o.prompt), response: checkString(`${name}.response`, o.response) };
  if (o.responseTokens !== undefined) {
    const t = o.responseTokens as ArrayLike<number>;
    if (!ArrayBuffer.isView(t) && !Array.isArray(t)) throw invalidArg(`${name}.responseTokens`, 'an array of token ids', t);
    out.responseTokens = t;
  }
  return out;
}

/** The user turn of a prompt (what a judge is asked about). */
export function userText(prompt: PromptText): string {
  return typeof prompt === 'string' ? prompt : prompt.user;
}

/** The prompt as the model sees it, and whether that text already carries the special tokens. */
export function formatPrompt(model: Model, prompt: PromptText, format: PromptFormat): { text: string; addSpecial: boolean } {
  if (typeof prompt === 'string') return { text: prompt, addSpecial: true };
  if (format === 'chat') {
    const messages: ChatMessage[] = [];
    if (prompt.system !== undefined) messages.push({ role: 'system', content: prompt.system });
    messages.push({ role: 'user', content: prompt.user });
    // Templates write their own BOS where the model wants one.
    return { text: model.applyChatTemplate(messages, { addAssistant: true }), addSpecial: false };
  }
  if (format === 'plain') {
    return { text: prompt.system === undefined ? prompt.user : `${prompt.system}\n\n${prompt.user}`, addSpecial: true };
  }
  const text = format(prompt.system === undefined ? { user: prompt.user } : { system: prompt.system, user: prompt.user });
  if (typeof text !== 'string' || text.length === 0) throw invalidArg('options.format', 'a function returning a non-empty string', text);
  return { text, addSpecial: true };
}

export function promptTokens(model: Model, prompt: PromptText, format: PromptFormat): Int32Array {
  const f = formatPrompt(model, prompt, format);
  return model.tokenize(f.text, { addSpecial: f.addSpecial, parseSpecial: true });
}

/**
 * Prompt and response tokens. Known response tokens are appended as they are. Otherwise the
 * concatenated text is tokenized once (so the boundary is tokenized as the model would read it)
 * and the response starts where that tokenization departs from the prompt's own.
 */
export function sampleTokens(model: Model, sample: Sample, format: PromptFormat, name: string): SampleTokens {
  const f = formatPrompt(model, sample.prompt, format);
  const p = model.tokenize(f.text, { addSpecial: f.addSpecial, parseSpecial: true });
  if (sample.responseTokens !== undefined) {
    const r = sample.responseTokens;
    if (r.length === 0) throw invalidArg(`${name}.responseTokens`, 'at least one token', r);
    const tokens = new Int32Array(p.length + r.length);
    tokens.set(p);
    for (let i = 0; i < r.length; i++) tokens[p.length + i] = r[i];
    return { tokens, start: p.length, end: tokens.length };
  }
  const full = model.tokenize(f.text + sample.response, { addSpecial: f.addSpecial, parseSpecial: true });
  let start = 0;
  while (start < p.length && start < full.length && p[start] === full[start]) start++;
  if (start >= full.length) throw invalidArg(`${name}.response`, 'a response of at least one token', sample.response);
  return { tokens: full, start, end: full.length };
}
