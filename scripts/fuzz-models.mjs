#!/usr/bin/env node
// The full model-file fuzzer (docs/errors.md): 10,000 mutated GGUF model files by
// default, each loaded, tokenized and decoded with steering and capture in a child process.
//   npm run fuzz:models                      10,000 cases, seed 21
//   npm run fuzz:models -- --cases 50000 --seed 7 --start 0 --keep /tmp/failures
// Failing cases' files are kept (default: $TMPDIR/persona-steer-fuzz-failures) for replay.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { cases: { type: 'string', default: '10000' }, seed: { type: 'string', default: '21' }, start: { type: 'string', default: '0' }, keep: { type: 'string' } },
});
const env = {
  ...process.env,
  PERSONA_STEER_FUZZ_CASES: values.cases,
  PERSONA_STEER_FUZZ_SEED: values.seed,
  PERSONA_STEER_FUZZ_START: values.start,
  ...(values.keep ? { PERSONA_STEER_FUZZ_KEEP: path.resolve(values.keep) } : {}),
};
const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'tap', 'dist', 'esm', 'run.mjs'), '--timeout=0',
  '--reporter=tap', path.join('test', 'small-model', 'fuzz-model-files.test.ts')], { cwd: root, env, stdio: 'inherit' });
process.exit(r.status ?? 1);
