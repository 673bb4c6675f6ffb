// POST /v1/chat/completions and POST /v1/completions: whole answers or SSE streams, each request
// with its own steering plan and monitor. A client that disconnects stops its generation (or
// leaves the queue) at once; a shutdown past its deadline ends streams with an error event.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Engine, Running } from '../engine';
import { ApiError, toApiError } from '../errors';
import { chunk, finishReason, newIds, responseBody, toJob, usageChunk, wireProjections, type ChatBody, type CompletionBody, type Kind } from '../openai';
import { chatBody, completionBody } from '../schemas';
import { EventStream } from '../sse';

/** Aborted when the client goes away before the whole response was written. */
export function clientSignal(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) ac.abort();
  });
  return ac.signal;
}

const shuttingDown = () => new ApiError(503, 'the server is shutting down; the request was stopped', { code: 'shutting_down' });

async function handle(engine: Engine, kind: Kind, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const body = request.body as ChatBody | CompletionBody;
  const job = toJob(kind, body, engine);
  const tokens = engine.promptTokens(job);
  const signal = clientSignal(reply);
  // Admission first: a 429 or 503 is still a plain HTTP error, before any stream starts.
  const started = engine.start(job, tokens, signal);
  const ids = newIds(kind, engine.modelId);
  const monitored = job.monitor !== undefined;
  if (body.stream !== true) {
    const running = await started;
    const result = await running.stream.result;
    const by = running.stoppedBy();
    if (by === 'shutdown') throw shuttingDown();
    if (by === 'client') return reply.code(499).send();
    return responseBody(kind, ids, result, monitored);
  }
  const includeUsage = body.stream_options?.include_usage === true;
  const sse = new EventStream(reply);
  // The role chunk goes out at once, so the client has its headers while the request waits.
  if (kind === 'chat') sse.send(chunk(kind, ids, { role: 'assistant', content: '' }, null));
  else sse.comment('queued');
  let running: Running | undefined;
  try {
    running = await started;
    let first = true;
    for await (const ev of running.stream) {
      let persona: { last_prompt?: ReturnType<typeof wireProjections>; tokens: ReturnType<typeof wireProjections>[] } | undefined;
      if (monitored) {
        const p = wireProjections(ev.projections);
        persona = { tokens: ev.token === null ? [] : [p] };
        if (first && ev.token !== null) persona.last_prompt = p;
      }
      if (ev.token !== null) first = false;
      sse.send(chunk(kind, ids, { content: ev.text }, null, persona));
    }
    const result = await running.stream.result;
    const by = running.stoppedBy();
    if (by === 'shutdown') {
      sse.send(shuttingDown().toWire());
      sse.end();
    } else if (by === 'client') {
      sse.end();
    } else {
      sse.send(chunk(kind, ids, {}, finishReason(result.stopReason)));
      if (includeUsage) sse.send(usageChunk(kind, ids, result.promptTokens, result.generatedTokens));
      sse.done();
    }
  } catch (e) {
    // Headers are out: the error travels as an event (the openai client raises it).
    const err = running?.stoppedBy() === 'shutdown' ? shuttingDown() : toApiError(e);
    if (err.status >= 500) request.log.error(e);
    sse.send(err.toWire());
    sse.end();
  }
  return reply;
}

export function generationRoutes(engine: Engine) {
  return async (app: FastifyInstance): Promise<void> => {
    app.post('/v1/chat/completions', { schema: { body: chatBody } }, (request, reply) => handle(engine, 'chat', request, reply));
    app.post('/v1/completions', { schema: { body: completionBody } }, (request, reply) => handle(engine, 'completion', request, reply));
  };
}
