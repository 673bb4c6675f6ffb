import t from 'tap';
import { Model, add, type ChatMessage } from '../../lib/index';
import { randomVector } from '../helpers/math';
import { gpuLayers, requireModel, stories260K } from '../helpers/models';

// Sequence: a conversation keeps its cells between calls and evaluates only the tokens
// after the longest common prefix. Oracle: the same prompt run cold on a fresh context.

let model: Model;
const v = randomVector(64, 41, 0.6);

t.before(async () => {
  model = await Model.load(requireModel(stories260K), { gpuLayers });
});
t.teardown(() => model.dispose());

const TURN1 = 'Once upon a time there was a little girl named Lily.';
const TURN2 = ' One day she went to the park with her mom.';

t.test('a second turn evaluates only the new tokens and gives the text of a cold run of the whole history', async (t) => {
  const ctx = await model.createContext({ contextSize: 256, threads: 1 });
  const seq = ctx.createSequence();
  const first = await seq.complete(TURN1, { greedy: true, maxTokens: 12 });
  t.equal(first.cachedTokens, 0, 'the first turn evaluates its whole prompt');
  const history = model.tokenize(TURN1);
  const held = seq.tokens;
  t.same(Array.from(held.subarray(0, history.length)), Array.from(history), 'the sequence holds the first prompt');
  t.equal(held.length, history.length + first.generatedTokens - 1, 'and every generated token but the last (not decoded)');
  const second = Int32Array.from([...history, ...first.tokens, ...model.tokenize(TURN2, { addSpecial: false })]);
  const warm = await seq.complete(second, { greedy: true, maxTokens: 16 });
  t.equal(warm.cachedTokens, held.length, `only ${second.length - warm.cachedTokens} of ${second.length} prompt tokens were evaluated`);
  const cold = await (await model.createContext({ contextSize: 256, threads: 1 })).complete(second, { greedy: true, maxTokens: 16 });
  t.same(warm.tokens, cold.tokens);
  await seq.dispose();
  await ctx.dispose();
});

t.test('cells computed under one plan are not reused under another', async (t) => {
  const ctx = await model.createContext({ contextSize: 256, threads: 1 });
  const seq = ctx.createSequence();
  const plan = [add(v, 3, [1, 2])];
  await seq.complete(TURN1, { greedy: true, maxTokens: 4, steer: plan });
  const same = await seq.complete(TURN1 + TURN2, { greedy: true, maxTokens: 4, steer: plan });
  t.ok(same.cachedTokens > 0, `same plan: ${same.cachedTokens} tokens reused`);
  const other = await seq.complete(TURN1 + TURN2, { greedy: true, maxTokens: 8, steer: false });
  t.equal(other.cachedTokens, 0, 'another plan evaluates everything again');
  const cold = await ctx.complete(TURN1 + TURN2, { greedy: true, maxTokens: 8, steer: false });
  t.same(other.tokens, cold.tokens);
  await ctx.dispose();
});

t.test('a prompt equal to what the sequence holds still evaluates its last token', async (t) => {
  const ctx = await model.createContext({ contextSize: 256, threads: 1 });
  const seq = ctx.createSequence();
  const a = await seq.complete(TURN1, { greedy: true, maxTokens: 1 });
  const b = await seq.complete(TURN1, { greedy: true, maxTokens: 6 });
  t.equal(b.cachedTokens, model.tokenize(TURN1).length - 1);
  t.equal(b.tokens[0], a.tokens[0], 'the same first token');
  await ctx.dispose();
});

t.test('chat messages reuse the rendered history', async (t) => {
  const toy = await Model.load(requireModel(require('node:path').join(__dirname, '..', '..', 'models', 'toy-persona.gguf')), { gpuLayers });
  const ctx = await toy.createContext({ contextSize: 512, threads: 1 });
  const seq = ctx.createSequence();
  const messages: ChatMessage[] = [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content: 'What is the capital of France?' }];
  const r1 = await seq.complete({ messages }, { greedy: true, maxTokens: 40 });
  messages.push({ role: 'assistant', content: r1.text }, { role: 'user', content: 'How do plants grow?' });
  const r2 = await seq.complete({ messages }, { greedy: true, maxTokens: 40 });
  t.ok(r2.cachedTokens > 20, `${r2.cachedTokens} of ${r2.promptTokens} prompt tokens reused`);
  const cold = await ctx.complete({ messages }, { greedy: true, maxTokens: 40 });
  t.equal(r2.text, cold.text);
  await ctx.dispose();
  toy.dispose();
});

t.test('createSequence throws ERR_NO_SEQUENCE when every sequence is held, and works again after a dispose', async (t) => {
  const ctx = await model.createContext({ contextSize: 128, threads: 1, sequences: 2 });
  const a = ctx.createSequence();
  const b = ctx.createSequence();
  t.not(a.id, b.id);
  t.throws(() => ctx.createSequence(), { code: 'ERR_NO_SEQUENCE', message: /all 2 sequences/ });
  await a.dispose();
  const c = ctx.createSequence();
  t.equal(c.id, a.id);
  t.rejects(() => a.complete('x'), { code: 'ERR_DISPOSED' });
  await ctx.dispose();
});

t.test('a one-shot call on a context whose sequences are all held borrows an idle one, and its owner evaluates again', async (t) => {
  const ctx = await model.createContext({ contextSize: 256, threads: 1 });
  const seq = ctx.createSequence();
  await seq.complete(TURN1, { greedy: true, maxTokens: 4 });
  t.ok(seq.tokens.length > 0);
  const oneShot = await ctx.complete('The cat', { greedy: true, maxTokens: 8 });
  t.ok(oneShot.generatedTokens > 0);
  t.equal(seq.tokens.length, 0, 'the owner knows its cells are gone');
  const again = await seq.complete(TURN1 + TURN2, { greedy: true, maxTokens: 8 });
  t.equal(again.cachedTokens, 0);
  const cold = await ctx.complete(TURN1 + TURN2, { greedy: true, maxTokens: 8 });
  t.same(again.tokens, cold.tokens);
  await ctx.dispose();
});

t.test('two sequences of one context hold two conversations decoded together', async (t) => {
  const ctx = await model.createContext({ contextSize: 256, threads: 1, sequences: 2 });
  const a = ctx.createSequence();
  const b = ctx.createSequence();
  const [ra, rb] = await Promise.all([a.complete(TURN1, { greedy: true, maxTokens: 10 }), b.complete('The dog ran', { greedy: true, maxTokens: 10 })]);
  const [ra2, rb2] = await Promise.all([
    a.complete(TURN1 + TURN2, { greedy: true, maxTokens: 10 }),
    b.complete('The dog ran to the park', { greedy: true, maxTokens: 10 }),
  ]);
  t.ok(ra2.cachedTokens > 0 && rb2.cachedTokens > 0, 'both reused their own cells');
  const solo = await model.createContext({ contextSize: 256, threads: 1 });
  t.same(ra.tokens, (await solo.complete(TURN1, { greedy: true, maxTokens: 10 })).tokens);
  t.same(rb.tokens, (await solo.complete('The dog ran', { greedy: true, maxTokens: 10 })).tokens);
  t.same(ra2.tokens, (await solo.complete(TURN1 + TURN2, { greedy: true, maxTokens: 10 })).tokens);
  t.same(rb2.tokens, (await solo.complete('The dog ran to the park', { greedy: true, maxTokens: 10 })).tokens);
  await solo.dispose();
  await ctx.dispose();
});
