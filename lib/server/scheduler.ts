// Admission: at most `running` generations at once, at most `queue` more waiting (FIFO); past that
// a request is refused at once (429 with Retry-After) rather than left hanging. A waiting request
// that is aborted (its client left) leaves the queue. An exclusive job (an extraction) waits for
// the running ones and holds every slot, so nothing else lands between its steps.
import { ApiError } from './errors';

export interface SchedulerStats {
  running: number;
  queued: number;
  slots: number;
  queueLimit: number;
  /** Requests refused because the queue was full. */
  rejected: number;
  /** Median-free running mean of the last requests' durations, in ms (drives Retry-After). */
  meanMs: number;
}

interface Waiter {
  exclusive: boolean;
  resolve: (release: () => void) => void;
  reject: (e: unknown) => void;
}

export class Scheduler {
  readonly slots: number;
  readonly queueLimit: number;
  #running = 0;
  #exclusive = false;
  #queue: Waiter[] = [];
  #rejected = 0;
  #meanMs = 500;
  #closed = false;

  constructor(slots: number, queueLimit: number) {
    this.slots = slots;
    this.queueLimit = queueLimit;
  }

  stats(): SchedulerStats {
    return { running: this.#running, queued: this.#queue.length, slots: this.slots, queueLimit: this.queueLimit, rejected: this.#rejected, meanMs: Math.round(this.#meanMs) };
  }

  /** Seconds a refused client should wait: the queue ahead of it, drained at the measured pace. */
  retryAfter(): number {
    const ahead = this.#queue.length + this.#running;
    return Math.max(1, Math.ceil((ahead * this.#meanMs) / this.slots / 1000));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stops admitting: later requests get 503; queued ones still run. */
  close(): void {
    this.#closed = true;
  }

  /**
   * Reserves a place now (throwing 429/503 synchronously, before any response is sent) and returns
   * a promise of the release function, resolved when the job may run.
   */
  enter(signal: AbortSignal, options: { exclusive?: boolean } = {}): Promise<() => void> {
    if (this.#closed) throw new ApiError(503, 'the server is shutting down', { code: 'shutting_down' });
    const exclusive = options.exclusive === true;
    if (this.#queue.length === 0 && this.#canStart(exclusive)) return Promise.resolve(this.#start(exclusive));
    if (this.#queue.length >= this.queueLimit) {
      this.#rejected++;
      const s = this.retryAfter();
      throw new ApiError(429, `the server is busy: ${this.#running} requests running and ${this.#queue.length} waiting (the limit); retry after ${s} s`,
        { code: 'queue_full', headers: { 'retry-after': String(s) } });
    }
    return new Promise<() => void>((resolve, reject) => {
      const w: Waiter = { exclusive, resolve, reject };
      this.#queue.push(w);
      const onAbort = () => {
        const i = this.#queue.indexOf(w);
        if (i >= 0) {
          this.#queue.splice(i, 1);
          reject(new ApiError(499, 'the request was aborted while waiting', { code: 'aborted' }));
          this.#pump();
        }
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      // The listener is dropped once the job runs (its own abort handling takes over).
      const done = (release: () => void) => { signal.removeEventListener('abort', onAbort); resolve(release); };
      w.resolve = done;
    });
  }

  #canStart(exclusive: boolean): boolean {
    if (this.#exclusive) return false;
    return exclusive ? this.#running === 0 : this.#running < this.slots;
  }

  #start(exclusive: boolean): () => void {
    this.#running++;
    if (exclusive) this.#exclusive = true;
    const t0 = Date.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#running--;
      if (exclusive) this.#exclusive = false;
      if (!exclusive) this.#meanMs = 0.8 * this.#meanMs + 0.2 * (Date.now() - t0);
      this.#pump();
    };
  }

  #pump(): void {
    while (this.#queue.length > 0 && this.#canStart(this.#queue[0]!.exclusive)) {
      const w = this.#queue.shift()!;
      w.resolve(this.#start(w.exclusive));
    }
  }
}
