// Prompt processing with capture of every block, reduced in the graph to a masked mean (the
// second half of the prompt, as a response would be), against plain prompt processing.
import { createContext, disposeAll, promptTokens, timed } from '../helpers';
import { BIG } from '../models';
import type { BenchCase } from '../types';

export const benchCase: BenchCase = {
  id: 'capture-prompt',
  title: 'prompt: capture every block (masked mean) vs plain',
  group: 'targets',
  models: () => ['stories260K', BIG],
  async create(env, key) {
    const { model } = await env.model(key);
    const n = env.opts.promptTokens;
    const tokens = promptTokens(model, n, env.opts.seed);
    const positions = Array.from({ length: n }, (_, i) => i >= n / 2);
    const plain = await createContext(env, model);
    const capturing = await createContext(env, model);
    return [{
      id: this.id, title: this.title, model: key, metric: 'prompt tok/s', target: 0.9,
      baseline: { label: 'plain (last logits)', run: () => timed(n, () => plain.logits(tokens)) },
      candidate: {
        label: `mean of ${n / 2} rows x ${model.info.blockCount} blocks`,
        run: () => timed(n, () => capturing.capture(tokens, { blocks: 'all', positions, reduce: 'mean' })),
      },
      notes: [`${n}-token prompt`],
      dispose: disposeAll(plain, capturing),
    }];
  },
};
