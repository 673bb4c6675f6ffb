// The Fastify application: strict JSON-schema validation (no coercion, no silent removal of
// unknown fields), one error handler that answers every failure in OpenAI's shape, bearer auth on
// /v1, CORS only when asked, and the route plugins.
import cors from '@fastify/cors';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { bearerCheck, needsKey } from './auth';
import type { Engine } from './engine';
import { ApiError, toApiError } from './errors';
import { generationRoutes } from './routes/generation';
import { playgroundRoutes } from './playground';
import { infoRoutes } from './routes/info';
import { vectorRoutes } from './routes/vectors';

export interface AppOptions {
  /** Every /v1 route needs `Authorization: Bearer <apiKey>` when set. */
  apiKey?: string;
  /** Origins allowed by CORS ('*' for any); none: no CORS headers at all. */
  corsOrigins?: string[];
  /** Largest JSON body, in bytes. */
  maxBodyBytes: number;
  /** Largest uploaded vector file, in bytes. */
  maxVectorBytes: number;
  /** Fastify's request log on stderr. */
  log?: boolean;
  /** The playground page at `/`: the built folder (default dist/web), or false for none. */
  playground?: string | false;
  /** More route plugins. */
  plugins?: FastifyPluginAsync[];
}

export async function buildApp(engine: Engine, options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.log ? { level: 'info', stream: process.stderr } : false,
    bodyLimit: options.maxBodyBytes,
    // Receiving a request must not take forever (slow senders hold a connection, not a slot).
    requestTimeout: 60_000,
    return503OnClosing: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
  });

  if (options.corsOrigins && options.corsOrigins.length > 0) {
    const any = options.corsOrigins.includes('*');
    await app.register(cors, {
      origin: any ? true : options.corsOrigins,
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type'],
      exposedHeaders: ['retry-after'],
      maxAge: 600,
    });
  }

  if (options.apiKey !== undefined) {
    const check = bearerCheck(options.apiKey);
    app.addHook('onRequest', async (request) => {
      // CORS preflights carry no credentials by design.
      if (request.method !== 'OPTIONS' && needsKey(request.url)) check(request);
    });
  }

  app.setErrorHandler((err, request, reply) => {
    const e = toApiError(err);
    if (e.status >= 500) request.log.error(err);
    return reply.code(e.status).headers(e.headers).send(e.toWire());
  });
  app.setNotFoundHandler((request, reply) => {
    const e = new ApiError(404, `no route ${request.method} ${request.url.split('?')[0]} (docs/server.md lists the routes)`, { code: 'not_found' });
    return reply.code(404).send(e.toWire());
  });

  await app.register(infoRoutes(engine));
  await app.register(generationRoutes(engine));
  await app.register(vectorRoutes(engine, { maxVectorBytes: options.maxVectorBytes }));
  if (options.playground !== false) await app.register(playgroundRoutes(options.playground));
  for (const p of options.plugins ?? []) await app.register(p);
  return app;
}
