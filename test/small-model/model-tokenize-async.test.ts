import t from 'tap';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Model, PersonaSteerError } from '../../lib/index';
import { gpuLayers, requireModel, root, stories260K } from '../helpers/models';
import path from 'node:path';

// model.tokenizeAsync: the same tokens as model.tokenize (llama_tokenize on the JS thread, the
// oracle), computed on a libuv worker so the event loop keeps running; with maxTokens, a text that
// cannot fit is refused from its length before any tokenization work.
let stories: Model;
let toy: Model;
t.before(async () => {
  stories = await Model.load(requireModel(stories260K), { gpuLayers });
  toy = await Model.load(requireModel(path.join(root, 'models', 'toy-persona.gguf')), { gpuLayers });
});
t.teardown(() => { stories.dispose(); toy.dispose(); });

const TEXTS = [
  'Once upon a time', ' leading space', 'tabs\tand\nnewlines\r\n', 'caf\u00e9 \u{1F600}\u{1F600} \u4e2d\u6587',
  '<s>Hello</s> <|im_start|>user\nhi<|im_end|>', 'a'.repeat(5000), '\u{1F600}'.repeat(700), 'x\u0000y', ' ', '',
  String.fromCharCode(...Array.from({ length: 200 }, (_, i) => i + 1)),
];

t.test('tokenizeAsync gives the same tokens as tokenize, for every option combination', async (t) => {
  for (const model of [stories, toy]) {
    for (const text of TEXTS) {
      for (const addSpecial of [true, false]) {
        for (const parseSpecial of [true, false]) {
          const want = Array.from(model.tokenize(text, { addSpecial, parseSpecial }));
          const got = Array.from(await model.tokenizeAsync(text, { addSpecial, parseSpecial }));
          t.same(got, want, `${model.info.name}: ${JSON.stringify(text.slice(0, 20))} addSpecial=${addSpecial} parseSpecial=${parseSpecial}`);
        }
      }
    }
  }
});

t.test('maxTokens refuses exactly the texts with more tokens than it allows, never one that fits', async (t) => {
  // The length bound must never refuse a text that fits: at maxTokens = the true count it resolves,
  // one below it is ERR_CONTEXT_OVERFLOW. Includes texts made of the vocabulary's longest pieces,
  // where bytes per token are highest.
  for (const model of [stories, toy]) {
    const longest = [...Array(model.info.vocabularySize).keys()]
      .map((id) => model.detokenize([id], { special: true }))
      .sort((a, b) => Buffer.byteLength(b) - Buffer.byteLength(a))[0]!;
    for (const text of [...TEXTS.filter((x) => x.length > 0), longest.repeat(50), longest.repeat(500)]) {
      const n = model.tokenize(text).length;
      t.same(Array.from(await model.tokenizeAsync(text, { maxTokens: n })), Array.from(model.tokenize(text)),
        `${model.info.name}: ${JSON.stringify(text.slice(0, 16))} fits in its own ${n} tokens`);
      if (n > 1) {
        await t.rejects(model.tokenizeAsync(text, { maxTokens: n - 1 }), { code: 'ERR_CONTEXT_OVERFLOW' },
          `${model.info.name}: ${JSON.stringify(text.slice(0, 16))} does not fit in ${n - 1}`);
      }
    }
  }
});

t.test('info.maxTokenBytes is the longest piece of text a token stands for', async (t) => {
  for (const model of [stories, toy]) {
    let longest = 0;
    for (let id = 0; id < model.info.vocabularySize; id++) longest = Math.max(longest, model.native.tokenToPiece(id, true).length);
    t.equal(model.info.maxTokenBytes, longest, model.info.name);
  }
});

t.test('a 10 MB prompt over a 2048-token limit is refused from its length, without tokenizing it', async (t) => {
  const text = 'Once upon a time, there was a little girl named Lily. '.repeat(200_000).slice(0, 10_000_000);
  const t0 = performance.now();
  const err = await stories.tokenizeAsync(text, { maxTokens: 2048 }).catch((e: unknown) => e);
  const ms = performance.now() - t0;
  t.ok(err instanceof PersonaSteerError && err.code === 'ERR_CONTEXT_OVERFLOW', 'ERR_CONTEXT_OVERFLOW');
  t.match((err as Error).message, /text is 10000000 bytes, at least \d+ tokens .*more than the 2048 allowed/);
  // The same text through the worker, unbounded, takes seconds (next test): the bound skipped that work.
  t.comment(`refused in ${ms.toFixed(1)} ms`);
});

t.test('the event loop keeps running while a 10 MB prompt is tokenized', async (t) => {
  const text = 'Once upon a time, there was a little girl named Lily. '.repeat(200_000).slice(0, 10_000_000);
  const delay = monitorEventLoopDelay({ resolution: 10 });
  let ticks = 0;
  const timer = setInterval(() => { ticks++; }, 20);
  delay.enable();
  // The monitor records from its second tick on: let it start before the work.
  await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  const tokens = await stories.tokenizeAsync(text, { addSpecial: false });
  const ms = performance.now() - t0;
  // A stall is recorded when the monitor's timer next runs.
  await new Promise((r) => setTimeout(r, 50));
  delay.disable();
  clearInterval(timer);
  const maxMs = delay.max / 1e6;
  t.comment(`10 MB tokenized into ${tokens.length} tokens in ${ms.toFixed(0)} ms; event-loop delay max ${maxMs.toFixed(1)} ms, ` +
    `p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, mean ${(delay.mean / 1e6).toFixed(1)} ms; ${ticks} timer ticks of 20 ms`);
  t.ok(tokens.length > 1_000_000, `${tokens.length} tokens`);
  // Relative, not absolute: the longest stall is a small part of the work, and timers kept firing.
  t.ok(maxMs < ms / 4, `longest stall ${maxMs.toFixed(1)} ms of ${ms.toFixed(0)} ms`);
  t.ok(ticks >= ms / 20 / 3, `${ticks} ticks in ${ms.toFixed(0)} ms`);
});

t.test('a model disposed while tokenizeAsync runs still completes the call', async (t) => {
  const m = await Model.load(requireModel(stories260K), { gpuLayers });
  const want = Array.from(m.tokenize('Once upon a time'.repeat(2000)));
  const p = m.tokenizeAsync('Once upon a time'.repeat(2000));
  m.dispose();
  t.same(Array.from(await p), want);
  await t.rejects(m.tokenizeAsync('x'), { code: 'ERR_DISPOSED' });
});
