import t from 'tap';
import { Model, add, clamp, type Context, type GenerateOptions, type GenerationResult } from '../../lib/index';
import { randomVector } from '../helpers/math';
import { gpuLayers, requireModel, stories260K } from '../helpers/models';

// Continuous batching: generations on the sequences of one context advance together,
// one llama_decode per step, each with its own plan, monitor, capture, sampler and stop. The
// oracle for each is the same call alone on a fresh one-sequence context.

let model: Model;
const E = 64;
const v = randomVector(E, 31, 0.6);
const w = randomVector(E, 32, 0.6);
const monitor = [{ name: 'v', vector: v, blocks: [1, 3] }];
interface Job { prompt: string; options: GenerateOptions }
const JOBS: Job[] = [
  { prompt: 'Once upon a time', options: { greedy: true, maxTokens: 24, steer: [add(v, 3, [1, 2])], monitor, capture: { blocks: [2] } } },
  { prompt: 'The little dog', options: { greedy: true, maxTokens: 24, steer: [clamp(w, { max: -0.5 }, [2, 3])], monitor } },
  { prompt: 'One day Lily went', options: { greedy: true, maxTokens: 24, steer: false, monitor, capture: { blocks: [4] } } },
  { prompt: 'Tom had a red', options: { temperature: 0.9, seed: 5, maxTokens: 24, steer: { positions: 'generated', ops: [add(w, -3, [1])] }, monitor } },
];

t.before(async () => {
  model = await Model.load(requireModel(stories260K), { gpuLayers });
});
t.teardown(() => model.dispose());

const summary = (r: GenerationResult) => ({
  text: r.text,
  projections: r.projections.map((ps) => ps.map((p) => `${p.name}@${p.block}`)),
  captured: r.captures.map((c) => ({ block: c.block, positions: Array.from(c.positions) })),
});

let aloneResults: GenerationResult[] = [];
async function aloneAll(): Promise<GenerationResult[]> {
  if (aloneResults.length) return aloneResults;
  const ctx = await model.createContext({ contextSize: 256, threads: 1 });
  for (const j of JOBS) aloneResults.push(await ctx.complete(j.prompt, j.options));
  await ctx.dispose();
  return aloneResults;
}

t.test('four sequences with four plans (one unsteered) generated together give the tokens each gives alone', async (t) => {
  const want = await aloneAll();
  const ctx = await model.createContext({ contextSize: 256, threads: 1, sequences: 4 });
  const got = await Promise.all(JOBS.map((j) => ctx.complete(j.prompt, j.options)));
  got.forEach((r, i) => {
    t.same(r.tokens, want[i].tokens, `job ${i}: same tokens`);
    t.same(summary(r), summary(want[i]), `job ${i}: same monitor labels and captured positions`);
    const worst = Math.max(0, ...r.projections.flatMap((ps, k) => ps.map((p, m) => Math.abs(p.value - want[i].projections[k][m].value))));
    t.ok(worst < 1e-2, `job ${i}: projections match alone within ${worst.toExponential(2)}`);
  });
  await ctx.dispose();
});

t.test('captured rows and monitor values carry their own sequence only', async (t) => {
  const ctx = await model.createContext({ contextSize: 256, threads: 1, sequences: 4 });
  const got = await Promise.all(JOBS.map((j) => ctx.complete(j.prompt, j.options)));
  const prompt0 = model.tokenize(JOBS[0].prompt).length;
  const c0 = got[0].captures[0];
  t.equal(new Set(c0.sequences).size, 1, 'one sequence label in job 0 captures');
  t.same(Array.from(c0.positions), Array.from({ length: prompt0 + got[0].generatedTokens - 1 }, (_, i) => i), 'every decoded position of job 0, in order');
  const c2 = got[2].captures[0];
  t.equal(c2.block, 4);
  t.ok(c2.rows.length >= model.tokenize(JOBS[2].prompt).length, 'the last block is captured at every prompt position too');
  t.notSame(Array.from(c0.sequences.slice(0, 1)), Array.from(c2.sequences.slice(0, 1)), 'different jobs ran on different sequences');
  await ctx.dispose();
});

t.test('one llama_decode per step carries every running generation', async (t) => {
  const ctx = await model.createContext({ contextSize: 256, threads: 1, sequences: 4 });
  const before = (await ctx.stats()).generationDecodes;
  const opts = { greedy: true, maxTokens: 32, stopAtEog: false } as const;
  const rs = await Promise.all(['Once', 'The dog', 'Lily', 'Tom went'].map((p) => ctx.complete(p, opts)));
  const decodes = (await ctx.stats()).generationDecodes - before;
  const tokens = rs.reduce((s, r) => s + r.generatedTokens, 0);
  t.equal(tokens, 128);
  // One at a time they take 4 x 32 = 128 decodes (prompt + 31 tokens each); together the steps are
  // shared: 32 when all four advance at every step, a few more when a lagging consumer holds one
  // stream back for a step (the token window) while the others go on.
  t.ok(decodes >= 32 && decodes <= 48, `${decodes} decodes for 4 x 32 tokens (128 one at a time)`);
  await ctx.dispose();
});

t.test('aborting one sequence mid-batch leaves the others going to the end', async (t) => {
  const want = await aloneAll();
  const ctx = await model.createContext({ contextSize: 256, threads: 1, sequences: 4 });
  const streams = JOBS.map((j) => ctx.generate(j.prompt, { ...j.options, maxTokens: 24 }));
  let n = 0;
  for await (const ev of streams[1]) {
    if (ev.token !== null && ++n === 5) streams[1].abort();
  }
  const rs = await Promise.all(streams.map((s) => s.result));
  t.equal(rs[1].stopReason, 'abort');
  t.ok(rs[1].generatedTokens < 24, `the aborted one stopped after ${rs[1].generatedTokens} tokens`);
  for (const i of [0, 2, 3]) t.same(rs[i].tokens, want[i].tokens, `job ${i} went on unchanged`);
  await ctx.dispose();
});

t.test('a generation joining while others decode gets the tokens it gets alone', async (t) => {
  const want = await aloneAll();
  const ctx = await model.createContext({ contextSize: 256, threads: 1, sequences: 4 });
  const first = ctx.generate(JOBS[0].prompt, JOBS[0].options);
  let joined: Promise<GenerationResult> | null = null;
  let n = 0;
  for await (const ev of first) {
    if (ev.token !== null && ++n === 6) joined = ctx.complete(JOBS[1].prompt, JOBS[1].options);
  }
  t.same((await first.result).tokens, want[0].tokens);
  t.same((await joined!).tokens, want[1].tokens);
  await ctx.dispose();
});

t.test('more calls than sequences wait for a free one and give the same tokens', async (t) => {
  const want = await aloneAll();
  const ctx = await model.createContext({ contextSize: 256, threads: 1, sequences: 2 });
  const got = await Promise.all(JOBS.map((j) => ctx.complete(j.prompt, j.options)));
  got.forEach((r, i) => t.same(r.tokens, want[i].tokens, `job ${i}`));
  await ctx.dispose();
});

t.test('dispose during a batch ends every running generation with abort', async (t) => {
  const ctx = await model.createContext({ contextSize: 256, threads: 1, sequences: 3 });
  const forever = { greedy: true, maxTokens: 100000, stopAtEog: false } as const;
  const streams = ['Once', 'The dog', 'Lily'].map((p) => ctx.generate(p, forever));
  let n = 0;
  for await (const ev of streams[0]) {
    if (ev.token !== null && ++n === 4) { await ctx.dispose(); }
  }
  const rs = await Promise.all(streams.map((s) => s.result));
  t.same(rs.map((r) => r.stopReason), ['abort', 'abort', 'abort']);
  t.ok(rs.every((r) => r.generatedTokens < 1000), `stopped after ${rs.map((r) => r.generatedTokens).join(', ')} tokens`);
});
