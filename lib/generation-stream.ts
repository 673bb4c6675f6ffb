// The stream a generation returns: an async iterator of token events, a promise of the whole
// result, and abort(). Stop strings are matched here: text that could still become a stop string
// is held back, so what is streamed never has to be taken back.
import type { NativeGenerateSummary, NativePlan, NativeRows } from './native';
import type { SteeringPlan, SteerOp } from './steering';
import { readProjections, type MonitorLayout, type Projection } from './monitor-layout';

export interface TokenEvent {
  /** The sampled token id; null for a final event that only flushes held-back text. */
  token: number | null;
  /** New text (may be '' while a UTF-8 character or a possible stop string is incomplete). */
  text: string;
  /** Monitored projections at the position whose output picked this token. */
  projections: Projection[];
  /** With options.logprobs: this token's log-probability under the model (natural log). */
  logprob?: number;
  /** With options.topLogprobs: the most likely tokens at this step, most likely first. */
  topLogprobs?: TokenLogprob[];
}

/** A token and its log-probability (natural log of the softmax of the model's raw logits). */
export interface TokenLogprob {
  token: number;
  /** The token's own text (UTF-8 decoded on its own; a partial character shows as U+FFFD). */
  text: string;
  logprob: number;
}

export type StopReason = 'eog' | 'max-tokens' | 'stop-string' | 'abort' | 'context-full';

export interface CapturedRows {
  block: number;
  /** One Float32Array of embeddingSize values per row. */
  rows: Float32Array[];
  positions: Int32Array;
  sequences: Int32Array;
}

export interface GenerationResult {
  text: string;
  tokens: number[];
  stopReason: StopReason;
  promptTokens: number;
  /** Prompt tokens reused from the sequence's cells instead of evaluated (Sequence calls). */
  cachedTokens: number;
  generatedTokens: number;
  promptMs: number;
  generateMs: number;
  /** Generated tokens per second (decode only). */
  tokensPerSecond: number;
  /** Per token, the projections delivered with it. */
  projections: Projection[][];
  /** Projections at the last prompt token: they predict the trait of the coming answer. */
  lastPromptProjections: Projection[];
  captures: CapturedRows[];
  graphBuilds: number;
  /** With options.logprobs / topLogprobs: one entry per generated token. */
  logprobs?: (TokenLogprob & { topLogprobs?: TokenLogprob[] })[];
}

export function splitRows(r: NativeRows, width: number): CapturedRows {
  const n = r.pos.length;
  const rows: Float32Array[] = [];
  for (let i = 0; i < n; i++) rows.push(r.rows.slice(i * width, (i + 1) * width));
  return { block: r.block, rows, positions: r.pos, sequences: r.seq };
}

export class GenerationStream implements AsyncIterable<TokenEvent> {
  readonly result: Promise<GenerationResult>;
  /** Every event so far: each iterator reads them with its own cursor. */
  #events: TokenEvent[] = [];
  /** Iterators waiting for the next event (or the end). */
  #wake: (() => void)[] = [];
  #done = false;
  #nativeAbort: (() => void) | null = null;
  #nativeSteer: ((plan: NativePlan | null) => void) | null = null;
  #pendingPlan: { plan: NativePlan | null } | null = null;
  #toPlan: (plan: SteeringPlan | SteerOp[] | null) => NativePlan | null;
  #raw: number[] = [];
  #abortRequested = false;
  #stopped: StopReason | null = null;
  #decoder = new TextDecoder('utf-8');
  #full = '';
  #emitted = 0;
  #tokens: number[] = [];
  #projections: Projection[][] = [];
  #stops: string[];
  #maxStop: number;
  /** Set when the call asked for log-probabilities: a token's text. */
  #tokenText: ((token: number) => string) | null;
  get #wantLogprobs(): boolean { return this.#tokenText !== null; }
  #logprobs: (TokenLogprob & { topLogprobs?: TokenLogprob[] })[] | null = null;

  /** @internal */
  constructor(stops: string[], private readonly layout: MonitorLayout | null, private readonly embeddingSize: number,
    start: (onToken: (t: number, b: Uint8Array, m: Float32Array | null, p: Float64Array | null) => void, aborted: () => boolean) =>
      Promise<{ promise: Promise<NativeGenerateSummary>; abort(): void; setSteering(plan: NativePlan | null): void }>,
    toPlan: (plan: SteeringPlan | SteerOp[] | null) => NativePlan | null,
    tokenText: ((token: number) => string) | null = null) {
    this.#stops = stops;
    this.#tokenText = tokenText;
    this.#maxStop = stops.reduce((m, s) => Math.max(m, s.length), 0);
    this.#toPlan = toPlan;
    this.result = (async () => {
      try {
        // `aborted` lets a start that runs later (queued behind other work) skip the native call.
        const job = await start((t, b, m, p) => this.#onToken(t, b, m, p), () => this.#abortRequested || this.#stopped !== null);
        this.#nativeAbort = job.abort;
        this.#nativeSteer = job.setSteering;
        if (this.#pendingPlan) job.setSteering(this.#pendingPlan.plan);
        if (this.#abortRequested || this.#stopped) job.abort();
        const summary = await job.promise;
        return this.#finish(summary);
      } catch (err) {
        this.#end();
        throw err;
      }
    })();
    // The result is also delivered through the iterator; an unobserved rejection must not crash.
    this.result.catch(() => undefined);
  }

  /**
   * Replaces this generation's steering plan from its next decoded token (null: unsteered from
   * then on). Validated here; a value-only change uploads values and never rebuilds the graph.
   */
  setSteering(plan: SteeringPlan | SteerOp[] | null): void {
    const p = this.#toPlan(plan);
    if (this.#nativeSteer) this.#nativeSteer(p);
    else this.#pendingPlan = { plan: p };
  }

  /** @internal Every token the native loop emitted, including any after a stop string. */
  get emittedTokens(): readonly number[] {
    return this.#raw;
  }

  /** Stops generation before the next token; the result resolves with stopReason 'abort'. */
  abort(): void {
    this.#abortRequested = true;
    this.#nativeAbort?.();
  }

  #push(ev: TokenEvent): void {
    this.#events.push(ev);
    for (const w of this.#wake.splice(0)) w();
  }

  #end(): void {
    this.#done = true;
    for (const w of this.#wake.splice(0)) w();
  }

  /** Length of the longest suffix of the text that is a proper prefix of some stop string. */
  #holdback(): number {
    let hold = 0;
    const tail = this.#full.slice(Math.max(this.#emitted, this.#full.length - this.#maxStop));
    for (const s of this.#stops) {
      for (let k = Math.min(s.length - 1, tail.length); k > hold; k--) {
        if (tail.endsWith(s.slice(0, k))) { hold = k; break; }
      }
    }
    return hold;
  }

  #onToken(token: number, bytes: Uint8Array, monitor: Float32Array | null, probs: Float64Array | null): void {
    this.#raw.push(token);
    if (this.#stopped) return;
    this.#tokens.push(token);
    const projections = this.layout ? readProjections(this.layout, monitor) : [];
    const lp = probs ? this.#readLogprobs(token, bytes, probs) : null;
    this.#projections.push(projections);
    this.#full += this.#decoder.decode(bytes, { stream: true });
    if (this.#stops.length > 0) {
      const from = Math.max(0, this.#emitted - this.#maxStop);
      let cut = -1;
      for (const s of this.#stops) {
        const i = this.#full.indexOf(s, from);
        if (i >= 0 && (cut < 0 || i < cut)) cut = i;
      }
      if (cut >= 0) {
        const text = this.#full.slice(this.#emitted, cut);
        this.#full = this.#full.slice(0, cut);
        this.#emitted = cut;
        this.#stopped = 'stop-string';
        this.#nativeAbort?.();
        this.#push({ token, text, projections, ...lp });
        return;
      }
    }
    const end = this.#full.length - this.#holdback();
    const text = end > this.#emitted ? this.#full.slice(this.#emitted, end) : '';
    this.#emitted = Math.max(this.#emitted, end);
    this.#push({ token, text, projections, ...lp });
  }

  /** probs: [logprob of token, then (id, logprob) pairs] from the native loop. */
  #readLogprobs(token: number, bytes: Uint8Array, probs: Float64Array): { logprob: number; topLogprobs?: TokenLogprob[] } {
    const text = (id: number) => this.#tokenText!(id);
    const out: { logprob: number; topLogprobs?: TokenLogprob[] } = { logprob: probs[0] };
    if (probs.length > 1) {
      out.topLogprobs = [];
      for (let i = 1; i + 1 < probs.length; i += 2) out.topLogprobs.push({ token: probs[i], text: text(probs[i]), logprob: probs[i + 1] });
    }
    this.#logprobs ??= [];
    this.#logprobs.push({ token, text: new TextDecoder().decode(bytes), ...out });
    return out;
  }

  #finish(s: NativeGenerateSummary): GenerationResult {
    if (!this.#stopped) {
      this.#full += this.#decoder.decode();
      if (this.#full.length > this.#emitted) {
        this.#push({ token: null, text: this.#full.slice(this.#emitted), projections: [] });
        this.#emitted = this.#full.length;
      }
    }
    const stopReason: StopReason = this.#stopped ?? s.stopReason;
    const generated = this.#tokens.length;
    let lastPromptProjections: Projection[] = [];
    if (this.layout) {
      if (this.#projections.length > 0) lastPromptProjections = this.#projections[0];
      else if (s.promptMonitor.length > 0) {
        // No token was generated: read the last prompt row from the prompt's projections.
        const row = new Float32Array(this.layout.blocks.length * this.layout.native.nDirs);
        s.promptMonitor.forEach((r, bi) => {
          const n = r.pos.length;
          if (n > 0) row.set(r.rows.subarray((n - 1) * this.layout!.native.nDirs, n * this.layout!.native.nDirs), bi * this.layout!.native.nDirs);
        });
        lastPromptProjections = readProjections(this.layout, row);
      }
    }
    const result: GenerationResult = {
      text: this.#full,
      tokens: this.#tokens,
      stopReason,
      promptTokens: s.promptTokens,
      cachedTokens: s.cachedTokens,
      generatedTokens: generated,
      promptMs: s.promptMs,
      generateMs: s.generateMs,
      tokensPerSecond: s.generateMs > 0 ? (s.generatedTokens / s.generateMs) * 1000 : 0,
      projections: this.#projections,
      lastPromptProjections,
      captures: s.captures.map((r) => splitRows(r, this.embeddingSize)),
      graphBuilds: s.graphBuilds,
      ...(this.#logprobs || this.#wantLogprobs ? { logprobs: this.#logprobs ?? [] } : {}),
    };
    this.#end();
    return result;
  }

  /**
   * Every iterator sees every event from the first one on (events are kept for the stream's life).
   * Leaving a loop early (`return()`) stops the generation and ends that iterator.
   */
  [Symbol.asyncIterator](): AsyncIterator<TokenEvent> {
    let next = 0;
    let closed = false;
    const step = async (): Promise<IteratorResult<TokenEvent>> => {
      for (;;) {
        if (closed) return { value: undefined, done: true };
        if (next < this.#events.length) return { value: this.#events[next++], done: false };
        // Surface a failure to the iterating caller too.
        if (this.#done) return this.result.then(() => ({ value: undefined, done: true as const }));
        await new Promise<void>((resolve) => this.#wake.push(resolve));
      }
    };
    return {
      next: step,
      return: async () => {
        closed = true;
        this.abort();
        await this.result.catch(() => undefined);
        return { value: undefined, done: true };
      },
    };
  }
}
