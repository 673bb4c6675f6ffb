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
  t.match(err!.message, new RegExp(`${process.platform}-${process.arch}`));
});

t.test('a corrupt addon file is reported with ERR_NATIVE_LOAD naming the file and the reason', async (t) => {
  const bogus = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ps-loader-')), 'bogus.node');
  fs.writeFileSync(bogus, 'not a shared object');
  t.throws(() => loadAddon([bogus]), { code: 'ERR_NATIVE_LOAD', message: new RegExp(`${bogus.replace(/[.]/g, '\\.')} \\(.*(invalid ELF|too short|not a|header).*\\)`) });
});
