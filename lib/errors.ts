// Every error the library throws is a PersonaSteerError with a stable `code`; docs/errors.md
// lists them. Messages name the argument, what was expected and what was received.

export const ErrorCodes = {
  /** An argument has the wrong type, range or shape. */
  INVALID_ARG: 'ERR_INVALID_ARG',
  /** A model file is missing, unreadable or not a model llama.cpp can load. */
  MODEL_LOAD: 'ERR_MODEL_LOAD',
  /** The object was disposed before or during the call. */
  DISPOSED: 'ERR_DISPOSED',
  /** The operation was aborted through an AbortSignal. */
  ABORTED: 'ERR_ABORTED',
  /** A context could not be created (memory, unsupported settings). */
  CONTEXT_CREATE: 'ERR_CONTEXT_CREATE',
  /** llama_decode failed. */
  DECODE: 'ERR_DECODE',
  /** The prompt and the requested tokens do not fit into the context. */
  CONTEXT_OVERFLOW: 'ERR_CONTEXT_OVERFLOW',
  /** The model's architecture has no residual hook. */
  UNSUPPORTED_ARCH: 'ERR_UNSUPPORTED_ARCH',
  /** A control-vector or other GGUF file is malformed. */
  BAD_FILE: 'ERR_BAD_FILE',
  /** A vector or file does not match the model (embedding size, block count). */
  MODEL_MISMATCH: 'ERR_MODEL_MISMATCH',
  /** A trait spec is malformed. */
  BAD_SPEC: 'ERR_BAD_SPEC',
  /** The context is busy with another operation that cannot be queued. */
  BUSY: 'ERR_BUSY',
  /** Every sequence of the context is held by a Sequence object. */
  NO_SEQUENCE: 'ERR_NO_SEQUENCE',
  /** The native addon could not be loaded. */
  NATIVE_LOAD: 'ERR_NATIVE_LOAD',
  /** The model has no chat template, or it could not be applied. */
  CHAT_TEMPLATE: 'ERR_CHAT_TEMPLATE',
  /** Extraction could not produce a vector (for example no pairs survived the judge). */
  EXTRACTION: 'ERR_EXTRACTION',
  /** A feature this installation does not include (for example the benchmark runner). */
  UNAVAILABLE: 'ERR_UNAVAILABLE',
  /** An RPC server (Model.load's rpcServers) could not be reached or did not complete ggml's handshake. */
  RPC_CONNECT: 'ERR_RPC_CONNECT',
  /** An RPC server speaks another version of ggml's RPC protocol than this build. */
  RPC_VERSION: 'ERR_RPC_VERSION',
  /** A native call failed for a reason not covered above. */
  NATIVE: 'ERR_NATIVE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class PersonaSteerError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PersonaSteerError';
    this.code = code;
    // Stack from the caller of the public function, not from this constructor.
    Error.captureStackTrace?.(this, PersonaSteerError);
  }
}

/** Short, safe description of a received value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    return `${value}`;
  }
  if (typeof value === 'string') {
    const s = value.length > 40 ? `${value.slice(0, 37)}...` : value;
    return JSON.stringify(s);
  }
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'boolean') return `${value}`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) {
    return `a ${value.constructor.name} of length ${(value as unknown as { length: number }).length}`;
  }
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto === Object.prototype || proto === null) {
    const keys = Object.keys(value as object);
    if (keys.length === 0) return 'an object with no keys ({})';
    return `an object with key${keys.length > 1 ? 's' : ''} ${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', ...' : ''}`;
  }
  const ctor = (value as { constructor?: { name?: string } }).constructor?.name;
  return `an object (${ctor || Object.prototype.toString.call(value).slice(8, -1)})`;
}

export function invalidArg(name: string, expected: string, received: unknown): PersonaSteerError {
  return new PersonaSteerError(ErrorCodes.INVALID_ARG,
    `${name} must be ${expected}; received ${describe(received)}`);
}
