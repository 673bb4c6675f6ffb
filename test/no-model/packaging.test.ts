import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { root } from '../helpers/models';

// Self-reference through package.json "exports", exactly as a user's require/import resolves it.
function run(code: string, type: 'commonjs' | 'module'): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--input-type', type, '-e', code], { cwd: root, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('require and import expose the same public names', async (t) => {
  const cjs = run("console.log(JSON.stringify(Object.keys(require('persona-steer')).sort()))", 'commonjs');
  const esm = run("const m = await import('persona-steer'); console.log(JSON.stringify(Object.keys(m).filter((k) => k !== 'default').sort()))", 'module');
  t.equal(cjs.status, 0, cjs.stderr);
  t.equal(esm.status, 0, esm.stderr);
  const names = JSON.parse(cjs.stdout);
  t.same(JSON.parse(esm.stdout), names.filter((k: string) => k !== '__esModule'));
  for (const n of ['Model', 'Context', 'PersonaSteerError', 'ErrorCodes', 'add', 'clamp', 'ablate', 'PersonaVector', 'readControlVector', 'extractPersonaVector']) {
    t.ok(names.includes(n), `${n} is exported`);
  }
});

t.test('import and require share one module instance', async (t) => {
  const r = run("import { createRequire } from 'node:module'; const req = createRequire(process.cwd() + '/x.js'); const m = await import('persona-steer'); console.log(m.Model === req('persona-steer').Model)", 'module');
  t.equal(r.stdout.trim(), 'true', r.stderr);
});

t.test('type declarations ship for the entry point', async (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const types = path.join(root, pkg.exports['.'].types);
  t.ok(fs.existsSync(types), `${types} exists`);
  t.match(fs.readFileSync(types, 'utf8'), /Model/);
});
