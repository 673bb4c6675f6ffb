import t from 'tap';
import { Model, add, type Context } from '../../lib/index';
import { gpuLayers, requireModel, stories260K } from '../helpers/models';
import { caught, mismatch } from '../fixtures/lifecycle/expect-error';
import { describeExit, records, runChild } from '../fixtures/lifecycle/spawn';

// Lifecycle: dispose() during generation, capture and load; double dispose; use after dispose;
// garbage collection without dispose; process exit and worker termination with live native work.
// The process-level cases run in child processes so that a crash or a hang is a failed assertion.

let model: Model;
t.before(async () => {
  model = await Model.load(requireModel(stories260K), { gpuLayers });
});
t.teardown(() => model.dispose());

const newContext = (contextSize = 2048) => model.createContext({ contextSize, threads: 1 });
const longPrompt = (n: number) => Array.from({ length: n }, (_, i) => (i === 0 ? 1 : 300 + (i % 200)));
const forever = { greedy: true, maxTokens: 100_000, stopAtEog: false } as const;

t.test('dispose during a generation ends it within a token and resolves it with stopReason abort', async (t) => {
  const ctx = await newContext();
  const stream = ctx.generate([1], forever);
  let seen = 0;
  let afterDispose = -1;
  for await (const ev of stream) {
    if (ev.token !== null && ++seen === 10) {
      const t0 = Date.now();
      await ctx.dispose();
      afterDispose = seen;
      t.ok(Date.now() - t0 < 2000, `dispose took ${Date.now() - t0} ms`);
    }
  }
  const r = await stream.result;
  t.equal(r.stopReason, 'abort');
  // The native loop runs ahead of the consumer (tokens are delivered asynchronously), so more
  // than 10 may have been generated when dispose() was called; it stopped at the next token.
  t.ok(afterDispose === 10 && r.generatedTokens < 200, `${r.generatedTokens} tokens, dispose after the consumer saw ${afterDispose}`);
  t.equal(r.tokens.length, r.generatedTokens, 'every generated token was delivered, none after the result');
});

t.test('dispose stops the running generation and the queued ones, not just the newest', async (t) => {
  const ctx = await newContext();
  const first = ctx.complete([1], forever);
  const second = ctx.complete([1, 400], forever);
  const third = ctx.complete([1, 401], forever);
  await new Promise((r) => setTimeout(r, 30));
  const t0 = Date.now();
  await ctx.dispose();
  const ms = Date.now() - t0;
  const rs = await Promise.all([first, second, third]);
  t.same(rs.map((r) => r.stopReason), ['abort', 'abort', 'abort']);
  t.ok(rs[0].generatedTokens < 2000, `the running one stopped after ${rs[0].generatedTokens} tokens`);
  t.same([rs[1].generatedTokens, rs[2].generatedTokens], [0, 0], 'the queued ones never started');
  t.ok(ms < 2000, `dispose took ${ms} ms`);
});

t.test('dispose during capture, captureMean, logits and evaluate rejects them with ERR_DISPOSED', async (t) => {
  const ctx = await model.createContext({ contextSize: 2048, batchSize: 16, threads: 1 });
  const tokens = longPrompt(2000);
  // caught() attaches a handler at once: the rejections arrive before dispose() resolves.
  const running = [
    ctx.capture(tokens, { blocks: 'all' }),
    ctx.captureMean([{ tokens, start: 0, end: 2000 }, { tokens, start: 5, end: 50 }]),
    ctx.logits(tokens, { all: true }),
    ctx.evaluate([{ tokens, logits: 'all' }]),
    ctx.projectionMeans([{ tokens, start: 0, end: 2000 }], [{ name: 'a', vector: new Float32Array(64).fill(1), blocks: [1] }]),
  ].map((p) => caught(() => p));
  await new Promise((r) => setImmediate(r));
  await ctx.dispose();
  const names = ['capture', 'captureMean', 'logits', 'evaluate', 'projectionMeans'];
  const errors = await Promise.all(running);
  errors.forEach((err, i) => t.equal(mismatch(err, { code: 'ERR_DISPOSED' }), null, names[i]));
});

t.test('a load aborted while it runs rejects with ERR_ABORTED or resolves to a working model', async (t) => {
  const outcomes: string[] = [];
  for (const delay of [0, 1, 2, 5]) {
    const ac = new AbortController();
    const p = Model.load(stories260K, { gpuLayers, signal: ac.signal });
    setTimeout(() => ac.abort(), delay);
    try {
      const m = await p;
      const c = await m.createContext({ contextSize: 128, threads: 1 });
      t.equal((await c.complete([1], { greedy: true, maxTokens: 3 })).generatedTokens, 3, `loaded before the abort at ${delay} ms`);
      await c.dispose();
      m.dispose();
      outcomes.push('loaded');
    } catch (err) {
      t.equal(mismatch(err, { code: 'ERR_ABORTED' }), null, `aborted at ${delay} ms`);
      outcomes.push('aborted');
    }
  }
  t.comment(`outcomes: ${outcomes.join(', ')}`);
});

t.test('disposing a model while its context is being created leaves the context working', async (t) => {
  const m = await Model.load(stories260K, { gpuLayers });
  const pending = m.createContext({ contextSize: 128, threads: 1 });
  m.dispose();
  const c = await pending;
  const r = await c.complete([1], { greedy: true, maxTokens: 8 });
  t.equal(r.generatedTokens, 8);
  await c.dispose();
});

t.test('disposing a model during its context\'s generation does not disturb the generation', async (t) => {
  const m = await Model.load(stories260K, { gpuLayers });
  const c = await m.createContext({ contextSize: 256, threads: 1 });
  const want = (await c.complete([1], { greedy: true, maxTokens: 40 })).text;
  const p = c.complete([1], { greedy: true, maxTokens: 40 });
  m.dispose();
  t.equal((await p).text, want);
  await c.dispose();
});

t.test('double dispose, also concurrent, is a no-op', async (t) => {
  const c = await newContext(128);
  const [a, b] = [c.dispose(), c.dispose()];
  t.equal(a, b, 'the second call returns the first call\'s promise');
  await Promise.all([a, b]);
  await c.dispose();
  t.ok(c.disposed);
  const m = await Model.load(stories260K, { gpuLayers });
  m.dispose();
  m.dispose();
  t.ok(m.disposed);
});

t.test('every method of a disposed context gives ERR_DISPOSED; promise-returning ones reject', async (t) => {
  const c: Context = await newContext(128);
  await c.dispose();
  const v = new Float32Array(64).fill(1);
  const sync: [string, () => unknown][] = [
    ['generate', () => c.generate([1])],
    ['setSteering', () => c.setSteering([add(v, 1, [1])])],
    ['setSteering(null)', () => c.setSteering(null)],
  ];
  for (const [name, fn] of sync) t.equal(mismatch(await caught(fn), { code: 'ERR_DISPOSED' }), null, name);
  const async: [string, () => Promise<unknown>][] = [
    ['complete', () => c.complete([1])],
    ['capture', () => c.capture([1])],
    ['captureMean', () => c.captureMean([{ tokens: [1, 2], start: 0, end: 2 }])],
    ['projectionMeans', () => c.projectionMeans([{ tokens: [1, 2], start: 0, end: 2 }], [{ name: 'a', vector: v, blocks: [1] }])],
    ['logits', () => c.logits([1])],
    ['evaluate', () => c.evaluate([{ tokens: [1] }])],
    ['setLlamaControlVector', () => c.setLlamaControlVector(v, { blocks: [1] })],
    ['setLlamaControlVector(null)', () => c.setLlamaControlVector(null)],
    ['stats', () => c.stats()],
  ];
  for (const [name, fn] of async) {
    let p: Promise<unknown> | undefined;
    t.doesNotThrow(() => { p = fn(); }, `${name} does not throw synchronously`);
    if (p) t.equal(mismatch(await caught(() => p), { code: 'ERR_DISPOSED' }), null, name);
  }
});

t.test('every method of a disposed model gives ERR_DISPOSED', async (t) => {
  const m = await Model.load(stories260K, { gpuLayers });
  m.dispose();
  for (const [name, fn] of [
    ['tokenize', () => m.tokenize('x')],
    ['detokenize', () => m.detokenize([1])],
    ['applyChatTemplate', () => m.applyChatTemplate([{ role: 'user', content: 'x' }], { template: 'chatml' })],
    ['createContext', () => m.createContext()],
  ] as [string, () => unknown][]) {
    t.equal(mismatch(await caught(fn), { code: 'ERR_DISPOSED' }), null, name);
  }
  t.equal(m.info.blockCount, 5, 'metadata stays readable');
});

t.test('models and contexts dropped without dispose are collected and free their native memory', async (t) => {
  const count = 30;
  const r = await runChild('gc.js', [stories260K, String(count)], { nodeFlags: ['--expose-gc'], timeoutMs: 60_000 });
  t.equal(r.code, 0, describeExit(r));
  const [res] = records<{ finalized: { model: number; context: number }; baseline: number; peak: number; after: number }>(r.stdout, 'RESULT');
  t.ok(res, 'the child reported');
  if (!res) return;
  t.same(res.finalized, { model: count, context: count }, 'every model and context was finalized');
  const grew = res.peak - res.baseline;
  const kept = res.after - res.baseline;
  t.comment(`RSS baseline ${res.baseline.toFixed(1)} MB, with ${count} live contexts ${res.peak.toFixed(1)} MB, after GC ${res.after.toFixed(1)} MB`);
  t.ok(grew > 50, `${count} contexts of 2048 tokens took ${grew.toFixed(1)} MB`);
  t.ok(kept < 0.4 * grew, `after GC ${kept.toFixed(1)} MB of ${grew.toFixed(1)} MB stayed`);
});

const EXITS: [string, number, RegExp][] = [
  ['exit-during-load', 0, /load started/],
  ['exit-during-generate', 0, /20 tokens/],
  ['exit-during-capture', 0, /capture queued/],
  ['exit-from-token-callback', 0, /first token/],
  ['end-with-live-objects', 0, /idle with two contexts/],
  ['end-with-running-generation', 0, /generated 200/],
  ['sigterm-during-generate', 0, /SIGTERM handled/],
  ['uncaught-error-during-generate', 1, /^$/],
];

t.test('the process exits promptly and cleanly with live native work', async (t) => {
  for (const [mode, code, out] of EXITS) {
    const r = await runChild('exit.js', [mode, stories260K], { timeoutMs: 20_000 });
    t.equal(r.code, code, `${mode}: ${describeExit(r)}`);
    t.equal(r.signal, null, `${mode}: no signal`);
    t.match(r.stdout, out, `${mode}: reached its cue`);
    t.notMatch(r.stderr, /Assertion|Segmentation|terminate called|Aborted|FATAL/i, `${mode}: no native failure on stderr`);
    if (mode === 'uncaught-error-during-generate') t.match(r.stderr, /boom from user code/, 'the user error is what ended it');
    t.ok(r.ms < 10_000, `${mode}: exited after ${r.ms} ms`);
  }
});

interface WorkerResult { name: string; exitCode?: number; error?: string | null; exitCodes?: number[]; errors?: (string | null)[]; same?: boolean; sawCue?: boolean; outcomes?: string[] }

t.test('worker threads: two load at once; terminating one with live work neither crashes nor hangs', async (t) => {
  const r = await runChild('workers.js', [stories260K], { timeoutMs: 60_000 });
  t.equal(r.code, 0, describeExit(r));
  t.equal(r.signal, null);
  const rs = new Map(records<WorkerResult>(r.stdout, 'RESULT').map((x) => [x.name, x]));
  const two = rs.get('two workers load and generate at once');
  t.same(two && { codes: two.exitCodes, errors: two.errors, same: two.same }, { codes: [0, 0], errors: [null, null], same: true },
    'both workers exited 0 and generated the main thread\'s text');
  for (const name of ['terminate during generation', 'terminate during capture', 'terminate an idle worker with a live context']) {
    const x = rs.get(name);
    // worker.terminate() ends a worker with exit code 1.
    t.same(x && { exitCode: x.exitCode, error: x.error, sawCue: x.sawCue }, { exitCode: 1, error: null, sawCue: true }, name);
  }
  const load = rs.get('terminate during load');
  t.equal(load?.outcomes?.length, 8, `terminate during load: ${load?.outcomes?.join(' ')}`);
  for (const o of load?.outcomes ?? []) t.match(o, /^\d+ms:[01]:loading(\/loaded)?$/, o);
  t.same(rs.get('main thread unaffected')?.same, true, 'the main thread still generates the same text');
});
