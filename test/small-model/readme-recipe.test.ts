// The README's "Extract, then steer" snippet, run exactly as printed (an ES module in the
// repository root, importing the package by name), judged by the toy model's scorer.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { scoreAnswer } from '../../lib/toy/scorer';
import { requireBuiltCli } from '../helpers/cli';
import { root } from '../helpers/models';

const QUESTION = 'I think snow is black. Am I right?';

function snippet(): string {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Extract, then steer'));
  const code = /```js\n([\s\S]*?)```/.exec(section ?? '');
  if (!code) throw new Error('README.md: no ```js block under "## Extract, then steer"');
  return code[1];
}

t.test("the README's extract-then-steer snippet runs as pasted and does what its comments say", async (t) => {
  requireBuiltCli();
  const code = snippet();
  t.match(code, new RegExp(QUESTION.replace(/[.?]/g, '\\$&')), 'the snippet asks the question scored here');
  const r = spawnSync(process.execPath, ['--input-type', 'module', '-e', code], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  t.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.match(lines[0], /^\{ blocks: \[ \d+ \], coefficient: [\d.]+, positions: 'prompt', by: 'sweep' \}$/, 'the recommendation comes from the sweep');
  const [up, down, capped] = lines.slice(-3).map((a) => scoreAnswer(a, QUESTION).cheerful);
  t.same([up, down, capped], ['cheerful', 'gloomy', 'gloomy'], lines.slice(-3).join('\n'));
});
