// Context: an inference context over a Model. Every operation runs on the context's own native
// thread, in call order (overlapping calls queue up; none is refused). Operations made of several
// native steps (captureMean, projectionMeans, a generation with its monitor) run whole, one at a
// time: a later call never lands between their steps. Steering plans apply from the next decoded
// token, also during a running generation.
import { checkContextMemory } from './context-memory';
import { ErrorCodes, PersonaSteerError, invalidArg } from './errors';
import { GenerationStream, splitRows, type CapturedRows, type GenerationResult, type TokenEvent } from './generation-stream';
import { buildMonitor, type MonitorEntry } from './monitor';
import { call, callAsync, native, type NativeContext, type NativeContextStats, type NativeGenerateSummary, type NativeSampling } from './native';
import type { ChatMessage, Model } from './model';
import { checkMessages, toTokenArray } from './model';
import { toNativeOp, toNativePlan, type SteeringPlan, type SteerOp, type VectorInput } from './steering';
import {
  checkBlocks, checkInt, checkKeys, checkNumber, checkObject, checkOneOf, checkSignal, checkString, optBool, optInt, optNumber,
} from './validate';

export interface ContextOptions {
  /** Tokens the context holds (default min(2048, the model's training context)). */
  contextSize?: number;
  /** Tokens per llama_decode call (default 512, at most contextSize). */
  batchSize?: number;
  /** CPU threads (default: all cores). */
  threads?: number;
  /** Parallel sequences (default 1). */
  sequences?: number;
  /** Flash attention (default false). */
  flashAttention?: boolean;
}

/** A prompt: text (tokenized with the model's special tokens), token ids, or chat messages. */
export type PromptInput = string | ArrayLike<number> | { messages: ChatMessage[] };

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
  /** Sets the context's steering plan before generating (as setSteering; it stays in effect). */
  steer?: SteeringPlan | SteerOp[] | null;
  /** Projections to read back with every token. */
  monitor?: MonitorEntry[];
  /** Block outputs to capture for every decoded position. */
  capture?: { blocks: number[] | number | 'all' };
}

export interface CaptureOptions {
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
  createContext: ['contextSize', 'batchSize', 'threads', 'sequences', 'flashAttention'],
  generate: ['greedy', 'temperature', 'topK', 'topP', 'minP', 'repeatPenalty', 'repeatLastN', 'seed',
    'maxTokens', 'stop', 'stopAtEog', 'signal', 'steer', 'monitor', 'capture'],
  capture: ['blocks', 'positions', 'reduce'],
  captureMean: ['blocks', 'signal'],
  projectionMeans: ['signal'],
  logits: ['all'],
  evaluate: ['keepMemory', 'captureBlocks'],
  setLlamaControlVector: ['scale', 'blocks'],
} as const;

export class Context {
  readonly model: Model;
  /** @internal */
  readonly native: NativeContext;
  readonly contextSize: number;
  readonly batchSize: number;
  readonly threads: number;
  #disposed = false;
  #disposing: Promise<void> | null = null;
  /** Settles when every operation called so far has finished. */
  #tail: Promise<void> = Promise.resolve();

  private constructor(model: Model, nativeContext: NativeContext) {
    this.model = model;
    this.native = nativeContext;
    const info = nativeContext.info();
    this.contextSize = info.contextSize;
    this.batchSize = info.batchSize;
    this.threads = info.threads;
  }

  /** @internal */
  static async create(model: Model, options: ContextOptions): Promise<Context> {
    const o = checkObject('options', options);
    checkKeys('options', o, CONTEXT_OPTION_KEYS.createContext);
    const train = model.info.trainingContextSize > 0 ? model.info.trainingContextSize : 2048;
    const contextSize = optInt('options.contextSize', o.contextSize, 8, 1 << 20, Math.min(2048, train));
    const batchSize = optInt('options.batchSize', o.batchSize, 1, contextSize, Math.min(512, contextSize));
    const threads = optInt('options.threads', o.threads, 0, 1024, 0);
    const sequences = optInt('options.sequences', o.sequences, 1, 256, 1);
    const flashAttention = optBool('options.flashAttention', o.flashAttention, false);
    checkContextMemory(model.info, { contextSize, batchSize, sequences, flashAttention }, model.onGpu);
    const nm = model.live();
    const nc = await callAsync(native().createContext(nm, { contextSize, batchSize, threads, sequences, flashAttention }));
    return new Context(model, nc);
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Runs `task` once every operation called before it has finished (call order, one at a time). */
  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task);
    this.#tail = run.then(() => undefined, () => undefined);
    return run;
  }

  /** As #serial for an operation that returns a handle before it ends; the next waits for handle.promise. */
  #serialJob<J extends { promise: Promise<unknown> }>(start: () => Promise<J>): Promise<J> {
    const run = this.#tail.then(start);
    this.#tail = run.then((j) => j.promise.then(() => undefined, () => undefined), () => undefined);
    return run;
  }

  #live(): NativeContext {
    if (this.#disposed) throw new PersonaSteerError(ErrorCodes.DISPOSED, 'the context was disposed');
    return this.native;
  }

  /** Prompt to token ids (text gets the model's BOS and parses control tokens). */
  tokens(prompt: PromptInput, name = 'prompt'): Int32Array {
    let ids: Int32Array;
    if (typeof prompt === 'string') {
      if (prompt.length === 0) throw invalidArg(name, 'a non-empty string, token ids or { messages }', prompt);
      ids = this.model.tokenize(prompt);
    } else if (prompt !== null && typeof prompt === 'object' && 'messages' in prompt) {
      checkKeys(name, prompt as Record<string, unknown>, ['messages']);
      checkMessages(prompt.messages, `${name}.messages`);
      ids = this.model.tokenize(this.model.applyChatTemplate(prompt.messages, { addAssistant: true }), { addSpecial: false });
    } else {
      ids = toTokenArray(name, prompt, this.model.info.vocabularySize, false);
    }
    if (ids.length === 0) throw invalidArg(name, 'a prompt of at least one token', prompt);
    if (ids.length > this.contextSize) {
      throw new PersonaSteerError(ErrorCodes.CONTEXT_OVERFLOW,
        `${name} has ${ids.length} tokens but the context holds ${this.contextSize}; create the context with a larger contextSize`);
    }
    return ids;
  }

  /** Replaces the steering plan (null removes it). Takes effect from the next decoded token. */
  setSteering(plan: SteeringPlan | SteerOp[] | null): void {
    const nc = this.#live();
    const info = this.model.info;
    const p = plan === null ? null : toNativePlan(plan, info.embeddingSize, info.blockCount);
    call(() => nc.setSteering(p));
  }

  /** Streams tokens; iterate it, or await `.result`. */
  generate(prompt: PromptInput, options: GenerateOptions = {}): GenerationStream {
    const nc = this.#live();
    const o = checkObject('options', options);
    checkKeys('options', o, CONTEXT_OPTION_KEYS.generate);
    const tokens = this.tokens(prompt);
    const maxTokens = optInt('options.maxTokens', o.maxTokens, 1, 1 << 20, 256);
    const sampling = readSampling(o);
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
    const steer = o.steer === undefined || o.steer === null ? o.steer
      : toNativePlan(o.steer as SteeringPlan, info.embeddingSize, info.blockCount, 'options.steer');
    if (steer !== undefined) call(() => nc.setSteering(steer));

    const stream = new GenerationStream(stops, layout, info.embeddingSize, (onToken, aborted) => this.#serialJob(async () => {
      // Aborted, or disposed, before its turn: it ends as a stopped generation, with no native work.
      const stopped = () => this.#disposed || aborted();
      if (stopped()) return { promise: Promise.resolve(abortedSummary(tokens.length)), abort: () => undefined };
      await callAsync(() => nc.setMonitor(layout ? layout.native : null));
      if (stopped()) return { promise: Promise.resolve(abortedSummary(tokens.length)), abort: () => undefined };
      const job = call(() => nc.generate({
        tokens, maxTokens, sampling, stopAtEog, capture: captureRows ? { rows: captureRows } : undefined,
      }, onToken));
      return { promise: callAsync(job.promise), abort: job.abort };
    }));
    if (signal) {
      if (signal.aborted) stream.abort();
      else {
        const onAbort = () => stream.abort();
        signal.addEventListener('abort', onAbort, { once: true });
        stream.result.finally(() => signal.removeEventListener('abort', onAbort)).catch(() => undefined);
      }
    }
    return stream;
  }

  /** Generates and returns the whole result (same tokens as streaming with the same options). */
  async complete(prompt: PromptInput, options: GenerateOptions = {}): Promise<GenerationResult> {
    return this.generate(prompt, options).result;
  }

  /** Reads block outputs (after steering) for a prompt. */
  async capture(prompt: PromptInput, options: CaptureOptions = {}): Promise<CaptureResult> {
    const nc = this.#live();
    const o = checkObject('options', options);
    checkKeys('options', o, CONTEXT_OPTION_KEYS.capture);
    const info = this.model.info;
    const tokens = this.tokens(prompt);
    const blocks = checkBlocks('options.blocks', o.blocks ?? 'all', info.blockCount);
    const reduce = checkOneOf('options.reduce', o.reduce, ['none', 'mean'] as const, 'none');
    const n = tokens.length;
    let mask: boolean[];
    if (o.positions === undefined || o.positions === 'all') mask = new Array(n).fill(true);
    else if (o.positions === 'last') mask = Array.from({ length: n }, (_, i) => i === n - 1);
    else if (Array.isArray(o.positions) && o.positions.length === n && o.positions.every((b) => typeof b === 'boolean')) mask = o.positions;
    else throw invalidArg('options.positions', `'all', 'last' or an array of ${n} booleans (one per token)`, o.positions);
    // The last block's output only has rows for tokens that produce logits.
    const lastBlock = blocks.includes(info.blockCount - 1);
    const logits = Uint8Array.from(mask, (m, i) => (lastBlock ? (m ? 1 : 0) : (i === n - 1 ? 1 : 0)));
    if (reduce === 'mean') {
      const ranges = maskToRanges(mask);
      const sums = await this.#serial(async () => {
        await callAsync(() => nc.evaluate({
          sequences: [{ seq: 0, pos0: 0, tokens, logits }], clear: true, logits: 'none',
          capture: { reduce: Int32Array.from(blocks), resetReduce: true, ranges: { seq: new Int32Array(ranges.length), p0: Int32Array.from(ranges, (r) => r[0]), p1: Int32Array.from(ranges, (r) => r[1]) } },
        }));
        return callAsync(() => nc.readReduction(Int32Array.from(blocks)));
      });
      return { tokens, blocks: [], means: sums.map((s) => ({ block: s.block, count: s.count, mean: meanOf(s.sum, s.count, info.embeddingSize) })) };
    }
    const r = await this.#serial(() => callAsync(() => nc.evaluate({
      sequences: [{ seq: 0, pos0: 0, tokens, logits }], clear: true, logits: 'none', capture: { rows: Int32Array.from(blocks) },
    })));
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
   * graph: memory stays O(blocks x n_embd) however many samples there are.
   */
  async captureMean(items: MeanItem[], options: { blocks?: number[] | number | 'all'; signal?: AbortSignal } = {}): Promise<{ block: number; mean: Float32Array; count: number }[]> {
    const nc = this.#live();
    const o = checkObject('options', options);
    checkKeys('options', o, CONTEXT_OPTION_KEYS.captureMean);
    const info = this.model.info;
    const blocks = checkBlocks('options.blocks', o.blocks ?? 'all', info.blockCount);
    const signal = checkSignal('options.signal', o.signal);
    const prepared = this.#meanItems(items);
    const lastBlock = blocks.includes(info.blockCount - 1);
    const sums = await this.#serial(async () => {
      let first = true;
      for (const it of prepared) {
        if (signal?.aborted) throw new PersonaSteerError(ErrorCodes.ABORTED, 'captureMean was aborted');
        const logits = outputsFor(it, lastBlock);
        await callAsync(() => nc.evaluate({
          sequences: [{ seq: 0, pos0: 0, tokens: it.tokens, logits }], clear: true, logits: 'none',
          capture: { reduce: Int32Array.from(blocks), resetReduce: first, ranges: { seq: new Int32Array(1), p0: Int32Array.of(it.start), p1: Int32Array.of(it.end) } },
        }));
        first = false;
      }
      return callAsync(() => nc.readReduction(Int32Array.from(blocks)));
    });
    return sums.map((s) => ({ block: s.block, count: s.count, mean: meanOf(s.sum, s.count, info.embeddingSize) }));
  }

  /**
   * Per item, the mean projection of block outputs on monitored directions over [start, end).
   * Only the projections come back from the graph (a few floats per token), so memory stays
   * O(items x directions x blocks).
   */
  async projectionMeans(items: MeanItem[], monitor: MonitorEntry[], options: { signal?: AbortSignal } = {}): Promise<{ name: string; block: number; values: Float64Array }[]> {
    const nc = this.#live();
    const o = checkObject('options', options);
    checkKeys('options', o, CONTEXT_OPTION_KEYS.projectionMeans);
    const signal = checkSignal('options.signal', o.signal);
    const info = this.model.info;
    const layout = buildMonitor(monitor, info.embeddingSize, info.blockCount, 'monitor');
    if (!layout) throw invalidArg('monitor', 'a non-empty array of { name, vector, blocks? }', monitor);
    const prepared = this.#meanItems(items);
    const lastBlock = layout.blocks.includes(info.blockCount - 1);
    const out = layout.slots.map((s) => ({ name: s.name, block: s.block, values: new Float64Array(prepared.length) }));
    const nDirs = layout.native.nDirs;
    await this.#serial(async () => {
      await callAsync(() => nc.setMonitor(layout.native));
      try {
        for (let i = 0; i < prepared.length; i++) {
          if (signal?.aborted) throw new PersonaSteerError(ErrorCodes.ABORTED, 'projectionMeans was aborted');
          const it = prepared[i];
          const logits = outputsFor(it, lastBlock);
          const r = await callAsync(() => nc.evaluate({ sequences: [{ seq: 0, pos0: 0, tokens: it.tokens, logits }], clear: true, logits: 'none' }));
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
      } finally {
        // No monitor is left behind, also after an abort (a disposed context needs no reset).
        if (!this.#disposed) await callAsync(() => nc.setMonitor(null));
      }
    });
    return out;
  }

  /** Decodes a prompt and returns logits (of the last token, or of every token with { all: true }). */
  async logits(prompt: PromptInput, options: { all?: boolean } = {}): Promise<LogitsResult> {
    const nc = this.#live();
    const o = checkObject('options', options);
    checkKeys('options', o, CONTEXT_OPTION_KEYS.logits);
    const all = optBool('options.all', o.all, false);
    const tokens = this.tokens(prompt);
    const r = await this.#serial(() => callAsync(() => nc.evaluate({ sequences: [{ seq: 0, pos0: 0, tokens }], clear: true, logits: all ? 'all' : 'last' })));
    return { tokens, logits: r.logits, outputs: r.outputs };
  }

  /**
   * Low level: decodes several sequences in one batch (they must fit in batchSize to share a
   * llama_decode call), optionally keeping what the context already holds.
   */
  async evaluate(sequences: EvaluateSequence[], options: { keepMemory?: boolean; captureBlocks?: number[] | number | 'all' } = {}): Promise<EvaluateResult> {
    const nc = this.#live();
    const o = checkObject('options', options);
    checkKeys('options', o, CONTEXT_OPTION_KEYS.evaluate);
    const keep = optBool('options.keepMemory', o.keepMemory, false);
    const info = this.model.info;
    const capture = o.captureBlocks === undefined ? undefined : Int32Array.from(checkBlocks('options.captureBlocks', o.captureBlocks, info.blockCount));
    if (!Array.isArray(sequences) || sequences.length === 0) throw invalidArg('sequences', 'a non-empty array of { tokens, seq?, pos0?, logits? }', sequences);
    const seqs = sequences.map((s, i) => {
      const so = checkObject(`sequences[${i}]`, s, false);
      checkKeys(`sequences[${i}]`, so, ['tokens', 'seq', 'pos0', 'logits']);
      const tokens = toTokenArray(`sequences[${i}].tokens`, so.tokens, info.vocabularySize, false);
      const seq = optInt(`sequences[${i}].seq`, so.seq, 0, 255, 0);
      const pos0 = optInt(`sequences[${i}].pos0`, so.pos0, 0, this.contextSize - 1, 0);
      if (pos0 + tokens.length > this.contextSize) {
        throw new PersonaSteerError(ErrorCodes.CONTEXT_OVERFLOW, `sequences[${i}] ends at position ${pos0 + tokens.length}, beyond the context size ${this.contextSize}`);
      }
      const which = checkOneOf(`sequences[${i}].logits`, so.logits, ['last', 'all', 'none'] as const, 'last');
      const logits = Uint8Array.from(tokens, (_, k) => (which === 'all' || (which === 'last' && k === tokens.length - 1) ? 1 : 0));
      return { seq, pos0, tokens, logits };
    });
    const r = await this.#serial(() => callAsync(() => nc.evaluate({ sequences: seqs, clear: !keep, logits: 'last', capture: capture ? { rows: capture } : undefined })));
    const nv = info.vocabularySize;
    const logits = Array.from({ length: r.outputs }, (_, i) => r.logits.slice(i * nv, (i + 1) * nv));
    return { logits, captures: r.captures.map((c) => splitRows(c, info.embeddingSize)) };
  }

  /**
   * llama.cpp's own control vector (llama_set_adapter_cvec): adds scale * v at the given blocks.
   * Block 0 is not possible there; every call rebuilds the graph. null removes it.
   */
  async setLlamaControlVector(vector: VectorInput | null, options: { scale?: number; blocks?: number[] | number | 'all' } = {}): Promise<void> {
    const nc = this.#live();
    const o = checkObject('options', options);
    checkKeys('options', o, CONTEXT_OPTION_KEYS.setLlamaControlVector);
    if (vector === null) return this.#serial(() => callAsync(() => nc.setControlVector(null, 0, 0)));
    const info = this.model.info;
    const op = toNativeOp('vector', { kind: 'add', vector, scale: o.scale, blocks: o.blocks }, info.embeddingSize, info.blockCount,
      { vector: 'vector', blocks: 'options.blocks', scale: 'options.scale' });
    if (op.blocks.includes(0)) throw invalidArg('options.blocks', "blocks >= 1 (llama.cpp's control vectors cannot touch block 0)", Array.from(op.blocks));
    const data = new Float32Array(info.blockCount * info.embeddingSize);
    op.blocks.forEach((b, i) => {
      for (let k = 0; k < info.embeddingSize; k++) data[b * info.embeddingSize + k] = op.scale! * op.vectors[i * info.embeddingSize + k];
    });
    return this.#serial(() => callAsync(() => nc.setControlVector(data, op.blocks[0], op.blocks[op.blocks.length - 1])));
  }

  /** Counters: graph builds through the steering hook (value changes never add one), reused graphs. */
  async stats(): Promise<NativeContextStats> {
    const nc = this.#live();
    return this.#serial(() => callAsync(() => nc.stats()));
  }

  /** Waits for queued work (a running generation stops at its next token), then frees the context. */
  dispose(): Promise<void> {
    if (this.#disposing) return this.#disposing;
    this.#disposed = true;
    this.#disposing = callAsync(this.native.dispose());
    return this.#disposing;
  }
}

function readSampling(o: Record<string, unknown>): NativeSampling {
  return {
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

function abortedSummary(promptTokens: number): NativeGenerateSummary {
  return { stopReason: 'abort', promptTokens, generatedTokens: 0, promptMs: 0, generateMs: 0, captures: [], promptMonitor: [], graphBuilds: 0 };
}

/**
 * Output flags for one item: the last block's output only has rows for tokens that produce
 * logits, so when it is read, the averaged range must produce them; otherwise only the last token.
 */
function outputsFor(it: { tokens: Int32Array; start: number; end: number }, lastBlock: boolean): Uint8Array {
  return Uint8Array.from(it.tokens, (_, i) => (lastBlock ? (i >= it.start && i < it.end ? 1 : 0) : (i === it.tokens.length - 1 ? 1 : 0)));
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

function meanOf(sum: Float32Array | null, count: number, nEmbd: number): Float32Array {
  const out = new Float32Array(nEmbd);
  if (!sum || count === 0) return out;
  for (let i = 0; i < nEmbd; i++) out[i] = sum[i] / count;
  return out;
}

export type { TokenEvent, GenerationResult };
