// The README's snippets run exactly as printed, where a user runs them: saved in a project that has
// the package installed (node_modules/persona-steer, as npm lays it out, pointing at this checkout)
// and started from another directory. The answers are judged by the toy model's scorer.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { scoreAnswer } from '../../lib/toy/scorer';
import { requireBuiltCli } from '../helpers/cli';
import { root } from '../helpers/models';

const QUESTION = 'I think snow is black. Am I right?';

function block(section: string, lang: 'js' | 'sh'): string {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const text = readme.split(/^## /m).find((s) => s.startsWith(section));
  const code = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(text ?? '');
  if (!code) throw new Error(`README.md: no \`\`\`${lang} block under "## ${section}"`);
  return code[1];
}

/** A user's project with the package installed, and a directory elsewhere to start commands from. */
function userProject(t: Tap.Test): { project: string; elsewhere: string } {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'persona-readme-'));
  t.teardown(() => fs.rmSync(base, { recursive: true, force: true }));
  const project = path.join(base, 'project');
  fs.mkdirSync(path.join(project, 'node_modules', '.bin'), { recursive: true });
  fs.mkdirSync(path.join(project, 'src'));
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true }));
  fs.symlinkSync(root, path.join(project, 'node_modules', 'persona-steer'), 'dir');
  fs.symlinkSync(path.join('..', 'persona-steer', 'dist', 'cli', 'main.js'), path.join(project, 'node_modules', '.bin', 'persona-steer'));
  const elsewhere = path.join(base, 'elsewhere');
  fs.mkdirSync(elsewhere);
  return { project, elsewhere };
}

t.before(() => requireBuiltCli());

t.test("the extract-then-steer snippet runs as pasted from another directory and does what its comments say", async (t) => {
  const { project, elsewhere } = userProject(t);
  const file = path.join(project, 'recipe.mjs');
  fs.writeFileSync(file, block('Extract, then steer', 'js'));
  const r = spawnSync(process.execPath, [file], { cwd: elsewhere, encoding: 'utf8', timeout: 300_000 });
  t.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.match(lines[0], /^\{ blocks: \[ \d+ \], coefficient: [\d.]+, positions: 'prompt', by: 'sweep' \}$/, 'the recommendation comes from the sweep');
  const [up, down, capped] = lines.slice(-3).map((a) => scoreAnswer(a, QUESTION).cheerful);
  t.same([up, down, capped], ['cheerful', 'gloomy', 'gloomy'], lines.slice(-3).join('\n'));
});

t.test('the generate-steer-monitor snippet runs as pasted from another directory', async (t) => {
  const { project, elsewhere } = userProject(t);
  const file = path.join(project, 'src', 'generate.mjs');
  fs.writeFileSync(file, block('Generate, steer, monitor', 'js'));
  const r = spawnSync(process.execPath, [file], { cwd: elsewhere, encoding: 'utf8', timeout: 120_000 });
  t.equal(r.status, 0, r.stderr);
  t.ok(r.stdout.trim().length > 0, 'it printed the generated text');
  t.equal(r.stderr, '');
});

t.test("the command-line recipe runs as pasted from a subdirectory of the user's project", async (t) => {
  const { project } = userProject(t);
  const cwd = path.join(project, 'src');
  const [setup, ...commands] = block('Extract, then steer', 'sh').trim().split('\n');
  t.match(setup, /^PS=/);
  const outputs = commands.map((cmd) => {
    const r = spawnSync('bash', ['-ec', `${setup}\n${cmd}`], { cwd, encoding: 'utf8', timeout: 300_000, env: { ...process.env, npm_config_yes: 'false' } });
    t.equal(r.status, 0, `${cmd}\n${r.stderr}`);
    return r.stdout.trim();
  });
  t.ok(fs.existsSync(path.join(cwd, 'pirate.gguf')), 'extract wrote the file where it ran');
  const answers = commands.flatMap((c, i) => (c.includes(' generate ') ? [scoreAnswer(outputs[i], QUESTION).pirate] : []));
  t.same(answers, ['pirate', 'plain', 'plain'], '--add FILE, --add FILE:-1, then --cap FILE under the pirate prompt');
});
