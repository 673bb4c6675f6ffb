// Decode overhead against the number of clamp directions (1, 4, 16, 64) on every block.
import { clampOps, createContext, decodeRun, disposeAll, promptTokens, range } from '../helpers';
import { BIG } from '../models';
import type { BenchCase, Pair } from '../types';
import { decodeTokensFor } from './decode-add';

export const DIRECTIONS = [1, 4, 16, 64];

export const benchCase: BenchCase = {
  id: 'scaling-directions',
  title: 'decode overhead vs number of clamp directions (every block)',
  group: 'scaling',
  models: () => ['stories260K', BIG],
  async create(env, key) {
    const { model } = await env.model(key);
    const n = decodeTokensFor(env.opts.decodeTokens, model.info.embeddingSize);
    const prompt = promptTokens(model, 8, env.opts.seed);
    const blocks = range(0, model.info.blockCount);
    const plain = await createContext(env, model);
    const pairs: Pair[] = [];
    for (const k of DIRECTIONS) {
      const ctx = await createContext(env, model);
      ctx.setSteering(clampOps(model, k, blocks, env.opts.seed + k));
      pairs.push({
        id: this.id, title: this.title, model: key, metric: 'decode tok/s', param: { name: 'directions', value: k },
        baseline: { label: 'plain', run: () => decodeRun(plain, prompt, n) },
        candidate: { label: `${k} clamps x ${blocks.length} blocks`, run: () => decodeRun(ctx, prompt, n) },
        dispose: k === DIRECTIONS[DIRECTIONS.length - 1] ? disposeAll(ctx, plain) : disposeAll(ctx),
      });
    }
    return pairs;
  },
};
