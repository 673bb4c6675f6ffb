#!/usr/bin/env node
// Makes the prebuild for this platform: prebuilds/<platform>-<arch>/ holds persona_steer.node, the
// shared libraries it links (libllama, libggml, libggml-base) and every backend library (one CPU
// library per instruction-set level; CUDA or Metal when built), stripped, plus prebuild.json
// (what was built, from which llama.cpp, with each file's sha256). The loader (lib/native.ts)
// prefers it to build/Release; `npm pack` ships it.
//
//   npm run prebuild                          build into build-prebuild/ with every CPU variant, then copy
//   node scripts/prebuild.mjs --from build    copy an existing build folder's Release/ (no compiling)
//   node scripts/prebuild.mjs --out DIR       write DIR/<platform>-<arch> instead of prebuilds/
//
// The build is scripts/build-native.mjs with PERSONA_STEER_CPU_VARIANTS=all (override it in the
// environment, e.g. "x64,haswell,zen4"), no native test programs (unless PERSONA_STEER_NATIVE_TESTS=1),
// and whatever backends the
// environment asks for (PERSONA_STEER_CUDA=1 in the release workflow; Metal by default on macOS).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const valueOf = (f) => { const i = argv.indexOf(f); return i >= 0 ? argv[i + 1] : undefined; };
const log = (m) => process.stderr.write(`[prebuild] ${m}\n`);
const target = `${process.platform}-${process.arch}`;
const libPattern = /\.(node|so|dylib|dll)$/;

function fail(msg) {
  log(`failed: ${msg}`);
  process.exit(1);
}

function buildFolder() {
  const from = valueOf('--from');
  if (from) return path.resolve(root, from);
  const dir = 'build-prebuild';
  const env = {
    ...process.env,
    PERSONA_STEER_BUILD_DIR: dir,
    PERSONA_STEER_CPU_VARIANTS: process.env.PERSONA_STEER_CPU_VARIANTS ?? 'all',
    // The release workflow builds the native hook tests too (PERSONA_STEER_NATIVE_TESTS=1), to run
    // them against exactly these libraries.
    PERSONA_STEER_NATIVE_TESTS: process.env.PERSONA_STEER_NATIVE_TESTS === '1' ? '1' : '0',
    PERSONA_STEER_BACKEND_DL: '1',
    // ggml's RPC backend (one small library) ships in every prebuild: docs/distributed.md.
    PERSONA_STEER_RPC: process.env.PERSONA_STEER_RPC ?? '1',
  };
  log(`building ${dir}/ (CPU variants: ${env.PERSONA_STEER_CPU_VARIANTS})`);
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-native.mjs')], { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) fail('the native build failed');
  return path.join(root, dir);
}

function strip(file) {
  // Debug symbols and local symbols go; the dynamic symbol table (what dlopen needs) stays.
  const cmd = process.platform === 'darwin' ? ['strip', ['-x', file]]
    : process.platform === 'linux' ? ['strip', ['--strip-unneeded', file]] : null;
  if (!cmd) return false;
  return spawnSync(cmd[0], cmd[1], { stdio: 'ignore' }).status === 0;
}

function sha256(file) {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

const release = path.join(buildFolder(), 'Release');
if (!fs.existsSync(path.join(release, 'persona_steer.node'))) fail(`${release}/persona_steer.node does not exist`);
const files = fs.readdirSync(release).filter((f) => libPattern.test(f)).sort();
if (!files.some((f) => /ggml-cpu/.test(f))) {
  fail(`${release} has no CPU backend library: it is a static build (PERSONA_STEER_BACKEND_DL=0); prebuilds use dynamically loaded backends`);
}

const outDir = path.join(path.resolve(root, valueOf('--out') ?? 'prebuilds'), target);
fs.rmSync(outDir, { recursive: true, force: true });
fs.mkdirSync(outDir, { recursive: true });
let stripped = 0;
for (const f of files) {
  fs.copyFileSync(path.join(release, f), path.join(outDir, f));
  if (strip(path.join(outDir, f))) stripped++;
}

// What it is, for the loader's error messages and for people: the variants, the backends, the pin.
const lock = JSON.parse(fs.readFileSync(path.join(root, 'vendor', 'llama.lock.json'), 'utf8'));
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const cpuVariants = files.map((f) => /^(?:lib)?ggml-cpu(?:-(.+))?\.(?:so|dll|dylib)$/.exec(f)).filter(Boolean)
  .map((m) => m[1] ?? 'portable');
const backends = [...new Set(files.map((f) => /^(?:lib)?ggml-([a-z]+)/.exec(f)?.[1]).filter((b) => b && b !== 'base'))];
const manifest = {
  package: `${pkg.name}@${pkg.version}`,
  target,
  napiVersion: 8,
  llamaCpp: lock.llamaCpp,
  patches: lock.patches,
  cpuVariants,
  backends,
  builtWith: { node: process.version, at: new Date().toISOString() },
  files: Object.fromEntries(files.map((f) => [f, { bytes: fs.statSync(path.join(outDir, f)).size, sha256: sha256(path.join(outDir, f)) }])),
};
fs.writeFileSync(path.join(outDir, 'prebuild.json'), JSON.stringify(manifest, null, 2) + '\n');

// It must load here, in a process of its own, and find a CPU backend beside it.
const check = spawnSync(process.execPath, ['-e',
  `const a = require(${JSON.stringify(path.join(outDir, 'persona_steer.node'))}); const s = a.systemInfo();` +
  `const cpu = s.backends.find((b) => b.name === 'CPU'); if (!cpu) process.exit(3);` +
  `console.log(cpu.variant + ' ' + s.backends.map((b) => b.name).join(','))`], { encoding: 'utf8' });
if (check.status !== 0) fail(`the prebuild in ${outDir} does not load: ${check.stderr || `exit ${check.status}`}`);
const total = files.reduce((n, f) => n + fs.statSync(path.join(outDir, f)).size, 0);
log(`${path.relative(root, outDir) || outDir}: ${files.length} files, ${(total / 1048576).toFixed(1)} MiB` +
  `${stripped ? ` (${stripped} stripped)` : ''}; CPU variants ${cpuVariants.join(', ')}; loads here, chooses ${check.stdout.trim()}`);
