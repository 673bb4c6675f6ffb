import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleanEnv, freshProject, npmInstall, pack, runInProject } from '../helpers/install';
import { requireModel, stories260K } from '../helpers/models';

// The same package without a prebuild (as on a platform none ships for): npm install builds the
// addon from the shipped, pruned llama.cpp source, as before prebuilds existed. With ccache on PATH
// (as in .ci/run), objects compiled for the development build are reused: the paths are hashed
// relative to the package root (scripts/build-native.mjs).
const EXPECTED = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-install-src-'));
t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));

let project = '';
let install: ReturnType<typeof npmInstall>;
const env = cleanEnv({});

t.before(() => {
  const tgz = pack(work, ['--no-prebuild']);
  project = freshProject(work);
  install = npmInstall(project, tgz, env);
});

t.test('without a matching prebuild, npm install builds the addon from the shipped source', async (t) => {
  t.equal(install.status, 0, install.stderr.slice(-4000));
  t.match(install.stderr + install.stdout, /no prebuild for/);
  t.match(install.stderr + install.stdout, /native build finished/);
  const pkg = path.join(project, 'node_modules', 'persona-steer');
  t.ok(fs.existsSync(path.join(pkg, 'build', 'Release', 'persona_steer.node')));
  t.same(fs.readdirSync(path.join(pkg, 'build')), ['Release'], 'only build/Release is kept in an installed package');
  t.comment(`install with a source build: ${install.seconds.toFixed(0)} s`);
});

t.test('the package built from source loads and generates the known stories260K opening', async (t) => {
  const model = requireModel(stories260K);
  const out = runInProject<{ text: string; addonPath: string; cpuVariant: string | null }>(project, `
    const ps = require('persona-steer');
    (async () => {
      const s = ps.systemInfo();
      const m = await ps.Model.load(${JSON.stringify(model)});
      const c = await m.createContext({ contextSize: 256, threads: 2 });
      const r = await c.complete([m.info.bosToken], { greedy: true, maxTokens: 40 });
      await c.dispose(); m.dispose();
      console.log(JSON.stringify({ text: r.text, addonPath: s.addonPath, cpuVariant: s.cpuVariant }));
    })();`, env);
  t.equal(fs.realpathSync(out.addonPath), fs.realpathSync(path.join(project, 'node_modules', 'persona-steer', 'build', 'Release', 'persona_steer.node')));
  t.equal(out.cpuVariant, 'portable', 'a default source build has one portable CPU library');
  t.ok(out.text.trimStart().startsWith(EXPECTED), `text was ${JSON.stringify(out.text)}`);
});
