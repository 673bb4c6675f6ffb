import t from 'tap';
import path from 'node:path';
import { add, clamp, ablate, type Context, type PersonaVector } from '../../lib/index';
import { json, runCli } from '../helpers/cli';
import { stories260K } from '../helpers/models';
import { disposeHappyVectorFixture, happyVectorFixture, type HappyVectorFixture } from '../helpers/happy-vector';

const M = ['--model', stories260K, '--threads', '1', '--gpu-layers', '0'];
const PROMPT = 'Once upon a time, there was a dog';
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

interface GenerateJson { text: string; tokens: number[]; stopReason: string; promptTokens: number; generatedTokens: number; tokensPerSecond: number; steering: string[] }

t.test('generate --json prints the documented object with the greedy tokens the library generates', async (t) => {
  const r = runCli(['generate', ...M, '--prompt', PROMPT, '--max-tokens', '16', '--greedy', '--json']);
  t.equal(r.status, 0, r.stderr);
  const j = json<GenerateJson>(r);
  t.same(Object.keys(j).sort(), ['generatedTokens', 'positions', 'promptTokens', 'steering', 'stopReason', 'text', 'tokens', 'tokensPerSecond']);
  t.equal(j.positions, 'all');
  const lib = await ctx.complete(PROMPT, { greedy: true, maxTokens: 16 });
  t.same(j.tokens, lib.tokens);
  t.equal(j.text, lib.text);
  t.same([j.stopReason, j.promptTokens, j.generatedTokens, j.steering], ['max-tokens', lib.promptTokens, 16, []]);
});

t.test('generate with --add, --clamp and --ablate steers as the library plan does', async (t) => {
  const r = runCli(['generate', ...M, '--prompt', PROMPT, '--max-tokens', '16', '--greedy', '--json',
    '--add', `${file}:0.75@1-3`, '--clamp', `${file}::0.2@4`, '--ablate', `${file}@0`]);
  t.equal(r.status, 0, r.stderr);
  const j = json<GenerateJson>(r);
  t.same(j.steering, [`add ${file}:0.75@1,2,3`, `clamp ${file}::0.2@4`, `ablate ${file}@0`]);
  const lib = await ctx.complete(PROMPT, { greedy: true, maxTokens: 16, steer: [add(vector, 0.75, [1, 2, 3]), clamp(vector, { max: 0.2 }, [4]), ablate(vector, [0])] });
  t.same(j.tokens, lib.tokens);
  ctx.setSteering(null);
  const plain = await ctx.complete(PROMPT, { greedy: true, maxTokens: 16 });
  t.not(plain.tokens.join(), j.tokens.join(), 'the steering changes the text');
  const seeded = runCli(['generate', ...M, '--prompt', PROMPT, '--max-tokens', '8', '--seed', '5', '--temperature', '1', '--json']);
  const libSeeded = await ctx.complete(PROMPT, { maxTokens: 8, seed: 5, temperature: 1 });
  t.same(json<GenerateJson>(seeded).tokens, libSeeded.tokens, '--seed reproduces sampling');
});

t.test('generate without --json streams the text', async (t) => {
  const r = runCli(['generate', ...M, '-p', PROMPT, '--max-tokens', '8', '--greedy']);
  t.equal(r.status, 0, r.stderr);
  const lib = await ctx.complete(PROMPT, { greedy: true, maxTokens: 8 });
  t.equal(r.stdout, `${lib.text}\n`);
});

interface CaptureJson { tokens: number[]; blocks: { block: number; positions: number[]; rows: number[][] }[] }

t.test('capture --json prints token ids and, per block, one row of embeddingSize floats per token', async (t) => {
  const r = runCli(['capture', ...M, '--prompt', PROMPT, '--blocks', '1,3', '--json']);
  t.equal(r.status, 0, r.stderr);
  const j = json<CaptureJson>(r);
  t.same(Object.keys(j).sort(), ['blocks', 'tokens']);
  const lib = await ctx.capture(PROMPT, { blocks: [1, 3] });
  t.same(j.tokens, Array.from(lib.tokens));
  t.same(j.blocks.map((b) => b.block), [1, 3]);
  for (const b of j.blocks) {
    const rows = lib.blocks.find((x) => x.block === b.block)!;
    t.same(b.positions, Array.from({ length: lib.tokens.length }, (_, i) => i));
    t.equal(b.rows.length, lib.tokens.length);
    t.ok(b.rows.every((row) => row.length === 64));
    // Nine significant digits bring float32 values back exactly.
    b.rows.forEach((row, i) => t.same(Float32Array.from(row), rows.rows[rows.positions.indexOf(i)], `block ${b.block} row ${i}`));
  }
});

t.test('capture --positions last reads one row per block, after the steering flags', async (t) => {
  const r = runCli(['capture', ...M, '--prompt', PROMPT, '--positions', 'last', '--add', `${file}:2@2`, '--json']);
  t.equal(r.status, 0, r.stderr);
  const j = json<CaptureJson>(r);
  t.same(j.blocks.map((b) => b.block), [0, 1, 2, 3, 4]);
  t.ok(j.blocks.every((b) => b.rows.length === 1 && b.positions[0] === j.tokens.length - 1));
  ctx.setSteering([add(vector, 2, [2])]);
  const lib = await ctx.capture(PROMPT, { positions: 'last' });
  for (const b of j.blocks) t.same(Float32Array.from(b.rows[0]), lib.blocks.find((x) => x.block === b.block)!.rows[0], `block ${b.block}`);
  const human = runCli(['capture', ...M, '--prompt', 'Once upon', '--blocks', '0']);
  t.match(human.stdout, /^tokens \(3\): 1 403 407\nblock 0\n {2}pos 0 "<s>" norm /);
});

t.test('generate and capture refuse bad arguments with the documented code and status', async (t) => {
  const cases: [string[], number, RegExp][] = [
    [['generate', ...M], 2, /^persona-steer generate: ERR_INVALID_ARG: --prompt or --file is required/],
    [['generate', ...M, '-p', 'x', '--max-tokens', '0'], 2, /--max-tokens must be an integer in \[1, 1048576\]; received "0"/],
    [['generate', ...M, '-p', 'x', '--seed', '-1'], 2, /--seed must be an integer/],
    [['generate', ...M, '-p', 'x', '--colour'], 2, /Unknown option '--colour' \(see persona-steer generate --help\)/],
    [['generate', ...M, '-p', 'x', '--add', `${file}@7`], 2, /--add .*happy\.gguf@7: block 7 is not in .*happy\.gguf \(it has 0, 1, 2, 3, 4\)/],
    [['generate', ...M, '-p', 'x', '--add', `${file}:big`], 2, /ERR_INVALID_ARG: --add .*happy\.gguf:big \(the scale after :\) must be a finite number; received "big"/],
    [['generate', ...M, '-p', 'x', '--clamp', `${file}:1`], 2, /--clamp must be FILE:MIN:MAX/],
    [['generate', ...M, '-p', 'x', '--clamp', `${file}:3:1`], 2, /\(MIN\) must be a number <= MAX \(1\)/],
    [['generate', ...M, '-p', 'x', '--ablate', path.join(dir, 'none.gguf')], 1, /ERR_BAD_FILE/],
    [['generate', '--model', path.join(dir, 'none.gguf'), '-p', 'x'], 1, /^persona-steer generate: ERR_MODEL_LOAD: no model file at /],
    [['capture', ...M, '-p', 'x', '--positions', 'first'], 2, /--positions must be one of all, last; received "first"/],
    [['capture', ...M, '-p', 'x', '--blocks', '2,9'], 2, /ERR_INVALID_ARG: --blocks: block 9 is beyond the model's 5 blocks \(0 to 4\)/],
    [['capture', ...M, '-p', 'x', '--blocks', '3-1'], 2, /--blocks must be a range low-high with low <= high/],
  ];
  for (const [args, status, re] of cases) {
    const r = runCli(args);
    t.equal(r.status, status, args.slice(M.length + 1).join(' '));
    t.match(r.stderr, re);
    t.equal(r.stderr.split('\n').filter(Boolean).length, 1, 'one line, no stack trace');
  }
});
