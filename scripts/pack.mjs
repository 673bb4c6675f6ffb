#!/usr/bin/env node
// Packs the npm tarball from a staging copy, so the working tree's prebuilds/ is left alone:
// the files `npm pack` would ship (package.json "files"), plus, with --prebuild-from, this
// platform's prebuild made from that build folder (scripts/prebuild.mjs --from), or with
// --no-prebuild, no prebuilds at all. Prints the tarball's path.
//
//   node scripts/pack.mjs --out DIR [--prebuild-from build | --no-prebuild]
//
// The install tests (test/install) use it; a release packs with plain `npm pack` after the
// platform jobs have filled prebuilds/ (.github/workflows/release.yml).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const valueOf = (f) => { const i = argv.indexOf(f); return i >= 0 ? argv[i + 1] : undefined; };
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const out = path.resolve(valueOf('--out') ?? process.cwd());
const prebuildFrom = valueOf('--prebuild-from');
const noPrebuild = argv.includes('--no-prebuild');

const listing = JSON.parse(execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'],
  { cwd: root, encoding: 'utf8', shell: process.platform === 'win32', maxBuffer: 1 << 28 }));
const files = listing[0].files.map((f) => f.path)
  .filter((p) => !((noPrebuild || prebuildFrom) && p.startsWith('prebuilds/')));

const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'persona-steer-pack-'));
try {
  for (const rel of files) {
    fs.mkdirSync(path.dirname(path.join(stage, rel)), { recursive: true });
    fs.copyFileSync(path.join(root, rel), path.join(stage, rel));
  }
  if (prebuildFrom) {
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'prebuild.mjs'), '--from', path.resolve(root, prebuildFrom),
      '--out', path.join(stage, 'prebuilds')], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  fs.mkdirSync(out, { recursive: true });
  const packed = JSON.parse(execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', out],
    { cwd: stage, encoding: 'utf8', shell: process.platform === 'win32', maxBuffer: 1 << 28 }));
  const tgz = path.join(out, packed[0].filename);
  process.stderr.write(`[pack] ${tgz}: ${(fs.statSync(tgz).size / 1048576).toFixed(1)} MiB packed, ` +
    `${(packed[0].unpackedSize / 1048576).toFixed(1)} MiB unpacked, ${packed[0].entryCount} files\n`);
  process.stdout.write(tgz + '\n');
} finally {
  fs.rmSync(stage, { recursive: true, force: true });
}
