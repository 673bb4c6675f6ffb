// Context: an inference context over a Model, with one or more sequences. Every call runs on a
// sequence of its own: with `sequences: 1` calls run one after another in call order; with more,
// up to that many run at once, and their generations advance together in one llama_decode per
// step (continuous batching). Each call's steering plan, monitor and captures belong to that call
// and take effect when it starts running; calls without `steer` take the context's default plan
// (setSteering) as it is when they start.
import { createHash } from 'node:crypto';
import { checkContextMemory } from './context-memory';
import { ErrorCodes, PersonaSteerError, invalidArg } from './errors';
import { GenerationStream, splitRows, type CapturedRows, type GenerationResult, type TokenEvent } from './generation-stream';
import { buildMonitor, type MonitorEntry, type MonitorLayout } from './monitor-layout';
import { outputFlags } from './output-flags';
import {
  call, callAsync, native, type NativeContext, type NativeContextStats, type NativeEvaluateRequest, type NativeGenerateJob,
  type NativeGenerateSummary, type NativePlan, type NativeSampling,
} from './native';
import type { ChatMessage, Model } from './model';
import { checkMessages, toTokenArray } from './model';
import { jsonSchemaToGrammar } from './grammar/json-schema';
import { SequencePool } from './sequence-pool';
import { toNativeOp, toNativePlan, type SteeringPlan, type SteerOp, type VectorInput } from './steering';
import {
  FLOAT32_MAX, checkBlocks, checkInt, checkKeys, checkObject, checkOneOf, checkSignal, checkString, optBool, optInt, optNumber, readOptions,
} from './validate';

export interface ContextOptions {
  /** Tokens each sequence holds (default min(2048, the model's training context)); the context
   * holds sequences * contextSize. */
  contextSize?: number;
  /** Tokens per llama_decode call (default 512, at most contextSize). */
  batchSize?: number;
  /** CPU threads (default: all cores). */
  threads?: number;
  /** Sequences (default 1): how many calls run at once, decoded together. */
  sequences?: number;
  /** Flash attention (default false; llama.cpp's -fa). */
  flashAttention?: boolean;
  /**
   * KV cache element type (llama.cpp's -ctk/-ctv): one type for K and V, or { k, v } (default
   * 'f16'). A quantized V cache needs flashAttention, as in llama.cpp. Quantized caches trade a
   * little accuracy for memory (docs/api.md gives the measured differences).
   */
  kvCacheType?: KvCacheType | { k?: KvCacheType; v?: KvCacheType };
}

/** KV cache element types, as llama.cpp's --cache-type-k/--cache-type-v name them. */
export const KV_CACHE_TYPES = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'iq4_nl', 'q5_0', 'q5_1'] as const;
export type KvCacheType = typeof KV_CACHE_TYPES[number];

/** A prompt: text (tokenized with the model's special tokens), token ids, or chat messages. */
export type PromptInput = string | ArrayLike<number> | { messages: ChatMessage[] };

/**
 * A call's steering: a plan (or a bare array of ops) for this call only; `false`, `null` or `[]`
 * for none; omitted, the context's default (setSteering) as it is when the call starts.
 */
export type SteerOption = SteeringPlan | SteerOp[] | false | null;

export interface SamplingOptions {
  /** Greedy decoding (also when temperature is 0). */
  greedy?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repeatPenalty?: number;
  repeatLastN?: number;
  seed?: number;
  /**
   * A GBNF grammar (llama.cpp's grammar format, root rule `root`): only text the grammar accepts
   * is generated (llama.cpp's grammar sampler, ahead of the other samplers).
   */
  grammar?: string;
  /** A JSON schema (the subset docs/api.md lists), turned into a grammar: the output is JSON valid under it. */
  jsonSchema?: object | boolean;
  /** Report each generated token's log-probability under the model (log-softmax of the raw logits). */
  logprobs?: boolean;
  /** Also report the N most likely tokens at each step, 0–100 (implies logprobs). */
  topLogprobs?: number;
}

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate at most (default 256). */
  maxTokens?: number;
  /** Stop before any of these strings; they are not part of the text. */
  stop?: string[];
  /** Stop at an end-of-generation token (default true). */
  stopAtEog?: boolean;
  /** Stops generation before the next token; the result has stopReason 'abort'. */
  signal?: AbortSignal;
  /** This call's steering plan (see SteerOption); it ends with the call. */
  steer?: SteerOption;
  /** Projections to read back with every token. */
  monitor?: MonitorEntry[];
  /** Block outputs to capture for every decoded position. */
  capture?: { blocks: number[] | number | 'all' };
}

export interface CaptureOptions {
  /** This call's steering (default: the context's default plan). */
  steer?: SteerOption;
  /** Blocks to read (default 'all'). */
  blocks?: number[] | number | 'all';
  /** Which tokens: every one, the last one, or a mask with one boolean per token. */
  positions?: 'all' | 'last' | boolean[];
  /** 'mean' averages the selected rows inside the graph (memory independent of the token count). */
  reduce?: 'none' | 'mean';
}

export interface CaptureResult {
  tokens: Int32Array;
  /** reduce 'none': per block, one row per selected token, with its position. */
  blocks: CapturedRows[];
  /** reduce 'mean': per block, the mean of the selected rows. */
  means: { block: number; mean: Float32Array; count: number }[];
}

export interface MeanItem {
  /** Token ids of one sample (for example prompt + response). */
  tokens: ArrayLike<number>;
  /** Half-open range of positions [start, end) to average (for example the response). */
  start: number;
  end: number;
}

export interface EvaluateSequence {
  tokens: ArrayLike<number>;
  /** Sequence id (default 0; below the context's `sequences`). */
  seq?: number;
  /** Position of tokens[0] (default 0). */
  pos0?: number;
  /** Which tokens produce logits (default 'last'). */
  logits?: 'last' | 'all' | 'none';
}

export interface EvaluateResult {
  /** One row of vocabulary logits per output token, in batch order. */
  logits: Float32Array[];
  /** Captured block outputs, labelled with (sequence, position). */
  captures: CapturedRows[];
}

export interface LogitsResult {
  tokens: Int32Array;
  /** Logits of the last token, or of every token with { all: true } ([n][vocab]). */
  logits: Float32Array;
  outputs: number;
}

/** @internal Accepted option keys, per function (tests feed each a wrong-typed value). */
export const CONTEXT_OPTION_KEYS = {
  createContext: ['contextSize', 'batchSize', 'threads', 'sequences', 'flashAttention', 'kvCacheType'],
  generate: ['greedy', 'temperature', 'topK', 'topP', 'minP', 'repeatPenalty', 'repeatLastN', 'seed',
    'grammar', 'jsonSchema', 'logprobs', 'topLogprobs', 'maxTokens', 'stop', 'stopAtEog', 'signal', 'steer', 'monitor', 'capture'],
  capture: ['steer', 'blocks', 'positions', 'reduce'],
  captureMean: ['steer', 'blocks', 'signal'],
  projectionMeans: ['steer', 'signal'],
  logits: ['steer', 'all'],
  evaluate: ['steer', 'keepMemory', 'captureBlocks'],
  setLlamaControlVector: ['scale', 'blocks'],
} as const;

/** Text longer than this (UTF-16 units) is tokenized on a worker thread by the calls. */
const SYNC_TOKENIZE_CHARS = 4096;

/** A validated call plan: a native plan, null (unsteered) or undefined (the default at start). */
type CallPlan = NativePlan | null | undefined;

/** @internal What a generation needs, validated at the call. */
interface GenerationRequest {
  /** A promise when long text is being tokenized on a worker thread. */
  tokens: Int32Array | Promise<Int32Array>;
  maxTokens: number;
  sampling: NativeSampling;
  stopAtEog: boolean;
  stops: string[];
  signal?: AbortSignal;
  steer: CallPlan;
  layout: MonitorLayout | null;
  captureRows?: Int32Array;
}

/** @internal How a generation runs on a sequence: which id, what the cells already hold. */
interface GenerationRun {
  seq: number;
  nKeep: number;
  retain: boolean;
  plan: NativePlan | null;
  /** Called once when the generation ends (summary null: it failed or never ran), with every token it emitted. */
  done(summary: NativeGenerateSummary | null, emitted: readonly number[]): void;
}

export class Context {
  readonly model: Model;
  /** @internal */
  readonly native: NativeContext;
  /** Tokens each sequence holds. */
  readonly contextSize: number;
  readonly batchSize: number;
  readonly threads: number;
  /** Sequences: how many calls run at once. */
  readonly sequences: number;
  readonly flashAttention: boolean;
  /** KV cache element types. */
  readonly kvCacheType: { k: KvCacheType; v: KvCacheType };
  #disposed = false;
  #disposing: Promise<void> | null = null;
  #default: NativePlan | null = null;
  /** @internal */
  readonly pool: SequencePool;
  /** @internal Sequence objects by id, told when a one-shot call borrows their cells. */
  readonly owners = new Map<number, { invalidate(): void }>();

  private constructor(model: Model, nativeContext: NativeContext, flashAttention: boolean, kv: { k: KvCacheType; v: KvCacheType }) {
    this.model = model;
    this.native = nativeContext;
    this.flashAttention = flashAttention;
    this.kvCacheType = kv;
    const info = nativeContext.info();
    this.contextSize = info.contextSize;
    this.batchSize = info.batchSize;
    this.threads = info.threads;
    this.sequences = info.sequences;
    this.pool = new SequencePool(this.sequences);
    this.pool.onLend = (id) => this.owners.get(id)?.invalidate();
  }

  /** @internal */
  static async create(model: Model, options: ContextOptions): Promise<Context> {
    const o = readOptions('options', options, CONTEXT_OPTION_KEYS.createContext);
    const train = model.info.trainingContextSize > 0 ? model.info.trainingContextSize : 2048;
    const contextSize = optInt('options.contextSize', o.contextSize, 8, 1 << 20, Math.min(2048, train));
    const sequences = optInt('options.sequences', o.sequences, 1, 64, 1);
    // a batch can carry every sequence's tokens, but never more than the cells there are
    const batchSize = optInt('options.batchSize', o.batchSize, 1, contextSize * sequences, Math.min(512, contextSize * sequences));
    const threads = optInt('options.threads', o.threads, 0, 1024, 0);
    const flashAttention = optBool('options.flashAttention', o.flashAttention, false);
    const kv = readKvCacheType(o.kvCacheType, flashAttention);
    checkContextMemory(model.info, { contextSize, batchSize, sequences, flashAttention }, model.onGpu);
    const nm = model.live();
    const nc = await callAsync(native().createContext(nm, { contextSize, batchSize, threads, sequences, flashAttention, typeK: kv.k, typeV: kv.v }));
    return new Context(model, nc, flashAttention, kv);
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** @internal */
  live(): NativeContext {
    if (this.#disposed) throw new PersonaSteerError(ErrorCodes.DISPOSED, 'the context was disposed');
    return this.native;
  }

  /**
   * Prompt to token ids (text gets the model's BOS and parses control tokens), on this thread. An
   * empty string is the BOS token alone, as llama.cpp's tools start an empty prompt, on models that
   * add a BOS. The calls (generate, capture, logits, ...) tokenize text longer than 4 KiB on a
   * worker thread instead, so a huge prompt never blocks the event loop; use this for short prompts.
   */
  tokens(prompt: PromptInput, name = 'prompt'): Int32Array {
    let ids: Int32Array;
    if (typeof prompt === 'string') {
      ids = this.model.tokenize(prompt);
      if (ids.length === 0 && prompt.length === 0) {
        throw invalidArg(name, "a non-empty string (an empty prompt starts from the BOS token, which this model does not add), token ids or { messages }", prompt);
      }
    } else if (prompt !== null && typeof prompt === 'object' && 'messages' in prompt) {
      ids = this.model.tokenize(this.#render(prompt, name), { addSpecial: false });
    } else {
      ids = toTokenArray(name, prompt, this.model.info.vocabularySize, false);
    }
    return this.#checkCount(ids, name, prompt);
  }

  /** @internal As tokens(), off the JavaScript thread for long text (bounded by the context size first). */
  promptTokens(prompt: PromptInput, name = 'prompt'): Int32Array | Promise<Int32Array> {
    let text: string;
    let addSpecial = true;
    if (typeof prompt === 'string') {
      if (prompt.length <= SYNC_TOKENIZE_CHARS) return this.tokens(prompt, name);
      text = prompt;
    } else if (prompt !== null && typeof prompt === 'object' && 'messages' in prompt) {
      text = this.#render(prompt, name);
      if (text.length <= SYNC_TOKENIZE_CHARS) return this.#checkCount(this.model.tokenize(text, { addSpecial: false }), name, prompt);
      addSpecial = false;
    } else {
      return this.tokens(prompt, name);
    }
    return this.model.tokenizeAsync(text, { addSpecial, maxTokens: this.contextSize }).then(
      (ids) => this.#checkCount(ids, name, prompt),
      (err: unknown) => {
        if (err instanceof PersonaSteerError && err.code === ErrorCodes.CONTEXT_OVERFLOW) {
          throw new PersonaSteerError(ErrorCodes.CONTEXT_OVERFLOW,
            `${name} has more tokens than the context holds (${this.contextSize} per sequence); create the context with a larger contextSize`);
        }
        throw err;
      });
  }

  #render(prompt: { messages: ChatMessage[] }, name: string): string {
    checkKeys(name, prompt as Record<string, unknown>, ['messages']);
    checkMessages(prompt.messages, `${name}.messages`);
    return this.model.applyChatTemplate(prompt.messages, { addAssistant: true });
  }

  #checkCount(ids: Int32Array, name: string, prompt: unknown): Int32Array {
    if (ids.length === 0) throw invalidArg(name, 'a prompt of at least one token', prompt);
    if (ids.length > this.contextSize) {
      throw new PersonaSteerError(ErrorCodes.CONTEXT_OVERFLOW,
        `${name} has ${ids.length} tokens but the context holds ${this.contextSize} per sequence; create the context with a larger options.contextSize`);
    }
    return ids;
  }

  /** @internal Validates a call's `steer` option: a native plan, null (unsteered) or undefined (inherit). */
  planOption(value: unknown, name = 'options.steer'): CallPlan {
    if (value === undefined) return undefined;
    if (value === false || value === null) return null;
    const info = this.model.info;
    const plan = toNativePlan(value as SteeringPlan, info.embeddingSize, info.blockCount, name);
    if (plan.ops.length === 0) return null;
    // The addon's compiler also refuses what only shows when the ops are summed (float32 overflow).
    call(() => native().compilePlan(plan, info.embeddingSize, info.blockCount));
    return plan;
  }

  /** @internal The plan a call runs with, resolved when it starts. */
  resolvePlan(plan: CallPlan): NativePlan | null {
    return plan === undefined ? this.#default : plan;
  }

  /**
   * Sets the default plan of later calls that pass no `steer` (null removes it). Calls already
   * running keep their own plan; to change a running generation's, use `stream.setSteering`.
   */
  setSteering(plan: SteeringPlan | SteerOp[] | null): void {
    this.live();
    if (plan === undefined) throw invalidArg('plan', 'a steering plan, an array of ops, or null', plan);
    const p = plan === null ? null : this.planOption(plan, 'plan') ?? null;
    if (p) {
      const blocks = Int32Array.from(new Set(p.ops.flatMap((op) => Array.from(op.blocks))));
      call(() => this.native.requireHooked(blocks, 'setSteering'));
    }
    this.#default = p;
  }

  /** Claims a sequence for a conversation: its cells stay between calls (see Sequence). */
  createSequence(): Sequence {
    this.live();
    return new Sequence(this, this.pool.claim());
  }

  /** @internal Validates generate() options against this context. */
  generationRequest(prompt: PromptInput, options: GenerateOptions): GenerationRequest {
    const o = readOptions('options', options, CONTEXT_OPTION_KEYS.generate);
    const tokens = this.promptTokens(prompt);
    const maxTokens = optInt('options.maxTokens', o.maxTokens, 1, 1 << 20, 256);
    const sampling = readSampling(o, this);
    const stopAtEog = optBool('options.stopAtEog', o.stopAtEog, true);
    const signal = checkSignal('options.signal', o.signal);
    let stops: string[] = [];
    if (o.stop !== undefined) {
      if (!Array.isArray(o.stop)) throw invalidArg('options.stop', 'an array of non-empty strings', o.stop);
      stops = o.stop.map((s, i) => checkString(`options.stop[${i}]`, s));
    }
    const info = this.model.info;
    const layout = buildMonitor(o.monitor, info.embeddingSize, info.blockCount);
    let captureRows: Int32Array | undefined;
    if (o.capture !== undefined) {
      const c = checkObject('options.capture', o.capture, false);
      checkKeys('options.capture', c, ['blocks']);
      captureRows = Int32Array.from(checkBlocks('options.capture.blocks', c.blocks, info.blockCount));
    }
    const steer = this.planOption(o.steer);
    return { tokens, maxTokens, sampling, stopAtEog, stops, signal, steer, layout, captureRows };
  }

  /** @internal Starts a generation once `acquire` gives it a sequence. */
  /**
   * @internal Starts a generation: `reserve` takes its place in the pool's queue at the call (call
   * order), `prepare` says how it runs once it has the sequence and its tokens.
   */
  startGeneration(req: GenerationRequest, reserve: () => Promise<number>, prepare: (seq: number, tokens: Int32Array) => GenerationRun): GenerationStream {
    const nc = this.live();
    const info = this.model.info;
    const stream = new GenerationStream(req.stops, req.layout, info.embeddingSize, async (onToken, aborted) => {
      const reserved = reserve();
      const tokens = await this.#released(reserved, () => req.tokens);
      // Aborted, or disposed, before its turn: it ends as a stopped generation, with no native work.
      const stopped = { promise: Promise.resolve(abortedSummary(tokens.length)), abort: () => undefined, setSteering: () => undefined };
      let run: GenerationRun;
      try {
        run = prepare(await reserved, tokens);
      } catch (err) {
        if (err instanceof PersonaSteerError && err.code === ErrorCodes.DISPOSED) return stopped;
        throw err;
      }
      if (this.#disposed || aborted()) {
        run.done(null, []);
        return stopped;
      }
      let job: NativeGenerateJob;
      try {
        job = call(() => nc.generate({
          seq: run.seq, tokens, nKeep: run.nKeep, retain: run.retain, maxTokens: req.maxTokens,
          sampling: req.sampling, stopAtEog: req.stopAtEog, steer: run.plan, monitor: req.layout ? req.layout.native : null,
          capture: req.captureRows ? { rows: req.captureRows } : undefined,
        }, onToken));
      } catch (err) {
        run.done(null, []);
        throw err;
      }
      const promise = callAsync(job.promise).then((s) => { run.done(s, stream.emittedTokens); return s; }, (err) => { run.done(null, []); throw err; });
      return { promise, abort: job.abort, setSteering: job.setSteering };
    }, (plan) => (plan === null ? null : this.planOption(plan, 'plan') ?? null),
    req.sampling.logprobs >= 0 ? (id) => this.model.tokenText(id) : null);
    if (req.signal) {
      const signal = req.signal;
      if (signal.aborted) stream.abort();
      else {
        const onAbort = () => stream.abort();
        signal.addEventListener('abort', onAbort, { once: true });
        stream.result.finally(() => signal.removeEventListener('abort', onAbort)).catch(() => undefined);
      }
    }
    return stream;
  }

  /** Streams tokens; iterate it, or await `.result`. Runs on a free sequence. */
  generate(prompt: PromptInput, options: GenerateOptions = {}): GenerationStream {
    this.live();
    const req = this.generationRequest(prompt, options);
    return this.startGeneration(req, () => this.pool.acquire(),
      (seq) => ({ seq, nKeep: 0, retain: false, plan: this.resolvePlan(req.steer), done: () => this.pool.release(seq) }));
  }

  /** Generates and returns the whole result (same tokens as streaming with the same options). */
  async complete(prompt: PromptInput, options: GenerateOptions = {}): Promise<GenerationResult> {
    return this.generate(prompt, options).result;
  }

  /** Runs `task` with a sequence of its own (one-shot). */
  /** Runs `task` with a sequence of its own; `reserved` is a place in the pool's queue taken at the call. */
  async #withSequence<T>(task: (seq: number) => Promise<T>, reserved: Promise<number> = this.pool.acquire()): Promise<T> {
    const seq = await reserved;
    try {
      return await task(seq);
    } finally {
      this.pool.release(seq);
    }
  }

  #evaluate(req: NativeEvaluateRequest) {
    return callAsync(() => this.live().evaluate(req));
  }

  /** Reads block outputs (after steering) for a prompt. */
  async capture(prompt: PromptInput, options: CaptureOptions = {}): Promise<CaptureResult> {
    this.live();
    const o = readOptions('options', options, CONTEXT_OPTION_KEYS.capture);
    const info = this.model.info;
    const steer = this.planOption(o.steer);
    const blocks = checkBlocks('options.blocks', o.blocks ?? 'all', info.blockCount);
    const reduce = checkOneOf('options.reduce', o.reduce, ['none', 'mean'] as const, 'none');
    // The place in the queue is taken now, in call order, whatever tokenizing takes.
    const reserved = this.pool.acquire();
    const { tokens, mask } = await this.#released(reserved, async () => {
      const ids = await this.promptTokens(prompt);
      const n = ids.length;
      let m: boolean[];
      if (o.positions === undefined || o.positions === 'all') m = new Array(n).fill(true);
      else if (o.positions === 'last') m = Array.from({ length: n }, (_, i) => i === n - 1);
      else if (Array.isArray(o.positions) && o.positions.length === n && o.positions.every((b) => typeof b === 'boolean')) m = o.positions;
      else throw invalidArg('options.positions', `'all', 'last' or an array of ${n} booleans (one per token)`, o.positions);
      return { tokens: ids, mask: m };
    });
    const n = tokens.length;
    const logits = outputFlags(n, (i) => mask[i], blocks, info.blockCount);
    return this.#withSequence(async (seq) => {
      const plan = this.resolvePlan(steer);
      if (reduce === 'mean') {
        const ranges = maskToRanges(mask);
        const r = await this.#evaluate({
          sequences: [{ seq, pos0: 0, tokens, logits }], clear: true, logits: 'none', steer: plan,
          capture: { reduce: Int32Array.from(blocks), ranges: { seq: new Int32Array(ranges.length).fill(seq), p0: Int32Array.from(ranges, (x) => x[0]), p1: Int32Array.from(ranges, (x) => x[1]) } },
        });
        return { tokens, blocks: [], means: r.reductions.map((s) => ({ block: s.block, count: s.count, mean: meanOf(s.sum, s.count, info.embeddingSize) })) };
      }
      const r = await this.#evaluate({ sequences: [{ seq, pos0: 0, tokens, logits }], clear: true, logits: 'none', steer: plan, capture: { rows: Int32Array.from(blocks) } });
      const out = r.captures.map((c) => {
        const rows = splitRows(c, info.embeddingSize);
        const keep = Array.from(rows.positions, (p) => p >= 0 && p < n && mask[p]);
        return {
          block: rows.block,
          rows: rows.rows.filter((_, i) => keep[i]),
          positions: rows.positions.filter((_, i) => keep[i]),
          sequences: rows.sequences.filter((_, i) => keep[i]),
        };
      });
      return { tokens, blocks: out, means: [] };
    }, reserved);
  }

  /** `work`'s result; if it fails, the reserved sequence goes back to the pool when it comes. */
  async #released<T>(reserved: Promise<number>, work: () => T | Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      reserved.then((id) => this.pool.release(id), () => undefined);
      throw err;
    }
  }

  /** Validates { tokens, start, end } items (start < end <= tokens.length). */
  #meanItems(items: unknown): { tokens: Int32Array; start: number; end: number }[] {
    if (!Array.isArray(items) || items.length === 0) throw invalidArg('items', 'a non-empty array of { tokens, start, end }', items);
    return items.map((it, i) => {
      const io = checkObject(`items[${i}]`, it, false);
      checkKeys(`items[${i}]`, io, ['tokens', 'start', 'end']);
      const tokens = this.tokens(io.tokens as ArrayLike<number>, `items[${i}].tokens`);
      const start = checkInt(`items[${i}].start`, io.start, 0, tokens.length - 1);
      const end = checkInt(`items[${i}].end`, io.end, start + 1, tokens.length);
      return { tokens, start, end };
    });
  }

  /**
   * Mean of block outputs over the positions [start, end) of many samples, summed inside the
   * graph: memory stays O(blocks x embedding size) however many samples there are. Unsteered unless
   * `options.steer` is given.
   */
  async captureMean(items: MeanItem[], options: { steer?: SteerOption; blocks?: number[] | number | 'all'; signal?: AbortSignal } = {}): Promise<{ block: number; mean: Float32Array; count: number }[]> {
    this.live();
    const o = readOptions('options', options, CONTEXT_OPTION_KEYS.captureMean);
    const info = this.model.info;
    const blocks = checkBlocks('options.blocks', o.blocks ?? 'all', info.blockCount);
    const signal = checkSignal('options.signal', o.signal);
    const plan = this.planOption(o.steer) ?? null;
    const prepared = this.#meanItems(items);
    const E = info.embeddingSize;
    const sums = blocks.map(() => new Float64Array(E));
    const counts = blocks.map(() => 0);
    await this.#withSequence(async (seq) => {
      for (const it of prepared) {
        if (signal?.aborted) throw new PersonaSteerError(ErrorCodes.ABORTED, 'captureMean was aborted');
        const logits = outputFlags(it.tokens.length, (k) => k >= it.start && k < it.end, blocks, info.blockCount);
        const r = await this.#evaluate({
          sequences: [{ seq, pos0: 0, tokens: it.tokens, logits }], clear: true, logits: 'none', steer: plan,
          capture: { reduce: Int32Array.from(blocks), ranges: { seq: Int32Array.of(seq), p0: Int32Array.of(it.start), p1: Int32Array.of(it.end) } },
        });
        for (const red of r.reductions) {
          const bi = blocks.indexOf(red.block);
          if (bi < 0 || !red.sum) continue;
          for (let k = 0; k < E; k++) sums[bi][k] += red.sum[k];
          counts[bi] += red.count;
        }
      }
    });
    return blocks.map((block, bi) => ({ block, count: counts[bi], mean: meanOf(sums[bi], counts[bi], E) }));
  }

  /**
   * Per item, the mean projection of block outputs on monitored directions over [start, end).
   * Only the projections come back from the graph (a few floats per token), so memory stays
   * O(items x directions x blocks). Unsteered unless `options.steer` is given.
   */
  async projectionMeans(items: MeanItem[], monitor: MonitorEntry[], options: { steer?: SteerOption; signal?: AbortSignal } = {}): Promise<{ name: string; block: number; values: Float64Array }[]> {
    this.live();
    const o = readOptions('options', options, CONTEXT_OPTION_KEYS.projectionMeans);
    const signal = checkSignal('options.signal', o.signal);
    const plan = this.planOption(o.steer) ?? null;
    const info = this.model.info;
    const layout = buildMonitor(monitor, info.embeddingSize, info.blockCount, 'monitor');
    if (!layout) throw invalidArg('monitor', 'a non-empty array of { name, vector, blocks? }', monitor);
    const prepared = this.#meanItems(items);
    const out = layout.slots.map((s) => ({ name: s.name, block: s.block, values: new Float64Array(prepared.length) }));
    const nDirs = layout.native.nDirs;
    await this.#withSequence(async (seq) => {
      for (let i = 0; i < prepared.length; i++) {
        if (signal?.aborted) throw new PersonaSteerError(ErrorCodes.ABORTED, 'projectionMeans was aborted');
        const it = prepared[i];
        const logits = outputFlags(it.tokens.length, (k) => k >= it.start && k < it.end, layout.blocks, info.blockCount);
        const r = await this.#evaluate({ sequences: [{ seq, pos0: 0, tokens: it.tokens, logits }], clear: true, logits: 'none', steer: plan, monitor: layout.native });
        layout.slots.forEach((slot, si) => {
          const bi = layout.blocks.indexOf(slot.block);
          const rows = r.monitor.find((m) => m.block === slot.block);
          if (!rows) return;
          let sum = 0;
          let n = 0;
          rows.pos.forEach((p, k) => {
            if (p >= it.start && p < it.end) { sum += rows.rows[k * nDirs + (slot.offset - bi * nDirs)]; n++; }
          });
          out[si].values[i] = n > 0 ? sum / n : NaN;
        });
      }
    });
    return out;
  }

  /** Decodes a prompt and returns logits (of the last token, or of every token with { all: true }). */
  async logits(prompt: PromptInput, options: { steer?: SteerOption; all?: boolean } = {}): Promise<LogitsResult> {
    this.live();
    const o = readOptions('options', options, CONTEXT_OPTION_KEYS.logits);
    const all = optBool('options.all', o.all, false);
    const steer = this.planOption(o.steer);
    const reserved = this.pool.acquire();
    const tokens = await this.#released(reserved, () => this.promptTokens(prompt));
    const r = await this.#withSequence((seq) => this.#evaluate({
      sequences: [{ seq, pos0: 0, tokens }], clear: true, logits: all ? 'all' : 'last', steer: this.resolvePlan(steer),
    }), reserved);
    return { tokens, logits: r.logits, outputs: r.outputs };
  }

  /**
   * Low level: decodes several sequences in one batch (they must fit in batchSize to share a
   * llama_decode call), on the sequence ids they name (each below `sequences`); without
   * keepMemory it first removes those sequences' cells. Waits until no other call uses the ids.
   */
  async evaluate(sequences: EvaluateSequence[], options: { steer?: SteerOption; keepMemory?: boolean; captureBlocks?: number[] | number | 'all' } = {}): Promise<EvaluateResult> {
    this.live();
    const o = readOptions('options', options, CONTEXT_OPTION_KEYS.evaluate);
    const keep = optBool('options.keepMemory', o.keepMemory, false);
    const steer = this.planOption(o.steer);
    const info = this.model.info;
    const capture = o.captureBlocks === undefined ? undefined : Int32Array.from(checkBlocks('options.captureBlocks', o.captureBlocks, info.blockCount));
    if (!Array.isArray(sequences) || sequences.length === 0) throw invalidArg('sequences', 'a non-empty array of { tokens, seq?, pos0?, logits? }', sequences);
    const seqs = sequences.map((s, i) => {
      const so = checkObject(`sequences[${i}]`, s, false);
      checkKeys(`sequences[${i}]`, so, ['tokens', 'seq', 'pos0', 'logits']);
      const tokens = toTokenArray(`sequences[${i}].tokens`, so.tokens, info.vocabularySize, false);
      const seq = optInt(`sequences[${i}].seq`, so.seq, 0, this.sequences - 1, 0);
      const pos0 = optInt(`sequences[${i}].pos0`, so.pos0, 0, this.contextSize - 1, 0);
      if (pos0 + tokens.length > this.contextSize) {
        throw new PersonaSteerError(ErrorCodes.CONTEXT_OVERFLOW, `sequences[${i}] ends at position ${pos0 + tokens.length}, beyond the context size ${this.contextSize}`);
      }
      const which = checkOneOf(`sequences[${i}].logits`, so.logits, ['last', 'all', 'none'] as const, 'last');
      const logits = Uint8Array.from(tokens, (_, k) => (which === 'all' || (which === 'last' && k === tokens.length - 1) ? 1 : 0));
      return { seq, pos0, tokens, logits };
    });
    const ids = [...new Set(seqs.map((s) => s.seq))].sort((a, b) => a - b);
    const held: number[] = [];
    try {
      for (const id of ids) held.push(await this.pool.acquireId(id));
      for (const id of ids) this.owners.get(id)?.invalidate();
      const r = await this.#evaluate({ sequences: seqs, clear: !keep, logits: 'last', steer: this.resolvePlan(steer), capture: capture ? { rows: capture } : undefined });
      const nv = info.vocabularySize;
      const logits = Array.from({ length: r.outputs }, (_, i) => r.logits.slice(i * nv, (i + 1) * nv));
      return { logits, captures: r.captures.map((c) => splitRows(c, info.embeddingSize)) };
    } finally {
      for (const id of held) this.pool.release(id);
    }
  }

  /**
   * llama.cpp's own control vector (llama_set_adapter_cvec): adds scale * v at the given blocks,
   * for every sequence and every later call. Block 0 is not possible there; every call rebuilds the
   * graph. null removes it.
   */
  async setLlamaControlVector(vector: VectorInput | null, options: { scale?: number; blocks?: number[] | number | 'all' } = {}): Promise<void> {
    const nc = this.live();
    const o = readOptions('options', options, CONTEXT_OPTION_KEYS.setLlamaControlVector);
    if (vector === null) return callAsync(() => nc.setControlVector(null, 0, 0));
    const info = this.model.info;
    const op = toNativeOp('vector', { kind: 'add', vector, scale: o.scale, blocks: o.blocks }, info.embeddingSize, info.blockCount,
      { vector: 'vector', blocks: 'options.blocks', scale: 'options.scale' });
    if (op.blocks.includes(0)) throw invalidArg('options.blocks', "blocks >= 1 (llama.cpp's control vectors cannot touch block 0)", Array.from(op.blocks));
    const data = new Float32Array(info.blockCount * info.embeddingSize);
    op.blocks.forEach((b, i) => {
      let squares = 0;
      for (let k = 0; k < info.embeddingSize; k++) {
        const x = op.scale! * op.vectors[i * info.embeddingSize + k];
        squares += x * x;
        data[b * info.embeddingSize + k] = x;
      }
      // The next normalization squares the residual: past this, every later logit is NaN.
      if (!(squares <= FLOAT32_MAX)) {
        throw invalidArg('options.scale', `a scale whose product with the vector keeps its squared norm within float32 range (<= ${FLOAT32_MAX}) at block ${b}`, op.scale);
      }
    });
    return callAsync(() => nc.setControlVector(data, op.blocks[0], op.blocks[op.blocks.length - 1]));
  }

  /**
   * Counters: graph builds through the steering hook (value changes never add one), hook
   * reconfigurations, llama_decode calls made by generations (one per step for all running
   * generations together), llama.cpp's evaluations and reused graphs.
   */
  async stats(): Promise<NativeContextStats> {
    const nc = this.live();
    return callAsync(() => nc.stats());
  }

  /** Ends running generations at their next token (stop reason 'abort'), waits for queued work, then frees the context. */
  dispose(): Promise<void> {
    if (this.#disposing) return this.#disposing;
    this.#disposed = true;
    this.pool.close(new PersonaSteerError(ErrorCodes.DISPOSED, 'the context was disposed'));
    this.#disposing = callAsync(this.native.dispose());
    return this.#disposing;
  }
}

/** A stable key of a plan's content: cells computed under one plan are reused only under the same. */
export function planKey(plan: NativePlan | null): string {
  if (!plan) return 'none';
  const h = createHash('sha1');
  h.update(plan.positions);
  for (const op of plan.ops) {
    h.update(`|${op.kind}|${op.scale ?? ''}|${op.min ?? ''}|${op.max ?? ''}|`);
    h.update(Buffer.from(op.blocks.buffer, op.blocks.byteOffset, op.blocks.byteLength));
    h.update(Buffer.from(op.vectors.buffer, op.vectors.byteOffset, op.vectors.byteLength));
  }
  return h.digest('hex');
}

/**
 * A conversation on one sequence of a context (Context.createSequence). Its cells stay between
 * calls: each call evaluates only the tokens after the longest common prefix of its prompt and
 * what the sequence holds, when the earlier tokens were computed under the same plan. Calls on one
 * Sequence run one after another; calls on different Sequences of a context run together.
 */
export class Sequence {
  readonly context: Context;
  /** The sequence id (llama.cpp's seq_id). */
  readonly id: number;
  #tokens = new Int32Array(0);
  #planKey = 'none';
  #disposed = false;

  /** @internal */
  constructor(context: Context, id: number) {
    this.context = context;
    this.id = id;
    context.owners.set(id, { invalidate: () => { this.#tokens = new Int32Array(0); } });
  }

  /** The tokens the sequence's cells hold (prompt and generated tokens of earlier calls). */
  get tokens(): Int32Array {
    return this.#tokens.slice();
  }

  get disposed(): boolean {
    return this.#disposed || this.context.disposed;
  }

  #live(): void {
    if (this.#disposed) throw new PersonaSteerError(ErrorCodes.DISPOSED, 'the sequence was disposed');
    this.context.live();
  }

  /** As Context.generate, on this sequence, reusing its cells for the common prefix. */
  generate(prompt: PromptInput, options: GenerateOptions = {}): GenerationStream {
    this.#live();
    const ctx = this.context;
    const req = ctx.generationRequest(prompt, options);
    return ctx.startGeneration(req, () => ctx.pool.acquireId(this.id), (_seq, tokens) => {
      const plan = ctx.resolvePlan(req.steer);
      const key = planKey(plan);
      const nKeep = key === this.#planKey ? commonPrefix(this.#tokens, tokens) : 0;
      return {
        seq: this.id, nKeep, retain: true, plan,
        done: (s, emitted) => {
          if (s) {
            const all = new Int32Array(tokens.length + emitted.length);
            all.set(tokens);
            all.set(emitted, tokens.length);
            this.#tokens = all.slice(0, s.pastTokens);
            this.#planKey = key;
          } else {
            this.#tokens = new Int32Array(0);
          }
          ctx.pool.release(this.id);
        },
      };
    });
  }

  /** generate(...).result. */
  async complete(prompt: PromptInput, options: GenerateOptions = {}): Promise<GenerationResult> {
    return this.generate(prompt, options).result;
  }

  /** Frees the sequence's cells (the next call evaluates its whole prompt). */
  async clear(): Promise<void> {
    this.#live();
    const ctx = this.context;
    await ctx.pool.acquireId(this.id);
    try {
      await callAsync(() => ctx.live().clearSequence(this.id));
      this.#tokens = new Int32Array(0);
    } finally {
      ctx.pool.release(this.id);
    }
  }

  /** Frees the cells and gives the sequence id back to the context. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const ctx = this.context;
    ctx.owners.delete(this.id);
    if (ctx.disposed) return;
    await ctx.pool.acquireId(this.id).then(async () => {
      try {
        await callAsync(() => ctx.live().clearSequence(this.id));
      } finally {
        ctx.pool.release(this.id);
        ctx.pool.unclaim(this.id);
      }
    }, () => undefined);
  }
}

function commonPrefix(a: Int32Array, b: Int32Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

function readSampling(o: Record<string, unknown>, ctx: Context): NativeSampling {
  if (o.grammar !== undefined && o.jsonSchema !== undefined) {
    throw invalidArg('options.jsonSchema', 'absent when options.grammar is given (one constraint per call)', o.jsonSchema);
  }
  const grammar = o.grammar !== undefined ? checkString('options.grammar', o.grammar)
    : o.jsonSchema !== undefined ? jsonSchemaToGrammar(o.jsonSchema, 'options.jsonSchema') : '';
  if (grammar !== '') {
    const why = ctx.live().checkGrammar(grammar);
    if (why !== '') throw invalidArg(o.grammar !== undefined ? 'options.grammar' : 'options.jsonSchema', `a grammar llama.cpp parses (${why})`, o.grammar ?? o.jsonSchema);
  }
  const logprobs = optBool('options.logprobs', o.logprobs, false);
  const top = optInt('options.topLogprobs', o.topLogprobs, 0, 100, 0);
  return {
    grammar,
    logprobs: logprobs || o.topLogprobs !== undefined ? top : -1,
    greedy: optBool('options.greedy', o.greedy, false),
    temperature: optNumber('options.temperature', o.temperature, 0, 100, 0.8),
    topK: optInt('options.topK', o.topK, 0, 1 << 24, 40),
    topP: optNumber('options.topP', o.topP, 0, 1, 0.95),
    minP: optNumber('options.minP', o.minP, 0, 1, 0.05),
    repeatPenalty: optNumber('options.repeatPenalty', o.repeatPenalty, 0.01, 100, 1),
    repeatLastN: optInt('options.repeatLastN', o.repeatLastN, 0, 1 << 20, 64),
    seed: optInt('options.seed', o.seed, 0, 0xffffffff, 0xffffffff & Date.now()),
  };
}

function readKvCacheType(value: unknown, flashAttention: boolean): { k: KvCacheType; v: KvCacheType } {
  const one = (name: string, v: unknown) => checkOneOf(name, v, KV_CACHE_TYPES, 'f16');
  let kv: { k: KvCacheType; v: KvCacheType };
  let vName = 'options.kvCacheType';
  if (value === undefined || typeof value === 'string') {
    const t = one('options.kvCacheType', value);
    kv = { k: t, v: t };
  } else {
    const o = checkObject('options.kvCacheType', value, false);
    checkKeys('options.kvCacheType', o, ['k', 'v']);
    kv = { k: one('options.kvCacheType.k', o.k), v: one('options.kvCacheType.v', o.v) };
    vName = 'options.kvCacheType.v';
  }
  if (!flashAttention && !['f32', 'f16', 'bf16'].includes(kv.v)) {
    throw invalidArg(vName, "'f32', 'f16' or 'bf16' unless options.flashAttention is true (llama.cpp quantizes the V cache only with flash attention)", kv.v);
  }
  return kv;
}

function abortedSummary(promptTokens: number): NativeGenerateSummary {
  return {
    stopReason: 'abort', promptTokens, cachedTokens: 0, generatedTokens: 0, pastTokens: 0, promptMs: 0, generateMs: 0,
    captures: [], promptMonitor: [], graphBuilds: 0,
  };
}

function maskToRanges(mask: boolean[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    const s = i;
    while (i < mask.length && mask[i]) i++;
    out.push([s, i]);
  }
  return out;
}

function meanOf(sum: Float64Array | null, count: number, embeddingSize: number): Float32Array {
  const out = new Float32Array(embeddingSize);
  if (!sum || count === 0) return out;
  for (let i = 0; i < embeddingSize; i++) out[i] = sum[i] / count;
  return out;
}

export type { TokenEvent, GenerationResult };
