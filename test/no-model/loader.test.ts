import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addonCandidates, loadAddon } from '../../lib/native';

t.test('the loader looks at an override, then prebuilds for this platform, then the local build', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-loader-'));
  const pre = path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`);
  fs.mkdirSync(pre, { recursive: true });
  fs.writeFileSync(path.join(pre, 'persona-steer.napi.node'), '');
  const list = addonCandidates(dir, { PERSONA_STEER_ADDON: '/somewhere/custom.node' });
  t.same(list, ['/somewhere/custom.node', path.join(pre, 'persona-steer.napi.node'), path.join(dir, 'build', 'Release', 'persona_steer.node')]);
});

t.test('when no addon loads, the error says what was tried and how to build', async (t) => {
  const err = (() => { try { loadAddon(['/nonexistent/a.node', '/nonexistent/b.node']); return null; } catch (e) { return e as { code: string; message: string }; } })();
  t.ok(err);
  t.equal(err!.code, 'ERR_NATIVE_LOAD');
  t.match(err!.message, '/nonexistent/a.node (missing)');
  t.match(err!.message, '/nonexistent/b.node (missing)');
  t.match(err!.message, /npm run build:native/);
  t.match(err!.message, /npm rebuild persona-steer/, 'the command that works in a project that installed the package');
  t.match(err!.message, new RegExp(`${process.platform}-${process.arch}`));
});

t.test('a corrupt addon file is reported with ERR_NATIVE_LOAD naming the file and the reason', async (t) => {
  const bogus = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ps-loader-')), 'bogus.node');
  fs.writeFileSync(bogus, 'not a shared object');
  t.throws(() => loadAddon([bogus]), { code: 'ERR_NATIVE_LOAD', message: new RegExp(`${bogus.replace(/[.]/g, '\\.')} \\(.*(invalid ELF|too short|not a|header).*\\)`) });
});

t.test('an addon folder whose CPU backend libraries are missing is refused with ERR_NATIVE_LOAD naming the reason', { skip: process.platform === 'linux' ? false : 'copies the Linux build' }, async (t) => {
  const built = path.join(__dirname, '..', '..', 'build', 'Release');
  const files = fs.existsSync(built) ? fs.readdirSync(built) : [];
  if (!files.some((f) => /ggml-cpu/.test(f))) { t.fail(`${built} is not a dynamically loaded build`); return; }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-loader-nocpu-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const f of files.filter((n) => /\.(node|so)$/.test(n) && !/ggml-cpu/.test(n))) fs.copyFileSync(path.join(built, f), path.join(dir, f));
  // In a child: a loaded addon stays loaded for the process.
  const code = `const { loadAddon } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'dist', 'native.js'))});
    const a = loadAddon([${JSON.stringify(path.join(dir, 'persona_steer.node'))}]);`;
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: { ...process.env, PERSONA_STEER_BACKEND_DIR: '' } });
  t.not(r.status, 0);
  t.match(r.stderr, /ERR_NATIVE_LOAD/);
  t.match(r.stderr, /no CPU backend library in .* loads on this CPU/);
});
