import t from 'tap';
import { Model, add, clamp, ablate, type Context } from '../../lib/index';
import { MODEL_OPTION_KEYS } from '../../lib/model';
import { CONTEXT_OPTION_KEYS } from '../../lib/context';
import { gpuLayers, requireModel, stories260K } from '../helpers/models';
import { caught, mismatch, show, UNIVERSALLY_WRONG, type ErrorExpectation } from '../fixtures/lifecycle/expect-error';

// The validation matrix: every public function of Model and Context, called with wrong types,
// missing or unknown options, out-of-range blocks, wrong-sized vectors, NaN/Infinity, min > max,
// empty prompts, context overflow and bad token counts, fails with a PersonaSteerError whose code
// is stable and whose message names the argument, what was expected and what was received.
// Each options-taking function is driven from the exported key lists, so adding an option that is
// not validated (or not listed here) fails this file.

let model: Model;
let ctx: Context;
let E: number;
let V: number;
t.before(async () => {
  model = await Model.load(requireModel(stories260K), { gpuLayers });
  ctx = await model.createContext({ contextSize: 256, threads: 1 });
  E = model.info.embeddingSize;
  V = model.info.vocabularySize;
});
t.teardown(async () => {
  await ctx.dispose();
  model.dispose();
});

const vec = (fill = 0.25, n?: number) => new Float32Array(n ?? E).fill(fill);
const item = () => ({ tokens: [1, 400, 401, 402], start: 1, end: 4 });
const mon = () => [{ name: 'm', vector: vec(), blocks: [2] }];

interface OptionsFn {
  keys: readonly string[];
  call: (options: unknown) => unknown;
  /** Wrong values per key, beyond the universally wrong ones. */
  wrong: Record<string, unknown[]>;
}

// Built lazily: the calls need the model and context from t.before.
const FUNCTIONS = (): Record<string, OptionsFn> => ({
  tokenize: {
    keys: MODEL_OPTION_KEYS.tokenize,
    call: (o) => model.tokenize('Once upon a time', o as never),
    wrong: { addSpecial: ['yes', 1], parseSpecial: [0, null] },
  },
  tokenizeAsync: {
    keys: MODEL_OPTION_KEYS.tokenizeAsync,
    call: (o) => model.tokenizeAsync('Once upon a time', o as never),
    wrong: { addSpecial: ['yes', 1], parseSpecial: [0, null], maxTokens: [0, -1, 1.5, '5', 2 ** 31] },
  },
  detokenize: {
    keys: MODEL_OPTION_KEYS.detokenize,
    call: (o) => model.detokenize([1, 400], o as never),
    wrong: { special: ['true', 1] },
  },
  applyChatTemplate: {
    keys: MODEL_OPTION_KEYS.applyChatTemplate,
    call: (o) => model.applyChatTemplate([{ role: 'user', content: 'hi' }], o as never),
    wrong: { addAssistant: ['no'], template: [5, '', {}] },
  },
  createContext: {
    keys: CONTEXT_OPTION_KEYS.createContext,
    call: (o) => model.createContext(o as never),
    wrong: {
      contextSize: [0, 7, 1.5, -256, 2 ** 21, '256'], batchSize: [0, 1.5, 4096, '8'], threads: [-1, 0.5, 2000, '2'],
      sequences: [0, 257, 1.5], flashAttention: ['on', 1], kvCacheType: ['q3', 5, 'q8_0', { k: 'f16', z: 'f16' }, { v: 'q4_0' }],
    },
  },
  generate: {
    keys: CONTEXT_OPTION_KEYS.generate,
    call: (o) => ctx.generate('Once upon a time', o as never),
    wrong: {
      greedy: ['true', 1], temperature: [-0.1, Infinity, 101, '1'], topK: [-1, 1.5, '40'], topP: [-0.1, 1.1, '1'],
      minP: [2, -1], repeatPenalty: [0, -1, Infinity], repeatLastN: [-1, 0.5], seed: [-1, 2 ** 32, 1.5, '7'],
      maxTokens: [0, -1, 1.5, 2 ** 20 + 1, Infinity, '10'], stop: ['.', [''], [1], {}], stopAtEog: ['false', 0],
      signal: [{}, { aborted: false }], steer: [42, 'plan', { ops: 'x' }, [{ kind: 'add' }]],
      monitor: ['m', [], [{ name: 'm' }]], capture: [true, { blocks: 9 }, { blocks: 'all', rows: 1 }, {}],
      grammar: [5, '', 'root ::= undefined-rule'], jsonSchema: [5, 'x', { type: 'nope' }, { pattern: 'a' }],
      logprobs: ['yes', 1], topLogprobs: [-1, 101, 1.5, '3'],
    },
  },
  complete: {
    keys: CONTEXT_OPTION_KEYS.generate,
    call: (o) => ctx.complete('Once upon a time', o as never),
    wrong: { maxTokens: [0, 2 ** 24], temperature: [-1], seed: [-5], stop: ['x'], steer: [1], monitor: [{}], capture: [[1]],
      greedy: [1], topK: ['1'], topP: [5], minP: ['0'], repeatPenalty: [NaN], repeatLastN: ['1'], stopAtEog: [1], signal: [1],
      grammar: [1], jsonSchema: [[]], logprobs: [0], topLogprobs: [200] },
  },
  capture: {
    keys: CONTEXT_OPTION_KEYS.capture,
    call: (o) => ctx.capture('Once upon a time', o as never),
    wrong: { steer: [42, 'plan', { ops: 'x' }, [{ kind: 'add' }]], blocks: [5, -1, [], [0, 5], 'last'], positions: ['first', [true], [1, 0, 1, 0, 1, 0]], reduce: ['sum', true] },
  },
  captureMean: {
    keys: CONTEXT_OPTION_KEYS.captureMean,
    call: (o) => ctx.captureMean([item()], o as never),
    wrong: { steer: [42, 'plan', { ops: 'x' }, [{ kind: 'add' }]], blocks: [7, [1.5]], signal: ['abort'] },
  },
  projectionMeans: {
    keys: CONTEXT_OPTION_KEYS.projectionMeans,
    call: (o) => ctx.projectionMeans([item()], mon(), o as never),
    wrong: { steer: [42, 'plan', { ops: 'x' }, [{ kind: 'add' }]], signal: [{}] },
  },
  logits: {
    keys: CONTEXT_OPTION_KEYS.logits,
    call: (o) => ctx.logits('Once', o as never),
    wrong: { steer: [42, 'plan', { ops: 'x' }, [{ kind: 'add' }]], all: ['all', 1] },
  },
  evaluate: {
    keys: CONTEXT_OPTION_KEYS.evaluate,
    call: (o) => ctx.evaluate([{ tokens: [1, 400] }], o as never),
    wrong: { steer: [42, 'plan', { ops: 'x' }, [{ kind: 'add' }]], keepMemory: ['yes'], captureBlocks: [5, [], 'none'] },
  },
  setLlamaControlVector: {
    keys: CONTEXT_OPTION_KEYS.setLlamaControlVector,
    call: (o) => ctx.setLlamaControlVector(vec(), { blocks: [1], ...(o as object) }),
    wrong: { scale: [Infinity, '1'], blocks: [0, [0, 1], 5, []] },
  },
});

t.test('every option key of every function has wrong-value cases', async (t) => {
  for (const [name, f] of Object.entries(FUNCTIONS())) {
    t.same(Object.keys(f.wrong).sort(), [...f.keys].sort(), name);
  }
});

t.test('every option rejects wrong-typed values with ERR_INVALID_ARG naming options.<key>', async (t) => {
  let cases = 0;
  for (const [name, f] of Object.entries(FUNCTIONS())) {
    for (const key of f.keys) {
      for (const value of [...UNIVERSALLY_WRONG, ...f.wrong[key]]) {
        const err = await caught(() => f.call({ [key]: value }));
        t.equal(mismatch(err, { code: 'ERR_INVALID_ARG', arg: `options.${key}` }), null, `${name}: options.${key} = ${show(value)}`);
        cases++;
      }
    }
  }
  t.comment(`${cases} option cases`);
  t.ok(cases > 150, `${cases} option cases`);
});

t.test('every options-taking function rejects an unknown option and non-object options', async (t) => {
  for (const [name, f] of Object.entries(FUNCTIONS())) {
    if (name === 'setLlamaControlVector') continue; // its call wrapper spreads options into an object
    t.equal(mismatch(await caught(() => f.call({ bogusOption: 1 })), { code: 'ERR_INVALID_ARG', arg: 'options.bogusOption', message: /known options/ }), null, `${name}: unknown key`);
    for (const o of [null, 5, 'x', [1]]) {
      t.equal(mismatch(await caught(() => f.call(o)), { code: 'ERR_INVALID_ARG', arg: 'options' }), null, `${name}: options = ${show(o)}`);
    }
  }
  t.equal(mismatch(await caught(() => ctx.setLlamaControlVector(vec(), { bogusOption: 1 } as never)), { code: 'ERR_INVALID_ARG', arg: 'options.bogusOption' }), null);
  t.equal(mismatch(await caught(() => ctx.setLlamaControlVector(vec(), 5 as never)), { code: 'ERR_INVALID_ARG', arg: 'options' }), null);
});

type Case = [string, () => unknown, ErrorExpectation];
const tooLong = () => new Array(ctx.contextSize + 1).fill(1);

const ARGUMENT_CASES = (): Case[] => [
  // Model
  ['tokenize(42)', () => model.tokenize(42 as never), { code: 'ERR_INVALID_ARG', arg: 'text' }],
  ['tokenize()', () => (model.tokenize as (x?: unknown) => unknown)(), { code: 'ERR_INVALID_ARG', arg: 'text' }],
  ['detokenize("abc")', () => model.detokenize('abc' as never), { code: 'ERR_INVALID_ARG', arg: 'tokens' }],
  ['detokenize([-1])', () => model.detokenize([-1]), { code: 'ERR_INVALID_ARG', arg: 'tokens[0]' }],
  ['detokenize([vocab])', () => model.detokenize([1, V]), { code: 'ERR_INVALID_ARG', arg: 'tokens[1]', message: /\[0, 512\)/ }],
  ['detokenize([1.5])', () => model.detokenize([1.5]), { code: 'ERR_INVALID_ARG', arg: 'tokens[0]' }],
  ['detokenize([NaN])', () => model.detokenize([NaN]), { code: 'ERR_INVALID_ARG', arg: 'tokens[0]' }],
  ['applyChatTemplate([])', () => model.applyChatTemplate([]), { code: 'ERR_INVALID_ARG', arg: 'messages' }],
  ['applyChatTemplate("hi")', () => model.applyChatTemplate('hi' as never), { code: 'ERR_INVALID_ARG', arg: 'messages' }],
  ['applyChatTemplate role 1', () => model.applyChatTemplate([{ role: 1 as never, content: '' }]), { code: 'ERR_INVALID_ARG', arg: 'messages[0].role' }],
  ['applyChatTemplate no content', () => model.applyChatTemplate([{ role: 'user' } as never]), { code: 'ERR_INVALID_ARG', arg: 'messages[0].content' }],
  ['applyChatTemplate extra key', () => model.applyChatTemplate([{ role: 'user', content: 'x', name: 'a' } as never]), { code: 'ERR_INVALID_ARG', arg: 'messages[0].name' }],
  ['applyChatTemplate without a template', () => model.applyChatTemplate([{ role: 'user', content: 'x' }]), { code: 'ERR_CHAT_TEMPLATE', message: /no chat template/ }],
  ['applyChatTemplate with an unknown template', () => model.applyChatTemplate([{ role: 'user', content: 'x' }], { template: 'no-such-template' }), { code: 'ERR_CHAT_TEMPLATE' }],
  ['createContext batchSize > contextSize', () => model.createContext({ contextSize: 64, batchSize: 65 }), { code: 'ERR_INVALID_ARG', arg: 'options.batchSize', message: /\[1, 64\]/ }],
  // Prompts (generate, capture, logits share one reader)
  ['generate([])', () => ctx.generate([]), { code: 'ERR_INVALID_ARG', arg: 'prompt' }],
  ['generate()', () => (ctx.generate as (p?: unknown) => unknown)(), { code: 'ERR_INVALID_ARG', arg: 'prompt' }],
  ['generate(null)', () => ctx.generate(null as never), { code: 'ERR_INVALID_ARG', arg: 'prompt' }],
  ['generate(42)', () => ctx.generate(42 as never), { code: 'ERR_INVALID_ARG', arg: 'prompt' }],
  ['generate([-1])', () => ctx.generate([-1]), { code: 'ERR_INVALID_ARG', arg: 'prompt[0]' }],
  ['generate([1, vocab])', () => ctx.generate([1, V]), { code: 'ERR_INVALID_ARG', arg: 'prompt[1]' }],
  ['generate([1.5])', () => ctx.generate([1.5]), { code: 'ERR_INVALID_ARG', arg: 'prompt[0]' }],
  ['generate(["a"])', () => ctx.generate(['a'] as never), { code: 'ERR_INVALID_ARG', arg: 'prompt[0]' }],
  ['generate({ messages: [] })', () => ctx.generate({ messages: [] }), { code: 'ERR_INVALID_ARG', arg: 'prompt.messages' }],
  ['generate({ messages, extra })', () => ctx.generate({ messages: [{ role: 'user', content: 'x' }], x: 1 } as never), { code: 'ERR_INVALID_ARG', arg: 'prompt.x' }],
  ['generate chat prompt without a template', () => ctx.generate({ messages: [{ role: 'user', content: 'x' }] }), { code: 'ERR_CHAT_TEMPLATE' }],
  ['generate(prompt longer than the context)', () => ctx.generate(tooLong()), { code: 'ERR_CONTEXT_OVERFLOW', message: /257 tokens but the context holds 256/ }],
  ['generate(long text)', () => ctx.generate('Once upon a time '.repeat(200)), { code: 'ERR_CONTEXT_OVERFLOW' }],
  ['capture(prompt longer than the context)', () => ctx.capture(tooLong()), { code: 'ERR_CONTEXT_OVERFLOW' }],
  ['logits([])', () => ctx.logits([]), { code: 'ERR_INVALID_ARG', arg: 'prompt' }],
  ['logits(prompt longer than the context)', () => ctx.logits(tooLong()), { code: 'ERR_CONTEXT_OVERFLOW' }],
  ['generate monitor vector of the wrong size', () => ctx.generate('x', { monitor: [{ name: 'm', vector: vec(1, E - 1), blocks: [1] }] }), { code: 'ERR_INVALID_ARG', arg: 'options.monitor[0].vector@1' }],
  ['generate monitor block out of range', () => ctx.generate('x', { monitor: [{ name: 'm', vector: vec(), blocks: [5] }] }), { code: 'ERR_INVALID_ARG', arg: 'options.monitor[0].blocks[0]' }],
  ['generate steer NaN scale', () => ctx.generate('x', { steer: [add(vec(), NaN, [1])] }), { code: 'ERR_INVALID_ARG', arg: 'options.steer[0].scale' }],
  ['generate steer min > max', () => ctx.generate('x', { steer: { ops: [clamp(vec(), { min: 1, max: -1 }, [1])] } }), { code: 'ERR_INVALID_ARG', arg: 'options.steer.ops[0].min' }],
  // captureMean / projectionMeans items
  ['captureMean([])', () => ctx.captureMean([]), { code: 'ERR_INVALID_ARG', arg: 'items' }],
  ['captureMean("x")', () => ctx.captureMean('x' as never), { code: 'ERR_INVALID_ARG', arg: 'items' }],
  ['captureMean item not an object', () => ctx.captureMean([5 as never]), { code: 'ERR_INVALID_ARG', arg: 'items[0]' }],
  ['captureMean item extra key', () => ctx.captureMean([{ ...item(), weight: 1 } as never]), { code: 'ERR_INVALID_ARG', arg: 'items[0].weight' }],
  ['captureMean empty tokens', () => ctx.captureMean([{ tokens: [], start: 0, end: 1 }]), { code: 'ERR_INVALID_ARG', arg: 'items[0].tokens' }],
  ['captureMean start = end', () => ctx.captureMean([{ ...item(), start: 2, end: 2 }]), { code: 'ERR_INVALID_ARG', arg: 'items[0].end' }],
  ['captureMean end past the tokens', () => ctx.captureMean([{ ...item(), end: 5 }]), { code: 'ERR_INVALID_ARG', arg: 'items[0].end' }],
  ['captureMean negative start', () => ctx.captureMean([{ ...item(), start: -1 }]), { code: 'ERR_INVALID_ARG', arg: 'items[0].start' }],
  ['captureMean NaN start', () => ctx.captureMean([{ ...item(), start: NaN }]), { code: 'ERR_INVALID_ARG', arg: 'items[0].start' }],
  ['captureMean second item tokens too long', () => ctx.captureMean([item(), { tokens: tooLong(), start: 0, end: 3 }]), { code: 'ERR_CONTEXT_OVERFLOW', message: /items\[1\]\.tokens/ }],
  ['projectionMeans without monitor', () => (ctx.projectionMeans as (i: unknown) => unknown)([item()]), { code: 'ERR_INVALID_ARG', arg: 'monitor' }],
  ['projectionMeans monitor []', () => ctx.projectionMeans([item()], []), { code: 'ERR_INVALID_ARG', arg: 'monitor' }],
  ['projectionMeans monitor NaN vector', () => ctx.projectionMeans([item()], [{ name: 'm', vector: vec(NaN), blocks: [1] }]), { code: 'ERR_INVALID_ARG', arg: 'monitor[0].vector@1[0]' }],
  ['projectionMeans items []', () => ctx.projectionMeans([], mon()), { code: 'ERR_INVALID_ARG', arg: 'items' }],
  // evaluate sequences
  ['evaluate([])', () => ctx.evaluate([]), { code: 'ERR_INVALID_ARG', arg: 'sequences' }],
  ['evaluate(sequence without tokens)', () => ctx.evaluate([{} as never]), { code: 'ERR_INVALID_ARG', arg: 'sequences[0].tokens' }],
  ['evaluate(empty tokens)', () => ctx.evaluate([{ tokens: [] }]), { code: 'ERR_INVALID_ARG', arg: 'sequences[0].tokens' }],
  ['evaluate(seq 256)', () => ctx.evaluate([{ tokens: [1], seq: 256 }]), { code: 'ERR_INVALID_ARG', arg: 'sequences[0].seq' }],
  ['evaluate(pos0 -1)', () => ctx.evaluate([{ tokens: [1], pos0: -1 }]), { code: 'ERR_INVALID_ARG', arg: 'sequences[0].pos0' }],
  ['evaluate(pos0 past the end)', () => ctx.evaluate([{ tokens: [1, 2], pos0: ctx.contextSize - 1 }]), { code: 'ERR_CONTEXT_OVERFLOW', message: /sequences\[0\]/ }],
  ['evaluate(logits "some")', () => ctx.evaluate([{ tokens: [1], logits: 'some' as never }]), { code: 'ERR_INVALID_ARG', arg: 'sequences[0].logits' }],
  ['evaluate(extra key)', () => ctx.evaluate([{ tokens: [1], position: 0 } as never]), { code: 'ERR_INVALID_ARG', arg: 'sequences[0].position' }],
  // Steering
  ['setSteering()', () => (ctx.setSteering as (p?: unknown) => unknown)(), { code: 'ERR_INVALID_ARG', arg: 'plan' }],
  ['setSteering(42)', () => ctx.setSteering(42 as never), { code: 'ERR_INVALID_ARG', arg: 'plan' }],
  ['setSteering block 5', () => ctx.setSteering([add(vec(), 1, [5])]), { code: 'ERR_INVALID_ARG', arg: 'plan[0].blocks[0]', message: /\[0, 4\]/ }],
  ['setSteering block -1', () => ctx.setSteering([ablate(vec(), -1)]), { code: 'ERR_INVALID_ARG', arg: 'plan[0].blocks[0]' }],
  ['setSteering vector too short', () => ctx.setSteering([add(vec(1, E - 1), 1, [1])]), { code: 'ERR_INVALID_ARG', arg: 'plan[0].vector@1', message: /64 values/ }],
  ['setSteering vector too long', () => ctx.setSteering({ ops: [add(vec(1, E * 2), 1, [1])] }), { code: 'ERR_INVALID_ARG', arg: 'plan.ops[0].vector@1' }],
  ['setSteering NaN in a vector', () => ctx.setSteering([add(vec(NaN), 1, [1])]), { code: 'ERR_INVALID_ARG', arg: 'plan[0].vector@1[0]' }],
  ['setSteering Infinity scale', () => ctx.setSteering([add(vec(), Infinity, [1])]), { code: 'ERR_INVALID_ARG', arg: 'plan[0].scale' }],
  ['setSteering -Infinity min', () => ctx.setSteering([clamp(vec(), { min: -Infinity }, [1])]), { code: 'ERR_INVALID_ARG', arg: 'plan[0].min' }],
  ['setSteering min > max', () => ctx.setSteering([clamp(vec(), { min: 3, max: 2 }, [1])]), { code: 'ERR_INVALID_ARG', arg: 'plan[0].min' }],
  ['setSteering zero ablation', () => ctx.setSteering([ablate(vec(0), [1])]), { code: 'ERR_INVALID_ARG', arg: 'plan[0].direction@1' }],
  ['setSteering scale * vector overflows float32', () => ctx.setSteering([add(vec(3e38), 10, [1])]), { code: 'ERR_INVALID_ARG', message: /overflow float32/ }],
  ['setSteering two adds overflow float32 together', () => ctx.setSteering([add(vec(3e38), 1, [2]), add(vec(3e38), 1, [2])]), { code: 'ERR_INVALID_ARG', message: /overflow float32/ }],
  // llama.cpp control vector
  ['setLlamaControlVector(42)', () => ctx.setLlamaControlVector(42 as never), { code: 'ERR_INVALID_ARG', arg: 'vector' }],
  ['setLlamaControlVector()', () => (ctx.setLlamaControlVector as (v?: unknown) => unknown)(), { code: 'ERR_INVALID_ARG', arg: 'vector' }],
  ['setLlamaControlVector plain vector without blocks', () => ctx.setLlamaControlVector(vec()), { code: 'ERR_INVALID_ARG', arg: 'options.blocks' }],
  ['setLlamaControlVector short vector', () => ctx.setLlamaControlVector(vec(1, 3), { blocks: [2] }), { code: 'ERR_INVALID_ARG', arg: 'vector@2' }],
  ['setLlamaControlVector NaN in a vector', () => ctx.setLlamaControlVector(vec(NaN), { blocks: [2] }), { code: 'ERR_INVALID_ARG', arg: 'vector@2[0]' }],
];

t.test('bad positional arguments give typed errors naming the argument', async (t) => {
  const cases = ARGUMENT_CASES();
  for (const [what, fn, want] of cases) {
    t.equal(mismatch(await caught(fn), want), null, what);
  }
  t.comment(`${cases.length} argument cases`);
});

t.test('after every rejected call the context still generates the same text', async (t) => {
  // Validation happens before any side effect: none of the failed calls above left steering,
  // a monitor or a control vector behind.
  const fresh = await model.createContext({ contextSize: 256, threads: 1 });
  const want = await fresh.complete([1], { greedy: true, maxTokens: 24 });
  await fresh.dispose();
  const got = await ctx.complete([1], { greedy: true, maxTokens: 24 });
  t.equal(got.text, want.text);
  t.same(got.projections.flat(), []);
});

t.test('a huge but valid maxTokens stops when the context is full', async (t) => {
  const r = await ctx.complete([1], { greedy: true, maxTokens: 2 ** 20, stopAtEog: false });
  t.equal(r.stopReason, 'context-full');
  // Every slot holds a decoded token; the last sampled token needs no slot of its own.
  t.equal(r.promptTokens + r.generatedTokens, ctx.contextSize + 1);
});

t.test('maxTokens 1 generates exactly one token', async (t) => {
  const r = await ctx.complete([1], { greedy: true, maxTokens: 1, stopAtEog: false });
  t.equal(r.generatedTokens, 1);
  t.equal(r.stopReason, 'max-tokens');
});

t.test('a prompt that fills the context exactly is accepted', async (t) => {
  const full = new Array(ctx.contextSize).fill(0).map((_, i) => (i === 0 ? 1 : 400 + (i % 50)));
  const r = await ctx.complete(full, { greedy: true, maxTokens: 5 });
  t.equal(r.promptTokens, ctx.contextSize);
  t.equal(r.stopReason, 'context-full');
  const l = await ctx.logits(full);
  t.equal(l.logits.length, V);
});

t.test('a failed setSteering leaves the previous plan in place', async (t) => {
  const plan = [add(vec(0.5), 4, [1, 2])];
  ctx.setSteering(plan);
  const steered = await ctx.complete([1], { greedy: true, maxTokens: 16 });
  t.throws(() => ctx.setSteering([add(vec(3e38), 10, [1])]), { code: 'ERR_INVALID_ARG' });
  const again = await ctx.complete([1], { greedy: true, maxTokens: 16 });
  t.equal(again.text, steered.text);
  ctx.setSteering(null);
});
