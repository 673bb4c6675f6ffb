#!/usr/bin/env node
// `npm install` hook. A matching prebuild that loads needs nothing else; otherwise vendor the
// pinned llama.cpp (skipped when the package already ships it, or with LLAMA_CPP_DIR) and build
// the addon from source. PERSONA_STEER_FROM_SOURCE=1 always builds.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (m) => process.stderr.write(`[persona-steer] ${m}\n`);

function prebuildLoads() {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  if (!fs.existsSync(dir)) return false;
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.node'))) {
    // In a child process: a prebuild that crashes on load must not take the install down.
    const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(dir, f))})`], { stdio: 'ignore' });
    if (r.status === 0) { log(`using prebuild ${path.relative(root, path.join(dir, f))}`); return true; }
  }
  return false;
}

function run(script) {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', script)], { cwd: root, stdio: 'inherit', env: process.env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (process.env.PERSONA_STEER_FROM_SOURCE !== '1' && prebuildLoads()) process.exit(0);
run('vendor-llama.mjs');
run('build-native.mjs');
