import t from 'tap';
import { Model, add, clamp, calibrateCap, PersonaVector, type Context } from '../../lib/index';
import { randomVector } from '../helpers/math';
import { gpuLayers, requireModel, stories260K } from '../helpers/models';

// Per-call semantics: a call's steer, monitor and capture belong to that call, take
// effect when it starts running and end with it. The oracle for every call is the same call alone
// on a fresh context.

let model: Model;
const E = 64;
const v = randomVector(E, 21, 0.6);
const PROMPTS = ['Once upon a time', 'The little dog', 'One day Lily', 'Tom had a ball'];
const SCALES = [4, -4, 1, 2];
const planFor = (i: number) => [add(v, SCALES[i], [1, 2])];

t.before(async () => {
  model = await Model.load(requireModel(stories260K), { gpuLayers });
});
t.teardown(() => model.dispose());

async function fresh(sequences = 1): Promise<Context> {
  return model.createContext({ contextSize: 256, threads: 1, sequences });
}

async function alone(prompt: string, steer: ReturnType<typeof planFor> | null, maxTokens = 24): Promise<string> {
  const ctx = await fresh();
  try {
    return (await ctx.complete(prompt, { greedy: true, maxTokens, steer })).text;
  } finally {
    await ctx.dispose();
  }
}

for (const sequences of [1, 4]) {
  t.test(`four overlapping complete calls with different plans each equal the same call alone (sequences: ${sequences})`, async (t) => {
    const want = [];
    for (let i = 0; i < 4; i++) want.push(await alone(PROMPTS[i], planFor(i)));
    t.equal(new Set(want).size, 4, 'the four plans give four different texts');
    const ctx = await fresh(sequences);
    const got = await Promise.all(PROMPTS.map((p, i) => ctx.complete(p, { greedy: true, maxTokens: 24, steer: planFor(i) })));
    t.same(got.map((r) => r.text), want);
    await ctx.dispose();
  });
}

t.test('a call without steer after a steered call is unsteered', async (t) => {
  const ctx = await fresh();
  const steered = await ctx.complete(PROMPTS[0], { greedy: true, maxTokens: 24, steer: planFor(0) });
  const after = await ctx.complete(PROMPTS[0], { greedy: true, maxTokens: 24 });
  t.not(steered.text, after.text, 'the plan changed the first text');
  t.equal(after.text, await alone(PROMPTS[0], null));
  await ctx.dispose();
});

t.test('a capture issued before a steered complete comes back unsteered', async (t) => {
  const ref = await fresh();
  const want = await ref.capture(PROMPTS[1], { blocks: [2] });
  await ref.dispose();
  const ctx = await fresh();
  const captured = ctx.capture(PROMPTS[1], { blocks: [2] });
  const steered = ctx.complete(PROMPTS[1], { greedy: true, maxTokens: 8, steer: planFor(0) });
  const [got] = await Promise.all([captured, steered]);
  t.same(got.blocks[0].rows.map((r) => Array.from(r)), want.blocks[0].rows.map((r) => Array.from(r)));
  await ctx.dispose();
});

t.test('setSteering sets the default of later calls without steer, and steer: false opts out', async (t) => {
  const ctx = await fresh();
  ctx.setSteering(planFor(1));
  const inherited = await ctx.complete(PROMPTS[2], { greedy: true, maxTokens: 24 });
  const optedOut = await ctx.complete(PROMPTS[2], { greedy: true, maxTokens: 24, steer: false });
  const own = await ctx.complete(PROMPTS[2], { greedy: true, maxTokens: 24, steer: planFor(3) });
  t.equal(inherited.text, await alone(PROMPTS[2], planFor(1)));
  t.equal(optedOut.text, await alone(PROMPTS[2], null));
  t.equal(own.text, await alone(PROMPTS[2], planFor(3)));
  await ctx.dispose();
});

t.test('setSteering does not change a generation that is already running', async (t) => {
  const ctx = await fresh();
  let n = 0;
  const stream = ctx.generate(PROMPTS[3], { greedy: true, maxTokens: 24 });
  for await (const ev of stream) {
    if (ev.token !== null && ++n === 3) ctx.setSteering(planFor(0));
  }
  t.equal((await stream.result).text, await alone(PROMPTS[3], null));
  await ctx.dispose();
});

t.test('captureMean after a steered call equals it on a fresh context', async (t) => {
  const tokens = model.tokenize('Once upon a time there was a cat');
  const items = [{ tokens, start: 1, end: tokens.length }];
  const ref = await fresh();
  const want = await ref.captureMean(items, { blocks: [3] });
  await ref.dispose();
  const ctx = await fresh();
  await ctx.complete(PROMPTS[0], { greedy: true, maxTokens: 4, steer: planFor(0) });
  ctx.setSteering(planFor(1));
  const got = await ctx.captureMean(items, { blocks: [3] });
  t.same(Array.from(got[0].mean), Array.from(want[0].mean), 'unsteered by default, even with a default plan');
  const steered = await ctx.captureMean(items, { blocks: [3], steer: planFor(1) });
  t.notSame(Array.from(steered[0].mean), Array.from(want[0].mean), 'an explicit plan steers it');
  await ctx.dispose();
});

t.test('calibrateCap after a steered generation and with a default plan equals it on a fresh context', async (t) => {
  const vector = PersonaVector.fromBlocks({ 2: v, 3: v });
  const prompts = ['The cat sat on the mat', 'Lily liked to play', 'A big red ball'];
  const ref = await fresh();
  const want = await calibrateCap(ref, vector, prompts);
  await ref.dispose();
  const ctx = await fresh();
  await ctx.complete(PROMPTS[0], { greedy: true, maxTokens: 4, steer: [clamp(v, { max: -3 }, [2, 3])] });
  ctx.setSteering([add(v, 5, [1, 2])]);
  const got = await calibrateCap(ctx, vector, prompts);
  t.same([...got.thresholds], [...want.thresholds]);
  await ctx.dispose();
});
