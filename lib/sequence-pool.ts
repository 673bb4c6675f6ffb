// Which sequence ids of a context are in use. A one-shot call borrows an id for its duration; a
// Sequence owns one for its lifetime and uses it one call at a time. Waiting calls are served in
// the order they came. When every id is owned, a one-shot call borrows an idle owned id, and that
// Sequence's cells are treated as gone (its next call evaluates its whole prompt again).
import { ErrorCodes, PersonaSteerError } from './errors';

interface Waiter {
  id: number | null;           // a specific id (a Sequence's own, or evaluate's), or any
  resolve(id: number): void;
  reject(err: Error): void;
}

export class SequencePool {
  readonly size: number;
  #busy: boolean[];
  #owned: boolean[];
  #waiters: Waiter[] = [];
  #closed: Error | null = null;
  /** Called when a one-shot call borrows an owned id (the owner's cells will be overwritten). */
  onLend: (id: number) => void = () => undefined;

  constructor(size: number) {
    this.size = size;
    this.#busy = new Array(size).fill(false);
    this.#owned = new Array(size).fill(false);
  }

  /** Any id: free and unowned first, then an idle owned one. */
  acquire(): Promise<number> {
    return this.#enqueue(null);
  }

  /** One specific id, once no other call uses it. */
  acquireId(id: number): Promise<number> {
    return this.#enqueue(id);
  }

  release(id: number): void {
    this.#busy[id] = false;
    this.#serve();
  }

  /** An id for a new Sequence; throws ERR_NO_SEQUENCE when every id is owned. */
  claim(): number {
    if (this.#closed) throw this.#closed;
    let best = -1;
    for (let i = 0; i < this.size; i++) {
      if (this.#owned[i]) continue;
      if (best < 0 || (this.#busy[best] && !this.#busy[i])) best = i;
    }
    if (best < 0) {
      throw new PersonaSteerError(ErrorCodes.NO_SEQUENCE,
        `all ${this.size} sequences of this context are held by Sequence objects; dispose one, or create the context with more sequences (options.sequences)`);
    }
    this.#owned[best] = true;
    return best;
  }

  unclaim(id: number): void {
    this.#owned[id] = false;
    this.#serve();
  }

  /** Rejects every waiting call and every later one with `err`. */
  close(err: Error): void {
    this.#closed = err;
    for (const w of this.#waiters.splice(0)) w.reject(err);
  }

  #enqueue(id: number | null): Promise<number> {
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise<number>((resolve, reject) => {
      this.#waiters.push({ id, resolve, reject });
      this.#serve();
    });
  }

  #pick(w: Waiter): number {
    if (w.id !== null) return this.#busy[w.id] ? -1 : w.id;
    for (let i = 0; i < this.size; i++) if (!this.#busy[i] && !this.#owned[i]) return i;
    for (let i = 0; i < this.size; i++) if (!this.#busy[i]) return i;
    return -1;
  }

  #serve(): void {
    for (let k = 0; k < this.#waiters.length;) {
      const w = this.#waiters[k];
      const id = this.#pick(w);
      if (id < 0) { k++; continue; }
      this.#waiters.splice(k, 1);
      this.#busy[id] = true;
      if (w.id === null && this.#owned[id]) this.onLend(id);
      w.resolve(id);
    }
  }
}
