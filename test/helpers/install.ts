// Packing the library and installing it into a new project, as a user would.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { root } from './models';

/** npm's own CLI script, run with this node (so PATH can leave npm, and compilers, out). */
export function npmCli(): string {
  const candidates = [process.env.npm_execpath, path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js')];
  const found = candidates.find((f) => f && /npm-cli\.js$/.test(f) && fs.existsSync(f));
  if (!found) throw new Error(`npm-cli.js not found (tried ${candidates.filter(Boolean).join(', ')})`);
  return found;
}

/** `node scripts/pack.mjs`: the tarball's path. */
export function pack(out: string, args: string[]): string {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'pack.mjs'), '--out', out, ...args], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pack.mjs ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim().split('\n').pop()!;
}

/** A new, empty project folder (under `parent`) with a package.json. */
export function freshProject(parent: string): string {
  const dir = fs.mkdtempSync(path.join(parent, 'app-'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'fresh-app', version: '1.0.0', private: true }, null, 2));
  return dir;
}

// What a machine without build tools lacks: compilers, assemblers, linkers, CMake, make, Ninja.
const BUILD_TOOL = /^(cc|c\+\+|cpp|gcc|g\+\+|clang|clang\+\+|cmake|ctest|cpack|make|gmake|ninja|ccache|as|ld|nvcc|cl)$|^(x86_64|aarch64|i686)-linux-gnu-|^(gcc|g\+\+|cpp|clang|clang\+\+|ld)[-.]/;

/**
 * A PATH of one folder linking every program of this PATH except the build tools (compilers,
 * linkers, cmake, make, ninja), as on a machine with none installed. npm, sh and node stay.
 */
export function pathWithoutCompilers(dir: string): string {
  const bin = path.join(dir, '.no-build-tools-bin');
  fs.mkdirSync(bin, { recursive: true });
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) {
    let names: string[];
    try { names = fs.readdirSync(d); } catch { continue; }
    for (const name of names) {
      const link = path.join(bin, name);
      if (BUILD_TOOL.test(name) || fs.existsSync(link)) continue;
      try { fs.symlinkSync(path.join(d, name), link); } catch { /* a name seen twice */ }
    }
  }
  return bin;
}

/** Which of the build tools `sh` finds on PATH (the oracle that the PATH really has none). */
export function buildToolsOnPath(pathVar: string): string[] {
  const r = spawnSync('/bin/sh', ['-c', 'for t in cc gcc g++ c++ clang gcc-12 g++-12 x86_64-linux-gnu-gcc cmake make ninja ld; do command -v $t; done; true'],
    { env: { PATH: pathVar }, encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}

export function npmInstall(project: string, tgz: string, env: NodeJS.ProcessEnv): SpawnSyncReturns<string> & { seconds: number } {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [npmCli(), 'install', tgz, '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts'],
    { cwd: project, env, encoding: 'utf8', maxBuffer: 1 << 28, timeout: 1_500_000 });
  return Object.assign(r, { seconds: Number(process.hrtime.bigint() - started) / 1e9 });
}

/**
 * Runs a CommonJS snippet in the project (require('persona-steer') resolves to its node_modules)
 * and parses the JSON it prints last.
 */
export function runInProject<T>(project: string, code: string, env: NodeJS.ProcessEnv): T {
  const r = spawnSync(process.execPath, ['-e', code], { cwd: project, env, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`snippet failed (exit ${r.status ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

/** Runs the installed package's `persona-steer` (node_modules/.bin, as npx does) in the project. */
export function runInstalledCli(project: string, args: string[], env: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  return spawnSync(path.join(project, 'node_modules', '.bin', 'persona-steer'), args, { cwd: project, env, encoding: 'utf8', timeout: 300_000 });
}

/**
 * Starts the installed `persona-steer serve --port 0` in the project and resolves with its URL once
 * it prints "listening on URL"; `stop` ends it (SIGTERM) and resolves with its exit status.
 */
export function serveInstalled(project: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ url: string; stop: () => Promise<number | null> }> {
  const child = spawn(path.join(project, 'node_modules', '.bin', 'persona-steer'), ['serve', '--port', '0', ...args],
    { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const stop = () => { if (child.exitCode === null) child.kill('SIGTERM'); return exit; };
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, stop });
    });
    child.stderr!.on('data', (d: Buffer) => { err += d.toString('utf8'); });
    exit.then((code) => reject(new Error(`serve exited with ${code} before listening: ${err}`)));
  });
}

/** Environment for a child: this one without npm's per-script variables (they name the repository). */
export function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_(lifecycle|package|config_(prefix|local_prefix|globalconfig))|^INIT_CWD$|^PERSONA_STEER_(ADDON|BACKEND_DIR)$|^TAP/.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

// x86-64 CPU variants of GGML_CPU_ALL_VARIANTS (ggml/src/CMakeLists.txt) with the features each
// requires, and ggml's score weights (ggml-cpu/arch/x86/cpu-feats.cpp), written out here from
// those files so the expected choice is computed from /proc/cpuinfo independently of ggml.
const FEATURE_FLAGS: Record<string, { flags: string[]; weight: number }> = {
  FMA: { flags: ['fma'], weight: 1 },
  F16C: { flags: ['f16c'], weight: 1 << 1 },
  SSE42: { flags: ['sse4_2'], weight: 1 << 2 },
  BMI2: { flags: ['bmi2'], weight: 1 << 3 },
  AVX: { flags: ['avx'], weight: 1 << 4 },
  AVX2: { flags: ['avx2'], weight: 1 << 5 },
  AVX_VNNI: { flags: ['avx_vnni'], weight: 1 << 6 },
  AVX512: { flags: ['avx512f', 'avx512cd', 'avx512vl', 'avx512dq', 'avx512bw'], weight: 1 << 7 },
  AVX512_VBMI: { flags: ['avx512vbmi'], weight: 1 << 8 },
  AVX512_BF16: { flags: ['avx512_bf16'], weight: 1 << 9 },
  AVX512_VNNI: { flags: ['avx512_vnni'], weight: 1 << 10 },
  AMX_INT8: { flags: ['amx_int8'], weight: 1 << 11 },
  AMX_TILE: { flags: ['amx_tile'], weight: 0 },
};
export const X86_VARIANTS: Record<string, string[]> = {
  x64: [],
  sse42: ['SSE42'],
  sandybridge: ['SSE42', 'AVX'],
  ivybridge: ['SSE42', 'AVX', 'F16C'],
  piledriver: ['SSE42', 'AVX', 'F16C', 'FMA'],
  haswell: ['SSE42', 'AVX', 'F16C', 'FMA', 'AVX2', 'BMI2'],
  skylakex: ['SSE42', 'AVX', 'F16C', 'FMA', 'AVX2', 'BMI2', 'AVX512'],
  cannonlake: ['SSE42', 'AVX', 'F16C', 'FMA', 'AVX2', 'BMI2', 'AVX512', 'AVX512_VBMI'],
  cascadelake: ['SSE42', 'AVX', 'F16C', 'FMA', 'AVX2', 'BMI2', 'AVX512', 'AVX512_VNNI'],
  icelake: ['SSE42', 'AVX', 'F16C', 'FMA', 'AVX2', 'BMI2', 'AVX512', 'AVX512_VBMI', 'AVX512_VNNI'],
  cooperlake: ['SSE42', 'AVX', 'F16C', 'FMA', 'AVX2', 'BMI2', 'AVX512', 'AVX512_VNNI', 'AVX512_BF16'],
  zen4: ['SSE42', 'AVX', 'F16C', 'FMA', 'AVX2', 'BMI2', 'AVX512', 'AVX512_VBMI', 'AVX512_VNNI', 'AVX512_BF16'],
  alderlake: ['SSE42', 'AVX', 'F16C', 'FMA', 'AVX2', 'BMI2', 'AVX_VNNI'],
  sapphirerapids: ['SSE42', 'AVX', 'F16C', 'FMA', 'AVX2', 'BMI2', 'AVX512', 'AVX512_VBMI', 'AVX512_VNNI', 'AVX512_BF16', 'AMX_TILE', 'AMX_INT8'],
};

/** The variant ggml should choose among `shipped` on this CPU, from /proc/cpuinfo (Linux x64), or null. */
export function expectedX86Variant(shipped: string[]): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return null;
  const line = fs.readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
  const flags = new Set((line ?? '').split(':')[1]?.trim().split(/\s+/) ?? []);
  let best: string | null = null;
  let bestScore = 0;
  for (const v of shipped) {
    const feats = X86_VARIANTS[v];
    if (!feats) continue;
    if (!feats.every((f) => FEATURE_FLAGS[f].flags.every((fl) => flags.has(fl)))) continue;
    const score = 1 + feats.reduce((s, f) => s + FEATURE_FLAGS[f].weight, 0);
    if (score > bestScore) { bestScore = score; best = v; }
  }
  return best;
}
