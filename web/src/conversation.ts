// The conversation: turns of one question and one answer (two in compare mode: unsteered, then
// steered), each answer a list of tokens as they streamed, with the projections the server sent for
// each (docs/server.md#the-persona-trace). A reducer, so a stream's chunks only ever append.
import type { ChatMessage, ChatRequest, WireProjection } from './api';

export interface Token {
  text: string;
  /** The projections at the position whose output picked this token (every monitored vector and block). */
  proj: WireProjection[];
}

export type AnswerKind = 'answer' | 'unsteered' | 'steered';

export interface Answer {
  kind: AnswerKind;
  request: ChatRequest;
  tokens: Token[];
  /** The projection at the prompt's last token: what predicts the answer's persona. */
  lastPrompt: WireProjection[] | null;
  finish: string | null;
  error: string | null;
  done: boolean;
  usage: { prompt_tokens: number; completion_tokens: number } | null;
}

export interface Turn {
  id: number;
  user: string;
  answers: Answer[];
}

export type Action =
  | { type: 'start'; turn: Turn }
  | { type: 'token'; turn: number; answer: number; token: Token; lastPrompt?: WireProjection[] }
  | { type: 'finish'; turn: number; answer: number; reason: string }
  | { type: 'usage'; turn: number; answer: number; usage: Answer['usage'] }
  | { type: 'end'; turn: number; answer: number; error?: string }
  | { type: 'reset' };

function updateAnswer(turns: Turn[], id: number, index: number, f: (a: Answer) => Answer): Turn[] {
  return turns.map((t) => (t.id !== id ? t : { ...t, answers: t.answers.map((a, i) => (i === index ? f(a) : a)) }));
}

export function conversationReducer(turns: Turn[], action: Action): Turn[] {
  switch (action.type) {
    case 'start':
      return [...turns, action.turn];
    case 'token':
      return updateAnswer(turns, action.turn, action.answer, (a) => ({
        ...a,
        tokens: [...a.tokens, action.token],
        lastPrompt: a.lastPrompt ?? action.lastPrompt ?? null,
      }));
    case 'finish':
      return updateAnswer(turns, action.turn, action.answer, (a) => ({ ...a, finish: action.reason }));
    case 'usage':
      return updateAnswer(turns, action.turn, action.answer, (a) => ({ ...a, usage: action.usage }));
    case 'end':
      return updateAnswer(turns, action.turn, action.answer, (a) => ({ ...a, done: true, error: action.error ?? a.error }));
    case 'reset':
      return [];
  }
}

export function answerText(a: Answer): string {
  return a.tokens.map((t) => t.text).join('');
}

/** The answer the conversation continues from: the steered one in compare mode. */
export function mainAnswer(t: Turn): Answer | undefined {
  return t.answers[t.answers.length - 1];
}

/** The messages for the next question: the system prompt, then every finished turn. */
export function history(system: string, turns: readonly Turn[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (system.trim() !== '') out.push({ role: 'system', content: system });
  for (const t of turns) {
    const a = mainAnswer(t);
    out.push({ role: 'user', content: t.user });
    if (a && answerText(a) !== '') out.push({ role: 'assistant', content: answerText(a) });
  }
  return out;
}

export function valueOf(list: readonly WireProjection[] | null | undefined, vector: string, block: number): number | null {
  const p = list?.find((x) => x.vector === vector && x.block === block);
  return p ? p.value : null;
}

/** The cap bound an answer's request put on a vector at a block, or null. */
export function capInRequest(a: Answer, vector: string, block: number): number | null {
  const ops = a.request.steering;
  if (ops === false) return null;
  for (const o of ops) if (o.op === 'cap' && o.vector === vector && o.max !== undefined && (o.blocks ?? []).includes(block)) return o.max;
  return null;
}
