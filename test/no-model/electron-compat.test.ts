import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addonCandidates, unpackedPath } from '../../lib/native';
import { systemInfo } from '../../lib/system';

// What Electron needs of a native addon, checked on the addon this checkout loads: it imports
// nothing from the host process but Node-API (no V8, libuv or node:: symbols, whose ABI differs in
// Electron), creates no external ArrayBuffers (Electron's V8 memory cage forbids them), and it and
// its libraries load from app.asar.unpacked. Several environments in one process (worker threads)
// are covered in test/small-model/reliability-lifecycle.test.ts.

const linux = process.platform === 'linux';

function dynamicSymbols(file: string, which: '--undefined-only' | '--defined-only'): string[] {
  const r = spawnSync('nm', ['-D', which, file], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`nm -D ${which} ${file} failed (binutils' nm is needed): ${r.stderr || r.error}`);
  return r.stdout.split('\n').map((l) => l.trim().split(/\s+/).pop() ?? '').filter(Boolean);
}

t.test('the addon imports only Node-API symbols from the host process; the rest comes from the libraries it links or versioned system ones', { skip: linux ? false : 'reads ELF symbol tables' }, async (t) => {
  const info = systemInfo();
  const dir = path.dirname(info.addonPath);
  const own = new Set<string>();
  // Only the libraries it links (libllama, libggml, libggml-base): backend libraries are loaded by
  // ggml at run time, and a symbol only they define would fail when first called.
  const linked = fs.readdirSync(dir).filter((n) => /\.so$/.test(n) && !/^libggml-(cpu|cuda|metal|rpc|blas|vulkan|hip|sycl|opencl)/.test(n));
  for (const f of linked) for (const s of dynamicSymbols(path.join(dir, f), '--defined-only')) own.add(s.split('@')[0]);
  const imports = dynamicSymbols(info.addonPath, '--undefined-only');
  // Versioned names (memcpy@GLIBC_2.14, ...@GLIBCXX_3.4, ...@CXXABI_1.3) come from libc/libstdc++;
  // weak toolchain hooks are optional.
  const fromHost = imports.filter((s) => !s.includes('@') && !own.has(s) && !/^(_ITM_|__gmon_start__|__cxa_finalize)/.test(s));
  t.ok(imports.length > 50, `${imports.length} imported symbols read`);
  t.same(fromHost.filter((s) => !/^(napi_|node_api_)/.test(s)), [], 'no V8, libuv or node:: symbols');
  t.ok(fromHost.some((s) => s.startsWith('napi_')), 'it does use Node-API');
});

t.test('the addon creates no external ArrayBuffers or Buffers (forbidden by Electron\'s V8 memory cage)', { skip: linux ? false : 'reads ELF symbol tables' }, async (t) => {
  const imports = dynamicSymbols(systemInfo().addonPath, '--undefined-only');
  t.same(imports.filter((s) => /^napi_create_external_(arraybuffer|buffer)$/.test(s)), []);
});

t.test('inside an asar archive the loader looks in app.asar.unpacked, for the prebuild and the local build', async (t) => {
  const root = path.join('/opt', 'MyApp', 'resources', 'app.asar', 'node_modules', 'persona-steer');
  const list = addonCandidates(root, {});
  const unpacked = path.join('/opt', 'MyApp', 'resources', 'app.asar.unpacked', 'node_modules', 'persona-steer');
  t.ok(list.length > 0);
  for (const f of list) t.ok(f.startsWith(unpacked + path.sep), f);
  t.equal(list[list.length - 1], path.join(unpacked, 'build', 'Release', 'persona_steer.node'));
  t.equal(unpackedPath('C:\\App\\resources\\app.asar\\node_modules\\x'), 'C:\\App\\resources\\app.asar.unpacked\\node_modules\\x');
  t.equal(unpackedPath('/a/app.asar.unpacked/b'), '/a/app.asar.unpacked/b', 'an unpacked path stays as it is');
  t.equal(unpackedPath('/a/myapp.asarx/b'), '/a/myapp.asarx/b', 'only a path segment named app.asar is rewritten');
});

t.test('the addon and its backend libraries load from a folder they were copied to (as when unpacked from an asar)', { skip: linux ? false : 'copies the Linux build' }, async (t) => {
  const info = systemInfo();
  const src = path.dirname(info.addonPath);
  const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-asar-')) + path.sep + 'app.asar.unpacked';
  fs.mkdirSync(dest);
  t.teardown(() => fs.rmSync(path.dirname(dest), { recursive: true, force: true }));
  for (const f of fs.readdirSync(src).filter((n) => /\.(node|so)$/.test(n))) fs.copyFileSync(path.join(src, f), path.join(dest, f));
  const r = spawnSync(process.execPath, ['-e',
    `const s = require(${JSON.stringify(path.join(dest, path.basename(info.addonPath)))}).systemInfo(); console.log(JSON.stringify(s.backends.map((b) => [b.name, b.library])))`],
    { encoding: 'utf8', env: { ...process.env, PERSONA_STEER_BACKEND_DIR: '' } });
  t.equal(r.status, 0, r.stderr);
  const backends = JSON.parse(r.stdout) as [string, string | null][];
  t.ok(backends.some(([name]) => name === 'CPU'), 'a CPU backend was found');
  if (info.dynamicBackends) for (const [name, lib] of backends) t.ok(lib?.startsWith(dest + path.sep), `${name} loaded from the copy: ${lib}`);
});
