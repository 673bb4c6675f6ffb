import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Model } from '../../lib/index';
import { MODEL_OPTION_KEYS } from '../../lib/model';
import { caught, mismatch, show, UNIVERSALLY_WRONG } from '../fixtures/lifecycle/expect-error';

// Model.load checks its arguments before it touches the file system or the addon, so this runs
// without a model and without the native build.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-validation-'));
const file = path.join(dir, 'model.gguf');
fs.writeFileSync(file, 'not a model');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

// Specific wrong values for every load option: the key list must match MODEL_OPTION_KEYS.load,
// so a new option fails this test until it is validated and listed here.
const WRONG: Record<string, unknown[]> = {
  gpuLayers: [-2, 1.5, '1', Infinity, 100001, true],
  useMmap: ['true', 1, null],
  vocabOnly: [0, 'false'],
  checkTensors: ['yes', {}],
  onProgress: ['f', {}, 1],
  signal: [{}, { aborted: true }, 'signal'],
  rpcServers: ['host:1', [], ['localhost'], ['h:0'], ['h:65536'], ['h:1', 'h:1'], [1], Array(17).fill('h:1').map((x, i) => `h:${i + 1}`)],
  tensorSplit: [1, [], [0, 0], [-1], ['1'], [Infinity], Array(17).fill(1)],
  rpcTimeoutMs: [1000, '1000'],
  chatTemplate: ['', 5, {}],
  jinja: ['yes', 1],
};

t.test('every load option has wrong-value cases', async (t) => {
  t.same(Object.keys(WRONG).sort(), [...MODEL_OPTION_KEYS.load].sort());
});

t.test('each load option rejects wrong-typed values with ERR_INVALID_ARG naming options.<key>', async (t) => {
  let cases = 0;
  for (const key of MODEL_OPTION_KEYS.load) {
    for (const value of [...UNIVERSALLY_WRONG, ...(WRONG[key] ?? [])]) {
      const err = await caught(() => Model.load(file, { [key]: value }));
      const bad = mismatch(err, { code: 'ERR_INVALID_ARG', arg: `options.${key}` });
      t.equal(bad, null, `options.${key} = ${show(value)}`);
      cases++;
    }
  }
  t.ok(cases >= 25, `${cases} cases`);
});

t.test('an unknown load option is rejected by name', async (t) => {
  const err = await caught(() => Model.load(file, { gpuLayer: 3 } as never));
  t.equal(mismatch(err, { code: 'ERR_INVALID_ARG', arg: 'options.gpuLayer', message: /known options \(gpuLayers, / }), null);
});

t.test('a path that is not a non-empty string is rejected by name', async (t) => {
  for (const p of [undefined, null, 42, '', {}, ['a'], Symbol('p')]) {
    const err = await caught(() => Model.load(p as never));
    t.equal(mismatch(err, { code: 'ERR_INVALID_ARG', arg: 'path' }), null, `path = ${show(p)}`);
  }
});

t.test('options that are not an object are rejected by name', async (t) => {
  for (const o of [null, 42, 'gpuLayers', [], true]) {
    const err = await caught(() => Model.load(file, o as never));
    t.equal(mismatch(err, { code: 'ERR_INVALID_ARG', arg: 'options' }), null, `options = ${show(o)}`);
  }
});

t.test('a missing file and a directory give ERR_MODEL_LOAD naming the path', async (t) => {
  const missing = path.join(dir, 'missing.gguf');
  t.equal(mismatch(await caught(() => Model.load(missing)), { code: 'ERR_MODEL_LOAD', message: new RegExp(missing) }), null);
  t.equal(mismatch(await caught(() => Model.load(dir)), { code: 'ERR_MODEL_LOAD', message: /is a directory, not a regular file/ }), null);
});

t.test('an already aborted signal gives ERR_ABORTED before anything is read', async (t) => {
  const err = await caught(() => Model.load(file, { signal: AbortSignal.abort() }));
  t.equal(mismatch(err, { code: 'ERR_ABORTED' }), null);
});

t.test('Model.load always returns a promise, also for bad arguments', async (t) => {
  // An async API that throws synchronously breaks `load(x).catch(...)` callers.
  let p: unknown;
  t.doesNotThrow(() => { p = Model.load(42 as never); });
  t.ok(p instanceof Promise);
  await t.rejects(p as Promise<unknown>, { code: 'ERR_INVALID_ARG' });
});
