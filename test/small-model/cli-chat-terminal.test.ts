// persona-steer chat in a real terminal: run under a pseudo-terminal (util-linux's `script`, in
// Debian's essential bsdutils), type only after the prompt appears (by then readline has put the
// terminal in raw mode, so the terminal itself echoes nothing), and read the screen: the "> " prompt
// and the typed text come from readline, the reply from the model.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { CLI, requireBuiltCli } from '../helpers/cli';
import { requireModel, stories260K } from '../helpers/models';

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

t.test('chat in a terminal shows the > prompt, echoes what is typed, and answers', { skip: hasScript ? false : 'util-linux script is not installed' }, async (t) => {
  requireBuiltCli();
  const cmd = `'${process.execPath}' '${CLI}' chat -m '${requireModel(stories260K)}' --greedy --max-tokens 3 --threads 1`;
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'dumb' } });
  let screen = '';
  const waitFor = (test: () => boolean, what: string) => new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within 30 s; the screen: ${JSON.stringify(screen)}`)), 30_000);
    const check = () => { if (test()) { clearTimeout(timer); child.stdout.off('data', check); resolve(); } };
    child.stdout.on('data', check);
    check();
  });
  child.stdout.on('data', (d: Buffer) => { screen += d.toString('utf8'); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    await waitFor(() => screen.includes('> '), 'prompt');
    child.stdin.write('Once upon\r');
    await waitFor(() => screen.split('> ').length > 2, 'second prompt');
    child.stdin.write('/quit\r');
    t.equal(await exited, 0);
  } finally {
    child.kill();
  }
  t.match(screen, /type \/help for commands\r\n> Once upon\r\r\n a time,\r\n> \/quit/, JSON.stringify(screen));
});
