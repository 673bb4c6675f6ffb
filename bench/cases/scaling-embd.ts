// Decode overhead against n_embd: 4-block random-weight Q8_0 models of growing width, with
// 4 clamp directions plus an add vector on every block.
import { add } from '../../index';
import { clampOps, createContext, decodeRun, disposeAll, promptTokens, range, unitVectors } from '../helpers';
import type { BenchCase } from '../types';
import { decodeTokensFor } from './decode-add';

export const benchCase: BenchCase = {
  id: 'scaling-embd',
  title: 'decode overhead vs n_embd (4 clamps + add on every block, 4-block models)',
  group: 'scaling',
  models: (o) => (o.quick ? ['rand-4x256-q8', 'rand-4x1024-q8'] : ['rand-4x256-q8', 'rand-4x512-q8', 'rand-4x1024-q8', 'rand-4x2048-q8']),
  async create(env, key) {
    const { model } = await env.model(key);
    const d = model.info.embeddingSize;
    const n = decodeTokensFor(env.opts.decodeTokens, Math.min(d, 512));
    const blocks = range(0, model.info.blockCount);
    const prompt = promptTokens(model, 8, env.opts.seed);
    const plain = await createContext(env, model);
    const steered = await createContext(env, model);
    steered.setSteering([add(unitVectors(1, d, env.opts.seed)[0], 2, blocks), ...clampOps(model, 4, blocks, env.opts.seed + 4)]);
    return [{
      id: this.id, title: this.title, model: key, metric: 'decode tok/s', param: { name: 'n_embd', value: d },
      baseline: { label: 'plain', run: () => decodeRun(plain, prompt, n) },
      candidate: { label: `add + 4 clamps x ${blocks.length} blocks`, run: () => decodeRun(steered, prompt, n) },
      dispose: disposeAll(plain, steered),
    }];
  },
};
