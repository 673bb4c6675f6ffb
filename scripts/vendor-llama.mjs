#!/usr/bin/env node
// Fetches the pinned llama.cpp from the npm registry into vendor/llama.cpp, prunes it to what
// libllama needs and applies vendor/patches. Idempotent: a finished tree carries a stamp that
// matches vendor/llama.lock.json, and then nothing is fetched (offline once done).
//
//   node scripts/vendor-llama.mjs            fetch / prune / patch as needed
//   node scripts/vendor-llama.mjs --check    exit 1 unless the tree matches the lock file
//   node scripts/vendor-llama.mjs --force    rebuild the tree from scratch
//   node scripts/vendor-llama.mjs --write-lock   record the pruned tree hash and patch hashes
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const lockPath = path.join(root, 'vendor', 'llama.lock.json');
const patchDir = path.join(root, 'vendor', 'patches');
const dest = path.join(root, 'vendor', 'llama.cpp');
const cacheDir = path.join(root, 'vendor', '.cache');
const stampName = '.persona-steer-vendor.json';

const args = new Set(process.argv.slice(2));
const log = (msg) => process.stderr.write(`[vendor-llama] ${msg}\n`);

function run(cmd, argv, opts = {}) {
  return execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30, ...opts });
}
function git(cwd, argv, opts = {}) {
  // An isolated identity so commits work on machines with no git config.
  return run('git', ['-c', 'user.name=persona-steer', '-c', 'user.email=vendor@persona-steer.invalid',
    '-c', 'core.autocrlf=false', '-c', 'commit.gpgsign=false', ...argv], { cwd, ...opts });
}
function sha256File(file) {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}
function sriOf(file) {
  return 'sha512-' + createHash('sha512').update(fs.readFileSync(file)).digest('base64');
}

const lock = JSON.parse(fs.readFileSync(lockPath, 'utf8'));

function patchList() {
  return fs.readdirSync(patchDir).filter((f) => f.endsWith('.patch')).sort()
    .map((file) => ({ file, sha256: sha256File(path.join(patchDir, file)) }));
}

function wantedStamp() {
  return { commit: lock.llamaCpp.commit, prunedTree: lock.prunedTree, patches: patchList() };
}

function readStamp() {
  try { return JSON.parse(fs.readFileSync(path.join(dest, stampName), 'utf8')); } catch { return null; }
}

function stampMatches() {
  const have = readStamp();
  return have !== null && JSON.stringify(have) === JSON.stringify(wantedStamp());
}

function fetchTarball() {
  fs.mkdirSync(cacheDir, { recursive: true });
  const { npmPackage, version, integrity } = lock.source;
  const tgz = path.join(cacheDir, `${npmPackage}-${version}.tgz`);
  if (!fs.existsSync(tgz) || sriOf(tgz) !== integrity) {
    log(`downloading ${npmPackage}@${version} from the npm registry`);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    run(npm, ['pack', `${npmPackage}@${version}`, '--pack-destination', cacheDir, '--silent'],
      { shell: process.platform === 'win32' });
  }
  const got = sriOf(tgz);
  if (got !== integrity) {
    throw new Error(`integrity mismatch for ${tgz}: expected ${integrity}, got ${got}`);
  }
  return tgz;
}

function extractBundle(tgz) {
  const out = path.join(cacheDir, 'bundle');
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  run('tar', ['-xzf', tgz, '-C', out, lock.source.bundlePath]);
  return path.join(out, lock.source.bundlePath);
}

// git archive of the kept paths only: the 207 MB checkout never touches the disk.
function checkoutPruned(bundle) {
  const bare = path.join(cacheDir, 'repo.git');
  fs.rmSync(bare, { recursive: true, force: true });
  git(cacheDir, ['init', '-q', '--bare', bare]);
  git(bare, ['fetch', '-q', bundle, 'HEAD']);
  const head = git(bare, ['rev-parse', 'FETCH_HEAD']).toString().trim();
  if (head !== lock.llamaCpp.commit) {
    throw new Error(`bundle holds ${head}, the lock file pins ${lock.llamaCpp.commit}`);
  }
  const tar = path.join(cacheDir, 'pruned.tar');
  git(bare, ['archive', '--format=tar', '-o', tar, head, '--', ...lock.keep]);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  run('tar', ['-xf', tar, '-C', dest]);
  // The top-level CMakeLists always adds vendor/, which libllama does not link.
  fs.mkdirSync(path.join(dest, 'vendor'), { recursive: true });
  fs.writeFileSync(path.join(dest, 'vendor', 'CMakeLists.txt'),
    '# emptied by persona-steer: libllama links nothing from here\n');
  fs.rmSync(tar);
  fs.rmSync(bare, { recursive: true, force: true });
  fs.rmSync(path.dirname(path.dirname(bundle)), { recursive: true, force: true });
}

// The pruned tree becomes its own git repository so patches apply with --3way and
// `git -C vendor/llama.cpp diff` shows the project's changes.
function commitPristine() {
  git(dest, ['init', '-q']);
  fs.writeFileSync(path.join(dest, '.git', 'info', 'exclude'), `${stampName}\n`);
  git(dest, ['add', '-A']);
  git(dest, ['commit', '-q', '-m', `llama.cpp ${lock.llamaCpp.commit} pruned`]);
  return git(dest, ['rev-parse', 'HEAD^{tree}']).toString().trim();
}

function applyPatches() {
  for (const { file } of patchList()) {
    const p = path.join(patchDir, file);
    let applied = false;
    try { git(dest, ['apply', '--check', '--reverse', p]); applied = true; } catch { /* not applied yet */ }
    if (applied) { log(`${file}: already applied`); continue; }
    git(dest, ['apply', '--3way', '--whitespace=nowarn', p]);
    log(`${file}: applied`);
  }
}

function main() {
  if (process.env.LLAMA_CPP_DIR) {
    log(`LLAMA_CPP_DIR=${process.env.LLAMA_CPP_DIR}: using that checkout, nothing vendored`);
    return;
  }
  if (args.has('--check')) {
    if (!stampMatches()) { log('vendor/llama.cpp does not match vendor/llama.lock.json'); process.exit(1); }
    log('vendor/llama.cpp matches the lock file');
    return;
  }
  if (!args.has('--force') && !args.has('--write-lock') && stampMatches()) {
    log('vendor/llama.cpp is up to date');
    return;
  }
  const havePristine = !args.has('--force') && fs.existsSync(path.join(dest, '.git'))
    && readStamp()?.commit === lock.llamaCpp.commit;
  if (havePristine) {
    // Patches changed: go back to the pristine commit, then apply the current set.
    git(dest, ['reset', '-q', '--hard', 'HEAD']);
    git(dest, ['clean', '-q', '-fdx', '-e', stampName]);
  } else {
    const tgz = fetchTarball();
    const bundle = extractBundle(tgz);
    checkoutPruned(bundle);
    const tree = commitPristine();
    if (lock.prunedTree !== null && lock.prunedTree !== tree && !args.has('--write-lock')) {
      throw new Error(`pruned tree ${tree} differs from the lock file's ${lock.prunedTree}`);
    }
    lock.prunedTree = tree;
  }
  applyPatches();
  if (args.has('--write-lock')) {
    lock.patches = patchList();
    fs.writeFileSync(lockPath, JSON.stringify(lock, null, 2) + '\n');
    log('lock file written');
  } else if (JSON.stringify(lock.patches) !== JSON.stringify(patchList())) {
    throw new Error('vendor/patches differs from the lock file; run with --write-lock after review');
  }
  fs.writeFileSync(path.join(dest, stampName), JSON.stringify(wantedStamp()));
  log(`vendor/llama.cpp ready (${lock.llamaCpp.version}, ${lock.llamaCpp.commit.slice(0, 12)})`);
}

try {
  main();
} catch (err) {
  log(`failed: ${err.message}`);
  if (err.stderr) process.stderr.write(err.stderr);
  process.exit(1);
}
