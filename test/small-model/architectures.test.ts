// The architecture matrix through the public API (test/native/arch_test.cpp checks the same
// models against llama.cpp's own l_out-<il> tensors). Oracles here: the prompt's token count, float
// arithmetic done in TypeScript on rows captured without steering, and the error contract.
import path from 'node:path';
import t from 'tap';
import { Model, add, clamp, type Context } from '../../lib/index';
import { archModels, type ArchModel } from '../helpers/arch-models';
import { dot, randomVector, unit } from '../helpers/math';

const PROMPT = 'Once upon a time, there was a little girl named Lily.';
const { dir, models } = archModels();
const hooked = models.filter((m) => m.expect === 'hooked');
const refused = models.filter((m) => m.expect === 'refused');
const opened = new Map<string, { model: Model; ctx: Context }>();

async function open(m: ArchModel): Promise<{ model: Model; ctx: Context }> {
  let o = opened.get(m.name);
  if (!o) {
    const model = await Model.load(path.join(dir, m.file));
    o = { model, ctx: await model.createContext({ contextSize: 128, threads: 2 }) };
    opened.set(m.name, o);
  }
  o.ctx.setSteering(null);
  return o;
}

t.teardown(async () => {
  for (const { model, ctx } of opened.values()) {
    await ctx.dispose();
    model.dispose();
  }
});

t.test('the matrix covers at least 20 architectures, with MoE, MLA, sliding-window, hybrid SSM, altup and quantized models', async (t) => {
  const archs = new Set(hooked.map((m) => m.arch));
  t.ok(archs.size >= 20, `${archs.size} hooked architectures`);
  for (const word of ['MoE', 'MLA', 'sliding window', 'Mamba', 'altup']) {
    t.ok(hooked.some((m) => m.kind.includes(word)), word);
  }
  for (const w of ['Q8_0', 'Q4_0', 'Q4_K_M']) t.ok(hooked.some((m) => m.weights === w), w);
  for (const a of ['gemma3n', 'nemotron_h', 'nemotron_h_moe', 'deci']) t.ok(archs.has(a), `${a} is hooked`);
  t.ok(refused.length > 0 && models.some((m) => m.expect === 'load-error'), 'refused and unloadable models are part of it');
});

t.test('capture returns one row per prompt token at every block of every hooked architecture', async (t) => {
  for (const m of hooked) {
    const { ctx, model } = await open(m);
    const r = await ctx.capture(PROMPT, { blocks: 'all' });
    const n = r.tokens.length;
    t.equal(model.info.blockCount, m.blocks, `${m.name}: block count`);
    t.same(r.blocks.map((b) => b.rows.length), new Array(m.blocks).fill(n), `${m.name}: ${n} rows at each of ${m.blocks} blocks`);
    t.ok(r.blocks.every((b) => b.positions.every((p, i) => p === i)), `${m.name}: rows labelled with positions 0..${n - 1}`);
  }
});

t.test('a zero plan on every block leaves the logits bit-identical on every hooked architecture', async (t) => {
  for (const m of hooked) {
    const { ctx } = await open(m);
    const plain = await ctx.logits(PROMPT, { all: true });
    ctx.setSteering([add(new Float32Array(m.embd), 1, 'all')]);
    const zero = await ctx.logits(PROMPT, { all: true });
    t.ok(Buffer.compare(Buffer.from(plain.logits.buffer), Buffer.from(zero.logits.buffer)) === 0, m.name);
  }
});

t.test('add(v, s, [k]) changes block k by exactly fl(s v) and no earlier block, on every hooked architecture', async (t) => {
  for (const m of hooked) {
    const { ctx } = await open(m);
    const k = Math.floor(m.blocks / 2);
    const v = randomVector(m.embd, 7, 1);
    const s = 3;
    const plain = await ctx.capture(PROMPT, { blocks: 'all' });
    ctx.setSteering([add(v, s, [k])]);
    const steered = await ctx.capture(PROMPT, { blocks: 'all' });
    let wrong = 0;
    steered.blocks[k].rows.forEach((row, i) => {
      const h = plain.blocks[k].rows[i];
      row.forEach((x, e) => { if (x !== Math.fround(h[e] + Math.fround(s * v[e]))) wrong++; });
    });
    const earlier = steered.blocks.slice(0, k).every((b, j) => b.rows.every((row, i) =>
      Buffer.compare(Buffer.from(row.buffer, row.byteOffset, row.byteLength),
        Buffer.from(plain.blocks[j].rows[i].buffer, plain.blocks[j].rows[i].byteOffset, row.byteLength)) === 0));
    t.equal(wrong, 0, `${m.name}: block ${k} equals fl(h + fl(${s} v)) element by element`);
    t.ok(earlier, `${m.name}: blocks before ${k} unchanged`);
  }
});

t.test('a clamp keeps every projection at or below its bound on every hooked architecture', async (t) => {
  for (const m of hooked) {
    const { ctx } = await open(m);
    const k = m.blocks - 1;
    const u = unit(randomVector(m.embd, 11));
    const plain = await ctx.capture(PROMPT, { blocks: [k] });
    const proj = plain.blocks[0].rows.map((r) => dot(r, u)).sort((a, b) => a - b);
    const max = proj[Math.floor(proj.length / 2)];
    ctx.setSteering([clamp(Float32Array.from(u), { max }, [k])]);
    const clamped = await ctx.capture(PROMPT, { blocks: [k] });
    const worst = Math.max(...clamped.blocks[0].rows.map((r, i) => (dot(r, u) - max) / (1 + Math.sqrt(dot(plain.blocks[0].rows[i], plain.blocks[0].rows[i])))));
    t.ok(worst <= 1e-5, `${m.name}: largest excess over the bound ${worst.toExponential(2)} (relative to |h|)`);
  }
});

t.test('generate captures every decoded position of the last block, as capture does for the prompt', async (t) => {
  for (const m of hooked) {
    const { ctx } = await open(m);
    const last = m.blocks - 1;
    const r = await ctx.complete(PROMPT, { maxTokens: 3, greedy: true, stopAtEog: false, capture: { blocks: [last] } });
    const decoded = r.promptTokens + r.generatedTokens - 1; // the last sampled token is never decoded
    t.same(Array.from(r.captures[0].positions), Array.from({ length: decoded }, (_, i) => i), `${m.name}: positions 0..${decoded - 1}`);
  }
});

t.test('every steering, capture, reduce, monitor and control-vector request on a refused architecture is ERR_UNSUPPORTED_ARCH naming it', async (t) => {
  for (const m of refused) {
    const { ctx } = await open(m);
    const v = randomVector(m.embd, 3);
    const names = { code: 'ERR_UNSUPPORTED_ARCH', message: new RegExp(`blocks? [\\d, ]+ of this ${m.arch} model`) };
    t.throws(() => ctx.setSteering([add(v, 1, [1])]), names, `${m.name}: setSteering`);
    await t.rejects(ctx.complete(PROMPT, { maxTokens: 1, steer: [add(v, 1, [0])] }), names, `${m.name}: generate with steer`);
    await t.rejects(ctx.capture(PROMPT, { blocks: [0] }), names, `${m.name}: capture`);
    await t.rejects(ctx.capture(PROMPT, { blocks: [0], reduce: 'mean' }), names, `${m.name}: capture (mean)`);
    await t.rejects(ctx.complete(PROMPT, { maxTokens: 1, monitor: [{ name: 'v', vector: v, blocks: [m.blocks - 1] }] }), names, `${m.name}: monitor`);
    await t.rejects(ctx.setLlamaControlVector(v, { blocks: [1] }), names, `${m.name}: setLlamaControlVector`);
  }
});

t.test('a refused request leaves the context usable: plain generation works right after it', async (t) => {
  for (const m of refused) {
    const { ctx } = await open(m);
    await t.rejects(ctx.capture(PROMPT, { blocks: [0] }), { code: 'ERR_UNSUPPORTED_ARCH' }, `${m.name}: capture refused`);
    const r = await ctx.complete(PROMPT, { maxTokens: 2, greedy: true, stopAtEog: false, steer: null });
    t.equal(r.generatedTokens, 2, `${m.name}: complete() generates after the refusal`);
  }
});

t.test('a model with an F64 weight matrix is refused at load with ERR_MODEL_LOAD naming the tensor', async (t) => {
  for (const m of models.filter((x) => x.expect === 'load-error')) {
    await t.rejects(Model.load(path.join(dir, m.file)), { code: 'ERR_MODEL_LOAD', message: /blk\.0\.ffn_up\.weight has type f64/ }, m.name);
  }
});
