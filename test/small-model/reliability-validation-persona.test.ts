import t from 'tap';
import {
  Model, PersonaVector, calibrateCap, cap, extractPersonaVector, generateResponses, judgePairs, monitorVector, personaPlan,
  projectionDifference, steerAblate, steerAdd, type Context,
} from '../../lib/index';
import { CONTEXT_OPTION_KEYS } from '../../lib/context';
import { MODEL_OPTION_KEYS } from '../../lib/model';
import { gpuLayers, requireModel, stories260K } from '../helpers/models';
import { caught, mismatch, show, UNIVERSALLY_WRONG } from '../fixtures/lifecycle/expect-error';

// The validation matrix for the persona layer (and a cross-check of the core lists). Each
// function's accepted option keys are read from its own error for an unknown key ("one of the
// known options (a, b, c)"), so an option added to any of these functions is fed wrong values
// here without this file changing: it must be refused with ERR_INVALID_ARG naming options.<key>.

let model: Model;
let ctx: Context;
let vector: PersonaVector;
t.before(async () => {
  model = await Model.load(requireModel(stories260K), { gpuLayers });
  ctx = await model.createContext({ contextSize: 256, threads: 1 });
  const blocks: Record<number, Float32Array> = {};
  for (let b = 0; b < 5; b++) blocks[b] = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i + b));
  vector = PersonaVector.fromBlocks(blocks, { trait: 'test' });
});
t.teardown(async () => {
  await ctx.dispose();
  model.dispose();
});

const spec = {
  name: 'happy', description: 'happy stories',
  pairs: [{ positive: 'Lily was very happy.', negative: 'Lily was very sad.' }],
  extractionQuestions: ['One day, she went to the park.'],
};
const pairs = [
  { question: 'q', positive: { prompt: 'Once upon a time,', response: ' she was happy.' }, negative: { prompt: 'Once upon a time,', response: ' she was sad.' } },
  { question: 'q', positive: { prompt: 'One day,', response: ' he smiled.' }, negative: { prompt: 'One day,', response: ' he cried.' } },
];
const judge = () => 50;

/** Each function with valid arguments except `options`, merged over a valid base. */
const FUNCTIONS = (): Record<string, (options: Record<string, unknown>) => unknown> => ({
  steerAdd: (o) => steerAdd(vector, 1, o),
  cap: (o) => cap(vector, { max: 1, ...o } as never),
  steerAblate: (o) => steerAblate(vector, o),
  personaPlan: (o) => personaPlan([steerAdd(vector, 1, { blocks: [1] })], o),
  monitorVector: (o) => monitorVector(vector, o),
  calibrateCap: (o) => calibrateCap(ctx, vector, ['Once upon a time'], o),
  generateResponses: (o) => generateResponses(ctx, spec, { format: 'plain', generation: { maxTokens: 2 }, ...o }),
  judgePairs: (o) => judgePairs(pairs, judge, o),
  extractPersonaVector: (o) => extractPersonaVector(ctx, { trait: 't', samples: pairs }, { normSamples: 1, ...o }),
  projectionDifference: (o) => projectionDifference(ctx, vector, [{ prompt: 'Once', response: ' upon a time' }], { blocks: [1], generation: { maxTokens: 2 }, ...o }),
});

async function keysOf(name: string, fn: (o: Record<string, unknown>) => unknown): Promise<string[]> {
  const err = await caught(() => fn({ notAnOption: 1 }));
  const bad = mismatch(err, { code: 'ERR_INVALID_ARG', arg: 'options.notAnOption' });
  if (bad) throw new Error(`${name}: an unknown option is not refused by name: ${bad}`);
  const m = /known options \(([^)]*)\)/.exec((err as Error).message);
  if (!m) throw new Error(`${name}: the error does not list the known options: ${(err as Error).message}`);
  return m[1].split(', ').filter(Boolean);
}

t.test('every persona function refuses an unknown option, listing the known ones', async (t) => {
  for (const [name, fn] of Object.entries(FUNCTIONS())) {
    const keys = await keysOf(name, fn);
    t.ok(keys.length > 0, `${name}: ${keys.join(', ')}`);
  }
});

t.test('every persona option refuses wrong-typed values with ERR_INVALID_ARG naming options.<key>', async (t) => {
  let cases = 0;
  for (const [name, fn] of Object.entries(FUNCTIONS())) {
    for (const key of await keysOf(name, fn)) {
      for (const value of [...UNIVERSALLY_WRONG, 'not-a-valid-value', { nested: true }]) {
        // A string or an object is a valid value for a few options; those cases must not fail
        // any other way than by naming the option.
        const err = await caught(() => fn({ [key]: value }));
        const generic = typeof value === 'string' || typeof value === 'object';
        if (generic && err === undefined) continue;
        t.equal(mismatch(err, { code: 'ERR_INVALID_ARG', arg: `options.${key}` }), null, `${name}: options.${key} = ${show(value)}`);
        cases++;
      }
    }
  }
  t.comment(`${cases} persona option cases`);
  t.ok(cases >= 80, `${cases} cases`);
});

t.test('the core functions list in their errors exactly the option keys they export', async (t) => {
  const core: [string, readonly string[], (o: Record<string, unknown>) => unknown][] = [
    ['Model.load', MODEL_OPTION_KEYS.load, (o) => Model.load(stories260K, o)],
    ['tokenize', MODEL_OPTION_KEYS.tokenize, (o) => model.tokenize('x', o)],
    ['detokenize', MODEL_OPTION_KEYS.detokenize, (o) => model.detokenize([1], o)],
    ['applyChatTemplate', MODEL_OPTION_KEYS.applyChatTemplate, (o) => model.applyChatTemplate([{ role: 'user', content: 'x' }], o)],
    ['createContext', CONTEXT_OPTION_KEYS.createContext, (o) => model.createContext(o)],
    ['generate', CONTEXT_OPTION_KEYS.generate, (o) => ctx.generate('x', o)],
    ['capture', CONTEXT_OPTION_KEYS.capture, (o) => ctx.capture('x', o)],
    ['captureMean', CONTEXT_OPTION_KEYS.captureMean, (o) => ctx.captureMean([{ tokens: [1, 2], start: 0, end: 2 }], o)],
    ['projectionMeans', CONTEXT_OPTION_KEYS.projectionMeans, (o) => ctx.projectionMeans([{ tokens: [1, 2], start: 0, end: 2 }], [{ name: 'a', vector: vector.block(1), blocks: [1] }], o)],
    ['logits', CONTEXT_OPTION_KEYS.logits, (o) => ctx.logits('x', o)],
    ['evaluate', CONTEXT_OPTION_KEYS.evaluate, (o) => ctx.evaluate([{ tokens: [1] }], o)],
    ['setLlamaControlVector', CONTEXT_OPTION_KEYS.setLlamaControlVector, (o) => ctx.setLlamaControlVector(vector, o)],
  ];
  for (const [name, exported, fn] of core) t.same(await keysOf(name, fn), [...exported], name);
});
