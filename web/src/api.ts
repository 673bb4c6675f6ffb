// The server's wire shapes (docs/server.md) and the calls the page makes: JSON requests, and the
// SSE streams of /v1/chat/completions and /v1/vectors/extract read from fetch (EventSource cannot
// POST). Same origin as the page; the API key, when the server wants one, goes in a bearer header.

export interface WireVector {
  name: string;
  origin: string;
  trait: string | null;
  description: string | null;
  method: string | null;
  n_embd: number;
  blocks: number[];
  vector_norms: number[];
  recommended_blocks: number[] | null;
  coefficient: number | null;
  positions: Positions | null;
  recommended_by: string | null;
  cap_blocks: number[] | null;
  cap_thresholds: number[] | null;
  cap_positions: Positions | null;
  residual_norms: number[] | null;
  warnings: string[];
}

export type Positions = 'all' | 'prompt' | 'generated';

export interface WireProjection { vector: string; block: number; value: number }

export interface WireModel {
  id: string;
  persona_steer?: { architecture: string; n_layer: number; n_embd: number; parameters: number; chat_template: boolean; max_tokens: number; slot_context: number };
}

export type WireOp =
  | { op: 'add'; vector: string; scale: number; blocks: number[] }
  | { op: 'cap'; vector: string; max?: number; blocks?: number[] };

export interface ChatMessage { role: 'system' | 'user' | 'assistant'; content: string }

export interface ChatRequest {
  messages: ChatMessage[];
  stream: true;
  stream_options: { include_usage: true };
  max_tokens: number;
  temperature: number;
  top_p: number;
  top_k: number;
  min_p: number;
  seed: number;
  steering: WireOp[] | false;
  steering_positions?: Positions;
  monitor: { vector: string; blocks: 'all' }[] | false;
}

export interface ExtractRequest {
  name: string;
  positive: string;
  negative: string;
  questions: string[];
  max_tokens: number;
  calibrate: boolean;
  stream: true;
}

export interface ExtractProgress { object: 'vector.extraction.progress'; phase: string; done: number; total: number }

/** A failed request: OpenAI's error shape, as the server sends it. */
export class RequestError extends Error {
  readonly status: number;
  readonly code: string | null;
  readonly param: string | null;
  constructor(status: number, message: string, code: string | null = null, param: string | null = null) {
    super(message);
    this.name = 'RequestError';
    this.status = status;
    this.code = code;
    this.param = param;
  }
}

export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === 'AbortError';
}

let apiKey = '';
export function setApiKey(key: string): void {
  apiKey = key.trim();
}

function headers(json: boolean): Record<string, string> {
  const h: Record<string, string> = {};
  if (json) h['content-type'] = 'application/json';
  if (apiKey) h.authorization = `Bearer ${apiKey}`;
  return h;
}

async function failure(r: Response): Promise<RequestError> {
  let body: { error?: { message?: string; code?: string; param?: string } } = {};
  try {
    body = await r.json();
  } catch {
    // not JSON: the status says enough
  }
  const e = body.error ?? {};
  return new RequestError(r.status, e.message ?? `${r.status} ${r.statusText}`, e.code ?? null, e.param ?? null);
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const r = await fetch(path, { headers: headers(false), signal });
  if (!r.ok) throw await failure(r);
  return (await r.json()) as T;
}

/**
 * POSTs a JSON body that asks for a stream and calls `onEvent` with each `data:` event's JSON until
 * `[DONE]`. An `{ error }` event (the server's way to fail after the headers went out) throws.
 */
export async function postStream(path: string, body: unknown, onEvent: (data: unknown) => void, signal?: AbortSignal): Promise<void> {
  const r = await fetch(path, { method: 'POST', headers: headers(true), body: JSON.stringify(body), signal });
  if (!r.ok || r.body === null) throw await failure(r);
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
      if (data === '') continue; // a comment (": queued")
      if (data === '[DONE]') return;
      const parsed = JSON.parse(data) as { error?: { message: string; code?: string; param?: string } };
      if (parsed.error) throw new RequestError(200, parsed.error.message, parsed.error.code ?? null, parsed.error.param ?? null);
      onEvent(parsed);
    }
  }
  throw new RequestError(0, 'the stream ended before [DONE] (the server stopped?)', 'stream_truncated');
}

export const listVectors = (signal?: AbortSignal) => getJson<{ data: WireVector[] }>('/v1/vectors', signal).then((r) => r.data);
export const getModel = (signal?: AbortSignal) => getJson<{ data: WireModel[] }>('/v1/models', signal).then((r) => r.data[0]!);
