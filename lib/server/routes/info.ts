// GET /v1/models, GET /v1/models/:id and GET /health.
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../engine';
import { ApiError } from '../errors';

function modelObject(engine: Engine) {
  const info = engine.model.info;
  return {
    id: engine.modelId,
    object: 'model',
    created: engine.created,
    owned_by: 'persona-steer',
    persona_steer: {
      architecture: info.architecture,
      n_layer: info.blockCount,
      n_embd: info.embeddingSize,
      n_vocab: info.vocabularySize,
      parameters: info.parameterCount,
      chat_template: info.chatTemplate !== null,
      slot_context: engine.limits.slotContext,
      max_tokens: engine.limits.maxTokens,
      max_prompt_tokens: Math.min(engine.limits.maxPromptTokens, engine.limits.slotContext - 1),
      vectors: engine.registry.size,
    },
  };
}

export function infoRoutes(engine: Engine) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/v1/models', async () => ({ object: 'list', data: [modelObject(engine)] }));

    app.get('/v1/models/:id', async (request) => {
      const { id } = request.params as { id: string };
      if (id !== engine.modelId) throw new ApiError(404, `no model named ${JSON.stringify(id.slice(0, 80))} (this server serves "${engine.modelId}")`, { param: 'model', code: 'model_not_found' });
      return modelObject(engine);
    });

    // Open without the API key: load balancers and the CLI's own readiness check poll it.
    app.get('/health', async (_request, reply) => {
      const s = engine.scheduler.stats();
      const closing = engine.scheduler.closed;
      if (closing) reply.code(503);
      return {
        status: closing ? 'shutting_down' : 'ok',
        model: engine.modelId,
        slots: { total: s.slots, busy: s.running, queued: s.queued, queue_limit: s.queueLimit },
        requests: {
          total: engine.counters.requests,
          completed: engine.counters.completed,
          aborted: engine.counters.aborted,
          failed: engine.counters.failed,
          rejected: s.rejected,
        },
        tokens: { prompt: engine.counters.promptTokens, generated: engine.counters.generatedTokens },
        memory: { rss: process.memoryUsage.rss() },
      };
    });
  };
}
