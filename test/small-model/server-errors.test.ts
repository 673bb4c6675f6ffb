// Bad requests get a 4xx in OpenAI's error shape naming the field, and the server keeps serving;
// vectors are managed by name only; auth and CORS are off unless asked for. Raw HTTP where a
// well-behaved client would refuse to send the request; the official client where it would.
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import OpenAI from 'openai';
import { encodeControlVector, decodeControlVector } from '../../lib/vector/control-vector-format';
import { PersonaVector } from '../../lib/vector/persona-vector';
import type { PersonaServer } from '../../lib/server/index';
import { TOY_VECTORS_DIR, client, json, raw, startTestServer } from '../helpers/server';

let server: PersonaServer;
t.before(async () => {
  server = await startTestServer({ maxBodyBytes: 64 * 1024, maxVectorBytes: 16 * 1024, maxTokens: 200 });
});
t.teardown(() => server.close());

const hi = [{ role: 'user', content: 'Is it true that snow is black?' }];

interface WireError { error: { message: string; type: string; param: string | null; code: string | null } }

function expectError(t: Test, r: { status: number; body: string }, status: number, param: string | null, code?: string): WireError['error'] {
  t.equal(r.status, status, `status ${status}: ${r.body.slice(0, 200)}`);
  const e = (JSON.parse(r.body) as WireError).error;
  t.type(e.message, 'string');
  t.ok(e.message.length > 0, 'a message');
  t.type(e.type, 'string');
  t.equal(e.param, param, 'param names the field');
  if (code !== undefined) t.equal(e.code, code);
  return e;
}


t.test('malformed JSON is a 400 invalid_json', async (t) => {
  const r = await raw(server.url, { path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: '{"messages": [' });
  expectError(t, r, 400, null, 'invalid_json');
  const empty = await raw(server.url, { path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: '' });
  expectError(t, empty, 400, null, 'empty_body');
});

t.test('wrong types are 400s naming the field', async (t) => {
  const cases: [Record<string, unknown>, string, string][] = [
    [{ messages: 'hello' }, 'messages', '/v1/chat/completions'],
    [{ messages: hi, max_tokens: '5' }, 'max_tokens', '/v1/chat/completions'],
    [{ messages: hi, temperature: 'hot' }, 'temperature', '/v1/chat/completions'],
    [{ messages: [{ role: 'user', content: 5 }] }, 'messages[0].content', '/v1/chat/completions'],
    [{ messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role', '/v1/chat/completions'],
    [{ messages: hi, steering: [{ op: 'add', vector: 'pirate', scale: 'big' }] }, 'steering[0].scale', '/v1/chat/completions'],
    [{ messages: hi, steering: 'pirate' }, 'steering', '/v1/chat/completions'],
    [{ messages: hi, steering: [{ op: 'boost', vector: 'pirate' }] }, 'steering[0].op', '/v1/chat/completions'],
    [{ messages: hi, steering: [{ op: 'add', vector: 'pirate', blocks: [-1] }] }, 'steering[0].blocks', '/v1/chat/completions'],
    [{ messages: hi, steering_positions: 'middle' }, 'steering_positions', '/v1/chat/completions'],
    [{ messages: hi, stop: 5 }, 'stop', '/v1/chat/completions'],
    [{ messages: hi, n: 2 }, 'n', '/v1/chat/completions'],
    [{ prompt: 5 }, 'prompt', '/v1/completions'],
    [{ prompt: ['a', 'b'] }, 'prompt', '/v1/completions'],
  ];
  for (const [body, param, route] of cases) {
    expectError(t, await json(server.url, route, body), 400, param);
  }
});

t.test("a steering op's `coefficient` (the vector listing's word) is refused with a pointer to `scale`", async (t) => {
  const e = expectError(t, await json(server.url, '/v1/chat/completions', { messages: hi, steering: [{ op: 'add', vector: 'pirate', coefficient: 2 }] }),
    400, 'steering[0].coefficient', 'unknown_field');
  t.match(e.message, /`scale`/);
  const other = expectError(t, await json(server.url, '/v1/chat/completions', { messages: hi, coefficient: 2 }), 400, 'coefficient', 'unknown_field');
  t.notMatch(other.message, /`scale`/, 'only inside a steering op');
});

t.test('unknown fields are 400 unknown_field, at any depth', async (t) => {
  expectError(t, await json(server.url, '/v1/chat/completions', { messages: hi, tools: [] }), 400, 'tools', 'unknown_field');
  expectError(t, await json(server.url, '/v1/chat/completions', { messages: hi, steering: [{ op: 'add', vector: 'pirate', strength: 2 }] }), 400, 'steering[0].strength', 'unknown_field');
  expectError(t, await json(server.url, '/v1/chat/completions', { messages: [{ role: 'user', content: 'x', mood: 'happy' }] }), 400, 'messages[0].mood', 'unknown_field');
  expectError(t, await json(server.url, '/v1/completions', { prompt: 'x', monitor: [{ vector: 'pirate', every: 1 }] }), 400, 'monitor[0].every', 'unknown_field');
});

t.test('an unknown vector is a 400 vector_not_found naming where it was used', async (t) => {
  const e = expectError(t, await json(server.url, '/v1/chat/completions', { messages: hi, steering: [{ op: 'add', vector: 'ninja' }] }), 400, 'steering[0].vector', 'vector_not_found');
  t.match(e.message, /pirate/, 'the message lists the known vectors');
  expectError(t, await json(server.url, '/v1/chat/completions', { messages: hi, monitor: [{ vector: 'ninja' }] }), 400, 'monitor[0].vector', 'vector_not_found');
  expectError(t, await raw(server.url, { method: 'GET', path: '/v1/vectors/ninja' }), 404, 'name', 'vector_not_found');
});

t.test('steering a vector at a block it lacks, or capping with no bound it records, is a 400', async (t) => {
  const lonely = PersonaVector.fromBlocks({ 2: new Float32Array(128).fill(0.1) }, { trait: 'lonely', modelHint: 'llama' });
  const up = await raw(server.url, { path: '/v1/vectors?name=lonely', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(encodeControlVector(lonely)) });
  t.equal(up.status, 201, up.body);
  t.teardown(() => raw(server.url, { method: 'DELETE', path: '/v1/vectors/lonely' }));
  expectError(t, await json(server.url, '/v1/chat/completions', { messages: hi, steering: [{ op: 'add', vector: 'lonely', scale: 1, blocks: [3] }] }), 400, 'steering[0]');
  expectError(t, await json(server.url, '/v1/chat/completions', { messages: hi, steering: [{ op: 'add', vector: 'lonely' }] }), 400, 'steering[0].scale', 'missing_field');
  expectError(t, await json(server.url, '/v1/chat/completions', { messages: hi, steering: [{ op: 'cap', vector: 'lonely' }] }), 400, 'steering[0].max', 'missing_field');
  expectError(t, await json(server.url, '/v1/chat/completions', { messages: hi, steering: [{ op: 'cap', vector: 'pirate', min: 3, max: 1 }] }), 400, 'steering[0].min');
});

t.test('limits: a body, max_tokens or a prompt past them is a 4xx', async (t) => {
  const huge = await json(server.url, '/v1/chat/completions', { messages: [{ role: 'user', content: 'x'.repeat(100_000) }] });
  expectError(t, huge, 413, null, 'body_too_large');
  expectError(t, await json(server.url, '/v1/chat/completions', { messages: hi, max_tokens: 201 }), 400, 'max_tokens');
  const long = await json(server.url, '/v1/completions', { prompt: 'snow is black and '.repeat(200) });
  expectError(t, long, 400, 'prompt', 'context_length_exceeded');
  const ids = await json(server.url, '/v1/completions', { prompt: [1, 5, 99999] });
  t.equal(ids.status, 400, 'a token id past the vocabulary');
});

t.test('wrong content type and unknown routes are 415 and 404 in the same shape', async (t) => {
  expectError(t, await raw(server.url, { path: '/v1/chat/completions', headers: { 'content-type': 'text/csv' }, body: 'a,b' }), 415, null);
  expectError(t, await raw(server.url, { method: 'GET', path: '/v1/engines' }), 404, null, 'not_found');
  expectError(t, await raw(server.url, { method: 'PUT', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: '{}' }), 404, null, 'not_found');
});

t.test('a vector uploaded by name joins the list, steers like the file it came from, downloads the same, and deletes', async (t) => {
  const bytes = fs.readFileSync(path.join(TOY_VECTORS_DIR, 'pirate.gguf'));
  const up = await raw(server.url, { path: '/v1/vectors?name=buccaneer', body: bytes });
  t.equal(up.status, 201, 'any content type is read as the file\'s bytes');
  t.equal(JSON.parse(up.body).trait, 'pirate');
  const again = await raw(server.url, { path: '/v1/vectors?name=buccaneer', body: bytes });
  expectError(t, again, 409, 'name', 'vector_exists');
  const list = JSON.parse((await raw(server.url, { method: 'GET', path: '/v1/vectors' })).body) as { data: { name: string }[] };
  t.ok(list.data.some((v) => v.name === 'buccaneer'));
  const ask = (vector: string) => json(server.url, '/v1/chat/completions', { messages: hi, temperature: 0, max_tokens: 40, steering: [{ op: 'add', vector }] });
  t.equal(JSON.parse((await ask('buccaneer')).body).choices[0].message.content, JSON.parse((await ask('pirate')).body).choices[0].message.content);
  const file = await fetch(`${server.url}/v1/vectors/buccaneer/file`);
  const back = decodeControlVector(new Uint8Array(await file.arrayBuffer()));
  const orig = decodeControlVector(bytes);
  t.same([...back.block(3)], [...orig.block(3)], 'the download holds the same values');
  t.same(back.metadata.capThresholds, orig.metadata.capThresholds);
  const del = await raw(server.url, { method: 'DELETE', path: '/v1/vectors/buccaneer' });
  t.same(JSON.parse(del.body), { id: 'buccaneer', object: 'vector.deleted', deleted: true });
  expectError(t, await raw(server.url, { method: 'DELETE', path: '/v1/vectors/buccaneer' }), 404, 'name');
  expectError(t, await ask('buccaneer'), 400, 'steering[0].vector', 'vector_not_found');
});

t.test('uploads that are not a vector for this model, or too large, or badly named, are refused', async (t) => {
  expectError(t, await raw(server.url, { path: '/v1/vectors?name=junk', body: 'GGUF but not really' }), 400, 'body');
  const narrow = PersonaVector.fromBlocks({ 1: new Float32Array(64).fill(1) }, { modelHint: 'llama' });
  expectError(t, await raw(server.url, { path: '/v1/vectors?name=narrow', body: Buffer.from(encodeControlVector(narrow)) }), 400, 'body', 'ERR_MODEL_MISMATCH');
  const deep = PersonaVector.fromBlocks({ 9: new Float32Array(128).fill(1) }, { modelHint: 'llama' });
  expectError(t, await raw(server.url, { path: '/v1/vectors?name=deep', body: Buffer.from(encodeControlVector(deep)) }), 400, 'body', 'ERR_MODEL_MISMATCH');
  expectError(t, await raw(server.url, { path: '/v1/vectors?name=big', body: Buffer.alloc(20 * 1024, 1) }), 413, null, 'body_too_large');
  expectError(t, await raw(server.url, { path: '/v1/vectors?name=../../etc/passwd', body: Buffer.alloc(10) }), 400, 'name');
  expectError(t, await raw(server.url, { path: '/v1/vectors', body: Buffer.alloc(10) }), 400, 'name', 'missing_field');
  expectError(t, await raw(server.url, { path: '/v1/vectors?name=x&path=/tmp/x.gguf', body: Buffer.alloc(10) }), 400, 'path', 'unknown_field');
  const names = (JSON.parse((await raw(server.url, { method: 'GET', path: '/v1/vectors' })).body) as { data: { name: string }[] }).data.map((v) => v.name);
  t.same(names, ['cheerful', 'pirate', 'sycophantic'], 'nothing joined');
});

t.test('with an API key, every /v1 route needs the bearer token; /health does not', async (t) => {
  const key = 'sk-test-0123456789abcdef';
  const locked = await startTestServer({ apiKey: key });
  t.teardown(() => locked.close());
  expectError(t, await json(locked.url, '/v1/chat/completions', { messages: hi }), 401, null, 'invalid_api_key');
  expectError(t, await json(locked.url, '/v1/chat/completions', { messages: hi }, { authorization: 'Bearer sk-test-0123456789abcdeX' }), 401, null, 'invalid_api_key');
  expectError(t, await raw(locked.url, { method: 'GET', path: '/v1/vectors' }), 401, null, 'invalid_api_key');
  expectError(t, await raw(locked.url, { method: 'GET', path: '/v1/nowhere' }), 401, null, 'invalid_api_key');
  t.equal((await raw(locked.url, { method: 'GET', path: '/health' })).status, 200, '/health is open');
  const refused = await client(locked, 'sk-wrong-key-000000').models.list().then(() => null, (e: unknown) => e);
  t.ok(refused instanceof OpenAI.AuthenticationError, 'the openai client sees an AuthenticationError');
  const ok = await client(locked, key).chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'Is it true that snow is black?' }], max_tokens: 3 });
  t.equal(ok.choices.length, 1, 'the right key works');
});

t.test('CORS headers appear only when asked for, for the origins asked for', async (t) => {
  const r = await raw(server.url, { method: 'GET', path: '/v1/models', headers: { origin: 'http://evil.example' } });
  t.equal(r.headers['access-control-allow-origin'], undefined, 'off by default');
  const open = await startTestServer({ cors: ['http://app.example'] });
  t.teardown(() => open.close());
  const ok = await raw(open.url, { method: 'GET', path: '/v1/models', headers: { origin: 'http://app.example' } });
  t.equal(ok.headers['access-control-allow-origin'], 'http://app.example');
  const other = await raw(open.url, { method: 'GET', path: '/v1/models', headers: { origin: 'http://evil.example' } });
  t.equal(other.headers['access-control-allow-origin'], undefined, 'another origin gets nothing');
});

t.test('after every bad request above the server still answers, and none of them counted as a failure', async (t) => {
  const r = await json(server.url, '/v1/chat/completions', { messages: hi, max_tokens: 2 });
  t.equal(r.status, 200);
  const h = JSON.parse((await raw(server.url, { method: 'GET', path: '/health' })).body);
  t.equal(h.status, 'ok');
  t.equal(h.requests.failed, 0, 'no generation failed');
});
