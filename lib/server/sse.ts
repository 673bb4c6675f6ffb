// Server-sent events over a Fastify reply: `data: <json>\n\n` per event, `data: [DONE]` at the end
// (OpenAI's stream format). The reply is handed a PassThrough, so Fastify's hooks (CORS headers)
// still apply. Writes are not held back for a slow reader: what one generation can buffer is
// bounded by max_tokens, and its slot is freed when it ends, not when the client has read it.
import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';

export class EventStream {
  readonly #out = new PassThrough();
  #open = true;

  constructor(reply: FastifyReply) {
    // A client gone mid-stream destroys the pipe; later writes are dropped, never thrown.
    this.#out.on('error', () => { this.#open = false; });
    this.#out.on('close', () => { this.#open = false; });
    reply
      .header('content-type', 'text/event-stream; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('x-accel-buffering', 'no')
      .send(this.#out);
  }

  get open(): boolean {
    return this.#open && !this.#out.destroyed;
  }

  send(data: unknown): void {
    if (this.open) this.#out.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** A comment line: starts the response (headers go out) without an event. */
  comment(text: string): void {
    if (this.open) this.#out.write(`: ${text}\n\n`);
  }

  done(): void {
    if (this.open) this.#out.write('data: [DONE]\n\n');
    this.end();
  }

  end(): void {
    if (this.open) this.#out.end();
    this.#open = false;
  }
}
