import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { benchRunnerPath } from '../../lib/cli/bench';
import { CLI, requireBuiltCli, runCli } from '../helpers/cli';
import { root } from '../helpers/models';

const COMMANDS = ['extract', 'generate', 'chat', 'monitor', 'inspect', 'capture', 'bench', 'demo', 'serve'];

t.before(() => requireBuiltCli());

function oneLine(t: Test, stderr: string): void {
  t.equal(stderr.split('\n').filter(Boolean).length, 1, `one line: ${JSON.stringify(stderr)}`);
  t.notMatch(stderr, /\n\s+at /, 'no stack trace');
}

t.test('--help lists every command and each command has its own help', async (t) => {
  const r = runCli(['--help']);
  t.equal(r.status, 0);
  for (const c of COMMANDS) t.match(r.stdout, new RegExp(`\\n {2}${c} +\\S`), c);
  for (const c of COMMANDS.filter((x) => x !== 'bench')) {
    const h = runCli([c, '--help']);
    t.equal(h.status, 0, `${c} --help`);
    t.match(h.stdout, new RegExp(`^persona-steer ${c}`), `${c} usage`);
  }
});

t.test('--version prints the package version', async (t) => {
  const r = runCli(['--version']);
  t.equal(r.status, 0);
  t.equal(r.stdout.trim(), JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version);
});

t.test('a missing or unknown command is a usage error with status 2', async (t) => {
  const none = runCli([]);
  t.equal(none.status, 2);
  t.match(none.stderr, /^persona-steer: ERR_INVALID_ARG: a command is required \(extract, sweep, calibrate, generate, chat, monitor, inspect, capture, bench, demo, serve, rpc-server\)/);
  oneLine(t, none.stderr);
  const bad = runCli(['steer']);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /^persona-steer: ERR_INVALID_ARG: unknown command "steer"/);
  oneLine(t, bad.stderr);
});

t.test('every command refuses an unknown flag with status 2 naming the flag', async (t) => {
  for (const c of COMMANDS.filter((x) => x !== 'bench' && x !== 'demo')) {
    const r = runCli([c, '--frobnicate']);
    t.equal(r.status, 2, c);
    t.match(r.stderr, new RegExp(`^persona-steer ${c}: ERR_INVALID_ARG: Unknown option '--frobnicate'`));
    oneLine(t, r.stderr);
  }
});

t.test('demo without its toy model fails with ERR_MODEL_LOAD naming the file', async (t) => {
  const r = runCli(['demo', '--model', '/nonexistent/toy.gguf']);
  t.equal(r.status, 1);
  t.match(r.stderr, /^persona-steer demo: ERR_MODEL_LOAD: the toy model could not be loaded from \/nonexistent\/toy.gguf/);
});

t.test('bench delegates to the benchmark runner, or says it is not installed', async (t) => {
  const runner = path.join(root, 'dist', 'bench', 'runner.js');
  t.equal(benchRunnerPath().replace(`${path.sep}lib${path.sep}`, `${path.sep}dist${path.sep}`), runner, 'dist/bench/runner.js, next to dist/cli');
  if (fs.existsSync(runner)) {
    // --list only lists the cases: cheap, and shows the arguments and the exit status pass through.
    const r = runCli(['bench', '--list']);
    const direct = spawnSync(process.execPath, [runner, '--list'], { encoding: 'utf8' });
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stdout, direct.stdout);
    return;
  }
  t.equal(runCli(['bench', '--help']).status, 0);
  const missing = runCli(['bench']);
  t.equal(missing.status, 1);
  t.match(missing.stderr, /^persona-steer bench: ERR_UNAVAILABLE: the benchmark runner is not built \(no .*runner\.js\); build it with: cd .* && npm run build:bench/);
  oneLine(t, missing.stderr);
});

t.test('the CLI entry is the package bin and starts with a shebang', async (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  t.equal(path.resolve(root, pkg.bin['persona-steer']), CLI);
  t.match(fs.readFileSync(CLI, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});
