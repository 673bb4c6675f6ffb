import t from 'tap';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Model, PersonaSteerError, type Context } from '../../lib/index';
import { CONTEXT_OPTION_KEYS } from '../../lib/context';
import { toNativePlan } from '../../lib/steering';
import { gpuLayers, requireModel, stories260K } from '../helpers/models';
import { runChild } from '../fixtures/lifecycle/spawn';

// Behaviour that was wrong or unclear in the Context, steering, monitor and stream layers, one
// test each.

let model: Model;
let ctx: Context;
let E: number;
t.before(async () => {
  model = await Model.load(requireModel(stories260K), { gpuLayers });
  ctx = await model.createContext({ contextSize: 64, threads: 1 });
  E = model.info.embeddingSize;
});
t.teardown(async () => { await ctx.dispose(); model.dispose(); });

t.test('a vector value finite in JavaScript but beyond float32 is refused at its public path', async (t) => {
  const v = new Array(E).fill(0.1);
  v[3] = 1e39;
  t.throws(() => ctx.setSteering([{ kind: 'add', vector: v, blocks: [1] }]),
    { code: 'ERR_INVALID_ARG', message: /^plan\[0\]\.vector@1\[3\] must be a number within float32 range .*received 1e\+39$/ });
  t.throws(() => ctx.generate('Once', { monitor: [{ name: 'm', vector: v, blocks: [1] }] }),
    { code: 'ERR_INVALID_ARG', message: /^options\.monitor\[0\]\.vector@1\[3\] must be a number within float32 range/ });
});

t.test('a Proxy vector whose length changes between reads is used as first read, whole', async (t) => {
  let reads = 0;
  const proxy = new Proxy(new Array(E).fill(0.5), { get: (target, key) => (key === 'length' ? (reads++ === 0 ? E : 3) : target[key as never]) });
  const plan = toNativePlan([{ kind: 'add', vector: proxy, blocks: [1] }], E, model.info.blockCount);
  // Oracle: the same plan from a plain array of the values the Proxy holds.
  t.same(Array.from(plan.ops[0]!.vectors), new Array(E).fill(0.5));
  t.equal(reads, 1, 'length read once');
});

t.test('every Context function reads each option once (a snapshot)', async (t) => {
  const calls: Record<string, (o: unknown) => Promise<unknown>> = {
    generate: (o) => ctx.complete('Once', o as never),
    capture: (o) => ctx.capture('Once', o as never),
    captureMean: (o) => ctx.captureMean([{ tokens: [1, 400, 401], start: 1, end: 3 }], o as never),
    logits: (o) => ctx.logits('Once', o as never),
    evaluate: (o) => ctx.evaluate([{ tokens: [1, 400] }], o as never),
  };
  const values: Record<string, unknown> = { maxTokens: 2, greedy: true, steer: [{ kind: 'add', vector: new Float32Array(E).fill(0.01), blocks: [1] }],
    blocks: [1], positions: 'last', reduce: 'none', all: false, keepMemory: false, captureBlocks: [1] };
  for (const [name, call] of Object.entries(calls)) {
    const keys = (CONTEXT_OPTION_KEYS as Record<string, readonly string[]>)[name]!.filter((k) => k in values);
    const reads: Record<string, number> = {};
    const opts = {};
    for (const k of keys) Object.defineProperty(opts, k, { enumerable: true, get: () => { reads[k] = (reads[k] ?? 0) + 1; return values[k]; } });
    await call(opts);
    for (const k of keys) t.ok((reads[k] ?? 0) <= 1, `${name}: options.${k} read ${reads[k]} time(s)`);
  }
});

t.test('an options getter that disposes the context on a later read cannot crash the process', async (t) => {
  const r = await runChild('dispose-in-getter.js', [requireModel(stories260K)], { timeoutMs: 60_000 });
  t.equal(r.signal, null, `no signal (${r.stderr.trim().split('\n').slice(-2).join(' | ')})`);
  t.equal(r.code, 0);
  t.match(r.stdout, /^(ok|ERR_[A-Z_]+)$/m, 'a result or a typed error');
});

t.test('setLlamaControlVector refuses a scale that overflows float32 (no Inf reaches the graph)', async (t) => {
  await t.rejects(ctx.setLlamaControlVector(new Float32Array(E).fill(1), { scale: 3e38, blocks: [1] }),
    { code: 'ERR_INVALID_ARG', message: /options\.scale/ });
  // The context still gives finite logits afterwards.
  const r = await ctx.logits('Once');
  t.ok(Array.from(r.logits).every(Number.isFinite), 'logits finite');
  await ctx.setLlamaControlVector(null);
});

t.test('a stream iterator is done after return(), and a second iterator does not split the events', async (t) => {
  const stream = ctx.generate('Once upon a time', { greedy: true, maxTokens: 6 });
  const it = stream[Symbol.asyncIterator]();
  await it.next();
  await it.return!();
  t.same(await it.next(), { value: undefined, done: true }, 'done after return()');
  // Two iterators: each sees every event, or the second is refused with a typed error.
  const s2 = ctx.generate('Once upon a time', { greedy: true, maxTokens: 6 });
  let second: AsyncIterator<unknown> | PersonaSteerError;
  const first = s2[Symbol.asyncIterator]();
  try { second = s2[Symbol.asyncIterator](); } catch (e) { second = e as PersonaSteerError; }
  if (second instanceof PersonaSteerError) { t.pass(`second iterator refused: ${second.code}`); await s2.result; return; }
  const drain = async (i: AsyncIterator<unknown>) => { const out: unknown[] = []; for (let r = await i.next(); !r.done; r = await i.next()) out.push(r.value); return out; };
  const [a, b] = await Promise.all([drain(first), drain(second)]);
  t.equal(a.length, (await s2.result).tokens.length, 'the first sees every token');
  t.same(b, a, 'the second sees the same events');
});

t.test('evaluate refuses a sequence id beyond the context\'s sequences, naming it', async (t) => {
  await t.rejects(ctx.evaluate([{ tokens: [1, 2], seq: 5 }]), { code: 'ERR_INVALID_ARG', message: /^sequences\[0\]\.seq must be/ });
});

t.test('evaluate with keepMemory refuses a pos0 that is not the sequence\'s next position, naming it', async (t) => {
  await ctx.evaluate([{ tokens: [1, 2, 3, 4] }]);
  await t.rejects(ctx.evaluate([{ tokens: [1, 2], pos0: 1 }], { keepMemory: true }), { code: 'ERR_INVALID_ARG', message: /^sequences\[0\]\.pos0 must be 4/ });
  await t.rejects(ctx.evaluate([{ tokens: [1, 2], pos0: 9 }], { keepMemory: true }), { code: 'ERR_INVALID_ARG', message: /^sequences\[0\]\.pos0 must be 4/ });
});

t.test('more than 4096 monitored directions are refused at the call, naming options.monitor', async (t) => {
  const mon = Array.from({ length: 4097 }, (_, i) => ({ name: `m${i}`, vector: new Float32Array(E).fill(0.1), blocks: [1] }));
  t.throws(() => ctx.generate('Once', { maxTokens: 1, monitor: mon }), { code: 'ERR_INVALID_ARG', message: /^options\.monitor must .*4096/ });
});

t.test('a 10 MB text prompt is refused with ERR_CONTEXT_OVERFLOW without stalling the event loop', async (t) => {
  const text = 'Once upon a time, there was a little girl named Lily. '.repeat(200_000).slice(0, 10_000_000);
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  // The monitor records from its second tick on: let it start before the work.
  await new Promise((r) => setTimeout(r, 50));
  const err = await ctx.complete(text, { maxTokens: 1 }).then(() => null, (e: unknown) => e);
  // A stall is recorded when the monitor's timer next runs.
  await new Promise((r) => setTimeout(r, 50));
  delay.disable();
  t.equal((err as PersonaSteerError)?.code, 'ERR_CONTEXT_OVERFLOW');
  t.ok(delay.max / 1e6 < 500, `longest event-loop stall ${(delay.max / 1e6).toFixed(0)} ms`);
});
