#!/usr/bin/env node
// `npm install` hook. A matching prebuild that loads, and finds a CPU backend library for this CPU,
// needs nothing else; otherwise vendor the pinned llama.cpp (skipped when the package already
// ships it, or with LLAMA_CPP_DIR) and build the addon from source. PERSONA_STEER_FROM_SOURCE=1
// always builds.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (m) => process.stderr.write(`[persona-steer] ${m}\n`);

function prebuildLoads() {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  if (!fs.existsSync(dir)) { log(`no prebuild for ${process.platform}-${process.arch}`); return false; }
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.node'))) {
    // In a child process: a prebuild that crashes on load must not take the install down.
    const code = `const s = require(${JSON.stringify(path.join(dir, f))}).systemInfo();` +
      "const cpu = s.backends.find((b) => b.name === 'CPU'); if (!cpu) process.exit(3);" +
      "console.log((cpu.variant ?? 'built-in') + ' (' + s.backends.map((b) => b.name).join(', ') + ')')";
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
    if (r.status === 0) {
      log(`using prebuild ${path.relative(root, path.join(dir, f))}: CPU variant ${r.stdout.trim()}`);
      return true;
    }
    log(`prebuild ${path.relative(root, path.join(dir, f))} does not load here (${r.status === 3 ? 'no CPU backend library for this CPU'
      : (r.stderr || '').trim().split('\n')[0] || `exit ${r.status ?? r.signal}`}); building from source`);
  }
  return false;
}

function run(script) {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', script)], { cwd: root, stdio: 'inherit', env: process.env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// An installed package (no test/ folder) keeps only what runs: build/Release. The CMake tree
// (object files, about 30 MB) is left in a development checkout, where it makes rebuilds fast.
function pruneBuildTree() {
  if (fs.existsSync(path.join(root, 'test')) || process.env.PERSONA_STEER_BUILD_DIR) return;
  const build = path.join(root, 'build');
  for (const entry of fs.readdirSync(build)) {
    if (entry !== 'Release') fs.rmSync(path.join(build, entry), { recursive: true, force: true });
  }
}

if (process.env.PERSONA_STEER_FROM_SOURCE !== '1' && prebuildLoads()) process.exit(0);
run('vendor-llama.mjs');
run('build-native.mjs');
pruneBuildTree();
