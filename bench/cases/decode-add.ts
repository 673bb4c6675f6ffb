// Decode with `add` on every block against unsteered decoding: same model, same threads, two
// contexts so each keeps its own graph.
import { add } from '../../index';
import { createContext, decodeRun, disposeAll, promptTokens, range, unitVectors } from '../helpers';
import { BIG } from '../models';
import type { BenchCase } from '../types';

export const benchCase: BenchCase = {
  id: 'decode-add',
  title: 'decode: add on every block vs unsteered',
  group: 'targets',
  models: (o) => (o.quick ? ['stories260K', BIG] : ['stories260K', BIG, 'rand-16x1024-f16']),
  async create(env, key) {
    const { model } = await env.model(key);
    const n = decodeTokensFor(env.opts.decodeTokens, model.info.embeddingSize);
    const plain = await createContext(env, model);
    const steered = await createContext(env, model);
    const blocks = range(0, model.info.blockCount);
    steered.setSteering([add(unitVectors(1, model.info.embeddingSize, env.opts.seed)[0], 2, blocks)]);
    const prompt = promptTokens(model, 8, env.opts.seed);
    // The same addition through llama.cpp's own control vector (one ggml_add per block; it cannot
    // touch block 0), against persona-steer's add on the same blocks.
    const vec = unitVectors(1, model.info.embeddingSize, env.opts.seed)[0];
    const upper = range(1, model.info.blockCount - 1);
    const cvec = await createContext(env, model);
    await cvec.setLlamaControlVector(vec, { scale: 2, blocks: upper });
    const ours = await createContext(env, model);
    ours.setSteering([add(vec, 2, upper)]);
    return [{
      id: this.id, title: this.title, model: key, metric: 'decode tok/s', target: 0.99,
      baseline: { label: 'unsteered', run: () => decodeRun(plain, prompt, n) },
      candidate: { label: `add x ${blocks.length} blocks`, run: () => decodeRun(steered, prompt, n) },
      notes: [`${n} tokens per run`],
      dispose: disposeAll(plain, steered),
    }, {
      id: 'decode-add-vs-cvec', title: "decode: add vs llama.cpp's control vector (blocks 1..n-1)", model: key, metric: 'decode tok/s', target: 0.99,
      baseline: { label: `llama_set_adapter_cvec x ${upper.length} blocks`, run: () => decodeRun(cvec, prompt, n) },
      candidate: { label: `add x ${upper.length} blocks`, run: () => decodeRun(ours, prompt, n) },
      notes: ['the floor for an addition: one ggml_add per block'],
      dispose: disposeAll(cvec, ours),
    }];
  },
};

/** Tokens per decode run: the configured count on small models, a quarter of it from n_embd 1024. */
export function decodeTokensFor(n: number, embeddingSize: number): number {
  return embeddingSize >= 1024 ? Math.max(16, Math.round(n / 4)) : embeddingSize >= 512 ? Math.max(16, Math.round(n / 2)) : n;
}
