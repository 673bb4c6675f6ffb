// Decode overhead against context length: n tokens decoded after a prompt of L tokens, with
// 4 clamp directions on every block (attention grows with L; the steering cost does not).
import { clampOps, createContext, decodeRun, disposeAll, promptTokens, range } from '../helpers';
import type { BenchCase, Pair } from '../types';
import { decodeTokensFor } from './decode-add';

export const benchCase: BenchCase = {
  id: 'scaling-context',
  title: 'decode overhead vs context length (4 clamps on every block)',
  group: 'scaling',
  // stories260K only by default (its context is long enough to show attention growing); --models adds others.
  models: () => ['stories260K'],
  async create(env, key) {
    const { model } = await env.model(key);
    // Prompt processing of L tokens is outside the timed window but not free: shorter on wide models.
    const lengths = env.opts.quick || model.info.embeddingSize >= 512 ? [16, 256] : [16, 256, 1024];
    const n = decodeTokensFor(env.opts.decodeTokens, model.info.embeddingSize);
    const size = lengths[lengths.length - 1] + n + 16;
    const blocks = range(0, model.info.blockCount);
    const plain = await createContext(env, model, size);
    const steered = await createContext(env, model, size);
    steered.setSteering(clampOps(model, 4, blocks, env.opts.seed + 3));
    return lengths.map((l, i): Pair => {
      const prompt = promptTokens(model, l, env.opts.seed + l);
      return {
        id: this.id, title: this.title, model: key, metric: 'decode tok/s', param: { name: 'context', value: l },
        baseline: { label: 'plain', run: () => decodeRun(plain, prompt, n) },
        candidate: { label: `4 clamps x ${blocks.length} blocks`, run: () => decodeRun(steered, prompt, n) },
        dispose: i === lengths.length - 1 ? disposeAll(plain, steered) : undefined,
      };
    });
  },
};
