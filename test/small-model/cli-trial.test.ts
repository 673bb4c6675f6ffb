// A new user's trial of the CLI: prompts from files, stdin and "", the sampling, grammar,
// logprob and model flags llama.cpp users expect, each against the library call with the same
// options; and the errors and notices a user meets, in flags.
import t from 'tap';
import Ajv from 'ajv';
import fs from 'node:fs';
import path from 'node:path';
import { Model, type Context, type GenerateOptions } from '../../lib/index';
import { benchMissing } from '../../lib/cli/bench';
import { json, runCli } from '../helpers/cli';
import { root, stories260K } from '../helpers/models';
import { disposeHappyVectorFixture, happyVectorFixture, type HappyVectorFixture } from '../helpers/happy-vector';

const M = ['--model', stories260K, '--threads', '1', '--gpu-layers', '0'];
const TOY = path.join(root, 'models', 'toy-persona.gguf');
const PROMPT = 'Once upon a time, there was a dog';

interface GenerateJson { text: string; tokens: number[]; stopReason: string; promptTokens: number; logprobs?: { token: number; logprob: number; topLogprobs?: { token: number }[] }[] }

let fixture: HappyVectorFixture;
let ctx: Context;
t.before(async () => {
  fixture = await happyVectorFixture();
  ctx = fixture.ctx;
});
t.teardown(() => disposeHappyVectorFixture(fixture));

async function lib(prompt: string, options: GenerateOptions) {
  return ctx.complete(prompt, options);
}

t.test('--prompt "" generates from BOS alone, as the library and llama.cpp do', async (t) => {
  const r = runCli(['generate', ...M, '--prompt', '', '--greedy', '--max-tokens', '12', '--json']);
  t.equal(r.status, 0, r.stderr);
  const j = json<GenerateJson>(r);
  t.equal(j.promptTokens, 1);
  t.same(j.tokens, (await lib('', { greedy: true, maxTokens: 12 })).tokens);
});

t.test('--file FILE and --file - (standard input) give the prompt, one trailing newline dropped', async (t) => {
  const file = path.join(fixture.dir, 'prompt.txt');
  fs.writeFileSync(file, `${PROMPT}\n`);
  const want = (await lib(PROMPT, { greedy: true, maxTokens: 10 })).tokens;
  for (const [args, input] of [[['-f', file], ''], [['--file', '-'], `${PROMPT}\n`]] as const) {
    const r = runCli(['generate', ...M, ...args, '--greedy', '--max-tokens', '10', '--json'], { input });
    t.equal(r.status, 0, r.stderr);
    t.same(json<GenerateJson>(r).tokens, want, args.join(' '));
  }
  const both = runCli(['generate', ...M, '-p', 'x', '-f', file]);
  t.equal(both.status, 2);
  t.match(both.stderr, /give one of --prompt and --file/);
  const capture = runCli(['capture', ...M, '-f', file, '--blocks', '1', '--positions', 'last', '--json']);
  t.equal(capture.status, 0, capture.stderr);
  t.same(json<{ tokens: number[] }>(capture).tokens, Array.from(fixture.model.tokenize(PROMPT)));
});

t.test('--min-p, --repeat-penalty, --repeat-last-n, --stop and --seed sample as the library does with the same options', async (t) => {
  const r = runCli(['generate', ...M, '-p', PROMPT, '--max-tokens', '24', '--seed', '7', '--temperature', '0.9', '--min-p', '0.1',
    '--repeat-penalty', '1.3', '--repeat-last-n', '16', '--stop', ' the park', '--json']);
  t.equal(r.status, 0, r.stderr);
  const want = await lib(PROMPT, { maxTokens: 24, seed: 7, temperature: 0.9, minP: 0.1, repeatPenalty: 1.3, repeatLastN: 16, stop: [' the park'] });
  const j = json<GenerateJson>(r);
  t.same([j.text, j.tokens, j.stopReason], [want.text, want.tokens, want.stopReason]);
  const plain = await lib(PROMPT, { maxTokens: 24, seed: 7, temperature: 0.9, minP: 0.1 });
  t.not(plain.text, want.text, 'the repeat penalty changed the text (the comparison can fail)');
});

t.test('--top-logprobs reports what the library reports; without --json a table follows the text', async (t) => {
  const r = runCli(['generate', ...M, '-p', PROMPT, '--greedy', '--max-tokens', '4', '--top-logprobs', '3', '--json']);
  t.equal(r.status, 0, r.stderr);
  const want = await lib(PROMPT, { greedy: true, maxTokens: 4, topLogprobs: 3 });
  t.same(json<GenerateJson>(r).logprobs, JSON.parse(JSON.stringify(want.logprobs)));
  const table = runCli(['generate', ...M, '-p', PROMPT, '--greedy', '--max-tokens', '2', '--logprobs']);
  t.match(table.stdout, /token text\s+logprob\n\s+0 "[^"]*"\s+-?\d+\.\d{4}\n\s+1 /);
});

t.test('--grammar and --json-schema constrain the output; a bad schema names the flag and its path', async (t) => {
  const g = runCli(['generate', ...M, '-p', PROMPT, '--seed', '3', '--max-tokens', '20', '--grammar', 'root ::= " and it was " ("happy" | "sad") "."', '--json']);
  t.equal(g.status, 0, g.stderr);
  t.match(json<GenerateJson>(g).text, /^ and it was (happy|sad)\.$/);
  const schema = { type: 'object', properties: { happy: { type: 'boolean' }, name: { enum: ['Lily', 'Tom'] } }, required: ['happy', 'name'] };
  const file = path.join(fixture.dir, 'schema.json');
  fs.writeFileSync(file, JSON.stringify(schema));
  const s = runCli(['generate', ...M, '-p', PROMPT, '--seed', '3', '--max-tokens', '60', '--json-schema-file', file, '--json']);
  t.equal(s.status, 0, s.stderr);
  t.ok(new Ajv().compile(schema)(JSON.parse(json<GenerateJson>(s).text)), json<GenerateJson>(s).text);
  const bad = runCli(['generate', ...M, '-p', PROMPT, '--json-schema', '{"type":"object","properties":{"a":{"type":"string","format":"date"}}}']);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /^persona-steer generate: ERR_INVALID_ARG: --json-schema\.properties\.a\.format must be a keyword of the supported subset/);
  const notJson = runCli(['generate', ...M, '-p', PROMPT, '--json-schema', '{type: object}']);
  t.match(notJson.stderr, /--json-schema must be a JSON schema written as JSON/);
  const two = runCli(['generate', ...M, '-p', PROMPT, '--grammar', 'root ::= "a"', '--json-schema', '{}']);
  t.match(two.stderr, /give one of --grammar, --grammar-file, --json-schema and --json-schema-file/);
});

t.test('-ctk/-ctv, --flash-attn and --batch-size configure the context as the library options do', async (t) => {
  const args = ['generate', '--model', TOY, '--threads', '1', '-p', 'Once upon a time', '--greedy', '--max-tokens', '12', '--json'];
  const r = runCli([...args, '-ctk', 'q8_0', '-ctv', 'q8_0', '--flash-attn', '--batch-size', '4']);
  t.equal(r.status, 0, r.stderr);
  const toy = await Model.load(TOY);
  const c = await toy.createContext({ threads: 1, kvCacheType: 'q8_0', flashAttention: true, batchSize: 4 });
  t.teardown(async () => { await c.dispose(); toy.dispose(); });
  t.same(json<GenerateJson>(r).tokens, (await c.complete('Once upon a time', { greedy: true, maxTokens: 12 })).tokens);
  const noFa = runCli([...args, '--cache-type-v', 'q4_0']);
  t.equal(noFa.status, 2);
  t.match(noFa.stderr, /--cache-type-v q4_0: a quantized V cache needs --flash-attn/);
  const unknown = runCli([...args, '-ctk', 'q3']);
  t.match(unknown.stderr, /--cache-type-k must be one of f32, f16, bf16, q8_0/);
});

t.test('--threads 0 is refused with what to do; --context-size beyond the training context warns and runs', async (t) => {
  const z = runCli(['generate', ...M.slice(0, 2), '--threads', '0', '-p', 'x']);
  t.equal(z.status, 2);
  t.match(z.stderr, /--threads must be an integer in \[1, 1024\] \(leave --threads out for all cores\); received "0"/);
  const big = runCli(['generate', '--model', TOY, '--threads', '1', '--context-size', '1024', '-p', 'Once', '--greedy', '--max-tokens', '2']);
  t.equal(big.status, 0, big.stderr);
  t.match(big.stderr, /warning: --context-size 1024 is beyond the model's training context \(256 tokens\)/);
});

t.test('errors that come from the library speak in flags', async (t) => {
  const chat = runCli(['generate', ...M, '-p', 'x', '--chat']);
  t.equal(chat.status, 1);
  t.match(chat.stderr, /ERR_CHAT_TEMPLATE: the model has no chat template .*give one with --chat-template .*or leave out --chat/);
  t.notMatch(chat.stderr, /options\.|pass /);
  const long = runCli(['generate', '--model', TOY, '--threads', '1', '-p', 'word '.repeat(400)]);
  t.match(long.stderr, /ERR_CONTEXT_OVERFLOW: .*give a larger --context-size/);
  const spec = runCli(['extract', ...M, '--spec', path.join(root, 'examples', 'traits', 'pirate.json'), '-o', path.join(fixture.dir, 'x.gguf'), '--no-sweep']);
  t.match(spec.stderr, /ERR_CHAT_TEMPLATE: --format defaults to 'chat' but the model has no chat template; use --format plain .*--chat-template/);
  const scale = runCli(['generate', ...M, '-p', 'x', '--add', `${fixture.file}:abc`]);
  t.equal(scale.status, 2);
  t.match(scale.stderr, /--add .*happy\.gguf:abc \(the scale after :\) must be a finite number; received "abc"/);
});

t.test('--chat-template gives a model without one a template, as Model.load chatTemplate does', async (t) => {
  const r = runCli(['generate', ...M, '-p', 'Hi', '--chat', '--chat-template', 'chatml', '--greedy', '--max-tokens', '5', '--json']);
  t.equal(r.status, 0, r.stderr);
  const m = await Model.load(stories260K, { chatTemplate: 'chatml' });
  const c = await m.createContext({ contextSize: 256, threads: 1 });
  t.teardown(async () => { await c.dispose(); m.dispose(); });
  const want = await c.complete({ messages: [{ role: 'user', content: 'Hi' }] }, { greedy: true, maxTokens: 5 });
  t.same([json<GenerateJson>(r).tokens, json<GenerateJson>(r).promptTokens], [want.tokens, want.promptTokens]);
});

t.test('chat quotes a bad /add as typed and goes on', async (t) => {
  const r = runCli(['chat', ...M, '--greedy', '--max-tokens', '3', '--json'], { input: `/add ${fixture.file} 0.5 9\nOnce\n` });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stderr, new RegExp(`ERR_INVALID_ARG: /add ${fixture.file.replace(/[.\\/]/g, '\\$&')} 0\\.5 9: block 9 is not in`));
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
  t.same(lines.map((l) => l.type), ['error', 'reply']);
});

t.test('a vector from another model file of the same shape is applied with a warning naming the hashes', async (t) => {
  const copy = path.join(fixture.dir, 'stories-retrained.gguf');
  const bytes = fs.readFileSync(stories260K);
  bytes[bytes.length - 64] ^= 1;  // the lowest bit of a weight near the end: same shape, other weights
  fs.writeFileSync(copy, bytes);
  const args = ['-p', PROMPT, '--greedy', '--max-tokens', '4', '--add', `${fixture.file}:0.5@1`];
  const other = runCli(['generate', '--model', copy, '--threads', '1', ...args]);
  t.equal(other.status, 0, other.stderr);
  t.match(other.stderr, /warning: .*happy\.gguf: the vector was extracted from another model file \(recorded hash sha256-ends:[0-9a-f]+, this model's sha256-ends:[0-9a-f]+\)/);
  const same = runCli(['generate', ...M, ...args]);
  t.notMatch(same.stderr, /another model file/);
});

t.test('extract says when one pair gives no separation to plot, and that block 0 does not travel to llama.cpp', async (t) => {
  const pairs = path.join(fixture.dir, 'one.json');
  fs.writeFileSync(pairs, JSON.stringify({ trait: 'happy', samples: [{ positive: { prompt: 'Lily was', response: ' very happy.' }, negative: { prompt: 'Lily was', response: ' very sad.' } }] }));
  const out = path.join(fixture.dir, 'one.gguf');
  const plot = path.join(fixture.dir, 'one.svg');
  const r = runCli(['extract', ...M, '--pairs', pairs, '-o', out, '--plot', plot]);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stderr, /--plot .*one\.svg: with 1 kept pair there is no spread .* the chart shows the gap/);
  t.match(r.stderr, /note: .*one\.gguf holds block 0 \(direction\.0\): llama\.cpp's own control-vector loader .* refuses .* extract with --blocks 1-4/);
  const svg = fs.readFileSync(plot, 'utf8');
  t.equal((svg.match(/<rect x="[^"]+" y="[^"]+" width="[^"]+" height="[^"]+" fill="#/g) ?? []).length, 5, 'one bar per block');
  t.match(svg, /gap per block/);
  const ins = runCli(['inspect', out]);
  t.match(ins.stdout, /block 0 \(direction\.0\): llama\.cpp's --control-vector loader refuses this file/);
  const noZero = runCli(['extract', ...M, '--pairs', pairs, '-o', path.join(fixture.dir, 'one-1.gguf'), '--blocks', '1-4']);
  t.notMatch(noZero.stderr, /direction\.0/);
});

t.test('bench takes a leading --, and without its runner says exactly how to build it', async (t) => {
  const r = runCli(['bench', '--', '--help']);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /usage|persona-steer bench/i);
  t.notMatch(r.stderr, /unknown option/);
  t.match(benchMissing('/nowhere/runner.js'), /^the benchmark runner is not built \(no \/nowhere\/runner\.js\); build it with: cd ".*" && npm run build:bench/);
});

t.test('demo --help lists every flag demo takes, --threads included', async (t) => {
  const r = runCli(['demo', '--help']);
  for (const f of ['--trait', '--questions', '--model', '--threads', '--json']) t.match(r.stdout, new RegExp(`${f}\\b`), f);
});
