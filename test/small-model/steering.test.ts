import t from 'tap';
import { Model, add, ablate, clamp, type Context } from '../../lib/index';
import { gpuLayers, requireModel, stories260K } from '../helpers/models';
import { argmax, clampOracle, dot, maxAbsDiff, randomVector, unit } from '../helpers/math';

const PROMPT = 'Once upon a time, there was a little dog named Max. He liked to run';
let model: Model;
let ctx: Context;
let ref: Context;
let nEmbd: number;

t.before(async () => {
  model = await Model.load(requireModel(stories260K), { gpuLayers });
  nEmbd = model.info.embeddingSize;
  ctx = await model.createContext({ contextSize: 256, threads: 2, sequences: 2 });
  ref = await model.createContext({ contextSize: 256, threads: 2 });
});
t.teardown(async () => {
  await ctx.dispose();
  await ref.dispose();
  model.dispose();
});
t.beforeEach(async () => {
  ctx.setSteering(null);
  await ref.setLlamaControlVector(null);
});

t.test("add at blocks >= 1 matches llama.cpp's own control vector", async (t) => {
  const v = randomVector(nEmbd, 1, 0.5);
  const base = await ref.logits(PROMPT, { all: true });
  await ref.setLlamaControlVector(v, { scale: 3, blocks: [1, 2, 3] });
  const stock = await ref.logits(PROMPT, { all: true });
  ctx.setSteering([add(v, 3, [1, 2, 3])]);
  const ours = await ctx.logits(PROMPT, { all: true });
  t.ok(maxAbsDiff(base.logits, stock.logits) > 0.05, 'the vector moves the logits');
  t.ok(maxAbsDiff(ours.logits, stock.logits) <= 1e-5, `max diff ${maxAbsDiff(ours.logits, stock.logits)}`);
});

t.test('add at block 0 shifts the block-0 output by exactly scale * v', async (t) => {
  const v = randomVector(nEmbd, 2, 0.5);
  const plain = await ctx.capture(PROMPT, { blocks: [0] });
  ctx.setSteering([add(v, 2, [0])]);
  const steered = await ctx.capture(PROMPT, { blocks: [0] });
  let worst = 0;
  plain.blocks[0].rows.forEach((row, i) => {
    const expect = Array.from(row, (x, k) => x + 2 * v[k]);
    worst = Math.max(worst, maxAbsDiff(steered.blocks[0].rows[i], expect));
  });
  t.ok(worst <= 1e-5, `max diff ${worst}`);
  const a = await ctx.logits(PROMPT);
  ctx.setSteering(null);
  const b = await ctx.logits(PROMPT);
  t.ok(maxAbsDiff(a.logits, b.logits) > 1e-3, 'the logits change');
});

t.test('a clamp keeps every projection within its bounds and leaves the orthogonal part alone', async (t) => {
  const L = 2;
  const u = unit(randomVector(nEmbd, 3));
  const plain = await ctx.capture(PROMPT, { blocks: [L] });
  const proj = plain.blocks[0].rows.map((r) => dot(r, u));
  const sorted = [...proj].sort((a, b) => a - b);
  const min = sorted[Math.floor(sorted.length * 0.3)];
  const max = sorted[Math.floor(sorted.length * 0.7)];
  ctx.setSteering([clamp(Float32Array.from(u), { min, max }, [L])]);
  const clamped = await ctx.capture(PROMPT, { blocks: [L] });
  let outside = 0;
  let orth = 0;
  let oracle = 0;
  clamped.blocks[0].rows.forEach((row, i) => {
    const p = dot(row, u);
    if (p < min - 1e-4 || p > max + 1e-4) outside++;
    const h = plain.blocks[0].rows[i];
    const ph = dot(h, u);
    orth = Math.max(orth, maxAbsDiff(row.map((x, k) => x - p * u[k]), h.map((x, k) => x - ph * u[k])));
    oracle = Math.max(oracle, maxAbsDiff(row, clampOracle(h, [{ u, min, max }])));
  });
  t.ok(proj.some((p) => p < min) && proj.some((p) => p > max), 'both bounds bind somewhere');
  t.equal(outside, 0, 'no projection outside [min, max]');
  t.ok(orth <= 1e-4, `orthogonal component max diff ${orth}`);
  t.ok(oracle <= 1e-4, `TypeScript oracle max diff ${oracle}`);
});

t.test('additions come first and clamps see the post-addition output', async (t) => {
  const L = 3;
  const a = randomVector(nEmbd, 4, 0.3);
  const u1 = unit(randomVector(nEmbd, 5));
  const u2raw = randomVector(nEmbd, 6);
  // Orthogonal to u1, so both bounds hold exactly on the output.
  const c = dot(u2raw, u1);
  const u2 = unit(Array.from(u2raw, (x, k) => x - c * u1[k]));
  const plain = await ctx.capture(PROMPT, { blocks: [L] });
  ctx.setSteering([add(a, 1, [L]), clamp(Float32Array.from(u1), { max: 0.1 }, [L]), ablate(Float32Array.from(u2), [L])]);
  const got = await ctx.capture(PROMPT, { blocks: [L] });
  let worst = 0;
  plain.blocks[0].rows.forEach((h, i) => {
    const h1 = Array.from(h, (x, k) => x + a[k]);
    const expect = clampOracle(h1, [{ u: u1, max: 0.1 }, { u: u2, min: 0, max: 0 }]);
    worst = Math.max(worst, maxAbsDiff(got.blocks[0].rows[i], expect));
    t.ok(dot(got.blocks[0].rows[i], u1) <= 0.1 + 1e-4);
    t.ok(Math.abs(dot(got.blocks[0].rows[i], u2)) <= 1e-4);
  });
  t.ok(worst <= 1e-4, `max diff ${worst}`);
});

t.test('a plan with all-zero effect gives bit-identical logits', async (t) => {
  const v = randomVector(nEmbd, 7);
  const plain = await ctx.logits(PROMPT, { all: true });
  ctx.setSteering([add(v, 0, 'all'), clamp(v, { min: -1e6, max: 1e6 }, 'all')]);
  const zero = await ctx.logits(PROMPT, { all: true });
  t.ok(Buffer.from(plain.logits.buffer).equals(Buffer.from(zero.logits.buffer)));
});

t.test('values changed before every token never rebuild the graph and match the stock control vector', async (t) => {
  const v = randomVector(nEmbd, 8, 0.5);
  const blocks = [1, 2, 3, 4];
  const scaleAt = (k: number) => ((k % 3) - 1) * 2.5;
  const prompt = model.tokenize('Once upon a time');
  ctx.setSteering([add(v, scaleAt(0), blocks)]);
  await ref.setLlamaControlVector(v, { scale: scaleAt(0), blocks });
  let ours = (await ctx.evaluate([{ tokens: prompt }])).logits[0];
  let stock = (await ref.evaluate([{ tokens: prompt }])).logits[0];
  let before = await ctx.stats();
  let pos = prompt.length;
  let worst = maxAbsDiff(ours, stock);
  const toks: number[] = [];
  for (let k = 1; k <= 12; k++) {
    // The first one-token decode builds the one-token graph; from then on nothing may rebuild.
    if (k === 2) before = await ctx.stats();
    const tok = argmax(stock);
    toks.push(tok);
    t.equal(argmax(ours), tok, `token ${k} agrees`);
    ctx.setSteering([add(v, scaleAt(k), blocks)]);
    await ref.setLlamaControlVector(v, { scale: scaleAt(k), blocks });
    ours = (await ctx.evaluate([{ tokens: [tok], pos0: pos }], { keepMemory: true })).logits[0];
    stock = (await ref.evaluate([{ tokens: [tok], pos0: pos }], { keepMemory: true })).logits[0];
    pos++;
    worst = Math.max(worst, maxAbsDiff(ours, stock));
  }
  const after = await ctx.stats();
  t.equal(after.graphBuilds, before.graphBuilds, 'no graph was rebuilt');
  t.ok(worst <= 1e-5, `max logit diff ${worst} over ${toks.length} tokens`);
});

t.test('a plan replaced during generation takes effect without a rebuild', async (t) => {
  const v = randomVector(nEmbd, 9, 1);
  const plain = await ctx.complete([1], { greedy: true, maxTokens: 40, steer: false });
  await ctx.complete([1], { greedy: true, maxTokens: 2, steer: [add(v, 0, [2])] });
  const before = await ctx.stats();
  let n = 0;
  const stream = ctx.generate([1], { greedy: true, maxTokens: 40, steer: [add(v, 0, [2])] });
  for await (const ev of stream) {
    if (ev.token !== null && ++n === 5) stream.setSteering([add(v, 8, [2])]);
  }
  const r = await stream.result;
  const after = await ctx.stats();
  t.equal(after.graphBuilds, before.graphBuilds, 'no graph was rebuilt');
  t.same(r.tokens.slice(0, 5), plain.tokens.slice(0, 5), 'tokens before the change are unsteered');
  t.not(r.text, plain.text, 'the new plan changed what followed');
});

t.test('two sequences decoded in one batch are captured with their own labels', async (t) => {
  const a = model.tokenize('Once upon a time');
  const b = model.tokenize('The little cat sat on the mat and');
  const batch = await ctx.evaluate([{ tokens: a, seq: 0 }, { tokens: b, seq: 1 }], { captureBlocks: [1] });
  const alone0 = await ctx.evaluate([{ tokens: a, seq: 0 }], { captureBlocks: [1] });
  const alone1 = await ctx.evaluate([{ tokens: b, seq: 0 }], { captureBlocks: [1] });
  const rows = batch.captures[0];
  t.equal(rows.rows.length, a.length + b.length);
  let worst = 0;
  rows.rows.forEach((row, i) => {
    const seq = rows.sequences[i];
    const pos = rows.positions[i];
    const single = seq === 0 ? alone0.captures[0] : alone1.captures[0];
    const j = Array.from(single.positions).indexOf(pos);
    worst = Math.max(worst, maxAbsDiff(row, single.rows[j]));
  });
  t.same([...new Set(rows.sequences)].sort(), [0, 1]);
  t.same(Array.from(rows.positions).filter((_, i) => rows.sequences[i] === 1), Array.from(b, (_, i) => i));
  t.ok(worst <= 1e-5, `rows match single-sequence captures (max diff ${worst})`);
});

t.test('monitored projections equal the captured rows dotted with the unit direction', async (t) => {
  const v = randomVector(nEmbd, 10);
  const u = unit(v);
  const prompt = model.tokenize('Once upon a time');
  const r = await ctx.complete(prompt, { greedy: true, maxTokens: 12, monitor: [{ name: 'v', vector: v, blocks: [2] }], capture: { blocks: [2] } });
  const cap = r.captures[0];
  let worst = 0;
  r.projections.forEach((p, k) => {
    const pos = prompt.length - 1 + k;
    const row = cap.rows[Array.from(cap.positions).indexOf(pos)];
    worst = Math.max(worst, Math.abs(p[0].value - dot(row, u)));
    t.equal(p[0].name, 'v');
    t.equal(p[0].block, 2);
  });
  t.equal(r.projections.length, 12);
  t.same(r.lastPromptProjections, r.projections[0]);
  t.ok(worst <= 1e-4, `max diff ${worst}`);
});

t.test('the in-graph masked mean equals the mean of captured rows over the masked tokens only', async (t) => {
  const toks = model.tokenize(PROMPT);
  const mask = Array.from(toks, (_, i) => i >= 5 && i < toks.length - 2);
  const rows = await ctx.capture(toks, { blocks: [1, 4] });
  const mean = await ctx.capture(toks, { blocks: [1, 4], positions: mask, reduce: 'mean' });
  for (const m of mean.means) {
    const b = rows.blocks.find((x) => x.block === m.block)!;
    const expect = new Array(nEmbd).fill(0);
    let n = 0;
    b.rows.forEach((r, i) => {
      if (!mask[b.positions[i]]) return;
      n++;
      r.forEach((x, k) => { expect[k] += x; });
    });
    t.equal(m.count, n, `block ${m.block} counted the masked tokens`);
    t.ok(maxAbsDiff(m.mean, expect.map((x) => x / n)) <= 1e-5, `block ${m.block} mean`);
  }
});

t.test("positions 'generated' leaves the prompt unsteered except its last token", async (t) => {
  const v = randomVector(nEmbd, 11, 1);
  const prompt = model.tokenize('Once upon a time');
  const plain = await ctx.complete(prompt, { greedy: true, maxTokens: 4, capture: { blocks: [1] } });
  ctx.setSteering({ ops: [add(v, 1, [1])], positions: 'generated' });
  const gen = await ctx.complete(prompt, { greedy: true, maxTokens: 4, capture: { blocks: [1] } });
  const p = plain.captures[0];
  const g = gen.captures[0];
  for (let pos = 0; pos < prompt.length + 3; pos++) {
    const a = p.rows[Array.from(p.positions).indexOf(pos)];
    const b = g.rows[Array.from(g.positions).indexOf(pos)];
    const diff = Array.from(b, (x, k) => x - a[k]);
    if (pos < prompt.length - 1) t.equal(maxAbsDiff(diff, new Array(nEmbd).fill(0)), 0, `prompt position ${pos} unsteered`);
    else if (pos === prompt.length - 1) t.ok(maxAbsDiff(diff, v) <= 1e-5, 'last prompt position steered by exactly v');
  }
  ctx.setSteering({ ops: [add(v, 1, [1])], positions: 'prompt' });
  const pr = await ctx.complete(prompt, { greedy: true, maxTokens: 4, capture: { blocks: [1] } });
  const c = pr.captures[0];
  const last = prompt.length + 2;
  const a = p.rows[Array.from(p.positions).indexOf(prompt.length - 2)];
  const b = c.rows[Array.from(c.positions).indexOf(prompt.length - 2)];
  t.ok(maxAbsDiff(Array.from(b, (x, k) => x - a[k]), v) <= 1e-5, "'prompt' steers prompt tokens");
  t.ok(Array.from(c.positions).includes(last), 'generated positions are captured');
});
