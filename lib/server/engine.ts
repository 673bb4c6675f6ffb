// The served model: one Model, one Context with a sequence per parallel slot, the vector registry,
// admission, and the generations in flight. Routes turn requests into a GenerationJob; the engine
// admits it, runs it with its own steering plan and monitor, and keeps the counters /health shows.
import type { Context, GenerateOptions, PromptInput } from '../context';
import { ErrorCodes, PersonaSteerError } from '../errors';
import type { GenerationResult, GenerationStream, TokenEvent } from '../generation-stream';
import type { Model } from '../model';
import type { MonitorEntry } from '../monitor-layout';
import type { SteeringPlan } from '../steering';
import { ApiError, fromLibraryError } from './errors';
import type { SteeringFields } from './plan';
import { VectorRegistry } from './registry';
import { Scheduler } from './scheduler';

export interface Limits {
  /** Tokens one request may generate at most (also the default for a request that sets none). */
  maxTokens: number;
  /** Prompt tokens a request may send at most. */
  maxPromptTokens: number;
  /** Tokens each slot holds: prompt + generated. */
  slotContext: number;
}

export interface GenerationJob {
  prompt: PromptInput;
  /** Field the prompt came from, for error messages ('messages' or 'prompt'). */
  promptParam: string;
  maxTokens: number | undefined;
  sampling: Pick<GenerateOptions, 'greedy' | 'temperature' | 'topK' | 'topP' | 'minP' | 'repeatPenalty' | 'seed'>;
  stop: string[];
  stopAtEog: boolean;
  plan: SteeringPlan | null;
  monitor: MonitorEntry[] | undefined;
}

export interface EngineCounters {
  requests: number;
  completed: number;
  aborted: number;
  failed: number;
  promptTokens: number;
  generatedTokens: number;
}

/** A running generation, as the route sees it. */
export interface Running {
  promptTokens: number;
  stream: GenerationStream;
  /** Why it was stopped from outside: the client left, or the server is shutting down. */
  stoppedBy: () => 'client' | 'shutdown' | null;
}

export class Engine {
  readonly model: Model;
  readonly context: Context;
  readonly registry: VectorRegistry;
  readonly scheduler: Scheduler;
  readonly limits: Limits;
  readonly modelId: string;
  readonly created = Math.floor(Date.now() / 1000);
  /** The server's default steering (--default-steering), applied to requests that leave it out. */
  defaults: SteeringFields | null = null;
  readonly counters: EngineCounters = { requests: 0, completed: 0, aborted: 0, failed: 0, promptTokens: 0, generatedTokens: 0 };
  #shuttingDown = false;
  /** One controller per job in flight: aborted by its client's signal, or by abortAll(). */
  readonly #active = new Set<AbortController>();
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(model: Model, context: Context, options: { parallel: number; queue: number; limits: Limits; modelId: string }) {
    this.model = model;
    this.context = context;
    this.registry = new VectorRegistry(model);
    this.limits = options.limits;
    this.modelId = options.modelId;
    // every slot is a sequence of the context: their generations are decoded together
    this.scheduler = new Scheduler(options.parallel, options.queue);
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Every job in flight settles (used by graceful shutdown). */
  async drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** Stops every queued and running job now. */
  abortAll(): void {
    this.#shuttingDown = true;
    for (const ac of this.#active) ac.abort();
  }

  /** Tokenizes the prompt and checks it against the limits (before anything is queued). */
  promptTokens(job: GenerationJob): Int32Array {
    let ids: Int32Array;
    try {
      ids = this.context.tokens(job.prompt, job.promptParam);
    } catch (e) {
      if (e instanceof PersonaSteerError) {
        if (e.code === ErrorCodes.CHAT_TEMPLATE) {
          // The library's advice names its own options; an HTTP client can only change the route.
          const why = e.message.startsWith('the model has no chat template') ? 'the model has no chat template (tokenizer.chat_template)'
            : `the model's chat template cannot format these messages: ${e.message}`;
          throw new ApiError(400, `${why}; send raw text to /v1/completions instead`, { param: 'messages', code: 'no_chat_template' });
        }
        if (e.code === ErrorCodes.CONTEXT_OVERFLOW) {
          throw new ApiError(400, `${job.promptParam} is longer than a slot's context (${this.limits.slotContext} tokens)`, { param: job.promptParam, code: 'context_length_exceeded' });
        }
        throw fromLibraryError(e, job.promptParam);
      }
      throw e;
    }
    const limit = Math.min(this.limits.maxPromptTokens, this.limits.slotContext - 1);
    if (ids.length > limit) {
      throw new ApiError(400, `${job.promptParam} has ${ids.length} tokens; this server accepts at most ${limit} (a slot holds ${this.limits.slotContext} tokens, prompt and answer together)`,
        { param: job.promptParam, code: 'context_length_exceeded' });
    }
    return ids;
  }

  /**
   * Admits the job and returns a promise of the running generation. Refusals (queue full: 429,
   * shutting down: 503) are thrown synchronously, before any response is sent. `signal` is the
   * client's: aborting it takes the job out of the queue, or stops its generation before the next
   * token, at once.
   */
  start(job: GenerationJob, tokens: Int32Array, signal: AbortSignal): Promise<Running> {
    this.counters.requests++;
    const { both, done } = this.#jobSignal(signal);
    let ticket: Promise<() => void>;
    try {
      ticket = this.scheduler.enter(both);
    } catch (e) {
      done();
      throw e;
    }
    const running = this.#run(ticket, job, tokens, signal, both);
    running.then((r) => r.stream.result, () => undefined).finally(done).catch(() => undefined);
    // Queued or running, it is in flight until its generation has ended (graceful shutdown waits).
    this.#track(running.then((r) => r.stream.result));
    return running;
  }

  /**
   * The job's own signal: aborted when its client's is, or at shutdown. (A per-job controller
   * rather than AbortSignal.any with a server-lifetime signal, which would keep a dependent per
   * request alive until shutdown.)
   */
  #jobSignal(client: AbortSignal): { both: AbortSignal; done: () => void } {
    const ac = new AbortController();
    if (this.#shuttingDown || client.aborted) ac.abort();
    const onAbort = () => ac.abort();
    client.addEventListener('abort', onAbort, { once: true });
    this.#active.add(ac);
    return {
      both: ac.signal,
      done: () => {
        client.removeEventListener('abort', onAbort);
        this.#active.delete(ac);
      },
    };
  }

  #track(p: Promise<unknown>): void {
    const settled: Promise<void> = p.then(() => undefined, () => undefined).finally(() => this.#inFlight.delete(settled));
    this.#inFlight.add(settled);
  }

  async #run(ticket: Promise<() => void>, job: GenerationJob, tokens: Int32Array, signal: AbortSignal, both: AbortSignal): Promise<Running> {
    let release: () => void;
    try {
      release = await ticket;
    } catch (e) {
      this.counters.aborted++;
      if (this.#shuttingDown && !signal.aborted) throw new ApiError(503, 'the server is shutting down', { code: 'shutting_down' });
      throw e;
    }
    const room = this.limits.slotContext - tokens.length;
    const maxTokens = Math.max(1, Math.min(job.maxTokens ?? this.limits.maxTokens, room));
    let stream: GenerationStream;
    try {
      // `steer` is always given: the plan, or null for none, so each call runs with exactly its
      // own plan whether or not the context batches calls (docs/server.md, "Concurrency").
      stream = this.context.generate(tokens, {
        ...job.sampling, maxTokens, stop: job.stop, stopAtEog: job.stopAtEog, signal: both, steer: job.plan,
        ...(job.monitor ? { monitor: job.monitor } : {}),
      });
    } catch (e) {
      release();
      this.counters.failed++;
      throw e instanceof PersonaSteerError ? fromLibraryError(e) : e;
    }
    stream.result.then((r) => {
      this.counters.promptTokens += r.promptTokens;
      this.counters.generatedTokens += r.generatedTokens;
      if (r.stopReason === 'abort') this.counters.aborted++;
      else this.counters.completed++;
    }, () => { this.counters.failed++; }).finally(release);
    return {
      promptTokens: tokens.length,
      stream,
      stoppedBy: () => (signal.aborted ? 'client' : this.#shuttingDown && both.aborted ? 'shutdown' : null),
    };
  }

  /**
   * Runs an exclusive job (an extraction): it waits for the running generations, holds every slot,
   * and starts from no steering. Refusals are thrown synchronously, as in start().
   */
  exclusive<T>(signal: AbortSignal, task: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const { both, done } = this.#jobSignal(signal);
    let ticket: Promise<() => void>;
    try {
      ticket = this.scheduler.enter(both, { exclusive: true });
    } catch (e) {
      done();
      throw e;
    }
    const run = (async () => {
      const release = await ticket.catch((e) => { done(); throw e; });
      try {
        // Persona helpers run under the context's current plan; start them from none.
        this.context.setSteering(null);
        return await task(both);
      } finally {
        release();
        done();
      }
    })();
    this.#track(run);
    return run;
  }
}


export type { TokenEvent, GenerationResult };
