// The playground's static files as the server serves them: every built file at its own path with
// its bytes, type and cache rule, the page open without the API key while /v1 still needs it, and
// nothing else served (no path reaches the filesystem). The oracle is the built folder on disk.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { PLAYGROUND_DIR } from '../../lib/server/playground';
import { raw, startTestServer } from '../helpers/server';

function builtFiles(dir: string, prefix = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory()
    ? builtFiles(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

/** A GET with the path exactly as written (URL objects would resolve the dot segments first). */
function literalGet(base: string, p: string): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    http.get({ host: u.hostname, port: u.port, path: p, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
    }).on('error', reject);
  });
}

t.test('the page is built (npm install and npm test build it)', async (t) => {
  t.ok(fs.existsSync(path.join(PLAYGROUND_DIR, 'index.html')), `${PLAYGROUND_DIR}/index.html exists (npm run build:web)`);
});

t.test('every built file is served at its path with its bytes, type and cache rule', async (t) => {
  const server = await startTestServer({ parallel: 1 });
  t.teardown(() => server.close());
  const files = builtFiles(PLAYGROUND_DIR);
  t.ok(files.some((f) => f.startsWith('assets/') && f.endsWith('.js')), 'a script under assets/');
  for (const f of files) {
    const r = await raw(server.url, { method: 'GET', path: `/${f}` });
    t.equal(r.status, 200, f);
    t.equal(r.body, fs.readFileSync(path.join(PLAYGROUND_DIR, f), 'utf8'), `${f}: the file's bytes`);
    const type = String(r.headers['content-type']);
    const want = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' }[path.extname(f)];
    if (want) t.ok(type.startsWith(want), `${f}: ${type}`);
    t.equal(r.headers['cache-control'], f.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache', `${f}: cache rule`);
  }
  const home = await raw(server.url, { method: 'GET', path: '/' });
  t.equal(home.body, fs.readFileSync(path.join(PLAYGROUND_DIR, 'index.html'), 'utf8'), '/ is index.html');
  t.match(String(home.headers['content-security-policy']), /default-src 'self'/);
  t.notMatch(home.body, /https?:\/\//, 'the page names no other host');
});

t.test('paths outside the built files are 404 in OpenAI\'s error shape', async (t) => {
  const server = await startTestServer({ parallel: 1 });
  t.teardown(() => server.close());
  for (const p of ['/assets/../package.json', '/..%2fpackage.json', '/assets/nope.js', '/index.htm', '/%2e%2e/%2e%2e/etc/passwd']) {
    const r = await literalGet(server.url, p);
    t.equal(r.status, 404, p);
    t.equal(JSON.parse(r.body).error.code, 'not_found', p);
  }
});

t.test('the page is open without the API key and the API behind it is not', async (t) => {
  const server = await startTestServer({ parallel: 1, apiKey: 'sesame-sesame' });
  t.teardown(() => server.close());
  t.equal((await raw(server.url, { method: 'GET', path: '/' })).status, 200);
  t.equal((await raw(server.url, { method: 'GET', path: '/v1/vectors' })).status, 401);
  t.equal((await raw(server.url, { method: 'GET', path: '/v1/vectors', headers: { authorization: 'Bearer sesame-sesame' } })).status, 200);
});

t.test('playground: false serves no page, and a missing build answers / with how to build it', async (t) => {
  const off = await startTestServer({ parallel: 1, playground: false });
  const r = await raw(off.url, { method: 'GET', path: '/' });
  await off.close();
  t.equal(r.status, 404);
  t.equal(JSON.parse(r.body).error.code, 'not_found');

  const { buildApp } = await import('../../lib/server/app');
  const server = await startTestServer({ parallel: 1, playground: false });
  t.teardown(() => server.close());
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'persona-steer-web-'));
  t.teardown(() => fs.rmSync(empty, { recursive: true, force: true }));
  const app = await buildApp(server.engine, { maxBodyBytes: 1 << 20, maxVectorBytes: 1 << 20, playground: empty });
  const missing = await app.inject({ method: 'GET', url: '/' });
  await app.close();
  t.equal(missing.statusCode, 404);
  t.equal(missing.json().error.code, 'playground_not_built');
  t.match(missing.json().error.message, /npm run build:web/);
});
