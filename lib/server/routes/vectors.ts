// Vectors by name: list, read, download, upload (a control-vector GGUF as the body, size-limited,
// checked against the model), delete, and extract a new one from two system prompts with progress.
import type { FastifyInstance } from 'fastify';
import { PersonaSteerError } from '../../errors';
import { calibrateCap, withCapThresholds } from '../../persona/calibrate';
import { extractPersonaVector, type ExtractionProgress } from '../../persona/extract';
import { encodeControlVector } from '../../vector/control-vector-format';
import type { Engine } from '../engine';
import { ApiError, badRequest, fromLibraryError, toApiError } from '../errors';
import { describeVector, VECTOR_NAME } from '../registry';
import { extractBody, uploadQuery, vectorNameParams } from '../schemas';
import { EventStream } from '../sse';
import { clientSignal } from './generation';

export interface VectorRouteOptions {
  /** Largest uploaded file, in bytes. */
  maxVectorBytes: number;
}

interface ExtractRequest {
  name: string;
  trait?: string;
  description?: string;
  positive: string;
  negative: string;
  questions: string[];
  max_tokens?: number;
  method?: 'mean-diff' | 'pca';
  positions?: 'response' | 'last-prompt';
  recommend?: number;
  coefficient?: number;
  calibrate?: boolean;
  replace?: boolean;
  stream?: boolean;
}

function entryOr404(engine: Engine, name: string) {
  const e = engine.registry.get(name);
  if (!e) throw new ApiError(404, `no vector named ${JSON.stringify(name.slice(0, 80))}`, { param: 'name', code: 'vector_not_found' });
  return e;
}

/** The vectors the server's default steering names: deleting one would break every request. */
function usedByDefault(engine: Engine, name: string): boolean {
  const d = engine.defaults;
  if (!d) return false;
  return (Array.isArray(d.steering) && d.steering.some((o) => o.vector === name))
    || (Array.isArray(d.monitor) && d.monitor.some((m) => m.vector === name));
}

export function vectorRoutes(engine: Engine, options: VectorRouteOptions) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/v1/vectors', async () => ({ object: 'list', data: engine.registry.list().map(describeVector) }));

    app.get('/v1/vectors/:name', { schema: { params: vectorNameParams } }, async (request) => {
      return describeVector(entryOr404(engine, (request.params as { name: string }).name));
    });

    app.get('/v1/vectors/:name/file', { schema: { params: vectorNameParams } }, async (request, reply) => {
      const e = entryOr404(engine, (request.params as { name: string }).name);
      return reply.header('content-type', 'application/octet-stream')
        .header('content-disposition', `attachment; filename="${e.name}.gguf"`)
        .send(Buffer.from(encodeControlVector(e.vector)));
    });

    app.delete('/v1/vectors/:name', { schema: { params: vectorNameParams } }, async (request) => {
      const { name } = request.params as { name: string };
      entryOr404(engine, name);
      if (usedByDefault(engine, name)) {
        throw new ApiError(409, `the vector "${name}" is used by the server's default steering (--default-steering) and cannot be deleted`, { param: 'name', code: 'vector_in_use' });
      }
      engine.registry.delete(name);
      return { id: name, object: 'vector.deleted', deleted: true };
    });

    // The upload takes any content type as raw bytes (curl --data-binary sends form encoding).
    await app.register(async (upload) => {
      upload.removeAllContentTypeParsers();
      upload.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.maxVectorBytes }, (_req, body, done) => done(null, body));
      upload.post('/v1/vectors', { schema: { querystring: uploadQuery }, bodyLimit: options.maxVectorBytes }, async (request, reply) => {
        const { name, replace } = request.query as { name: string; replace?: 'true' | 'false' };
        if (!VECTOR_NAME.test(name)) throw badRequest('name', 'name must be letters, digits, "_", "." or "-" (at most 64), starting with a letter or digit', 'invalid_vector_name');
        const body = request.body;
        if (!Buffer.isBuffer(body) || body.length === 0) throw badRequest('body', 'the body must be a control-vector GGUF file (the bytes of it, e.g. curl --data-binary @pirate.gguf)', 'empty_body');
        if (engine.registry.has(name) && replace !== 'true') {
          throw new ApiError(409, `a vector named "${name}" already exists (DELETE /v1/vectors/${name} first, or add &replace=true)`, { param: 'name', code: 'vector_exists' });
        }
        const entry = engine.registry.addBytes(name, body, { replace: replace === 'true' });
        return reply.code(201).send(describeVector(entry));
      });
    });

    app.post('/v1/vectors/extract', { schema: { body: extractBody } }, async (request, reply) => {
      const body = request.body as ExtractRequest;
      if (!VECTOR_NAME.test(body.name)) throw badRequest('name', 'name must be letters, digits, "_", "." or "-" (at most 64), starting with a letter or digit', 'invalid_vector_name');
      if (engine.registry.has(body.name) && body.replace !== true) {
        throw new ApiError(409, `a vector named "${body.name}" already exists (pass "replace": true, or DELETE it first)`, { param: 'name', code: 'vector_exists' });
      }
      if (body.positive.trim() === body.negative.trim()) throw badRequest('negative', 'negative must differ from positive: the two system prompts define the contrast');
      const signal = clientSignal(reply);
      let sse: EventStream | null = null;
      const progress = (phase: string, done: number, total: number) => sse?.send({ object: 'vector.extraction.progress', phase, done, total });
      const run = engine.exclusive(signal, async (both) => {
        progress('queued', 1, 1);
        const ctx = engine.context;
        const trait = body.trait ?? body.name;
        let r;
        try {
          r = await extractPersonaVector(ctx, {
            name: trait,
            description: body.description ?? `${trait}: "${body.positive}" versus "${body.negative}"`,
            pairs: [{ positive: body.positive, negative: body.negative }],
            extractionQuestions: body.questions,
          }, {
            format: ctx.model.info.chatTemplate ? 'chat' : 'plain',
            generation: { maxTokens: body.max_tokens ?? 64 },
            ...(body.method ? { method: body.method } : {}),
            ...(body.positions ? { positions: body.positions } : {}),
            ...(body.recommend ? { recommend: Math.min(body.recommend, ctx.model.info.blockCount) } : {}),
            ...(body.coefficient !== undefined ? { coefficient: body.coefficient } : {}),
            signal: both,
            onProgress: (e: ExtractionProgress) => progress(e.phase, e.done, e.total),
          });
        } catch (e) {
          if (e instanceof PersonaSteerError) throw fromLibraryError(e, e.code === 'ERR_BAD_SPEC' ? 'questions' : null);
          throw e;
        }
        let vector = r.vector;
        if (body.calibrate !== false) {
          // Thresholds from the questions asked plainly: what an ordinary answer projects to.
          const prompts = body.questions.map((q) => (ctx.model.info.chatTemplate ? { messages: [{ role: 'user', content: q }] } : q));
          const c = await calibrateCap(ctx, vector, prompts, { signal: both, onProgress: (d, t) => progress('calibrate', d, t) });
          vector = withCapThresholds(vector, c);
        }
        const entry = engine.registry.add(body.name, vector, 'extracted', { replace: body.replace === true });
        return {
          ...describeVector(entry),
          extraction: { counts: r.counts, blocks: r.blocks },
        };
      });
      if (body.stream !== true) return run;
      sse = new EventStream(reply);
      try {
        sse.send(await run);
        sse.done();
      } catch (e) {
        sse.send(toApiError(e).toWire());
        sse.end();
      }
      return reply;
    });
  };
}
