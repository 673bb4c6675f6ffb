// Errors on the wire, in OpenAI's shape: { "error": { "message", "type", "param", "code" } } with
// the right HTTP status. Every failure a request can cause becomes an ApiError (4xx); anything else
// is a 500 that still answers the request (the server keeps serving).
import { ErrorCodes, PersonaSteerError } from '../errors';

export type ErrorType = 'invalid_request_error' | 'authentication_error' | 'not_found_error' | 'rate_limit_error'
  | 'server_error' | 'service_unavailable';

export interface WireError {
  message: string;
  type: ErrorType;
  param: string | null;
  code: string | null;
}

export class ApiError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly param: string | null;
  readonly code: string | null;
  /** Extra response headers (Retry-After on 429, WWW-Authenticate on 401). */
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, options: { type?: ErrorType; param?: string | null; code?: string | null; headers?: Record<string, string> } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.type = options.type ?? (status === 401 ? 'authentication_error' : status === 404 ? 'not_found_error'
      : status === 429 ? 'rate_limit_error' : status === 503 ? 'service_unavailable' : status >= 500 ? 'server_error' : 'invalid_request_error');
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.headers = options.headers ?? {};
  }

  toWire(): { error: WireError } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** A bad value in the request body: 400 naming the field (`messages[0].role`, `steering[1].scale`). */
export function badRequest(param: string | null, message: string, code = 'invalid_value'): ApiError {
  return new ApiError(400, message, { param, code });
}

/** Library error codes that mean "the request asked for something impossible": 400, never 500. */
const CLIENT_CODES = new Set<string>([
  ErrorCodes.INVALID_ARG, ErrorCodes.CONTEXT_OVERFLOW, ErrorCodes.MODEL_MISMATCH, ErrorCodes.BAD_FILE,
  ErrorCodes.BAD_SPEC, ErrorCodes.CHAT_TEMPLATE, ErrorCodes.EXTRACTION,
]);

/**
 * A library error raised while handling a request. `param` names the request field it came from
 * (the library's own message names its argument, e.g. options.blocks, which the client never saw).
 */
export function fromLibraryError(e: PersonaSteerError, param: string | null = null): ApiError {
  if (e.code === ErrorCodes.CONTEXT_OVERFLOW) return new ApiError(400, e.message, { param, code: 'context_length_exceeded' });
  if (CLIENT_CODES.has(e.code)) return new ApiError(400, param ? `${param}: ${e.message}` : e.message, { param, code: e.code });
  if (e.code === ErrorCodes.DISPOSED) return new ApiError(503, 'the server is shutting down', { code: 'shutting_down' });
  if (e.code === ErrorCodes.ABORTED) return new ApiError(499, 'the request was aborted', { code: 'aborted', type: 'invalid_request_error' });
  return new ApiError(500, e.message, { code: e.code });
}

/** Fastify's own errors (bad JSON, body too large, wrong content type ...) keep their 4xx status. */
interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message: string;
  validation?: { instancePath: string; keyword: string; message?: string; params: Record<string, unknown> }[];
  validationContext?: string;
}

/** JSON pointer /messages/0/role -> messages[0].role */
export function pointerToParam(pointer: string): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

/** What each field with alternatives (anyOf in the schemas) accepts, for the error message. */
const ALTERNATIVES: Record<string, string> = {
  steering: 'false or an array of steering operations { op, vector, ... }',
  monitor: 'false or an array of { vector, blocks? }',
  stop: 'a non-empty string, an array of non-empty strings, or null',
  prompt: 'a non-empty string, an array holding one string, or an array of token ids',
  blocks: 'a block index, a non-empty array of block indices, or "all"',
  content: 'a string or an array of { "type": "text", "text" }',
};

const TYPE_NAMES: Record<string, string> = {
  integer: 'an integer', number: 'a number', string: 'a string', boolean: 'a boolean', array: 'an array', object: 'an object', null: 'null',
};

type AjvError = NonNullable<FastifyLikeError['validation']>[number];

function describeValidation(err: FastifyLikeError): ApiError {
  // A missing or unknown field sits one level below the object the error is reported on.
  const depth = (e: AjvError) => (e.instancePath === '' ? 0 : e.instancePath.split('/').length - 1)
    + (e.keyword === 'additionalProperties' || e.keyword === 'required' ? 1 : 0);
  // The deepest error is the most specific; at equal depth the anyOf summary says what is accepted.
  const sorted = [...err.validation!].sort((a, b) => depth(b) - depth(a) || Number(b.keyword === 'anyOf') - Number(a.keyword === 'anyOf'));
  let v = sorted[0]!;
  // An error one level inside a field with alternatives (prompt[0] when prompt may be a string or
  // a list) is better told as what the field accepts.
  const summary = sorted.find((e) => e.keyword === 'anyOf' && ALTERNATIVES[e.instancePath.split('/').pop() ?? ''] !== undefined
    && depth(v) - depth(e) <= 1 && v.instancePath.startsWith(e.instancePath));
  if (summary) v = summary;
  const where = err.validationContext === 'querystring' ? 'query ' : err.validationContext === 'params' ? 'path ' : '';
  const base = pointerToParam(v.instancePath);
  if (v.keyword === 'additionalProperties') {
    const field = String(v.params.additionalProperty);
    const param = base ? `${base}.${field}` : field;
    // GET /v1/vectors and the library say `coefficient`; on the wire an addition's strength is `scale`.
    const hint = field === 'coefficient' && /^steering\[\d+\]$/.test(base) ? "; an addition's strength is `scale`" : '';
    return badRequest(param, `${where}${param}: unknown field (this server does not accept it${hint}; docs/server.md lists the fields)`, 'unknown_field');
  }
  if (v.keyword === 'required') {
    const field = String(v.params.missingProperty);
    const param = base ? `${base}.${field}` : field;
    return badRequest(param, `${where}${param} is required`, 'missing_field');
  }
  const param = base || null;
  const name = `${where}${param ?? 'the body'}`;
  const last = v.instancePath.split('/').pop() ?? '';
  let expected: string;
  if (v.keyword === 'anyOf' || v.keyword === 'const') expected = ALTERNATIVES[last] ? `must be ${ALTERNATIVES[last]}` : v.keyword === 'const' ? `must be ${JSON.stringify(v.params.allowedValue)}` : 'is not an accepted value';
  else if (v.keyword === 'enum' && Array.isArray(v.params.allowedValues)) expected = `must be one of ${(v.params.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(', ')}`;
  else if (v.keyword === 'type') expected = `must be ${String(v.params.type).split(',').map((t) => TYPE_NAMES[t] ?? t).join(' or ')}`;
  else expected = v.message ?? 'is invalid';
  return badRequest(param, `${name} ${expected}`, v.keyword === 'type' ? 'invalid_type' : 'invalid_value');
}

/** Any error thrown while handling a request, as the ApiError to answer with. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof PersonaSteerError) return fromLibraryError(err);
  const e = err as FastifyLikeError;
  if (e && Array.isArray(e.validation) && e.validation.length > 0) return describeValidation(e);
  if (e && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code = e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'body_too_large'
      : e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported_media_type'
        : e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'empty_body'
          : e.code?.startsWith('FST_ERR_CTP_INVALID_JSON') || e.statusCode === 400 ? 'invalid_json' : (e.code ?? null);
    return new ApiError(e.statusCode, e.message, { code });
  }
  return new ApiError(500, `internal error: ${(e as Error)?.message ?? String(err)}`, { code: 'internal_error' });
}
