import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildToolsOnPath, cleanEnv, expectedX86Variant, freshProject, npmInstall, pack, pathWithoutCompilers, runInProject } from '../helpers/install';
import { requireModel, root, stories260K } from '../helpers/models';

// The package as npm would publish it, with the linux-x64 (or this platform's) prebuild made from
// the development build folder, installed into a new project on a PATH with no compiler.
// Known from an independent numpy forward pass of stories260K (see ../shared/models/README.md).
const EXPECTED = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-install-'));
t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));

let tgz = '';
let project = '';
let install: ReturnType<typeof npmInstall>;
let env: NodeJS.ProcessEnv;

// A checkout with prebuilds/ for this platform (the release workflow's) packs those, as `npm pack`
// does; a development checkout packs its build/ folder as the prebuild.
const shipped = fs.existsSync(path.join(root, 'prebuilds', `${process.platform}-${process.arch}`));

t.before(() => {
  tgz = pack(work, shipped ? [] : ['--prebuild-from', 'build']);
  project = freshProject(work);
  env = cleanEnv({ PATH: pathWithoutCompilers(work) });
  install = npmInstall(project, tgz, env);
});

t.test('the PATH the install runs with has no C/C++ compiler, cmake, make or ninja', async (t) => {
  t.same(buildToolsOnPath(env.PATH!), []);
});

t.test('npm install of the packed tarball in a new project succeeds in under a minute without compiling', async (t) => {
  t.equal(install.status, 0, install.stderr.slice(-4000));
  t.ok(install.seconds < 60, `installed in ${install.seconds.toFixed(1)} s`);
  t.match(install.stderr + install.stdout, /using prebuild prebuilds\/[a-z0-9]+-[a-z0-9]+\/persona_steer\.node/);
  t.notOk(fs.existsSync(path.join(project, 'node_modules', 'persona-steer', 'build')), 'no build/ folder: nothing was compiled');
  t.comment(`install: ${install.seconds.toFixed(1)} s, tarball ${(fs.statSync(tgz).size / 1048576).toFixed(1)} MiB`);
});

t.test('the installed package loads its prebuild and generates the known stories260K opening', async (t) => {
  const model = requireModel(stories260K);
  const out = runInProject<{ text: string; addonPath: string; cpuVariant: string | null; dynamicBackends: boolean }>(project, `
    const ps = require('persona-steer');
    (async () => {
      const s = ps.systemInfo();
      const m = await ps.Model.load(${JSON.stringify(model)});
      const c = await m.createContext({ contextSize: 256, threads: 2 });
      const r = await c.complete([m.info.bosToken], { greedy: true, maxTokens: 40 });
      await c.dispose(); m.dispose();
      console.log(JSON.stringify({ text: r.text, addonPath: s.addonPath, cpuVariant: s.cpuVariant, dynamicBackends: s.dynamicBackends }));
    })();`, env);
  const prebuildDir = path.join(project, 'node_modules', 'persona-steer', 'prebuilds', `${process.platform}-${process.arch}`);
  t.equal(fs.realpathSync(path.dirname(out.addonPath)), fs.realpathSync(prebuildDir), 'the addon came from the prebuild');
  t.ok(out.dynamicBackends);
  t.ok(out.text.trimStart().startsWith(EXPECTED), `text was ${JSON.stringify(out.text)}`);
});

t.test('the prebuild chooses the best CPU variant it ships for this CPU (per /proc/cpuinfo)', { skip: process.platform !== 'linux' || process.arch !== 'x64' ? 'the oracle reads /proc/cpuinfo on linux-x64' : false }, async (t) => {
  const prebuildDir = path.join(project, 'node_modules', 'persona-steer', 'prebuilds', `${process.platform}-${process.arch}`);
  const manifest = JSON.parse(fs.readFileSync(path.join(prebuildDir, 'prebuild.json'), 'utf8')) as { cpuVariants: string[] };
  const out = runInProject<{ cpuVariant: string; library: string }>(project,
    "const s = require('persona-steer').systemInfo(); const cpu = s.backends.find((b) => b.name === 'CPU'); console.log(JSON.stringify({ cpuVariant: s.cpuVariant, library: cpu.library }))", env);
  const want = manifest.cpuVariants.includes('portable') ? 'portable' : expectedX86Variant(manifest.cpuVariants);
  t.equal(out.cpuVariant, want, `shipped ${manifest.cpuVariants.join(', ')}`);
  t.equal(path.dirname(out.library), path.dirname(fs.realpathSync(path.join(prebuildDir, 'persona_steer.node'))), 'the CPU library sits beside the addon');
});
