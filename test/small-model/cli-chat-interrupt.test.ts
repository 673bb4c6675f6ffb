import t from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Model } from '../../lib/index';
import { CLI, requireBuiltCli } from '../helpers/cli';
import { requireModel, root, stories260K } from '../helpers/models';

// Ctrl-C in `persona-steer chat`: during a reply it stops the reply and the chat goes on; a
// second one, or one while no reply runs, ends the chat with status 130. Through a pipe Ctrl-C is
// SIGINT; in a terminal readline reads it as a key, so the terminal case runs under a
// pseudo-terminal (util-linux `script`).
requireBuiltCli();
const model = requireModel(stories260K);
const PROMPT = 'Once upon a time';

const sessions: Session[] = [];
t.teardown(() => { for (const s of sessions) s.proc.kill('SIGKILL'); });

class Session {
  out = '';
  exit: Promise<number | null>;
  constructor(readonly proc: ChildProcess) {
    sessions.push(this);
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => { this.out += d; });
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => { this.out += d; });
    this.exit = new Promise((resolve) => proc.on('close', (code) => resolve(code)));
  }
  async until(test: (out: string) => boolean, what: string, ms = 30_000): Promise<void> {
    const end = Date.now() + ms;
    while (!test(this.out)) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; output so far: ${JSON.stringify(this.out.slice(-400))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  async exited(ms = 30_000): Promise<number | null | 'running'> {
    return Promise.race([this.exit, new Promise<'running'>((r) => setTimeout(() => r('running'), ms))]);
  }
}

// The oracle for "stopped": the greedy reply to the prompt when nothing stops it (the context fills).
let fullReply = '';
t.before(async () => {
  const m = await Model.load(model, { gpuLayers: 0 });
  const ctx = await m.createContext({ contextSize: 2048, threads: 1 });
  fullReply = (await ctx.complete(PROMPT, { greedy: true, maxTokens: 2048 })).text;
  await ctx.dispose();
  m.dispose();
});

const chatArgs = ['chat', '--model', model, '--greedy', '--max-tokens', '100000', '--context-size', '2048', '--threads', '1', '--gpu-layers', '0'];

t.test('through a pipe, SIGINT stops the reply, the chat goes on, and a second SIGINT exits with 130', async (t) => {
  const s = new Session(spawn(process.execPath, [CLI, ...chatArgs], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] }));
  s.proc.stdin!.write(`${PROMPT}\n`);
  await s.until((o) => /warning.*\n.{3,}/s.test(o), 'the first reply text');
  s.proc.kill('SIGINT');
  await s.until((o) => /\n$/.test(o.replace(/^persona-steer: warning.*\n/m, '')), 'the end of the stopped reply');
  const reply = s.out.replace(/^persona-steer: warning.*\n/m, '').replace(/\n$/, '');
  t.ok(fullReply.startsWith(reply) && reply.length < fullReply.length, `the reply was cut short (${reply.length} of ${fullReply.length} characters)`);
  s.proc.stdin!.write('/steering\n');
  await s.until((o) => o.includes('steering: none'), 'the next command to be answered');
  t.pass('the chat went on after the stopped reply');
  s.proc.kill('SIGINT');
  t.equal(await s.exited(), 130, 'the second SIGINT exits with 130');
});

t.test('through a pipe, SIGINT while no reply runs ends the chat with 130', async (t) => {
  const s = new Session(spawn(process.execPath, [CLI, ...chatArgs], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] }));
  s.proc.stdin!.write('/steering\n');
  await s.until((o) => o.includes('steering: none'), 'the chat to start');
  s.proc.kill('SIGINT');
  t.equal(await s.exited(), 130);
});

const haveScript = process.platform === 'linux' && spawnSync('script', ['--version']).status === 0;
const inTerminal = (args: string[]) => {
  const cmd = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  return new Session(spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'dumb' } }));
};

t.test('in a terminal, Ctrl-C stops the reply and a second Ctrl-C exits with 130', { skip: haveScript ? false : 'needs util-linux script (Linux)' }, async (t) => {
  const s = inTerminal(chatArgs);
  await s.until((o) => o.includes('type /help'), 'the prompt');
  s.proc.stdin!.write(`${PROMPT}\r`);
  // readline echoes the line; the reply follows it.
  await s.until((o) => new RegExp(`${PROMPT}\\r*\\n.{3,}`, "s").test(o), "the first reply text");
  s.proc.stdin!.write('\x03');
  await s.until((o) => o.includes('(reply stopped; Ctrl-C again to quit)'), 'the reply to stop');
  t.pass('Ctrl-C stopped the reply');
  t.equal(await s.exited(300), 'running', 'the chat goes on');
  s.proc.stdin!.write('\x03');
  t.equal(await s.exited(), 130, 'the second Ctrl-C exits with 130');
});

t.test('in a terminal, Ctrl-C at the prompt ends the chat with 130', { skip: haveScript ? false : 'needs util-linux script (Linux)' }, async (t) => {
  const s = inTerminal(chatArgs);
  await s.until((o) => o.includes('type /help'), 'the prompt');
  s.proc.stdin!.write('\x03');
  t.equal(await s.exited(), 130);
});
