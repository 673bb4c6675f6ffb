import t from 'tap';
import { Model, add, clamp, type Context, type GenerateOptions } from '../../lib/index';
import { randomVector } from '../helpers/math';
import { gpuLayers, requireModel, stories260K } from '../helpers/models';

// Concurrency: contexts on one model run at once with the same results as one at a time, and
// overlapping calls on one context are queued: each runs whole, in call order (the documented
// behaviour), so overlapping never changes a result.

let model: Model;
t.before(async () => {
  model = await Model.load(requireModel(stories260K), { gpuLayers });
});
t.teardown(() => model.dispose());

const E = 64;
const dirA = randomVector(E, 11);
const dirB = randomVector(E, 12);
const monitor = [{ name: 'a', vector: dirA, blocks: [1, 3] }, { name: 'b', vector: dirB, blocks: [2] }];

interface Job { prompt: string | number[]; options: GenerateOptions }
const JOBS: Job[] = [
  { prompt: [1], options: { greedy: true, maxTokens: 48 } },
  { prompt: 'Once upon a time', options: { temperature: 0.9, seed: 42, maxTokens: 48 } },
  { prompt: 'The little dog', options: { greedy: true, maxTokens: 48, steer: [add(dirA, 3, [1, 2])], monitor } },
  { prompt: 'One day', options: { temperature: 1.1, topK: 20, seed: 7, maxTokens: 48, steer: { positions: 'generated', ops: [clamp(dirB, { max: 0 }, 'all')] }, capture: { blocks: [4] } } },
];

async function runJob(ctx: Context, job: Job) {
  const r = await ctx.complete(job.prompt, job.options);
  return { text: r.text, tokens: r.tokens, projections: JSON.stringify(r.projections), captured: r.captures.map((c) => c.rows.length) };
}

t.test('four contexts on one model generating at once give the texts they give one by one', async (t) => {
  const ctxs = await Promise.all(JOBS.map(() => model.createContext({ contextSize: 256, threads: 1 })));
  const alone = [];
  for (let i = 0; i < JOBS.length; i++) alone.push(await runJob(ctxs[i], JOBS[i]));
  for (const c of ctxs) c.setSteering(null);
  for (let round = 0; round < 2; round++) {
    const together = await Promise.all(JOBS.map((job, i) => runJob(ctxs[i], job)));
    t.same(together, alone, `round ${round}: same text, tokens, projections and captures`);
    for (const c of ctxs) c.setSteering(null);
  }
  t.not(alone[2].text, alone[0].text.slice(0, alone[2].text.length), 'the steered job really differs');
  await Promise.all(ctxs.map((c) => c.dispose()));
});

t.test('contexts on two models loaded at once generate at once without interfering', async (t) => {
  const models = await Promise.all([Model.load(stories260K, { gpuLayers }), Model.load(stories260K, { gpuLayers })]);
  const ctxs = await Promise.all(models.map((m) => m.createContext({ contextSize: 128, threads: 1 })));
  const [a, b] = await Promise.all([ctxs[0].complete([1], { greedy: true, maxTokens: 30 }), ctxs[1].complete([1], { greedy: true, maxTokens: 30 })]);
  t.equal(a.text, b.text);
  await Promise.all(ctxs.map((c) => c.dispose()));
  for (const m of models) m.dispose();
});

t.test('overlapping calls on one context run in call order and each gives its own result', async (t) => {
  const ctx = await model.createContext({ contextSize: 256, threads: 1 });
  const items = [{ tokens: [1, 300, 301, 302, 303], start: 1, end: 5 }, { tokens: [1, 310, 311, 312], start: 0, end: 4 }];
  const calls: [string, () => Promise<unknown>][] = [
    ['generate greedy', () => ctx.complete([1], { greedy: true, maxTokens: 20 }).then((r) => r.text)],
    ['capture', () => ctx.capture('Once upon a time', { blocks: [0, 4] }).then((r) => r.blocks.map((b) => Array.from(b.rows[2])))],
    ['logits', () => ctx.logits('One day', { all: true }).then((r) => Array.from(r.logits.subarray(0, 600)))],
    ['generate sampled', () => ctx.complete('The cat', { temperature: 1, seed: 3, maxTokens: 20 }).then((r) => r.text)],
    ['captureMean', () => ctx.captureMean(items, { blocks: [1, 3] }).then((r) => r.map((m) => [m.count, Array.from(m.mean)]))],
    ['projectionMeans', () => ctx.projectionMeans(items, monitor).then((r) => r.map((x) => Array.from(x.values)))],
    ['capture mean', () => ctx.capture('Once upon a time', { blocks: [2], reduce: 'mean' }).then((r) => Array.from(r.means[0].mean))],
    ['evaluate', () => ctx.evaluate([{ tokens: [1, 400, 401], logits: 'all' }]).then((r) => r.logits.map((l) => l[5]))],
    ['generate monitored', () => ctx.complete([1], { greedy: true, maxTokens: 12, monitor }).then((r) => JSON.stringify(r.projections))],
  ];
  const sequential: unknown[] = [];
  for (const [, fn] of calls) sequential.push(await fn());

  const finished: string[] = [];
  const overlapped = await Promise.all(calls.map(([name, fn]) => fn().then((v) => { finished.push(name); return v; })));
  const statsDone = ctx.stats().then(() => finished.push('stats'));
  await statsDone;
  calls.forEach(([name], i) => t.same(overlapped[i], sequential[i], `${name}: same result overlapped as alone`));
  t.same(finished, [...calls.map(([name]) => name), 'stats'], 'they finished in call order');
  await ctx.dispose();
});

t.test('two overlapping captureMean calls give the means each gives alone', async (t) => {
  const ctx = await model.createContext({ contextSize: 256, threads: 1 });
  const A = [{ tokens: [1, 300, 301, 302, 303], start: 1, end: 5 }, { tokens: [1, 310, 311, 312], start: 1, end: 4 }];
  const B = [{ tokens: [1, 400, 401, 402, 403, 404], start: 2, end: 6 }, { tokens: [1, 410, 411], start: 0, end: 3 }];
  const a = await ctx.captureMean(A, { blocks: [2] });
  const b = await ctx.captureMean(B, { blocks: [2] });
  const [a2, b2, c2] = await Promise.all([ctx.captureMean(A, { blocks: [2] }), ctx.captureMean(B, { blocks: [2] }), ctx.capture([1, 300, 301], { reduce: 'mean', blocks: [2] })]);
  t.same([a2[0].count, b2[0].count], [7, 7], 'each counted only its own tokens');
  t.same(Array.from(a2[0].mean), Array.from(a[0].mean));
  t.same(Array.from(b2[0].mean), Array.from(b[0].mean));
  t.equal(c2.means[0].count, 3);
  await ctx.dispose();
});

t.test('a generation overlapping projectionMeans changes neither one\'s projections', async (t) => {
  const ctx = await model.createContext({ contextSize: 256, threads: 1 });
  const items = [{ tokens: [1, 300, 301, 302, 303], start: 1, end: 5 }];
  const other = [{ name: 'neg', vector: dirA.map((x) => -x), blocks: [1, 3] }];
  const pm = await ctx.projectionMeans(items, monitor);
  const gen = await ctx.complete([1], { greedy: true, maxTokens: 8, monitor: other });
  const [pm2, gen2] = await Promise.all([ctx.projectionMeans(items, monitor), ctx.complete([1], { greedy: true, maxTokens: 8, monitor: other })]);
  const [gen3, pm3] = await Promise.all([ctx.complete([1], { greedy: true, maxTokens: 8, monitor: other }), ctx.projectionMeans(items, monitor)]);
  t.same(pm2.map((x) => Array.from(x.values)), pm.map((x) => Array.from(x.values)), 'projectionMeans first');
  t.same(pm3.map((x) => Array.from(x.values)), pm.map((x) => Array.from(x.values)), 'projectionMeans second');
  t.same(gen2.projections, gen.projections, 'generation second');
  t.same(gen3.projections, gen.projections, 'generation first');
  t.ok(pm[0].values.every(Number.isFinite), 'projections are numbers');
  await ctx.dispose();
});

t.test('many overlapping generations on one context all finish with their own text', async (t) => {
  const ctx = await model.createContext({ contextSize: 256, threads: 1 });
  const prompts = Array.from({ length: 12 }, (_, i) => [1, 300 + i]);
  const alone = [];
  for (const p of prompts) alone.push((await ctx.complete(p, { greedy: true, maxTokens: 6 })).text);
  const together = await Promise.all(prompts.map((p) => ctx.complete(p, { greedy: true, maxTokens: 6 }).then((r) => r.text)));
  t.same(together, alone);
  await ctx.dispose();
});
