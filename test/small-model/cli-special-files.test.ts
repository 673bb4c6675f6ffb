import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, requireBuiltCli } from '../helpers/cli';
import { requireModel, stories260K } from '../helpers/models';
import { kindOf, makeSpecialFiles, releaseFifo } from '../helpers/special-files';
import { spawnSync } from 'node:child_process';

// Every file flag of the CLI with a FIFO (and --pairs with the endless /dev/zero, which used to
// grow to gigabytes): a one-line coded error and a quick exit, never a wait for a writer. The
// library functions behind the flags are tested with every kind of special file in
// test/no-model/regular-files.test.ts; this checks the flags reach them.
requireBuiltCli();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-cli-special-'));
const sf = makeSpecialFiles(dir);
t.teardown(() => { releaseFifo(sf.fifo); fs.rmSync(dir, { recursive: true, force: true }); });
const M = ['--model', requireModel(stories260K), '--threads', '1', '--gpu-layers', '0'];
const pairs = path.join(dir, 'pairs.json');
fs.writeFileSync(pairs, JSON.stringify({ trait: 't', samples: [{ positive: { prompt: 'a', response: 'b' }, negative: { prompt: 'c', response: 'd' } }] }));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input: '', timeout: 60_000 });
  return { status: r.status, signal: r.signal, stderr: r.stderr ?? '' };
}

const CASES: [string, string[], string, RegExp][] = [
  ['inspect FILE', ['inspect', sf.fifo], 'ERR_BAD_FILE', /control-vector file .*fifo is a FIFO \(named pipe\), not a regular file/],
  ['generate --add', ['generate', ...M, '-p', 'x', '--add', sf.fifo], 'ERR_BAD_FILE', /control-vector file .*fifo is a FIFO/],
  ['extract --pairs', ['extract', ...M, '--pairs', sf.fifo, '--out', path.join(dir, 'o.gguf')], 'ERR_BAD_FILE', /fifo is a FIFO/],
  ['extract --pairs /dev/zero', ['extract', ...M, '--pairs', '/dev/zero', '--out', path.join(dir, 'o.gguf')], 'ERR_BAD_FILE', /\/dev\/zero is a character device/],
  ['extract --spec', ['extract', ...M, '--spec', sf.fifo, '--out', path.join(dir, 'o.gguf')], 'ERR_BAD_SPEC', /fifo is a FIFO/],
  ['extract --judge', ['extract', ...M, '--pairs', pairs, '--judge', sf.fifo, '--out', path.join(dir, 'o.gguf')], 'ERR_BAD_FILE', /judge module .*fifo is a FIFO/],
  ['extract --out', ['extract', ...M, '--pairs', pairs, '--out', sf.fifo], 'ERR_BAD_FILE', /fifo is a FIFO \(named pipe\); only a regular file is replaced/],
  ['extract --plot', ['extract', ...M, '--pairs', pairs, '--out', path.join(dir, 'o.gguf'), '--plot', sf.directory], 'ERR_BAD_FILE', /a-directory is a directory; only a regular file is replaced/],
  ['monitor --dataset', ['monitor', ...M, '--vector', sf.fifo, '--dataset', sf.fifo], 'ERR_BAD_FILE', /fifo is a FIFO/],
  ['generate --model', ['generate', '--model', sf.fifo, '-p', 'x'], 'ERR_MODEL_LOAD', /fifo is a FIFO/],
];

for (const [name, args, code, message] of CASES) {
  t.test(`${name} with a special file: ${code}, one line, no wait`, async (t) => {
    const r = run(args);
    t.equal(r.signal, null, `ended by itself (${r.signal ?? 'exit'})`);
    t.equal(r.status, 1);
    t.match(r.stderr, new RegExp(`^persona-steer \\w+: ${code}: `));
    t.match(r.stderr, message);
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    t.equal(kindOf(sf.fifo), 'fifo', 'the FIFO is still a FIFO');
  });
}
