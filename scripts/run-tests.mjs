#!/usr/bin/env node
// The test command (`npm test`): the no-model and small-model groups through tap, the native
// hook tests when built, and a closing "N passed, N failed" line.
//   npm test                  no-model + small-model (+ native when built: the hook tests on
//                             stories260K and the architecture matrix, scripts/arch-matrix.mjs)
//   npm test -- gpu           the GPU group (every layer offloaded; needs a CUDA/Metal build)
//   npm test -- no-model      one group
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runArchMatrix } from './arch-matrix.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const groups = args.length > 0 ? args : ['no-model', 'small-model', 'native'];
let passed = 0;
let failed = 0;

for (const group of groups) {
  if (group === 'native') {
    const bin = ['build', 'build-native-tests'].map((d) => path.join(root, d, 'test', 'native', 'persona_steer_native_test'))
      .find((f) => fs.existsSync(f));
    if (!bin) { console.log('# native hook tests: not built (PERSONA_STEER_NATIVE_TESTS=1 npm run build:native)'); continue; }
    const model = process.env.PERSONA_STEER_MODELS ? path.join(process.env.PERSONA_STEER_MODELS, 'stories260K.gguf')
      : path.resolve(root, '..', 'shared', 'models', 'stories260K.gguf');
    const r = spawnSync(bin, [model], { encoding: 'utf8', timeout: 600_000 });
    process.stdout.write(r.stdout ?? '');
    process.stderr.write(r.stderr ?? '');
    passed += (r.stdout.match(/^ok /gm) ?? []).length;
    failed += (r.stdout.match(/^not ok /gm) ?? []).length + (r.status === 0 ? 0 : 1);
    const m = runArchMatrix(model);
    if (!m) { console.log('not ok - the architecture matrix programs are not built'); failed += 1; continue; }
    process.stdout.write(m.stdout);
    passed += (m.stdout.match(/^ok /gm) ?? []).length;
    failed += (m.stdout.match(/^not ok /gm) ?? []).length + (m.status === 0 ? 0 : 1);
    if (m.status === 0 && !m.docsMatch) {
      console.log('not ok - docs/hooks.md support table equals this run (node scripts/arch-matrix.mjs --write-docs)');
      failed += 1;
    }
    continue;
  }
  // The GPU group is the small-model oracle tests again with every block offloaded.
  const targets = group === 'gpu'
    ? ['test/small-model/steering.test.ts', 'test/small-model/generation.test.ts']
    : [path.join('test', group)];
  if (!targets.every((d) => fs.existsSync(path.join(root, d)))) { console.error(`no test group ${group}`); process.exit(2); }
  const env = { ...process.env };
  if (group === 'gpu') env.PERSONA_STEER_GPU = '1';
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'tap', 'dist', 'esm', 'run.mjs'), ...targets],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env, encoding: 'utf8', maxBuffer: 1 << 28 });
  process.stdout.write(r.stdout ?? '');
  const m = /# \{ total: (\d+), pass: (\d+)(?:, fail: (\d+))?/.exec(r.stdout ?? '');
  if (m) { passed += Number(m[2]); failed += Number(m[3] ?? 0); }
  if (r.status !== 0 && !(m && Number(m[3] ?? 0) > 0)) failed += 1;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
