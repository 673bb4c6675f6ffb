// Decode overhead against the number of steered blocks (4 clamp directions each).
import { clampOps, createContext, decodeRun, disposeAll, middleBlocks, promptTokens } from '../helpers';
import { BIG } from '../models';
import type { BenchCase, Pair } from '../types';
import { decodeTokensFor } from './decode-add';

export const benchCase: BenchCase = {
  id: 'scaling-blocks',
  title: 'decode overhead vs number of steered blocks (4 clamp directions)',
  group: 'scaling',
  models: (o) => (o.quick ? ['stories260K'] : ['stories260K', BIG]),
  async create(env, key) {
    const { model } = await env.model(key);
    const nb = model.info.blockCount;
    const counts = [...new Set((nb > 8 ? [1, 4] : [1, 2, 4]).filter((c) => c < nb).concat(nb))];
    const n = decodeTokensFor(env.opts.decodeTokens, model.info.embeddingSize);
    const prompt = promptTokens(model, 8, env.opts.seed);
    const plain = await createContext(env, model);
    const pairs: Pair[] = [];
    for (const c of counts) {
      const ctx = await createContext(env, model);
      ctx.setSteering(clampOps(model, 4, middleBlocks(model, c), env.opts.seed + c));
      pairs.push({
        id: this.id, title: this.title, model: key, metric: 'decode tok/s', param: { name: 'blocks', value: c },
        baseline: { label: 'plain', run: () => decodeRun(plain, prompt, n) },
        candidate: { label: `4 clamps x ${c} blocks`, run: () => decodeRun(ctx, prompt, n) },
        dispose: c === counts[counts.length - 1] ? disposeAll(ctx, plain) : disposeAll(ctx),
      });
    }
    return pairs;
  },
};
