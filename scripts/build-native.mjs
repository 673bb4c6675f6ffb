#!/usr/bin/env node
// Builds the addon (ggml + libllama + native/) with cmake-js into build/Release/: persona_steer.node
// and, in the default dynamically loaded layout, libllama/libggml* and the backend libraries.
// Backends come from the environment (docs/building.md):
//   PERSONA_STEER_CUDA=1  PERSONA_STEER_METAL=1  PERSONA_STEER_NATIVE_CPU=1  PERSONA_STEER_RPC=1  LLAMA_CPP_DIR=/path
//   PERSONA_STEER_CPU_VARIANTS=all|x64,haswell,zen4   CPU backend variants (default: one portable library)
//   PERSONA_STEER_BACKEND_DL=0        one static .node instead (the layout before dynamic backends)
//   PERSONA_STEER_CMAKE_ARGS="-DCMAKE_CUDA_ARCHITECTURES=90 ..."   extra CMake arguments
//   PERSONA_STEER_BUILD_DIR=build-x   another build folder (default: build)
//   PERSONA_STEER_CCACHE=0            do not use ccache even when it is on PATH
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');

const flag = (name) => ['1', 'on', 'true', 'yes'].includes(String(process.env[name] ?? '').toLowerCase());
const defs = {
  PERSONA_STEER_CUDA: flag('PERSONA_STEER_CUDA') ? 'ON' : 'OFF',
  PERSONA_STEER_METAL: flag('PERSONA_STEER_METAL') || (process.platform === 'darwin' && process.env.PERSONA_STEER_METAL !== '0') ? 'ON' : 'OFF',
  PERSONA_STEER_NATIVE_CPU: flag('PERSONA_STEER_NATIVE_CPU') ? 'ON' : 'OFF',
  PERSONA_STEER_RPC: flag('PERSONA_STEER_RPC') ? 'ON' : 'OFF',
  PERSONA_STEER_BACKEND_DL: ['0', 'off', 'false', 'no'].includes(String(process.env.PERSONA_STEER_BACKEND_DL ?? '').toLowerCase()) ? 'OFF' : 'ON',
  PERSONA_STEER_CPU_VARIANTS: (process.env.PERSONA_STEER_CPU_VARIANTS ?? '').trim().replace(/[\s,;]+/g, ';'),
  // A development checkout (test/ is not in the npm package) also builds the native hook tests.
  PERSONA_STEER_NATIVE_TESTS: process.env.PERSONA_STEER_NATIVE_TESTS === '0' ? 'OFF'
    : fs.existsSync(path.join(root, 'test', 'native', 'CMakeLists.txt')) ? 'ON' : 'OFF',
};
if (process.env.LLAMA_CPP_DIR) defs.LLAMA_CPP_DIR = path.resolve(process.env.LLAMA_CPP_DIR);

// ccache, when installed, makes a rebuild (another build folder, a reinstall in a new project) take
// seconds. Paths are hashed relative to the package root, so copies of the package share entries.
const env = { ...process.env };
const ccache = process.env.PERSONA_STEER_CCACHE !== '0' && !process.env.CMAKE_CXX_COMPILER_LAUNCHER
  && spawnSync('ccache', ['--version'], { stdio: 'ignore' }).status === 0;
if (ccache) {
  defs.CMAKE_C_COMPILER_LAUNCHER = 'ccache';
  defs.CMAKE_CXX_COMPILER_LAUNCHER = 'ccache';
  env.CCACHE_BASEDIR ??= root;
  env.CCACHE_NOHASHDIR ??= '1';
}

// Under node-gyp (binding.gyp) the CMake build lives in build-gyp/, which `node-gyp rebuild`'s
// clean step does not delete, and the result is copied to build/Release where node-gyp and
// prebuildify expect it.
const viaGyp = process.argv.includes('--gyp');
const outDir = viaGyp ? 'build-gyp' : (process.env.PERSONA_STEER_BUILD_DIR || 'build');
// configure every time (cheap), so a changed variable reaches an existing build folder; cmake-js's
// `build` alone only configures a folder that has never been configured.
const common = ['--directory', root, '--out', outDir];
const configure = [cmakeJs, 'configure', ...common];
for (const [k, v] of Object.entries(defs)) configure.push(`--CD${k}=${v}`);
for (const extra of (process.env.PERSONA_STEER_CMAKE_ARGS ?? '').split(/\s+/).filter(Boolean)) {
  const m = /^-D([^=]+)=(.*)$/.exec(extra);
  if (!m) { console.error(`PERSONA_STEER_CMAKE_ARGS: expected -DNAME=VALUE, got ${extra}`); process.exit(2); }
  configure.push(`--CD${m[1]}=${m[2]}`);
}
const build = [cmakeJs, 'build', ...common, '--parallel', String(Math.max(1, os.availableParallelism?.() ?? os.cpus().length))];
const started = Date.now();
for (const args of [configure, build]) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error('persona-steer: the native build failed. docs/building.md lists what it needs (cmake >= 3.19, a C++17 compiler).');
    process.exit(r.status ?? 1);
  }
}
if (viaGyp) {
  // The addon and, in a dynamically loaded build, the libraries beside it.
  fs.mkdirSync(path.join(root, 'build', 'Release'), { recursive: true });
  for (const f of fs.readdirSync(path.join(root, outDir, 'Release'))) {
    if (/\.(node|so|dylib|dll)$/.test(f)) fs.copyFileSync(path.join(root, outDir, 'Release', f), path.join(root, 'build', 'Release', f));
  }
}
console.error(`persona-steer: native build finished in ${((Date.now() - started) / 1000).toFixed(0)} s`);
