import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Model, extractPersonaVector, modelFileHash } from '../../lib/index';
import { gpuLayers, requireModel, root, stories260K } from '../helpers/models';
import { storyPairs } from '../helpers/stories';

// Loading details a hostile or unusual file exercises: vocabulary-only models, the model hash taken at load, a throwing
// onProgress, NUL characters in chat input, and a pending judge under abort.
const toyPath = path.join(root, 'models', 'toy-persona.gguf');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-load-details-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

t.test('a vocabulary-only model tokenizes like the full model, reports no shape and creates no context', async (t) => {
  for (const file of [requireModel(stories260K), requireModel(toyPath)]) {
    const full = await Model.load(file, { gpuLayers });
    const vocab = await Model.load(file, { vocabOnly: true });
    t.equal(vocab.info.vocabOnly, true);
    t.equal(full.info.vocabOnly, false);
    t.same([vocab.info.blockCount, vocab.info.embeddingSize, vocab.info.headCount], [0, 0, 0], 'no hyperparameters');
    t.equal(vocab.info.vocabularySize, full.info.vocabularySize);
    const text = 'Once upon a time, <s> caf\u00e9';
    t.same(Array.from(vocab.tokenize(text)), Array.from(full.tokenize(text)), `${path.basename(file)}: same tokens`);
    t.same(Array.from(await vocab.tokenizeAsync(text)), Array.from(full.tokenize(text)), `${path.basename(file)}: same tokens async`);
    t.equal(vocab.detokenize(full.tokenize(text)), full.detokenize(full.tokenize(text)));
    if (full.info.chatTemplate) {
      const msgs = [{ role: 'user', content: 'hi' }];
      t.equal(vocab.applyChatTemplate(msgs), full.applyChatTemplate(msgs), 'same chat formatting');
    }
    await t.rejects(vocab.createContext(), { code: 'ERR_CONTEXT_CREATE', message: /vocabOnly: true/ });
    vocab.dispose();
    full.dispose();
  }
});

t.test('info.fileHash is modelFileHash of the file as loaded', async (t) => {
  const m = await Model.load(requireModel(stories260K), { gpuLayers });
  t.equal(m.info.fileHash, await modelFileHash(stories260K));
  m.dispose();
});

t.test('extraction needs no model file: it works after the file is deleted and records the hash taken at load', async (t) => {
  const copy = path.join(dir, 'copy.gguf');
  fs.copyFileSync(requireModel(stories260K), copy);
  const want = await modelFileHash(copy);
  const m = await Model.load(copy, { gpuLayers, useMmap: false });
  fs.rmSync(copy);
  const ctx = await m.createContext({ contextSize: 256, threads: 1 });
  const r = await extractPersonaVector(ctx, { trait: 'happy', samples: storyPairs(3) }, { format: 'plain', blocks: [1, 2] });
  t.equal(r.vector.metadata.source?.hash, want);
  await ctx.dispose();
  m.dispose();
});

t.test('a throwing onProgress stops the load, which rejects with that error', async (t) => {
  const boom = new Error('progress handler failed');
  let calls = 0;
  await t.rejects(Model.load(requireModel(stories260K), { gpuLayers, onProgress: () => { calls++; throw boom; } }), boom);
  t.equal(calls, 1, 'called once, then the load stopped');
  // The library keeps working afterwards.
  const m = await Model.load(requireModel(stories260K), { gpuLayers, onProgress: () => undefined });
  t.ok(m.tokenize('Once').length > 0);
  m.dispose();
});

t.test('NUL characters in chat messages, roles and templates are refused, naming the argument', async (t) => {
  const m = await Model.load(requireModel(toyPath), { gpuLayers });
  const ctx = await m.createContext({ contextSize: 128, threads: 1 });
  const cases: [string, () => unknown, RegExp][] = [
    ['content', () => m.applyChatTemplate([{ role: 'user', content: 'a\u0000b' }]), /^messages\[0\]\.content must be a string without NUL characters \(found one at index 1/],
    ['role', () => m.applyChatTemplate([{ role: 'user', content: 'x' }, { role: 'us\u0000er', content: 'y' }]), /^messages\[1\]\.role must be a string without NUL/],
    ['template', () => m.applyChatTemplate([{ role: 'user', content: 'x' }], { template: 'chatml\u0000' }), /^options\.template must be a string without NUL/],
    ['prompt messages', () => ctx.generate({ messages: [{ role: 'user', content: '\u0000' }] }), /^prompt\.messages\[0\]\.content must be a string without NUL/],
  ];
  for (const [what, f, message] of cases) {
    t.throws(f, { code: 'ERR_INVALID_ARG', message }, what);
  }
  // The oracle for "not silently cut": the same text without NUL formats to something else.
  t.not(m.applyChatTemplate([{ role: 'user', content: 'ab' }]), m.applyChatTemplate([{ role: 'user', content: 'a' }]));
  await ctx.dispose();
  m.dispose();
});

t.test('aborting extraction settles it while the judge has not answered', async (t) => {
  const m = await Model.load(requireModel(stories260K), { gpuLayers });
  const ctx = await m.createContext({ contextSize: 256, threads: 1 });
  const controller = new AbortController();
  let judged = 0;
  const judge = () => { judged++; setTimeout(() => controller.abort(), 20); return new Promise<number>(() => undefined); };
  const t0 = Date.now();
  await t.rejects(extractPersonaVector(ctx, { trait: 'happy', samples: storyPairs(3) }, { format: 'plain', judge, signal: controller.signal }),
    { code: 'ERR_ABORTED' });
  t.equal(judged, 1, 'the judge was waiting on the first answer');
  t.ok(Date.now() - t0 < 10_000, 'settled soon after the abort');
  await ctx.dispose();
  m.dispose();
});
