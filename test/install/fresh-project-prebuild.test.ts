import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  buildToolsOnPath, cleanEnv, expectedX86Variant, freshProject, npmInstall, pack, pathWithoutCompilers, runInProject, runInstalledCli, serveInstalled,
} from '../helpers/install';
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

// What the package leaves out (TypeScript sources, source maps, benchmarks, the toy model's tooling,
// development scripts) must not be what the installed commands need: the demo on the shipped toy
// model and the server with its playground page, run from node_modules/.bin as npx would.
t.test('the installed package holds the built library and the scripts an install runs, not the sources or development tooling', async (t) => {
  const pkg = path.join(project, 'node_modules', 'persona-steer');
  const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.relative(pkg, path.join(d, e.name))]));
  const files = walk(pkg);
  t.same(fs.readdirSync(path.join(pkg, 'scripts')).sort(), ['build-native.mjs', 'install.mjs', 'vendor-llama.mjs']);
  // (vendor/llama.cpp is the pruned llama.cpp tree a source build compiles, as pinned by its lock file.)
  const ours = files.filter((f) => !f.startsWith('vendor/llama.cpp/'));
  t.same(ours.filter((f) => /^(lib|bench|test|web)\/|^dist\/(bench|toy-model)\/|\.(map|py)$/.test(f)), [], 'no sources, maps, benchmarks or toy-model tooling');
  t.ok(files.includes('dist/cli/main.js') && files.includes('models/toy-persona.gguf') && files.includes('dist/web/index.html'));
});

t.test('npx persona-steer demo in the new project steers the shipped toy model: +v pirate, -v plain, capped plain', async (t) => {
  const r = runInstalledCli(project, ['demo', '--questions', '1', '--json'], env);
  t.equal(r.status, 0, r.stderr);
  const d = JSON.parse(r.stdout) as { trait: string; rows: { condition: string; pole: string | null }[] };
  t.equal(d.trait, 'pirate');
  const pole = (prefix: string) => d.rows.filter((x) => x.condition.startsWith(prefix)).map((x) => x.pole);
  t.same(pole('+'), ['pirate'], 'adding the vector gives a pirate answer');
  t.same(pole('-'), ['plain'], 'subtracting it gives a plain answer');
  t.same(pole('"You are a pirate assistant." capped'), ['plain'], 'the cap removes the pushed trait');
});

t.test('npx persona-steer serve in the new project serves the playground page and its assets as built in the repository', async (t) => {
  const server = await serveInstalled(project, ['--threads', '1'], env);
  try {
    const built = path.join(root, 'dist', 'web');
    const page = await fetch(server.url + '/');
    t.equal(page.status, 200);
    const html = await page.text();
    t.equal(html, fs.readFileSync(path.join(built, 'index.html'), 'utf8'), 'the page is the repository build of web/');
    const assets = [...html.matchAll(/(?:src|href)="\.\/([^"]+)"/g)].map((m) => m[1]!);
    t.ok(assets.length >= 2, `the page loads its script and stylesheet (${assets.join(', ')})`);
    for (const a of assets) {
      const r = await fetch(`${server.url}/${a}`);
      t.equal(r.status, 200, a);
      t.ok(Buffer.from(await r.arrayBuffer()).equals(fs.readFileSync(path.join(built, a))), `${a} is the repository's file`);
    }
  } finally {
    t.equal(await server.stop(), 0, 'serve exits 0 on SIGTERM');
  }
});
