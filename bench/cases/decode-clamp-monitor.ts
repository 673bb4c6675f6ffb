// Decode with 4 clamp directions on 8 blocks plus monitoring of 4 directions (on the same blocks)
// against unsteered, unmonitored decoding.
import { createContext, clampOps, decodeRun, disposeAll, middleBlocks, monitorEntries, promptTokens } from '../helpers';
import { BIG } from '../models';
import type { BenchCase } from '../types';
import { decodeTokensFor } from './decode-add';

export const benchCase: BenchCase = {
  id: 'decode-clamp-monitor',
  title: 'decode: 4 clamps on 8 blocks + monitor 4 directions vs plain',
  group: 'targets',
  models: () => ['stories260K', BIG],
  async create(env, key) {
    const { model } = await env.model(key);
    const n = decodeTokensFor(env.opts.decodeTokens, model.info.embeddingSize);
    const blocks = middleBlocks(model, 8);
    const plain = await createContext(env, model);
    const steered = await createContext(env, model);
    steered.setSteering(clampOps(model, 4, blocks, env.opts.seed + 1));
    const monitor = monitorEntries(model, 4, blocks, env.opts.seed + 2);
    const prompt = promptTokens(model, 8, env.opts.seed);
    return [{
      id: this.id, title: this.title, model: key, metric: 'decode tok/s', target: 0.95,
      baseline: { label: 'plain', run: () => decodeRun(plain, prompt, n) },
      candidate: { label: `4 clamps + 4 monitored x ${blocks.length} blocks`, run: () => decodeRun(steered, prompt, n, { monitor }) },
      notes: [`blocks ${blocks[0]}-${blocks[blocks.length - 1]}${blocks.length < 8 ? ` (the model has ${model.info.blockCount})` : ''}`, `${n} tokens per run`],
      dispose: disposeAll(plain, steered),
    }];
  },
};
