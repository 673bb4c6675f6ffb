// Model: a loaded GGUF model. Metadata, tokenizer, chat template, contexts.
import fs from 'node:fs';
import { ErrorCodes, PersonaSteerError, invalidArg } from './errors';
import { call, callAsync, native, type NativeModel, type NativeModelInfo } from './native';
import { checkFunction, checkKeys, checkObject, checkSignal, checkString, optBool, optInt } from './validate';
import { isJinja, renderJinja } from './chat-template';
import { Context, type ContextOptions } from './context';

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
}

export interface ChatMessage {
  role: string;
  content: string;
}

/** @internal Accepted option keys, per function (tests feed each a wrong-typed value). */
export const MODEL_OPTION_KEYS = {
  load: ['gpuLayers', 'useMmap', 'vocabOnly', 'checkTensors', 'onProgress', 'signal', 'chatTemplate', 'jinja'],
  tokenize: ['addSpecial', 'parseSpecial'],
  detokenize: ['special'],
  applyChatTemplate: ['addAssistant', 'template'],
} as const;

export class Model {
  /** @internal */
  readonly native: NativeModel;
  readonly info: Readonly<ModelInfo>;
  #disposed = false;
  /** options.chatTemplate (replaces the file's) and options.jinja. */
  readonly #template: { override: string | null; jinja: boolean };

  private constructor(nativeModel: NativeModel, path: string, template: { override: string | null; jinja: boolean }) {
    this.native = nativeModel;
    const info = nativeModel.info();
    this.info = Object.freeze({ ...info, path, chatTemplate: template.override ?? info.chatTemplate });
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
    const chatTemplate = opts.chatTemplate === undefined ? null : checkString('options.chatTemplate', opts.chatTemplate);
    const jinja = optBool('options.jinja', opts.jinja, false);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(path);
    } catch {
      throw new PersonaSteerError(ErrorCodes.MODEL_LOAD, `no model file at ${path}`);
    }
    if (!stat.isFile()) throw new PersonaSteerError(ErrorCodes.MODEL_LOAD, `${path} is not a file`);
    if (signal?.aborted) throw new PersonaSteerError(ErrorCodes.ABORTED, `loading ${path} was aborted`);
    const job = call(() => native().loadModel(path, { gpuLayers, useMmap, vocabOnly, checkTensors }, onProgress));
    const onAbort = () => job.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return new Model(await callAsync(job.promise), path, { override: chatTemplate, jinja });
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
    const given = opts.template === undefined ? null : checkString('options.template', opts.template);
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
