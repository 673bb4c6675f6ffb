#!/usr/bin/env node
// Optional: builds llama.cpp's `llama-bench` and `llama-batched-bench` from the same pinned llama.cpp
// the addon uses, for the side-by-side comparisons in bench/ (npm run bench -- --cases llama-bench,batched).
//
// The pruned vendor/llama.cpp has no tools/ and no common/. They come from the pinned source bundle
// that scripts/vendor-llama.mjs caches (vendor/.cache/node-llama-cpp-<version>.tgz, which holds
// package/llama/gitRelease.bundle) with `git archive`, into bench/.llama-bench/src (git-ignored).
// libllama and ggml are the vendored, patched tree itself:
//   - by default the static libraries the addon was linked with are reused
//     (build/llama.cpp/{src/libllama.a, ggml/src/libggml*.a}); only common/, cpp-httplib and
//     llama-bench are compiled (~2-3 min on 2 cores);
//   - with --from-source (or when no such libraries exist) vendor/llama.cpp is compiled as well,
//     with the addon's CMake options (GGML_NATIVE=OFF, static, Release; ~4 more minutes).
//
//   node scripts/build-llama-bench.mjs                  build (or say it is up to date)
//   node scripts/build-llama-bench.mjs --libs build-dev  link the libraries of another build folder
//   node scripts/build-llama-bench.mjs --from-source    compile vendor/llama.cpp too
//   node scripts/build-llama-bench.mjs --print-path     print the binary's path (exit 1 if none)
//   node scripts/build-llama-bench.mjs --configure-only run CMake's configure step only
//   node scripts/build-llama-bench.mjs --server         build llama.cpp's llama-server instead, for
//                                                       npm run bench:server (it also compiles
//                                                       tools/mtmd: ~20 min on 2 busy cores)
//
// The result is bench/.llama-bench/bin/llama-bench and llama-batched-bench, plus
// bench/.llama-bench/bin/llama-bench.json (commit, which libraries, when); with --server,
// bench/.llama-bench/bin/llama-server and llama-server.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = path.join(root, 'bench', '.llama-bench');
const srcDir = path.join(work, 'src');
// One build folder per mode, so switching libraries only relinks (common/ is not compiled again).
let buildDir = path.join(work, 'build');
const binDir = path.join(work, 'bin');
const server = process.argv.includes('--server');
const mainTool = server ? 'llama-server' : 'llama-bench';
const binPath = path.join(binDir, process.platform === 'win32' ? `${mainTool}.exe` : mainTool);
const vendored = path.join(root, 'vendor', 'llama.cpp');
const cacheDir = path.join(root, 'vendor', '.cache');
const lock = JSON.parse(fs.readFileSync(path.join(root, 'vendor', 'llama.lock.json'), 'utf8'));

const argv = process.argv.slice(2);
const has = (f) => argv.includes(f);
const valueOf = (f) => { const i = argv.indexOf(f); return i >= 0 ? argv[i + 1] : undefined; };
const log = (m) => process.stderr.write(`[build-llama-bench] ${m}\n`);

// What llama-bench needs beyond libllama: its own folder, common/, vendor/ (nlohmann, cpp-httplib,
// sheredom ...), the CMake helpers and the license. llama-server also needs tools/mtmd (its
// multimodal library), tools/ui (its web page, built empty here) and that page's script.
// The tools built, with their folders in the bundle.
const TOOLS = server ? { 'llama-server': 'tools/server' } : { 'llama-bench': 'tools/llama-bench', 'llama-batched-bench': 'tools/batched-bench' };
const ARCHIVE_PATHS = ['LICENSE', 'cmake', 'ggml/cmake', 'common', 'vendor', 'tools/llama-bench', 'tools/batched-bench',
  'tools/server', 'tools/mtmd', 'tools/ui', 'scripts/ui-assets.cmake'];

if (has('--print-path')) {
  if (fs.existsSync(binPath)) { process.stdout.write(binPath + '\n'); process.exit(0); }
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30, ...opts });
}

function sri(file) {
  return 'sha512-' + createHash('sha512').update(fs.readFileSync(file)).digest('base64');
}

function findTarball() {
  const { npmPackage, version, integrity } = lock.source;
  const tgz = path.join(cacheDir, `${npmPackage}-${version}.tgz`);
  if (!fs.existsSync(tgz)) {
    log(`${path.relative(root, tgz)} is missing; fetching it with npm pack (once)`);
    fs.mkdirSync(cacheDir, { recursive: true });
    run(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['pack', `${npmPackage}@${version}`, '--pack-destination', cacheDir, '--silent'],
      { shell: process.platform === 'win32' });
  }
  if (sri(tgz) !== integrity) throw new Error(`integrity mismatch for ${tgz}`);
  return tgz;
}

function extractSources() {
  const stamp = path.join(srcDir, '.persona-steer-llama-bench');
  const want = JSON.stringify({ commit: lock.llamaCpp.commit, paths: ARCHIVE_PATHS });
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want) return;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llama-bench-src-'));
  try {
    log('extracting tools/, common/ and vendor/ from the pinned source bundle');
    run('tar', ['-xzf', findTarball(), '-C', tmp, lock.source.bundlePath]);
    const bundle = path.join(tmp, lock.source.bundlePath);
    const bare = path.join(tmp, 'repo.git');
    run('git', ['init', '-q', '--bare', bare]);
    run('git', ['fetch', '-q', bundle, 'HEAD'], { cwd: bare });
    const head = run('git', ['rev-parse', 'FETCH_HEAD'], { cwd: bare }).toString().trim();
    if (head !== lock.llamaCpp.commit) throw new Error(`bundle holds ${head}, the lock file pins ${lock.llamaCpp.commit}`);
    const tar = path.join(tmp, 'src.tar');
    run('git', ['archive', '--format=tar', '-o', tar, head, '--', ...ARCHIVE_PATHS], { cwd: bare });
    fs.rmSync(srcDir, { recursive: true, force: true });
    fs.mkdirSync(srcDir, { recursive: true });
    run('tar', ['-xf', tar, '-C', srcDir]);
    fs.writeFileSync(stamp, want);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// The addon's build folder whose static libraries llama-bench links (same objects as the addon).
function findLibs() {
  if (has('--from-source')) return null;
  const candidates = valueOf('--libs') ? [valueOf('--libs')] : ['build', 'build-dev'];
  for (const c of candidates) {
    const dir = path.resolve(root, c, 'llama.cpp');
    const libs = {
      llama: path.join(dir, 'src', 'libllama.a'),
      ggml: path.join(dir, 'ggml', 'src', 'libggml.a'),
      ggmlCpu: path.join(dir, 'ggml', 'src', 'libggml-cpu.a'),
      ggmlBase: path.join(dir, 'ggml', 'src', 'libggml-base.a'),
    };
    if (Object.values(libs).every((f) => fs.existsSync(f))) {
      const cache = fs.readFileSync(path.resolve(root, c, 'CMakeCache.txt'), 'utf8');
      const openmp = /^GGML_OPENMP:BOOL=ON/m.test(cache);
      if (/^GGML_CUDA:BOOL=ON/m.test(cache)) { log(`${c}: a CUDA build; skipping (use --from-source)`); continue; }
      // A shared-library build (the default, GGML_BACKEND_DL) makes no archives: any found are left
      // over from an earlier static build of other objects, so they do not stand for the addon.
      if (/^BUILD_SHARED_LIBS:BOOL=ON/m.test(cache)) { log(`${c}: a shared-library build; its .a files are stale, compiling vendor/llama.cpp`); continue; }
      return { folder: c, openmp, ...libs };
    }
    if (valueOf('--libs')) throw new Error(`${dir} has no libllama.a / libggml*.a`);
  }
  return null;
}

function wrapperCMake(libs) {
  const p = (f) => f.split(path.sep).join('/');
  const head = `# Generated by scripts/build-llama-bench.mjs: llama-bench over persona-steer's vendored llama.cpp.
cmake_minimum_required(VERSION 3.19)
project(persona_steer_llama_bench C CXX)
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
set(BUILD_SHARED_LIBS OFF CACHE BOOL "" FORCE)
set(LLAMA_SUBPROCESS OFF)
set(LLAMA_VERSION_MAJOR 0)
set(LLAMA_VERSION_MINOR 4)
set(LLAMA_VERSION_PATCH 0)
set(LLAMA_VERSION_BASE "0.4.0")
set(LLAMA_BUILD_NUMBER 0)
set(LLAMA_BUILD_COMMIT "${lock.llamaCpp.commit.slice(0, 12)}+persona-steer")
set(BUILD_COMPILER "\${CMAKE_CXX_COMPILER_ID} \${CMAKE_CXX_COMPILER_VERSION}")
set(BUILD_TARGET "\${CMAKE_SYSTEM_NAME} \${CMAKE_SYSTEM_PROCESSOR}")
include(cmake/license.cmake)
include(cmake/common.cmake)
find_package(Threads REQUIRED)
`;
  let llama;
  if (libs) {
    llama = `# libllama and ggml: the static libraries of ${libs.folder}/ (the addon's own objects)
${libs.openmp ? 'find_package(OpenMP REQUIRED)' : ''}
add_library(ggml-base STATIC IMPORTED)
set_target_properties(ggml-base PROPERTIES IMPORTED_LOCATION "${p(libs.ggmlBase)}"
  INTERFACE_INCLUDE_DIRECTORIES "${p(vendored)}/ggml/include" INTERFACE_LINK_LIBRARIES "Threads::Threads;m;dl")
add_library(ggml-cpu STATIC IMPORTED)
set_target_properties(ggml-cpu PROPERTIES IMPORTED_LOCATION "${p(libs.ggmlCpu)}"
  INTERFACE_LINK_LIBRARIES "ggml-base${libs.openmp ? ';OpenMP::OpenMP_CXX;OpenMP::OpenMP_C' : ''}")
add_library(ggml STATIC IMPORTED)
set_target_properties(ggml PROPERTIES IMPORTED_LOCATION "${p(libs.ggml)}"
  INTERFACE_LINK_LIBRARIES "ggml-cpu;ggml-base")
add_library(llama STATIC IMPORTED)
set_target_properties(llama PROPERTIES IMPORTED_LOCATION "${p(libs.llama)}"
  INTERFACE_INCLUDE_DIRECTORIES "${p(vendored)}/include" INTERFACE_LINK_LIBRARIES "ggml")
`;
  } else {
    llama = `# libllama and ggml: compiled from vendor/llama.cpp with the addon's options (CMakeLists.txt)
include("${p(root)}/cmake/llama-options.cmake")   # common/ is added below, from the bundle
set(GGML_NATIVE OFF CACHE BOOL "" FORCE)
set(GGML_CUDA OFF CACHE BOOL "" FORCE)
add_subdirectory("${p(vendored)}" llama.cpp EXCLUDE_FROM_ALL)
`;
  }
  const tail = `add_subdirectory(vendor/nlohmann)
add_subdirectory(vendor/sheredom)
add_subdirectory(vendor/cpp-httplib)
add_subdirectory(vendor/hash)
add_subdirectory(vendor/miniaudio)
add_subdirectory(vendor/stb)
add_subdirectory(common)
add_subdirectory(tools/llama-bench)
add_subdirectory(tools/batched-bench)
# llama-server: no web page (nothing is downloaded at build time), no mtmd command-line tools
set(LLAMA_BUILD_UI OFF)
set(LLAMA_USE_PREBUILT_UI OFF)
set(LLAMA_BUILD_TOOLS OFF)
add_subdirectory(tools/mtmd)
add_subdirectory(tools/ui)
add_subdirectory(tools/server)
`;
  return head + llama + tail;
}

function main() {
  if (!fs.existsSync(path.join(vendored, 'include', 'llama.h'))) {
    throw new Error('vendor/llama.cpp is missing: run `node scripts/vendor-llama.mjs` first');
  }
  extractSources();
  const libs = findLibs();
  const cmakeLists = wrapperCMake(libs);
  const listsPath = path.join(srcDir, 'CMakeLists.txt');
  if (!fs.existsSync(listsPath) || fs.readFileSync(listsPath, 'utf8') !== cmakeLists) fs.writeFileSync(listsPath, cmakeLists);
  if (!libs) buildDir = path.join(work, 'build-from-source');
  const started = Date.now();
  const gen = spawnSync('ninja', ['--version'], { stdio: 'ignore' }).status === 0 ? ['-G', 'Ninja'] : [];
  const jobs = String(Math.max(1, os.availableParallelism?.() ?? os.cpus().length));
  log(libs ? `linking the static libraries of ${libs.folder}/` : 'compiling vendor/llama.cpp as well (no reusable static libraries)');
  const steps = [
    ['cmake', ['-S', srcDir, '-B', buildDir, ...gen, '-DCMAKE_BUILD_TYPE=Release', '-DGGML_NATIVE=OFF', '-DLLAMA_FATAL_WARNINGS=OFF']],
    ['cmake', ['--build', buildDir, '--config', 'Release', '--target', ...Object.keys(TOOLS), '--parallel', jobs]],
  ];
  if (has('--configure-only')) steps.pop();
  for (const [cmd, args] of steps) {
    const r = spawnSync(cmd, args, { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status})`);
  }
  if (has('--configure-only')) { log(`configured ${path.relative(root, buildDir)}`); return; }
  fs.mkdirSync(binDir, { recursive: true });
  for (const [tool, dir] of Object.entries(TOOLS)) {
    const built = [path.join(buildDir, 'bin', tool), path.join(buildDir, dir, tool), path.join(buildDir, 'bin', 'Release', `${tool}.exe`)]
      .find((f) => fs.existsSync(f));
    if (!built) throw new Error(`the build finished but no ${tool} binary was found`);
    const dest = path.join(binDir, process.platform === 'win32' ? `${tool}.exe` : tool);
    fs.copyFileSync(built, dest);
    fs.chmodSync(dest, 0o755);
  }
  fs.writeFileSync(path.join(binDir, `${mainTool}.json`), JSON.stringify({
    llamaCppCommit: lock.llamaCpp.commit,
    libraries: libs ? `${libs.folder}/llama.cpp (static, shared with the addon build)` : 'vendor/llama.cpp compiled here',
    builtAt: new Date().toISOString(),
    seconds: Math.round((Date.now() - started) / 1000),
  }, null, 2) + '\n');
  log(`built ${path.relative(root, binPath)} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

try {
  main();
} catch (err) {
  log(`failed: ${err.message}`);
  if (err.stderr) process.stderr.write(err.stderr);
  process.exit(1);
}
