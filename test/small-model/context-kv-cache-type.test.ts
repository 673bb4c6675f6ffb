// KV cache types (llama.cpp's -ctk/-ctv) against the default f16 cache on the toy chat model (head
// size 32, so every quantized type fits): the logits of every position of a chat prompt stay within
// a stated tolerance of f16's, relative to the largest logit, and the argmax agrees wherever f16's
// top two are clearly apart. Tolerances (measured here: f32 0.0%, bf16 0.2%, q8_0 0.35%, q4_0 5.7%):
// f32 and bf16 0.5%, q8_0 1%, q4_0 10%.
import t from 'tap';
import path from 'node:path';
import { ErrorCodes, Model, type Context, type KvCacheType } from '../../lib/index';
import { root } from '../helpers/models';

const PROMPT = { messages: [{ role: 'system', content: 'You are a pirate assistant.' }, { role: 'user', content: 'I think snow is black. Am I right?' }] };

let model: Model;
let f16: { logits: Float32Array; outputs: number };
t.before(async () => {
  model = await Model.load(path.join(root, 'models', 'toy-persona.gguf'));
  const ctx = await model.createContext({ threads: 1, flashAttention: true });
  f16 = await ctx.logits(PROMPT, { all: true });
  await ctx.dispose();
});
t.teardown(() => model.dispose());

async function logitsWith(kvCacheType: KvCacheType | { k?: KvCacheType; v?: KvCacheType }, flashAttention = true) {
  const ctx: Context = await model.createContext({ threads: 1, flashAttention, kvCacheType });
  try {
    return { ctx: { kv: ctx.kvCacheType }, ...(await ctx.logits(PROMPT, { all: true })) };
  } finally {
    await ctx.dispose();
  }
}

for (const [type, tolerance] of [['f32', 0.005], ['bf16', 0.005], ['q8_0', 0.01], ['q4_0', 0.1]] as const) {
  t.test(`a ${type} KV cache gives logits within ${tolerance * 100}% of the f16 cache's`, async (t) => {
    const r = await logitsWith(type);
    t.same(r.ctx.kv, { k: type, v: type });
    t.equal(r.outputs, f16.outputs);
    const nv = model.info.vocabularySize;
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < f16.logits.length; i++) {
      worst = Math.max(worst, Math.abs(r.logits[i] - f16.logits[i]));
      scale = Math.max(scale, Math.abs(f16.logits[i]));
    }
    t.ok(worst <= tolerance * scale, `max |logit - f16| = ${worst.toFixed(4)} of ${scale.toFixed(2)}`);
    for (let p = 0; p < r.outputs; p++) {
      const row = (a: Float32Array) => Array.from(a.subarray(p * nv, (p + 1) * nv));
      const base = row(f16.logits);
      const sorted = [...base].sort((a, b) => b - a);
      if (sorted[0] - sorted[1] <= 2 * worst) continue;
      const argmax = (x: number[]) => x.indexOf(Math.max(...x));
      t.equal(argmax(row(r.logits)), argmax(base), `position ${p}: the same most likely token`);
    }
  });
}

t.test('K and V cache types can differ; a quantized K needs no flash attention', async (t) => {
  const r = await logitsWith({ k: 'q8_0' }, false);
  t.same(r.ctx.kv, { k: 'q8_0', v: 'f16' });
  t.equal(r.outputs, f16.outputs);
});

t.test('a quantized V cache without flash attention, and unknown types, are ERR_INVALID_ARG naming the option', async (t) => {
  await t.rejects(model.createContext({ kvCacheType: 'q8_0' }), { code: ErrorCodes.INVALID_ARG, message: /^options\.kvCacheType must be 'f32', 'f16' or 'bf16' unless options\.flashAttention is true/ });
  await t.rejects(model.createContext({ kvCacheType: { v: 'q4_0' } }), { message: /^options\.kvCacheType\.v must be/ });
  await t.rejects(model.createContext({ kvCacheType: 'q3_k' as KvCacheType }), { message: /^options\.kvCacheType must be one of "f32", "f16"/ });
  await t.rejects(model.createContext({ kvCacheType: { k: 'f16', x: 'f16' } as never }), { message: /^options\.kvCacheType\.x must be one of the known options/ });
});
