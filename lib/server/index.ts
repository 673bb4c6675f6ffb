// persona-steer's OpenAI-compatible server: `startServer(options)` loads the model (the built-in
// toy model and its three trait vectors when none is given), opens a context with one sequence per
// parallel slot, and listens. `server.close()` shuts down gracefully. docs/server.md has the routes.
import path from 'node:path';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { ErrorCodes, PersonaSteerError, invalidArg } from '../errors';
import { Model } from '../model';
import { buildApp } from './app';
import { Engine, type Limits } from './engine';
import { checkDefaultSteering, type SteeringFields } from './plan';
import { TOY_MODEL, TOY_VECTORS_DIR } from './toy-vectors';

export interface ServerOptions {
  /** A GGUF model file. Default: the built-in toy model (models/toy-persona.gguf) and its vectors. */
  model?: string;
  /** A folder of control-vector files, each served under its file name (pirate.gguf: "pirate"). */
  vectors?: string;
  /** Default 127.0.0.1: only this machine can connect. */
  host?: string;
  /** Default 8080; 0 picks a free port (see server.url). */
  port?: number;
  /** Generations decoded together (default 4). */
  parallel?: number;
  /** Requests that may wait for a slot; past that, 429 (default 64). */
  queue?: number;
  /** Tokens per slot, prompt and answer together (default min(2048, the model's training context)). */
  contextSize?: number;
  threads?: number;
  gpuLayers?: number;
  /** Bearer key for every /v1 route (compared in constant time). */
  apiKey?: string;
  /** CORS origins ('*' for any). Default: no CORS. */
  cors?: string[];
  /** Steering, positions and monitor for requests that leave them out (as in a request body). */
  defaultSteering?: SteeringFields;
  /** Tokens a request may generate at most; also its default (default 1024). */
  maxTokens?: number;
  /** Prompt tokens a request may send at most (default: a slot's context minus one). */
  maxPromptTokens?: number;
  /** Largest JSON body in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** Largest uploaded vector file in bytes (default 64 MiB). */
  maxVectorBytes?: number;
  /** How long close() lets requests in flight finish before stopping them (default 10 s). */
  shutdownTimeoutMs?: number;
  /** Request log on stderr. */
  log?: boolean;
  /** The playground page at `/` (default true; docs/server.md#the-playground). */
  playground?: boolean;
  /** Extra Fastify plugins (routes) registered after the API's own. */
  plugins?: FastifyPluginAsync[];
}

export interface PersonaServer {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly engine: Engine;
  /** Stops accepting, lets requests in flight finish (up to shutdownTimeoutMs), stops the rest, frees the model. */
  close(): Promise<void>;
}

function positiveInt(name: string, v: number | undefined, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || v < min || v > max) throw invalidArg(name, `an integer in [${min}, ${max}]`, v);
  return v;
}

export async function startServer(options: ServerOptions = {}): Promise<PersonaServer> {
  const toy = options.model === undefined;
  const modelPath = options.model ?? TOY_MODEL;
  const parallel = positiveInt('parallel', options.parallel, 1, 256, 4);
  const queue = positiveInt('queue', options.queue, 0, 1_000_000, 64);
  const shutdownMs = positiveInt('shutdownTimeoutMs', options.shutdownTimeoutMs, 0, 3_600_000, 10_000);
  const model = await Model.load(modelPath, options.gpuLayers === undefined ? {} : { gpuLayers: options.gpuLayers });
  let engine: Engine | undefined;
  try {
    const train = model.info.trainingContextSize > 0 ? model.info.trainingContextSize : 2048;
    const slotContext = positiveInt('contextSize', options.contextSize, 8, 1 << 20, Math.min(2048, train));
    const limits: Limits = {
      slotContext,
      maxTokens: positiveInt('maxTokens', options.maxTokens, 1, 1 << 20, 1024),
      maxPromptTokens: positiveInt('maxPromptTokens', options.maxPromptTokens, 1, 1 << 20, slotContext - 1),
    };
    const context = await model.createContext({
      contextSize: Math.min(1 << 20, slotContext * parallel),
      sequences: parallel,
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
    });
    engine = new Engine(model, context, { parallel, queue, limits, modelId: path.basename(modelPath).replace(/\.gguf$/i, '') });
    if (toy) await engine.registry.loadDirectory(TOY_VECTORS_DIR, 'builtin');
    if (options.vectors !== undefined) await engine.registry.loadDirectory(options.vectors);
    if (options.defaultSteering !== undefined) engine.defaults = checkDefaultSteering(options.defaultSteering, engine.registry);
    const app = await buildApp(engine, {
      apiKey: options.apiKey,
      corsOrigins: options.cors,
      maxBodyBytes: positiveInt('maxBodyBytes', options.maxBodyBytes, 1024, 1 << 30, 1 << 20),
      maxVectorBytes: positiveInt('maxVectorBytes', options.maxVectorBytes, 1024, 1 << 30, 64 << 20),
      log: options.log,
      playground: options.playground === false ? false : undefined,
      plugins: options.plugins,
    });
    const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8080 }).catch((e: Error) => {
      throw new PersonaSteerError(ErrorCodes.INVALID_ARG, `cannot listen on ${options.host ?? '127.0.0.1'}:${options.port ?? 8080}: ${e.message}`);
    });
    const url = address.replace('[::1]', 'localhost');
    const eng = engine;
    let closing: Promise<void> | null = null;
    return {
      url,
      app,
      engine: eng,
      close() {
        closing ??= shutdown(app, eng, shutdownMs);
        return closing;
      },
    };
  } catch (e) {
    if (engine) await engine.context.dispose();
    model.dispose();
    throw e;
  }
}

async function shutdown(app: FastifyInstance, engine: Engine, deadlineMs: number): Promise<void> {
  engine.scheduler.close();
  // Stops listening at once; Fastify answers 503 to requests on connections still open.
  const closed = app.close();
  const timer = setTimeout(() => engine.abortAll(), deadlineMs);
  await engine.drain();
  clearTimeout(timer);
  // The last chunks are written right after the generations end; then no connection has a reason to stay.
  await Promise.race([closed, new Promise((r) => setTimeout(r, 500))]);
  app.server.closeAllConnections();
  await closed;
  await engine.context.dispose();
  engine.model.dispose();
}

export { buildApp, type AppOptions } from './app';
export { Engine, type Limits } from './engine';
export { ApiError } from './errors';
export { VectorRegistry, describeVector } from './registry';
export type { SteeringFields, WireOp, WireMonitor } from './plan';
export { TOY_MODEL, TOY_VECTORS_DIR } from './toy-vectors';
