// Model: a loaded GGUF model. Metadata, tokenizer, chat template, contexts.
import fs from 'node:fs';
import { ErrorCodes, PersonaSteerError, invalidArg } from './errors';
import { call, callAsync, native, type NativeModel, type NativeModelInfo } from './native';
import { checkFunction, checkKeys, checkObject, checkSignal, checkString, optBool, optInt } from './validate';
import { Context, type ContextOptions } from './context';
import { checkRpcLoadOptions } from './rpc';

export interface LoadOptions {
  /** Blocks to offload to the GPU; -1 (default) offloads every block when a GPU backend is built in. */
  gpuLayers?: number;
  /** Memory-map the file (default true). */
  useMmap?: boolean;
  /** Load only the vocabulary (tokenizer without weights). */
  vocabOnly?: boolean;
  /** Validate tensor data while loading (slower). */
  checkTensors?: boolean;
  /** Called with a fraction in [0, 1] as loading progresses. */
  onProgress?: (progress: number) => void;
  /** Aborts loading; the promise rejects with ERR_ABORTED. */
  signal?: AbortSignal;
  /**
   * ggml rpc-servers (`'host:port'`, `persona-steer rpc-server`) whose devices take the offloaded
   * blocks: the last `gpuLayers` blocks go to the servers' devices in order, then local GPUs; the
   * other blocks stay on the local CPU (docs/distributed.md). Needs a build with the RPC backend.
   * Errors: ERR_RPC_CONNECT, ERR_RPC_VERSION (before any weight is sent), ERR_UNAVAILABLE.
   */
  rpcServers?: string[];
  /** Proportions of the offloaded blocks per device (llama.cpp's tensor_split): one per device, RPC servers' first. */
  tensorSplit?: number[];
  /** How long to wait for each RPC server's handshake at load (ms, default 5000). */
  rpcTimeoutMs?: number;
}

export interface ModelInfo extends NativeModelInfo {
  /** Path the model was loaded from. */
  path: string;
}

export interface ChatMessage {
  role: string;
  content: string;
}

/** @internal Accepted option keys, per function (tests feed each a wrong-typed value). */
export const MODEL_OPTION_KEYS = {
  load: ['gpuLayers', 'useMmap', 'vocabOnly', 'checkTensors', 'onProgress', 'signal', 'rpcServers', 'tensorSplit', 'rpcTimeoutMs'],
  tokenize: ['addSpecial', 'parseSpecial'],
  detokenize: ['special'],
  applyChatTemplate: ['addAssistant', 'template'],
} as const;

export class Model {
  /** @internal */
  readonly native: NativeModel;
  readonly info: Readonly<ModelInfo>;
  #disposed = false;

  private constructor(nativeModel: NativeModel, path: string) {
    this.native = nativeModel;
    this.info = Object.freeze({ ...nativeModel.info(), path });
  }

  /** Loads a GGUF model on a native thread. */
  static async load(path: string, options: LoadOptions = {}): Promise<Model> {
    checkString('path', path);
    const opts = checkObject('options', options);
    checkKeys('options', opts, MODEL_OPTION_KEYS.load);
    const gpuLayers = optInt('options.gpuLayers', opts.gpuLayers, -1, 100000, -1);
    const useMmap = optBool('options.useMmap', opts.useMmap, true);
    const vocabOnly = optBool('options.vocabOnly', opts.vocabOnly, false);
    const checkTensors = optBool('options.checkTensors', opts.checkTensors, false);
    const onProgress = checkFunction<(p: number) => void>('options.onProgress', opts.onProgress);
    const signal = checkSignal('options.signal', opts.signal);
    const rpc = checkRpcLoadOptions(opts);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(path);
    } catch {
      throw new PersonaSteerError(ErrorCodes.MODEL_LOAD, `no model file at ${path}`);
    }
    if (!stat.isFile()) throw new PersonaSteerError(ErrorCodes.MODEL_LOAD, `${path} is not a file`);
    if (signal?.aborted) throw new PersonaSteerError(ErrorCodes.ABORTED, `loading ${path} was aborted`);
    const job = call(() => native().loadModel(path, { gpuLayers, useMmap, vocabOnly, checkTensors, ...rpc }, onProgress));
    const onAbort = () => job.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return new Model(await callAsync(job.promise), path);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** @internal */
  live(): NativeModel {
    if (this.#disposed) throw new PersonaSteerError(ErrorCodes.DISPOSED, 'the model was disposed');
    return this.native;
  }

  /** Text to token ids. `addSpecial` adds BOS/EOS as the model asks; `parseSpecial` turns control-token text into tokens. */
  tokenize(text: string, options: { addSpecial?: boolean; parseSpecial?: boolean } = {}): Int32Array {
    if (typeof text !== 'string') throw invalidArg('text', 'a string', text);
    const opts = checkObject('options', options);
    checkKeys('options', opts, MODEL_OPTION_KEYS.tokenize);
    const addSpecial = optBool('options.addSpecial', opts.addSpecial, true);
    const parseSpecial = optBool('options.parseSpecial', opts.parseSpecial, true);
    return call(() => this.live().tokenize(text, addSpecial, parseSpecial));
  }

  /** Token ids to text. `special` renders control tokens (default false: they are dropped). */
  detokenize(tokens: ArrayLike<number>, options: { special?: boolean } = {}): string {
    const ids = toTokenArray('tokens', tokens, this.info.vocabularySize, true);
    const opts = checkObject('options', options);
    checkKeys('options', opts, MODEL_OPTION_KEYS.detokenize);
    const special = optBool('options.special', opts.special, false);
    return call(() => this.live().detokenize(ids, !special, special));
  }

  /** Formats a conversation with the model's chat template (llama.cpp's built-in template support). */
  applyChatTemplate(messages: ChatMessage[], options: { addAssistant?: boolean; template?: string } = {}): string {
    checkMessages(messages);
    const opts = checkObject('options', options);
    checkKeys('options', opts, MODEL_OPTION_KEYS.applyChatTemplate);
    const addAssistant = optBool('options.addAssistant', opts.addAssistant, true);
    const template = opts.template === undefined ? null : checkString('options.template', opts.template);
    return call(() => this.live().applyChatTemplate(messages, addAssistant, template));
  }

  /** Creates an inference context on this model (the model stays alive while the context lives). */
  createContext(options: ContextOptions = {}): Promise<Context> {
    this.live();
    return Context.create(this, options);
  }

  /** Frees the model. Contexts created from it keep its weights alive until they are disposed. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.native.dispose();
  }
}

export function checkMessages(messages: unknown, name = 'messages'): asserts messages is ChatMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) throw invalidArg(name, 'a non-empty array of { role, content }', messages);
  messages.forEach((m, i) => {
    const o = checkObject(`${name}[${i}]`, m, false);
    checkKeys(`${name}[${i}]`, o, ['role', 'content']);
    checkString(`${name}[${i}].role`, o.role);
    checkString(`${name}[${i}].content`, o.content, false);
  });
}

export function toTokenArray(name: string, tokens: unknown, nVocab: number, allowEmpty: boolean): Int32Array {
  if (!(tokens instanceof Int32Array) && !Array.isArray(tokens) && !(ArrayBuffer.isView(tokens))) {
    throw invalidArg(name, 'an Int32Array or an array of token ids', tokens);
  }
  const arr = tokens as ArrayLike<unknown>;
  if (!allowEmpty && arr.length === 0) throw invalidArg(name, 'at least one token', tokens);
  const out = new Int32Array(arr.length);
  for (let i = 0; i < arr.length; i++) {
    const t = arr[i];
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= nVocab) {
      throw invalidArg(`${name}[${i}]`, `a token id in [0, ${nVocab})`, t);
    }
    out[i] = t;
  }
  return out;
}
