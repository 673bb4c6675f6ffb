import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { Model } from '../../lib/index';
import { NATIVE_CONTEXT_METHODS, NATIVE_MODEL_METHODS, native } from '../../lib/native';
import { gpuLayers, requireModel, stories260K } from '../helpers/models';

// The native surface: the addon's classes have exactly the methods lib/native.ts types, and its
// functions refuse objects of the wrong class (type tags) instead of unwrapping them.

let model: Model;
t.before(async () => {
  model = await Model.load(requireModel(stories260K), { gpuLayers });
});
t.teardown(() => model.dispose());

const methods = (o: object) => Object.getOwnPropertyNames(Object.getPrototypeOf(o)).filter((k) => k !== 'constructor').sort();

t.test('the native model and context have exactly the methods lib/native.ts declares', async (t) => {
  const ctx = await model.createContext({ contextSize: 64, threads: 1 });
  t.same(methods(model.native), [...NATIVE_MODEL_METHODS].sort());
  t.same(methods(ctx.native), [...NATIVE_CONTEXT_METHODS].sort());
  await ctx.dispose();
});

t.test('createContext given a context instead of a model is ERR_INVALID_ARG, not a crash', async (t) => {
  const ctx = await model.createContext({ contextSize: 64, threads: 1 });
  const opts = { contextSize: 64, batchSize: 64, threads: 1, sequences: 1, flashAttention: false };
  t.throws(() => native().createContext(ctx.native as never, opts), { code: 'ERR_INVALID_ARG', message: /model must be a native model object/ });
  t.throws(() => native().createContext({ info: () => ({}) } as never, opts), { code: 'ERR_INVALID_ARG' });
  t.throws(() => native().createContext(null as never, opts), { code: 'ERR_INVALID_ARG' });
  t.throws(() => native().createContext(model.native, null as never), { code: 'ERR_INVALID_ARG', message: /options/ });
  await ctx.dispose();
});

t.test('the native context class cannot be built around a plain object', async (t) => {
  const Ctor = (native() as unknown as { NativeContext: new (m: unknown) => unknown }).NativeContext;
  t.throws(() => new Ctor({}), { code: 'ERR_INVALID_ARG' });
  t.throws(() => new Ctor(Object.create(Object.getPrototypeOf(model.native))), { code: 'ERR_INVALID_ARG' });
});

t.test('the addon reports the llama.cpp commit the lock file pins (passed through CMake, not written twice)', async (t) => {
  const lock = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'vendor', 'llama.lock.json'), 'utf8')) as { llamaCpp: { commit: string } };
  t.equal(native().llamaCppVersion, lock.llamaCpp.commit);
});
