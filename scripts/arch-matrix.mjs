#!/usr/bin/env node
// The architecture matrix (test/native/arch_models.hpp): writes its tiny random-weight models
// (persona_steer_make_models, cached while the specs are unchanged), runs the native checks
// against llama.cpp's l_out-<il> (persona_steer_arch_test), and compares the support table that
// run prints with the one in docs/hooks.md.
//   node scripts/arch-matrix.mjs                  run the checks (TAP on stdout)
//   node scripts/arch-matrix.mjs --write-docs     run them, then put this run's table into docs/hooks.md
// Both programs are built by `npm run build:native` in a development checkout.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const docPath = path.join(root, 'docs', 'hooks.md');
const BEGIN = '<!-- arch-table:begin (node scripts/arch-matrix.mjs --write-docs) -->';
const END = '<!-- arch-table:end -->';

export function nativeBin(name) {
  return ['build', 'build-native-tests'].map((d) => path.join(root, d, 'test', 'native', name)).find((f) => fs.existsSync(f));
}

function docTable() {
  const doc = fs.readFileSync(docPath, 'utf8');
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  return a < 0 || b < a ? null : doc.slice(a + BEGIN.length, b).trim();
}

/** Runs the matrix. Returns null when the programs are not built. */
export function runArchMatrix(vocab) {
  const make = nativeBin('persona_steer_make_models');
  const check = nativeBin('persona_steer_arch_test');
  if (!make || !check) return null;
  const dir = path.join(path.dirname(make), 'arch-models');
  const gen = spawnSync(make, [dir, vocab], { encoding: 'utf8', timeout: 600_000 });
  if (gen.status !== 0) {
    return { stdout: `not ok - persona_steer_make_models wrote the matrix's models\n${gen.stderr ?? ''}`, status: 1, table: null };
  }
  const tableFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'arch-')), 'table.md');
  const r = spawnSync(check, [dir, '--table', tableFile], { encoding: 'utf8', timeout: 600_000 });
  const table = fs.existsSync(tableFile) ? fs.readFileSync(tableFile, 'utf8').trim() : null;
  fs.rmSync(path.dirname(tableFile), { recursive: true, force: true });
  return { stdout: (r.stdout ?? '') + (r.stderr ?? ''), status: r.status, table, docsMatch: table !== null && table === docTable() };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const vocab = path.resolve(root, '..', 'shared', 'models', 'stories260K.gguf');
  const r = runArchMatrix(process.env.PERSONA_STEER_MODELS ? path.join(process.env.PERSONA_STEER_MODELS, 'stories260K.gguf') : vocab);
  if (!r) { console.error('the matrix programs are not built: npm run build:native (a development checkout builds test/native)'); process.exit(2); }
  process.stdout.write(r.stdout);
  if (process.argv.includes('--write-docs')) {
    if (r.status !== 0 || !r.table) { console.error('checks failed: docs/hooks.md left as it was'); process.exit(1); }
    const doc = fs.readFileSync(docPath, 'utf8');
    const a = doc.indexOf(BEGIN);
    const b = doc.indexOf(END);
    if (a < 0 || b < a) { console.error(`docs/hooks.md has no ${BEGIN} ... ${END} section`); process.exit(1); }
    fs.writeFileSync(docPath, `${doc.slice(0, a + BEGIN.length)}\n${r.table}\n${doc.slice(b)}`);
    console.log('docs/hooks.md: support table written');
  } else if (!r.docsMatch) {
    console.log('# docs/hooks.md support table differs from this run: node scripts/arch-matrix.mjs --write-docs');
  }
  process.exit(r.status === 0 ? 0 : 1);
}
