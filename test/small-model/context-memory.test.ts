import t from 'tap';
import path from 'node:path';
import { Model } from '../../lib/index';
import { availableMemoryBytes, checkContextMemory, estimateContextMemory, type ContextSizes } from '../../lib/context-memory';
import { requireModel, root, stories260K } from '../helpers/models';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { childEnv } from '../fixtures/lifecycle/compiled-lib';
import { fixtures } from '../fixtures/lifecycle/spawn';

// llama.cpp writes its log to stderr from native threads; into a pipe that is momentarily full it
// can lose lines, so the child's stderr goes to a file.
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-context-memory-'));
t.teardown(() => fs.rmSync(logDir, { recursive: true, force: true }));
let runs = 0;
function runBuffers(args: string[]): { code: number | null; log: string } {
  const file = path.join(logDir, `child-${runs++}.log`);
  const fd = fs.openSync(file, 'w');
  try {
    const r = spawnSync(process.execPath, [path.join(fixtures, 'context-buffers.js'), ...args], {
      env: { ...process.env, ...childEnv(), NODE_OPTIONS: '', PERSONA_STEER_LOG: '1' }, stdio: ['ignore', 'ignore', fd], timeout: 120_000,
    });
    return { code: r.status, log: fs.readFileSync(file, 'utf8') };
  } finally {
    fs.closeSync(fd);
  }
}

// The context memory estimate against llama.cpp's own account of the buffers it reserves (its log
// states the KV cache, compute and output buffer sizes), and the refusal of a context that does
// not fit before anything is allocated.
const MODELS = [requireModel(stories260K), requireModel(path.join(root, 'models', 'toy-persona.gguf'))];
const CONFIGS: ContextSizes[] = [
  { contextSize: 512, batchSize: 512, sequences: 1, flashAttention: false },
  { contextSize: 2048, batchSize: 512, sequences: 1, flashAttention: false },
  { contextSize: 2048, batchSize: 2048, sequences: 1, flashAttention: false },
  { contextSize: 8192, batchSize: 1024, sequences: 4, flashAttention: false },
  { contextSize: 2048, batchSize: 512, sequences: 4, flashAttention: true },
  { contextSize: 2048, batchSize: 512, sequences: 1, flashAttention: true },
  { contextSize: 8192, batchSize: 1024, sequences: 1, flashAttention: true },
];

// The last size llama.cpp states for a buffer: the context asked for is the last one created
// (Model.load's trial decode makes a small one first).
function mib(log: string, what: RegExp): number {
  const all = [...log.matchAll(new RegExp(`${what.source}\\s*=\\s*([\\d.]+) MiB`, 'g'))].map((m) => Number(m[1]));
  return (all[all.length - 1] ?? 0) * 2 ** 20;
}

t.test('the estimate covers what llama.cpp reserves, within 1.5x plus 8 MiB', async (t) => {
  for (const file of MODELS) {
    const model = await Model.load(file, { gpuLayers: 0 });
    for (const c of CONFIGS) {
      const r = runBuffers([file, String(c.contextSize), String(c.batchSize), String(c.sequences), c.flashAttention ? '1' : '0']);
      t.equal(r.code, 0, 'child ran');
      const log = r.log;
      const kv = mib(log, /KV buffer size/);
      const actual = kv + mib(log, /compute buffer size/) + mib(log, /output buffer size/);
      const est = estimateContextMemory(model.info, c);
      const name = `${path.basename(file)} ${JSON.stringify(c)}`;
      t.ok(Math.abs(est.kvCache - kv) <= 0.01 * kv + 2 ** 14, `${name}: KV cache ${est.kvCache} vs llama.cpp's ${kv}`);
      t.ok(est.total >= actual && est.total <= 1.5 * actual + 8 * 2 ** 20, `${name}: estimate ${(est.total / 2 ** 20).toFixed(1)} MiB, llama.cpp ${(actual / 2 ** 20).toFixed(1)} MiB`);
    }
    model.dispose();
  }
});

t.test('filling every sequence in mixed batches stays within the estimate (llama.cpp\'s final buffer sizes)', async (t) => {
  const file = MODELS[0];
  const model = await Model.load(file, { gpuLayers: 0 });
  const c: ContextSizes = { contextSize: 1024, batchSize: 512, sequences: 4, flashAttention: false };
  const r = runBuffers([file, '1024', '512', '4', '0', 'fill']);
  t.equal(r.code, 0, 'child ran');
  // The last context freed is the one asked for (the trial decode's is freed during the load).
  const final = [...r.log.matchAll(/compute buffer size is\s+([\d.]+) MiB/g)].map((m) => Number(m[1]) * 2 ** 20).slice(-1);
  t.equal(final.length, 1, 'llama.cpp reported the final compute buffer');
  const est = estimateContextMemory(model.info, c);
  t.ok(final[0]! <= est.compute, `final compute buffer ${(final[0]! / 2 ** 20).toFixed(1)} MiB <= estimate ${(est.compute / 2 ** 20).toFixed(1)} MiB`);
  model.dispose();
});

t.test('checkContextMemory refuses exactly the contexts above the memory available, and leaves GPU contexts to llama.cpp', async (t) => {
  const model = await Model.load(MODELS[0], { gpuLayers: 0 });
  const sizes: ContextSizes = { contextSize: 65536, batchSize: 8192, sequences: 1, flashAttention: false };
  const need = estimateContextMemory(model.info, sizes).total;
  t.doesNotThrow(() => checkContextMemory(model.info, sizes, false, need));
  t.throws(() => checkContextMemory(model.info, sizes, false, need - 1), {
    code: 'ERR_CONTEXT_CREATE',
    message: /^a context of 65536 tokens with batchSize 8192 needs about [\d.]+ GiB \(KV cache [\d.]+ GiB, compute buffers [\d.]+ GiB \(attention scores: 8192 x 65536 x 8 heads x 4 bytes\)\), more than the [\d.]+ GiB of memory available; use a smaller batchSize or contextSize, or flashAttention: true$/,
  });
  t.doesNotThrow(() => checkContextMemory(model.info, sizes, true, 0), 'on a GPU llama.cpp allocates at once and reports failures itself');
  model.dispose();
});

t.test('createContext refuses a context larger than the memory available before allocating it', async (t) => {
  const model = await Model.load(MODELS[0], { gpuLayers: 0 });
  const available = availableMemoryBytes();
  // The smallest batch whose estimate is over what this machine has now (a 64k-token context with
  // an 8k batch needs 18 GiB: refused or not depending on the machine).
  let sizes: ContextSizes = { contextSize: 65536, batchSize: 1024, sequences: 1, flashAttention: false };
  while (estimateContextMemory(model.info, sizes).total <= available * 1.25) sizes = { ...sizes, batchSize: sizes.batchSize * 2 };
  const rss0 = process.memoryUsage.rss();
  await t.rejects(model.createContext({ ...sizes, threads: 1 }), { code: 'ERR_CONTEXT_CREATE', message: /needs about .* more than the .* of memory available/ });
  t.ok(process.memoryUsage.rss() - rss0 < 256 * 2 ** 20, 'nothing of that size was allocated');
  const ok = await model.createContext({ contextSize: 2048, batchSize: 512, threads: 1 });
  t.equal(ok.contextSize, 2048, 'an ordinary context is still created');
  await ok.dispose();
  model.dispose();
});
