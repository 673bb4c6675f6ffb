// The server under a slow model (random weights, ~15-20 ms a token), where a generation is still
// running when a client disconnects, the queue overflows, or the process gets SIGTERM; and the
// command a new user runs, `persona-steer serve` with no model.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import t from 'tap';
import type { PersonaServer } from '../../lib/server/index';
import { CLI, requireBuiltCli } from '../helpers/cli';
import { client, health, json, slowModel, startTestServer, waitFor } from '../helpers/server';

let slow: ReturnType<typeof slowModel>;
t.before(() => {
  requireBuiltCli();
  slow = slowModel();
});
t.teardown(() => slow.remove());

// The slow model has no chat template: these tests use /v1/completions.
const prompt = 'Once upon a time';

/** Opens a streaming request; resolves once the first content chunk arrived, with a way to drop it. */
function openStream(url: string, body: Record<string, unknown>): Promise<{ req: http.ClientRequest; events: string[]; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL('/v1/completions', url), { method: 'POST', headers: { 'content-type': 'application/json' }, agent: false }, (res) => {
      if (res.statusCode !== 200) { reject(new Error(`status ${res.statusCode}`)); return; }
      const events: string[] = [];
      let buf = '';
      let resolved = false;
      const ended = new Promise<void>((done) => { res.on('end', done); res.on('close', done); res.on('error', () => done()); });
      res.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const e = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (e.startsWith('data: ')) events.push(e.slice(6));
          if (!resolved && /"text":"[^"]/.test(e)) { resolved = true; resolve({ req, events, ended }); }
        }
      });
    });
    req.on('error', (e) => reject(e));
    req.end(JSON.stringify({ prompt, stream: true, ...body }));
  });
}

t.test('a client that disconnects mid-stream stops its generation at once and frees its slot', async (t) => {
  const server = await startTestServer({ model: slow.file, parallel: 1, contextSize: 4096, maxTokens: 4000 });
  t.teardown(() => server.close());
  const s = await openStream(server.url, { max_tokens: 3000, ignore_eos: true });
  t.equal((await health(server)).slots.busy, 1, 'the generation holds the slot');
  s.req.destroy();
  t.ok(await waitFor(async () => (await health(server)).slots.busy === 0, 3000), 'the slot is free soon after');
  const h = await health(server);
  t.equal(h.requests.aborted, 1, 'counted as aborted');
  t.ok(h.tokens.generated < 300, `it stopped early (${h.tokens.generated} of 3000 tokens generated)`);
  const t0 = Date.now();
  const next = await json(server.url, '/v1/completions', { prompt, max_tokens: 5 });
  t.equal(next.status, 200, 'the next request runs');
  t.ok(Date.now() - t0 < 5000, 'without waiting for the abandoned one');
});

t.test('a chat request to a model without a chat template is a 400 that says to use /v1/completions', async (t) => {
  const server = await startTestServer({ model: slow.file, parallel: 1, contextSize: 512 });
  t.teardown(() => server.close());
  const r = await json(server.url, '/v1/chat/completions', { messages: [{ role: 'user', content: 'hello' }] });
  t.equal(r.status, 400);
  const e = JSON.parse(r.body).error;
  t.equal(e.code, 'no_chat_template');
  t.match(e.message, /\/v1\/completions/);
  t.notMatch(e.message, /options\.|Model\.load/, 'no advice about library options an HTTP client cannot set');
});

t.test('past the queue bound a request gets 429 with Retry-After, and a queued client that leaves is dropped from the queue', async (t) => {
  const server = await startTestServer({ model: slow.file, parallel: 1, queue: 1, contextSize: 4096, maxTokens: 4000 });
  t.teardown(() => server.close());
  const running = await openStream(server.url, { max_tokens: 3000, ignore_eos: true });
  const queued = http.request(new URL('/v1/completions', server.url), { method: 'POST', headers: { 'content-type': 'application/json' }, agent: false });
  queued.on('error', () => undefined);
  queued.end(JSON.stringify({ prompt, max_tokens: 5 }));
  t.ok(await waitFor(async () => (await health(server)).slots.queued === 1), 'one request waits');
  const refused = await json(server.url, '/v1/completions', { prompt, max_tokens: 5 });
  t.equal(refused.status, 429);
  const retry = Number(refused.headers['retry-after']);
  t.ok(Number.isInteger(retry) && retry >= 1, `Retry-After is a whole number of seconds (${refused.headers['retry-after']})`);
  t.equal(JSON.parse(refused.body).error.code, 'queue_full');
  const viaClient = await client(server).completions.create({ model: 'x', prompt }).then(() => null, (e: { status?: number }) => e);
  t.equal(viaClient?.status, 429, 'the openai client sees the 429');
  queued.destroy();
  t.ok(await waitFor(async () => (await health(server)).slots.queued === 0), 'the client that left is out of the queue');
  running.req.destroy();
  t.ok(await waitFor(async () => (await health(server)).slots.busy === 0), 'and the running one stopped');
  t.equal((await health(server)).requests.rejected, 2);
});

interface Cli { child: ChildProcess; url: string; stdout: () => string; exit: Promise<number | null> }

function startCli(args: string[]): Promise<Cli> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--threads', '1', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]!, stdout: () => out, exit });
    });
    child.stderr!.on('data', (d: Buffer) => { err += d.toString('utf8'); });
    exit.then((code) => reject(new Error(`serve exited with ${code} before listening: ${err}`)));
  }).then((cli) => {
    // A failed test must not leave a server behind (tap would wait for it).
    t.teardown(() => { if (cli.child.exitCode === null) cli.child.kill('SIGKILL'); });
    return cli;
  });
}

t.test('SIGTERM lets a request in flight finish, refuses new connections, and exits 0', async (t) => {
  const cli = await startCli(['--model', slow.file, '--context-size', '2048', '--shutdown-timeout', '30']);
  const s = await openStream(cli.url, { max_tokens: 60, ignore_eos: true });
  const t0 = Date.now();
  cli.child.kill('SIGTERM');
  await s.ended;
  t.equal(s.events[s.events.length - 1], '[DONE]', 'the stream in flight ends normally');
  const finish = JSON.parse(s.events[s.events.length - 2]!).choices[0].finish_reason;
  t.equal(finish, 'length', 'with its finish reason');
  const late = await json(cli.url, '/v1/completions', { prompt, max_tokens: 2 }).then((r) => r.status, (e: NodeJS.ErrnoException) => e.code);
  t.ok(late === 'ECONNREFUSED' || late === 503, `a new request is refused (${late})`);
  t.equal(await cli.exit, 0, 'exit status 0');
  t.ok(Date.now() - t0 < 15_000, `it exits once the request is done, not at the deadline (${Date.now() - t0} ms)`);
  t.match(cli.stdout(), /stopped/);
});

t.test('SIGTERM stops requests still running at the deadline: streams get an error event, the process exits 0', async (t) => {
  const cli = await startCli(['--model', slow.file, '--context-size', '4096', '--max-tokens', '4000', '--shutdown-timeout', '1']);
  const s = await openStream(cli.url, { max_tokens: 3000, ignore_eos: true });
  const t0 = Date.now();
  cli.child.kill('SIGTERM');
  await s.ended;
  const last = JSON.parse(s.events[s.events.length - 1]!);
  t.equal(last.error?.code, 'shutting_down', 'the stream ends with an error event');
  t.equal(await cli.exit, 0, 'exit status 0');
  t.ok(Date.now() - t0 < 10_000, `within the deadline and a little (${Date.now() - t0} ms)`);
});

t.test('`persona-steer serve` with no model serves the toy model and its three vectors to the openai client', async (t) => {
  const cli = await startCli([]);
  t.match(cli.stdout(), /model toy-persona.*vectors: cheerful, pirate, sycophantic/);
  const oai = client({ url: cli.url } as PersonaServer);
  const models = await oai.models.list();
  t.same(models.data.map((m) => m.id), ['toy-persona']);
  const r = await oai.chat.completions.create({
    model: 'toy-persona', temperature: 0, max_tokens: 96,
    messages: [{ role: 'system', content: 'You are an assistant.' }, { role: 'user', content: 'Is it true that penguins are fish?' }],
    // @ts-expect-error persona-steer's extension field
    steering: [{ op: 'add', vector: 'pirate' }],
  });
  t.match(r.choices[0]!.message.content!, /matey|ye |yer /i, 'a pirate answer');
  cli.child.kill('SIGINT');
  t.equal(await cli.exit, 0, 'Ctrl-C stops it with status 0');
});

t.test('the server is importable by package name as persona-steer/server, from require and import', async (t) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cjs = require('persona-steer/server') as { startServer: unknown; buildApp: unknown };
  t.type(cjs.startServer, 'function');
  t.type(cjs.buildApp, 'function');
  const esm = await import('persona-steer/server') as { startServer: unknown };
  t.type(esm.startServer, 'function');
});

t.test('serve refuses bad flags with status 2 naming the flag, and a missing model with ERR_MODEL_LOAD', async (t) => {
  const { runCli } = await import('../helpers/cli');
  const port = runCli(['serve', '--port', '99999']);
  t.equal(port.status, 2);
  t.match(port.stderr, /^persona-steer serve: ERR_INVALID_ARG: --port must be an integer in \[0, 65535\]/);
  const key = runCli(['serve', '--api-key', 'short']);
  t.equal(key.status, 2);
  t.match(key.stderr, /--api-key/);
  const steering = runCli(['serve', '--default-steering', '/nonexistent/steering.json']);
  t.equal(steering.status, 2);
  t.match(steering.stderr, /--default-steering: cannot read \/nonexistent\/steering.json/);
  const model = runCli(['serve', '--model', '/nonexistent/model.gguf']);
  t.equal(model.status, 1);
  t.match(model.stderr, /^persona-steer serve: ERR_MODEL_LOAD: .*\/nonexistent\/model.gguf/);
});
