import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { add, projectionDifference, type Context, type PersonaVector } from '../../lib/index';
import { json, runCli } from '../helpers/cli';
import { stories260K } from '../helpers/models';
import { disposeHappyVectorFixture, happyVectorFixture, type HappyVectorFixture } from '../helpers/happy-vector';
import { HAPPY, OPENINGS, SAD } from '../helpers/stories';

const M = ['--model', stories260K, '--threads', '1', '--gpu-layers', '0'];
let dir: string;
let file: string;
let ctx: Context;
let vector: PersonaVector;

let fixture: HappyVectorFixture;
t.before(async () => {
  fixture = await happyVectorFixture();
  ({ dir, file, ctx, vector } = fixture);
});
t.teardown(() => disposeHappyVectorFixture(fixture));
t.beforeEach(() => ctx.setSteering(null));

interface P { name: string; block: number; value: number }
interface MonitorJson {
  text: string; stopReason: string; steering: string[]; vectors: { name: string; file: string; blocks: number[] }[];
  lastPromptProjections: P[]; tokens: { id: number; text: string; projections: P[] }[];
}

t.test('monitor --json streams each token with its projections, as the library monitor reports them', async (t) => {
  const r = runCli(['monitor', ...M, '--prompt', 'Lily was', '--vector', `${file}@2-3`, '--vector', file, '--max-tokens', '10', '--greedy', '--json']);
  t.equal(r.status, 0, r.stderr);
  const j = json<MonitorJson>(r);
  t.same(Object.keys(j).sort(), ['lastPromptProjections', 'positions', 'steering', 'stopReason', 'text', 'tokens', 'vectors']);
  t.same(j.vectors, [{ name: 'happy', file: `${file}`, blocks: [2, 3] }, { name: 'happy#2', file, blocks: vector.metadata.recommendedBlocks }]);
  t.equal(j.tokens.length, 10);
  const lib = await ctx.complete('Lily was', { greedy: true, maxTokens: 10, monitor: [{ name: 'happy', vector, blocks: [2, 3] }] });
  t.same(j.tokens.map((x) => x.id), lib.tokens);
  t.equal(j.tokens.map((x) => x.text).join(''), lib.text);
  j.tokens.forEach((tok, k) => {
    const mine = tok.projections.filter((p) => p.name === 'happy');
    t.same(mine.map((p) => p.block), [2, 3]);
    t.ok(mine.every((p, i) => Math.abs(p.value - lib.projections[k][i].value) < 1e-6), `token ${k}`);
  });
  t.same(j.lastPromptProjections.filter((p) => p.name === 'happy'), lib.lastPromptProjections);
});

t.test('monitor --plot draws one line per watched (vector, block) across the generated tokens', async (t) => {
  const svg = path.join(dir, 'mon.svg');
  const r = runCli(['monitor', ...M, '-p', 'The dog', '--vector', `${file}@1,3,4`, '--max-tokens', '6', '--greedy', '--add', `${file}:1@2`, '--plot', svg]);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^ {3}0 .*happy@1=-?\d+\.\d{4} happy@3=-?\d+\.\d{4} happy@4=-?\d+\.\d{4}\n/);
  t.match(r.stdout, /\nlast prompt token: happy@1=/);
  const polylines = [...fs.readFileSync(svg, 'utf8').matchAll(/<polyline[^>]* points="([^"]*)"/g)];
  t.equal(polylines.length, 3);
  t.ok(polylines.every((m) => m[1].split(' ').length === 6), 'six points each');
});

t.test('monitor --dataset prints the projection difference of every sample', async (t) => {
  const data = path.join(dir, 'data.jsonl');
  const rows = [0, 1, 2].map((i) => ({ prompt: OPENINGS[i], response: i === 1 ? SAD[i] : HAPPY[i], modelResponse: i === 1 ? HAPPY[i] : SAD[i] }));
  fs.writeFileSync(data, `${rows.map((x) => JSON.stringify(x)).join('\n')}\n`);
  const r = runCli(['monitor', ...M, '--vector', `${file}@1-2`, '--dataset', data, '--json']);
  t.equal(r.status, 0, r.stderr);
  const j = json<{ vector: string; blocks: number[]; samples: { index: number; deltaP: number[]; datasetProjection: number[]; modelProjection: number[]; modelResponse: string }[] }>(r);
  t.same(j.blocks, [1, 2]);
  const lib = await projectionDifference(ctx, vector, rows, { blocks: [1, 2] });
  j.samples.forEach((s, i) => {
    t.equal(s.index, i);
    t.ok(s.deltaP.every((d, b) => Math.abs(d - lib.samples[i].deltaP[b]) < 1e-9), `sample ${i}`);
    t.equal(s.modelResponse, rows[i].modelResponse);
  });
  t.ok(j.samples[0].deltaP[0] > 0 && j.samples[1].deltaP[0] < 0, 'happy data over a sad own answer is flagged, the reverse is not');
  const missing = runCli(['monitor', ...M, '--vector', file, '--dataset', path.join(dir, 'nope.jsonl')]);
  t.equal(missing.status, 1);
  t.match(missing.stderr, /ERR_BAD_FILE/);
  const twoModes = runCli(['monitor', ...M, '--vector', file, '--dataset', data, '--prompt', 'x']);
  t.equal(twoModes.status, 2);
  t.match(twoModes.stderr, /give exactly one of --prompt \(or --file\) and --dataset/);
  const noVector = runCli(['monitor', ...M, '--prompt', 'x']);
  t.equal(noVector.status, 2);
  t.match(noVector.stderr, /--vector is required/);
});

interface ChatLine { type: string; user?: string; text?: string; tokens?: number[]; steering?: string[]; code?: string; message?: string }

t.test('chat takes turns from stdin and changes steering between them', async (t) => {
  const input = ['Once upon a time', `/add ${file} 1.5 2-3`, 'Once upon a time', '/nonsense', `/add ${path.join(dir, 'none.gguf')}`, '/clear', 'Once upon a time', '/reset', '/quit', 'never read'].join('\n');
  const r = runCli(['chat', ...M, '--greedy', '--max-tokens', '12', '--json'], { input });
  t.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as ChatLine);
  t.same(lines.map((l) => l.type), ['reply', 'steering', 'reply', 'error', 'error', 'steering', 'reply', 'reset']);
  t.same(lines[1].steering, [`add ${file}:1.5@2,3`]);
  t.same(lines[3].code, 'ERR_INVALID_ARG');
  t.same(lines[4].code, 'ERR_BAD_FILE');
  t.same(lines[5].steering, []);
  const plain = await ctx.complete('Once upon a time', { greedy: true, maxTokens: 12 });
  t.same(lines[0].tokens, plain.tokens, 'first turn: unsteered');
  // Plain mode: the second turn continues the whole conversation text.
  ctx.setSteering([add(vector, 1.5, [2, 3])]);
  const second = await ctx.complete(`Once upon a time${plain.text}\nOnce upon a time`, { greedy: true, maxTokens: 12 });
  t.same(lines[2].tokens, second.tokens, 'second turn: steered, continuing the conversation');
  ctx.setSteering(null);
  const unsteered = await ctx.complete(`Once upon a time${plain.text}\nOnce upon a time`, { greedy: true, maxTokens: 12 });
  t.not(unsteered.tokens.join(), second.tokens.join(), 'the steering matters');
  t.same(lines[6].tokens, (await ctx.complete(`Once upon a time${plain.text}\nOnce upon a time${second.text}\nOnce upon a time`, { greedy: true, maxTokens: 12 })).tokens,
    'third turn: unsteered again after /clear');
  t.match(r.stderr, /persona-steer chat: ERR_INVALID_ARG: unknown command \/nonsense/);
});

t.test('chat without --json writes replies and command results as text', async (t) => {
  const r = runCli(['chat', ...M, '--greedy', '--max-tokens', '6'], { input: `/add ${file} 1\n/steering\nThe cat\n` });
  t.equal(r.status, 0, r.stderr);
  const blocks = vector.metadata.recommendedBlocks!.join(',');
  t.match(r.stdout, new RegExp(`^steering: add ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1@${blocks} \\(positions all\\)\nsteering: add `),
    'SCALE alone keeps the recommended blocks');
  t.match(r.stderr, /warning: the model has no chat template: plain mode/);
  const bad = runCli(['chat', ...M, '--format', 'chat'], { input: '' });
  t.equal(bad.status, 1);
  t.match(bad.stderr, /^persona-steer chat: ERR_CHAT_TEMPLATE: /);
});

t.test('chat keeps the conversation in one sequence: a later turn evaluates only what follows the history', async (t) => {
  const input = ['Once upon a time', 'Once upon a time', '/quit'].join('\n');
  const r = runCli(['chat', ...M, '--greedy', '--max-tokens', '12', '--json'], { input });
  t.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as ChatLine & { cachedTokens: number; promptTokens: number });
  t.equal(lines[0].cachedTokens, 0);
  t.ok(lines[1].cachedTokens > 0 && lines[1].cachedTokens < lines[1].promptTokens,
    `second turn: ${lines[1].cachedTokens} of ${lines[1].promptTokens} prompt tokens came from the sequence`);
  const first = await ctx.complete('Once upon a time', { greedy: true, maxTokens: 12, steer: false });
  const cold = await ctx.complete(`Once upon a time${first.text}\nOnce upon a time`, { greedy: true, maxTokens: 12, steer: false });
  t.same(lines[1].tokens, cold.tokens, 'the same reply as the whole conversation evaluated cold');
});
