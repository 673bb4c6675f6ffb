import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Model, PersonaSteerError, type Context } from '../../lib/index';
import { gpuLayers, requireModel, stories260K } from '../helpers/models';

// Known from an independent numpy forward pass of stories260K (see ../shared/models/README.md).
const EXPECTED = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.';

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

t.test('greedy generation from BOS alone reproduces the known stories260K opening', async (t) => {
  const r = await ctx.complete([model.info.bosToken], { greedy: true, maxTokens: 40 });
  t.ok(r.text.trimStart().startsWith(EXPECTED), `text was ${JSON.stringify(r.text)}`);
  t.ok(model.detokenize(r.tokens).startsWith(EXPECTED), 'llama.cpp detokenize of the generated ids agrees');
  t.equal(r.stopReason, 'max-tokens');
  t.equal(r.generatedTokens, 40);
});

t.test('model metadata matches the GGUF header', async (t) => {
  t.match(model.info, { architecture: 'llama', blockCount: 5, embeddingSize: 64, vocabularySize: 512, trainingContextSize: 2048, chatTemplate: null });
});

t.test('tokenize then detokenize round-trips text', async (t) => {
  const text = 'The little dog ran to the park. It was happy!';
  const ids = model.tokenize(text, { addSpecial: false });
  t.ok(ids.length > 5);
  t.equal(model.detokenize(ids), text);
  const withBos = model.tokenize(text);
  t.equal(withBos[0], model.info.bosToken, 'addSpecial adds BOS');
  t.equal(model.detokenize(withBos, { special: true }), `<s> ${text}`, 'special tokens render on request');
});

t.test('streaming and non-streaming give identical text for the same seed', async (t) => {
  const opts = { temperature: 0.9, seed: 1234, maxTokens: 40 };
  const whole = await ctx.complete('Once upon a time', opts);
  let streamed = '';
  const ids: number[] = [];
  const stream = ctx.generate('Once upon a time', opts);
  for await (const ev of stream) {
    streamed += ev.text;
    if (ev.token !== null) ids.push(ev.token);
  }
  const result = await stream.result;
  t.equal(streamed, whole.text);
  t.same(ids, whole.tokens);
  t.equal(result.text, whole.text);
});

t.test('different seeds give different samples', async (t) => {
  const a = await ctx.complete('Once upon a time', { temperature: 1, seed: 1, maxTokens: 30 });
  const b = await ctx.complete('Once upon a time', { temperature: 1, seed: 2, maxTokens: 30 });
  t.not(a.text, b.text);
});

t.test('a stop string ends generation and is not part of the text', async (t) => {
  const full = await ctx.complete([model.info.bosToken], { greedy: true, maxTokens: 30 });
  const r = await ctx.complete([model.info.bosToken], { greedy: true, maxTokens: 30, stop: ['Lily'] });
  t.equal(r.stopReason, 'stop-string');
  t.equal(r.text, full.text.slice(0, full.text.indexOf('Lily')));
  let streamed = '';
  for await (const ev of ctx.generate([model.info.bosToken], { greedy: true, maxTokens: 30, stop: ['Lily'] })) streamed += ev.text;
  t.equal(streamed, r.text, 'streamed text never includes held-back stop-string text');
});

// The native loop runs at most 4 tokens ahead of JavaScript (kTokenWindow in
// native/generation-bridge.h) and checks the abort before every decode, so after the consumer's
// fifth token at most 4 + 1 more can have been generated.
t.test('aborting mid-generation stops within the token window and leaves the context usable', async (t) => {
  const ac = new AbortController();
  let seen = 0;
  const stream = ctx.generate('Once upon a time', { greedy: true, maxTokens: 400, signal: ac.signal });
  for await (const ev of stream) {
    if (ev.token !== null && ++seen === 5) ac.abort();
  }
  const r = await stream.result;
  t.equal(r.stopReason, 'abort');
  t.ok(r.generatedTokens >= 5 && r.generatedTokens <= 10, `stopped after ${r.generatedTokens} tokens`);
  const again = await ctx.complete([model.info.bosToken], { greedy: true, maxTokens: 40 });
  t.ok(again.text.trimStart().startsWith(EXPECTED), 'the context still generates the known text');
});

t.test('breaking out of the token loop stops the generation', async (t) => {
  const stream = ctx.generate('Once upon a time', { greedy: true, maxTokens: 400 });
  let n = 0;
  for await (const ev of stream) {
    if (ev.token !== null && ++n === 3) break;
  }
  const r = await stream.result;
  t.equal(r.stopReason, 'abort');
  t.ok(r.generatedTokens <= 3 + 5, `stopped after ${r.generatedTokens} tokens`);
});

t.test('an already aborted signal generates nothing', async (t) => {
  const r = await ctx.complete('Once upon a time', { maxTokens: 50, signal: AbortSignal.abort() });
  t.equal(r.stopReason, 'abort');
  t.equal(r.generatedTokens, 0);
});

t.test('overlapping generations on one context are queued and each gives its own text', async (t) => {
  const [a, b] = await Promise.all([
    ctx.complete([model.info.bosToken], { greedy: true, maxTokens: 20 }),
    ctx.complete('One day', { greedy: true, maxTokens: 20 }),
  ]);
  const a1 = await ctx.complete([model.info.bosToken], { greedy: true, maxTokens: 20 });
  const b1 = await ctx.complete('One day', { greedy: true, maxTokens: 20 });
  t.equal(a.text, a1.text);
  t.equal(b.text, b1.text);
});

t.test('dispose during generation neither crashes nor hangs', async (t) => {
  const c = await model.createContext({ contextSize: 512 });
  const stream = c.generate('Once upon a time', { greedy: true, maxTokens: 500 });
  let n = 0;
  const consumed = (async () => { for await (const ev of stream) if (ev.token !== null) n++; })();
  await new Promise((r) => setTimeout(r, 5));
  await c.dispose();
  const r = await stream.result;
  await consumed;
  t.equal(r.stopReason, 'abort');
  t.ok(r.generatedTokens < 500, `stopped after ${r.generatedTokens} tokens`);
  t.throws(() => c.generate('x'), { code: 'ERR_DISPOSED' });
  await c.dispose();
  t.pass('a second dispose is a no-op');
});

t.test('a missing file gives ERR_MODEL_LOAD', async (t) => {
  await t.rejects(Model.load('/nonexistent/model.gguf'), { code: 'ERR_MODEL_LOAD', message: /no model file at \/nonexistent\/model.gguf/ });
});

t.test('a file that is not GGUF gives ERR_MODEL_LOAD', async (t) => {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ps-')), 'not-a-model.gguf');
  fs.writeFileSync(f, 'this is plainly not a GGUF file, just some text that goes on for a while.\n'.repeat(20));
  const err = await Model.load(f).catch((e) => e);
  t.ok(err instanceof PersonaSteerError);
  t.equal(err.code, 'ERR_MODEL_LOAD');
  t.match(err.message, f);
});

t.test('a truncated model file gives ERR_MODEL_LOAD', async (t) => {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ps-')), 'truncated.gguf');
  fs.writeFileSync(f, fs.readFileSync(stories260K).subarray(0, 300000));
  await t.rejects(Model.load(f), { code: 'ERR_MODEL_LOAD' });
});

t.test('load progress is reported and ends at 1', async (t) => {
  const seen: number[] = [];
  const m = await Model.load(stories260K, { onProgress: (p) => seen.push(p), gpuLayers });
  m.dispose();
  t.ok(seen.length > 0);
  t.equal(seen[seen.length - 1], 1);
});

t.test('an aborted load gives ERR_ABORTED', async (t) => {
  await t.rejects(Model.load(stories260K, { signal: AbortSignal.abort() }), { code: 'ERR_ABORTED' });
});

t.test('a prompt longer than the context gives ERR_CONTEXT_OVERFLOW', async (t) => {
  const small = await model.createContext({ contextSize: 64 });
  // llama.cpp rounds the context up (to 256 here); the limit is the size it reports.
  const tooLong = new Array(small.contextSize + 1).fill(model.info.bosToken);
  t.throws(() => small.generate(tooLong), { code: 'ERR_CONTEXT_OVERFLOW' });
  const r = await small.complete('Once upon a time', { greedy: true, maxTokens: small.contextSize + 10 });
  t.equal(r.stopReason, 'context-full', 'generation stops when the context is full');
  await small.dispose();
});

t.test('use after model dispose is ERR_DISPOSED, while its contexts keep working', async (t) => {
  const m = await Model.load(stories260K, { gpuLayers });
  const c = await m.createContext({ contextSize: 128 });
  m.dispose();
  t.throws(() => m.tokenize('hello'), { code: 'ERR_DISPOSED' });
  t.throws(() => m.createContext(), { code: 'ERR_DISPOSED' });
  const r = await c.complete([1], { greedy: true, maxTokens: 10 });
  t.equal(r.generatedTokens, 10, 'the context kept the weights alive');
  await c.dispose();
});
