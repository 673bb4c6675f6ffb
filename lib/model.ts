// Model: a loaded GGUF model. Metadata, tokenizer, chat template, contexts.
import { ErrorCodes, PersonaSteerError, invalidArg } from './errors';
import { hashOpenFile } from './model-file-hash';
import { call, callAsync, native, type NativeModel, type NativeModelInfo } from './native';
import { openRegularFile } from './regular-file';
import { checkFunction, checkKeys, checkObject, checkSignal, checkString, optBool, optInt } from './validate';
import { isJinja, renderJinja } from './chat-template';
import { Context, type ContextOptions } from './context';
import { checkRpcLoadOptions } from './rpc';

export interface LoadOptions {
  /** Blocks to offload to the GPU; -1 (default) offloads every block when a GPU backend is built in. */
  gpuLayers?: number;
  /** Memory-map the file (default true). */
  useMmap?: boolean;
  /** Load only the vocabulary (tokenizer without weights): tokenize, detokenize and chat templates work; createContext does not. */
  vocabOnly?: boolean;
  /** Validate tensor data while loading (slower). */
  checkTensors?: boolean;
  /** Called with a fraction in [0, 1] as loading progresses. If it throws, the load stops and rejects with that error. */
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
  /**
   * The chat template to use instead of the model's: the name of one of llama.cpp's built-in
   * templates ('chatml', 'llama3', ...) or a Jinja template (llama.cpp's --chat-template).
   */
  chatTemplate?: string;
  /**
   * Render the chat template with Jinja (@huggingface/jinja) rather than llama.cpp's built-in
   * renderers (llama.cpp's --jinja). Default: llama.cpp's renderer for templates it recognises,
   * Jinja for the rest, and Jinja for a Jinja `chatTemplate`.
   */
  jinja?: boolean;
}

export interface ModelInfo extends NativeModelInfo {
  /** Path the model was loaded from. */
  path: string;
  /** The chat template in use: options.chatTemplate when given, else the model file's (null: none). */
  chatTemplate: string | null;
  /**
   * "sha256-ends:<hex>" of the file as it was loaded (modelFileHash: its size, first and last MiB),
   * so code holding the model never reads the file again.
   */
  fileHash: string;
}

export interface TokenizeOptions {
  /** Add BOS/EOS as the model asks (default true). */
  addSpecial?: boolean;
  /** Turn control-token text such as "<|im_start|>" into its token (default true). */
  parseSpecial?: boolean;
}

export interface TokenizeAsyncOptions extends TokenizeOptions {
  /**
   * Refuse (ERR_CONTEXT_OVERFLOW) a text of more tokens than this. A text whose length alone shows
   * it cannot fit (no token stands for more than `info.maxTokenBytes` bytes) is refused before it
   * is tokenized at all. Default: no limit.
   */
  maxTokens?: number;
}

export interface ChatMessage {
  role: string;
  content: string;
}

/** @internal Accepted option keys, per function (tests feed each a wrong-typed value). */
export const MODEL_OPTION_KEYS = {
  load: ['gpuLayers', 'useMmap', 'vocabOnly', 'checkTensors', 'onProgress', 'signal', 'rpcServers', 'tensorSplit', 'rpcTimeoutMs', 'chatTemplate', 'jinja'],
  tokenize: ['addSpecial', 'parseSpecial'],
  tokenizeAsync: ['addSpecial', 'parseSpecial', 'maxTokens'],
  detokenize: ['special'],
  applyChatTemplate: ['addAssistant', 'template'],
} as const;

export class Model {
  /** @internal */
  readonly native: NativeModel;
  readonly info: Readonly<ModelInfo>;
  /** @internal Blocks were offloaded to a GPU: contexts allocate device memory (checked by llama.cpp). */
  readonly onGpu: boolean;
  #disposed = false;
  /** options.chatTemplate (replaces the file's) and options.jinja. */
  readonly #template: { override: string | null; jinja: boolean };

  private constructor(nativeModel: NativeModel, path: string, fileHash: string, onGpu: boolean, template: { override: string | null; jinja: boolean }) {
    this.native = nativeModel;
    const info = call(() => nativeModel.info());
    this.info = Object.freeze({ ...info, path, fileHash, chatTemplate: template.override ?? info.chatTemplate });
    this.onGpu = onGpu;
    this.#template = template;
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
    const chatTemplate = opts.chatTemplate === undefined ? null : checkNoNul('options.chatTemplate', checkString('options.chatTemplate', opts.chatTemplate));
    const jinja = optBool('options.jinja', opts.jinja, false);
    if (signal?.aborted) throw new PersonaSteerError(ErrorCodes.ABORTED, `loading ${path} was aborted`);
    // A regular file, checked on a descriptor opened without blocking (a FIFO would wait for a
    // writer), hashed from that descriptor. The native loader checks its own descriptor again.
    const fileHash = await hashModelFile(path);
    if (signal?.aborted) throw new PersonaSteerError(ErrorCodes.ABORTED, `loading ${path} was aborted`);
    let progressError: { error: unknown } | undefined;
    const job = call(() => native().loadModel(path, { gpuLayers, useMmap, vocabOnly, checkTensors, ...rpc }, onProgress && ((p: number) => {
      if (progressError) return;
      try {
        onProgress(p);
      } catch (error) {
        progressError = { error };
        job.abort();
      }
    })));
    const onAbort = () => job.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    let nativeModel: NativeModel;
    try {
      nativeModel = await callAsync(job.promise);
    } catch (e) {
      if (progressError) throw progressError.error;
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    // The last progress call can come after the load finished.
    if (progressError) {
      nativeModel.dispose();
      throw progressError.error;
    }
    return new Model(nativeModel, path, fileHash, gpuLayers !== 0 && call(() => native().systemInfo()).supportsGpuOffload, { override: chatTemplate, jinja });
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** @internal */
  live(): NativeModel {
    if (this.#disposed) throw new PersonaSteerError(ErrorCodes.DISPOSED, 'the model was disposed');
    return this.native;
  }

  /**
   * Text to token ids (llama_tokenize), on the calling thread: it takes about a second per
   * megabyte of text, so prefer tokenizeAsync for text of unknown size. `addSpecial` adds BOS/EOS
   * as the model asks; `parseSpecial` turns control-token text into tokens.
   */
  tokenize(text: string, options: TokenizeOptions = {}): Int32Array {
    if (typeof text !== 'string') throw invalidArg('text', 'a string', text);
    const opts = checkObject('options', options);
    checkKeys('options', opts, MODEL_OPTION_KEYS.tokenize);
    const addSpecial = optBool('options.addSpecial', opts.addSpecial, true);
    const parseSpecial = optBool('options.parseSpecial', opts.parseSpecial, true);
    return call(() => this.live().tokenize(text, addSpecial, parseSpecial));
  }

  /**
   * As tokenize, on a libuv worker thread: the event loop keeps running however long the text.
   * With `maxTokens`, a text that cannot fit is refused with ERR_CONTEXT_OVERFLOW, from its length
   * alone when that suffices (SentencePiece and BPE vocabularies), before any tokenization work.
   */
  async tokenizeAsync(text: string, options: TokenizeAsyncOptions = {}): Promise<Int32Array> {
    if (typeof text !== 'string') throw invalidArg('text', 'a string', text);
    const opts = checkObject('options', options);
    checkKeys('options', opts, MODEL_OPTION_KEYS.tokenizeAsync);
    const addSpecial = optBool('options.addSpecial', opts.addSpecial, true);
    const parseSpecial = optBool('options.parseSpecial', opts.parseSpecial, true);
    const maxTokens = optInt('options.maxTokens', opts.maxTokens, 1, 2 ** 31 - 1, 0);
    const nm = this.live();
    return callAsync(() => nm.tokenizeAsync(text, addSpecial, parseSpecial, maxTokens));
  }

  /** Token ids to text. `special` renders control tokens (default false: they are dropped). */
  detokenize(tokens: ArrayLike<number>, options: { special?: boolean } = {}): string {
    const ids = toTokenArray('tokens', tokens, this.info.vocabularySize, true);
    const opts = checkObject('options', options);
    checkKeys('options', opts, MODEL_OPTION_KEYS.detokenize);
    const special = optBool('options.special', opts.special, false);
    return call(() => this.live().detokenize(ids, !special, special));
  }

  /** A token's own text (its UTF-8 bytes decoded alone; control tokens as their text). */
  tokenText(token: number): string {
    const [id] = toTokenArray('token', [token], this.info.vocabularySize, false);
    return new TextDecoder().decode(call(() => this.live().tokenToPiece(id, true)));
  }

  /**
   * Formats a conversation with a chat template: `options.template` (a llama.cpp built-in name or
   * a Jinja template), else Model.load's `chatTemplate`, else the model file's. Jinja templates are
   * rendered by @huggingface/jinja; named ones and the file's by llama.cpp's built-in renderers
   * when llama.cpp recognises them (unless Model.load's `jinja`), by Jinja otherwise.
   */
  applyChatTemplate(messages: ChatMessage[], options: { addAssistant?: boolean; template?: string } = {}): string {
    checkMessages(messages);
    const opts = checkObject('options', options);
    checkKeys('options', opts, MODEL_OPTION_KEYS.applyChatTemplate);
    const addAssistant = optBool('options.addAssistant', opts.addAssistant, true);
    const given = opts.template === undefined ? null : checkNoNul('options.template', checkString('options.template', opts.template));
    const nm = this.live();
    const [template, name] = given !== null ? [given, 'options.template'] : this.#template.override !== null
      ? [this.#template.override, "Model.load's options.chatTemplate"] : [this.info.chatTemplate, 'the model file\'s chat template'];
    if (template === null) {
      throw new PersonaSteerError(ErrorCodes.CHAT_TEMPLATE,
        "the model has no chat template (tokenizer.chat_template); give one as options.template or Model.load's options.chatTemplate, or format prompts as plain text");
    }
    const jinja = () => renderJinja(template, name, {
      messages, addGenerationPrompt: addAssistant, bosToken: this.#special(this.info.bosToken), eosToken: this.#special(this.info.eosToken),
    });
    if (isJinja(template) && (given !== null || this.#template.override !== null || this.#template.jinja)) return jinja();
    try {
      return call(() => nm.applyChatTemplate(messages, addAssistant, template));
    } catch (e) {
      // llama.cpp recognises a fixed list of templates; any other Jinja template is rendered as written.
      if (e instanceof PersonaSteerError && e.code === ErrorCodes.CHAT_TEMPLATE && isJinja(template)) return jinja();
      if (e instanceof PersonaSteerError && e.code === ErrorCodes.CHAT_TEMPLATE) {
        throw new PersonaSteerError(ErrorCodes.CHAT_TEMPLATE, `${name} is neither a Jinja template nor one of llama.cpp's built-in template names: ${JSON.stringify(template.slice(0, 40))}`);
      }
      throw e;
    }
  }

  #special(token: number): string {
    return token >= 0 && token < this.info.vocabularySize ? this.tokenText(token) : '';
  }

  /** Creates an inference context on this model (the model stays alive while the context lives). */
  createContext(options: ContextOptions = {}): Promise<Context> {
    this.live();
    if (this.info.vocabOnly) {
      return Promise.reject(new PersonaSteerError(ErrorCodes.CONTEXT_CREATE,
        `${this.info.path} was loaded with { vocabOnly: true }: it has no weights, so it can tokenize but not create a context; load it without vocabOnly`));
    }
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
    checkNoNul(`${name}[${i}].role`, checkString(`${name}[${i}].role`, o.role));
    checkNoNul(`${name}[${i}].content`, checkString(`${name}[${i}].content`, o.content, false));
  });
}

/** llama.cpp reads chat messages and templates as C strings: a NUL would silently cut the text there. */
function checkNoNul(name: string, value: string): string {
  const at = value.indexOf('\0');
  if (at >= 0) throw invalidArg(name, `a string without NUL characters (found one at index ${at}; llama.cpp would cut the text there)`, value);
  return value;
}

/** Model.load's file check and hash: ERR_MODEL_LOAD naming what the path is when it cannot be a model. */
async function hashModelFile(path: string): Promise<string> {
  const error = (m: string, cause?: unknown) => new PersonaSteerError(ErrorCodes.MODEL_LOAD,
    (cause as NodeJS.ErrnoException)?.code === 'ENOENT' ? `no model file at ${path}` : m, { cause });
  const { handle, size } = await openRegularFile(path, { maxBytes: Number.MAX_SAFE_INTEGER, what: 'model file', error });
  try {
    return await hashOpenFile(handle, size);
  } catch (e) {
    throw error(`cannot read model file ${path}: ${(e as Error).message}`, e);
  } finally {
    await handle.close().catch(() => undefined);
  }
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
