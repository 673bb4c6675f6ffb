import t from 'tap';
import { Model } from '../../lib/index';
import { collectMeans, projectSamples } from '../../lib/persona/extract-means';
import { newNormSums } from '../../lib/persona/residual-norms';
import { gpuLayers, requireModel, stories260K } from '../helpers/models';

// Extraction's projections come from the per-sample means kept in memory, or, past the memory
// budget, from a second pass that reads projections from the graph: both must agree (the
// projection of a mean is the mean of the projections), and the first must not decode again.

let model: Model;
t.before(async () => {
  model = await Model.load(requireModel(stories260K), { gpuLayers });
});
t.teardown(() => model.dispose());

function items() {
  const texts = [['Lily was happy and she smiled', 'Lily was sad and she cried'], ['The sun was warm and bright', 'The rain was cold and grey'],
    ['Tom laughed with his friends', 'Tom sat alone and frowned']];
  return texts.map(([p, n]) => {
    const a = model.tokenize(p);
    const b = model.tokenize(n);
    return { pos: { tokens: a, start: 2, end: a.length }, neg: { tokens: b, start: 2, end: b.length } };
  });
}

t.test('projections from kept per-sample means equal a second pass that reads them from the graph', async (t) => {
  const ctx = await model.createContext({ contextSize: 64, threads: 1 });
  const blocks = [0, 2, 4];
  const progress = () => undefined;
  const kept = await collectMeans(ctx, items(), blocks, 'mean-diff', { progress });
  const streamed = await collectMeans(ctx, items(), blocks, 'mean-diff', { progress }, 0);
  t.ok(kept.samples !== null && streamed.samples === null, 'the budget decides whether per-sample means are kept');
  t.same([...kept.directions.values()].map((v) => Array.from(v)), [...streamed.directions.values()].map((v) => Array.from(v)), 'same directions either way');
  const before = (await ctx.stats()).decodes;
  const fromMemory = await projectSamples(ctx, items(), blocks, kept, { progress });
  t.equal((await ctx.stats()).decodes, before, 'no decode for the projections from memory');
  const fromGraph = await projectSamples(ctx, items(), blocks, streamed, { progress });
  t.ok((await ctx.stats()).decodes > before, 'the second pass decodes (the counter sees it)');
  for (const b of blocks) {
    const m = fromMemory.get(b)!;
    const g = fromGraph.get(b)!;
    for (const side of ['positive', 'negative'] as const) {
      const worst = Math.max(...Array.from(m[side], (x, k) => Math.abs(x - g[side][k]) / (1 + Math.abs(g[side][k]))));
      t.ok(worst < 1e-5, `block ${b} ${side}: relative diff ${worst.toExponential(2)}`);
    }
  }
  await ctx.dispose();
});

t.test('means read from whole rows for the residual norms equal the in-graph means, and no sample decodes twice', async (t) => {
  const ctx = await model.createContext({ contextSize: 64, threads: 1 });
  const blocks = [0, 2, 4];
  const normBlocks = [0, 1, 2, 3, 4];
  const progress = () => undefined;
  const plain = await collectMeans(ctx, items(), blocks, 'mean-diff', { progress });
  const sums = newNormSums(normBlocks);
  const before = (await ctx.stats()).decodes;
  const folded = await collectMeans(ctx, items(), blocks, 'mean-diff', { progress }, undefined, { count: 4, blocks: normBlocks, sums });
  t.equal((await ctx.stats()).decodes - before, items().length * 2, 'one decode per sample, the four read whole included');
  for (const b of blocks) {
    const a = plain.directions.get(b)!;
    const f = folded.directions.get(b)!;
    const worst = Math.max(...Array.from(a, (x, k) => Math.abs(x - f[k]) / (1 + Math.abs(x))));
    t.ok(worst < 1e-5, `block ${b}: direction relative diff ${worst.toExponential(2)}`);
  }
  // The oracle: the same four samples' rows captured on their own, their norms averaged here.
  const flat = items().flatMap((it) => [it.pos, it.neg]).slice(0, 4);
  for (const b of normBlocks) {
    let sum = 0;
    let n = 0;
    for (const it of flat) {
      const r = await ctx.capture(it.tokens, { blocks: [b], positions: Array.from(it.tokens, (_, k) => k >= it.start && k < it.end) });
      for (const row of r.blocks[0].rows) { sum += Math.hypot(...row); n++; }
    }
    const acc = sums.get(b)!;
    t.equal(acc.n, n, `block ${b}: rows counted`);
    t.ok(Math.abs(acc.sum / acc.n - sum / n) < 1e-4 * (sum / n), `block ${b}: mean norm ${acc.sum / acc.n} vs ${sum / n}`);
  }
  await ctx.dispose();
});
