// Token log-probabilities, grammar- and JSON-schema-constrained generation and the empty prompt,
// each against an oracle computed another way: a softmax in TypeScript over context.logits(), a
// parse of the output (a regular expression of the grammar's language; Ajv for JSON schemas), and
// the known stories260K opening from BOS.
import t from 'tap';
import Ajv from 'ajv';
import path from 'node:path';
import { ErrorCodes, Model, jsonSchemaToGrammar, type Context } from '../../lib/index';
import { gpuLayers, requireModel, root, stories260K } from '../helpers/models';

// Known from an independent numpy forward pass of stories260K (generation.test.ts).
const EXPECTED = 'Once upon a time, there was a little girl named Lily.';

let model: Model;
let ctx: Context;
t.before(async () => {
  model = await Model.load(requireModel(stories260K), { gpuLayers });
  ctx = await model.createContext({ contextSize: 512, threads: 2 });
});
t.teardown(async () => {
  await ctx.dispose();
  model.dispose();
});

/** log-softmax in float64. */
function logSoftmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const x of logits) max = Math.max(max, x);
  let z = 0;
  for (const x of logits) z += Math.exp(x - max);
  const lz = max + Math.log(z);
  return Float64Array.from(logits, (x) => x - lz);
}

t.test("each token's logprob and top logprobs equal a softmax of context.logits() at that position", async (t) => {
  const prompt = 'Once upon a time';
  const r = await ctx.complete(prompt, { greedy: true, maxTokens: 6, topLogprobs: 5 });
  t.equal(r.logprobs?.length, r.tokens.length, 'one entry per generated token');
  const promptIds = Array.from(model.tokenize(prompt));
  for (let i = 0; i < r.tokens.length; i++) {
    const { logits } = await ctx.logits([...promptIds, ...r.tokens.slice(0, i)]);
    const lp = logSoftmax(logits);
    const entry = r.logprobs![i];
    t.equal(entry.token, r.tokens[i]);
    t.ok(Math.abs(entry.logprob - lp[r.tokens[i]]) < 1e-4, `step ${i}: ${entry.logprob} vs ${lp[r.tokens[i]]}`);
    const order = Array.from(lp.keys()).sort((a, b) => lp[b] - lp[a] || a - b).slice(0, 5);
    t.same(entry.topLogprobs!.map((x) => x.token), order, `step ${i}: the five most likely tokens`);
    entry.topLogprobs!.forEach((x) => t.ok(Math.abs(x.logprob - lp[x.token]) < 1e-4));
    t.equal(entry.topLogprobs![0].text, model.tokenText(order[0]));
  }
});

t.test('logprobs without topLogprobs report the chosen token only, and the stream carries them per token', async (t) => {
  const stream = ctx.generate('Once upon a time', { greedy: true, maxTokens: 4, logprobs: true });
  const seen: number[] = [];
  for await (const ev of stream) if (ev.token !== null) { seen.push(ev.logprob!); t.equal(ev.topLogprobs, undefined); }
  const r = await stream.result;
  t.same(seen, r.logprobs!.map((x) => x.logprob));
  t.ok(seen.every((x) => x <= 0 && Number.isFinite(x)));
  t.equal((await ctx.complete('Once', { maxTokens: 2, greedy: true })).logprobs, undefined, 'absent unless asked for');
});

t.test('a GBNF grammar restricts the text to its language', async (t) => {
  const grammar = 'root ::= " The " ("cat" | "dog" | "girl") " was " ("happy" | "sad") "."';
  for (const seed of [1, 2, 3]) {
    const r = await ctx.complete('Once upon a time', { maxTokens: 40, seed, temperature: 1.5, grammar });
    t.match(r.text, /^ The (cat|dog|girl) was (happy|sad)\.$/, r.text);
    t.equal(r.stopReason, 'eog', 'a complete grammar leaves only end of generation');
  }
});

t.test('a JSON schema gives JSON that Ajv validates against the same schema', async (t) => {
  const schema = {
    type: 'object',
    properties: {
      name: { type: 'string', maxLength: 12 },
      mood: { enum: ['happy', 'sad'] },
      age: { type: 'integer' },
      friends: { type: 'array', items: { type: 'string', maxLength: 8 }, maxItems: 2 },
      pet: { anyOf: [{ type: 'null' }, { const: 'dog' }] },
    },
    required: ['name', 'mood', 'pet'],
    additionalProperties: false,
  };
  const validate = new Ajv().compile(schema);
  for (const seed of [1, 2, 3, 4]) {
    const r = await ctx.complete('Once upon a time', { maxTokens: 200, seed, temperature: 1, jsonSchema: schema });
    t.equal(r.stopReason, 'eog', r.text);
    const value = JSON.parse(r.text) as unknown;
    t.ok(validate(value), `${r.text}: ${JSON.stringify(validate.errors)}`);
  }
});

t.test('optional properties, $defs references and bounded arrays give JSON that Ajv validates', async (t) => {
  const schema = {
    $defs: { flag: { type: 'boolean' } },
    type: 'object',
    properties: { a: { $ref: '#/$defs/flag' }, b: { type: 'null' }, c: { type: 'array', items: { $ref: '#/$defs/flag' }, minItems: 1, maxItems: 3 } },
  };
  const validate = new Ajv().compile(schema);
  const grammar = jsonSchemaToGrammar(schema);
  t.match(grammar, /^root ::= /m, 'a root rule');
  const seen = new Set<string>();
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const r = await ctx.complete('Once upon a time', { maxTokens: 120, seed, temperature: 1.5, grammar });
    t.equal(r.stopReason, 'eog', r.text);
    const value = JSON.parse(r.text) as Record<string, unknown>;
    t.ok(validate(value), `${r.text}: ${JSON.stringify(validate.errors)}`);
    seen.add(Object.keys(value).join(','));
  }
  t.ok(seen.size > 1, `optional properties vary: ${[...seen].join(' | ')}`);
});

t.test('bad grammars and schemas are ERR_INVALID_ARG at the call, naming the option', async (t) => {
  t.throws(() => ctx.generate('x', { grammar: 'root ::= undefined-rule' }), { code: ErrorCodes.INVALID_ARG, message: /^options\.grammar must be a grammar llama\.cpp parses/ });
  t.throws(() => ctx.generate('x', { jsonSchema: { type: 'string', pattern: 'a+' } }), { code: ErrorCodes.INVALID_ARG, message: /^options\.jsonSchema\.pattern must be a keyword of the supported subset/ });
  t.throws(() => ctx.generate('x', { jsonSchema: { properties: { a: { type: 'strin' } } } }), { message: /^options\.jsonSchema\.properties\.a\.type must be one of/ });
  t.throws(() => ctx.generate('x', { grammar: 'root ::= "a"', jsonSchema: {} }), { message: /^options\.jsonSchema must be absent when options\.grammar is given/ });
  t.throws(() => ctx.generate('x', { topLogprobs: 101 }), { message: /^options\.topLogprobs must be an integer in \[0, 100\]/ });
});

t.test('an empty prompt generates from BOS alone, as llama.cpp does', async (t) => {
  const r = await ctx.complete('', { greedy: true, maxTokens: 20 });
  t.equal(r.promptTokens, 1);
  t.ok(r.text.trimStart().startsWith(EXPECTED), `the known opening: ${r.text}`);
  const fromBos = await ctx.complete([model.info.bosToken], { greedy: true, maxTokens: 20 });
  t.same(r.tokens, fromBos.tokens);
});

t.test("an empty prompt on a model that adds no BOS is ERR_INVALID_ARG saying so", async (t) => {
  const toy = await Model.load(path.join(root, 'models', 'toy-persona.gguf'));
  const c = await toy.createContext({ contextSize: 64, threads: 1 });
  t.teardown(async () => { await c.dispose(); toy.dispose(); });
  t.equal(toy.info.addBos, false);
  t.throws(() => c.generate(''), { code: ErrorCodes.INVALID_ARG, message: /^prompt must be a non-empty string \(an empty prompt starts from the BOS token, which this model does not add\)/ });
});
