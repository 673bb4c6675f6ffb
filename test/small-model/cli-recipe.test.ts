// The recipe's commands on the toy model, each against the library call it stands for: sweep,
// calibrate, --add FILE / :SCALE / @BLOCKS, --positions, --cap FILE, --if-above, and chat's
// /add, /cap and /positions.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  Model, calibrateCap, cap, completeConditional, extractPersonaVector, personaPlan, readControlVector, steerAdd, sweepSteering,
  writeControlVector, type Context, type PersonaVector,
} from '../../lib/index';
import { DEFAULT_TOY_MODEL } from '../../lib/toy/model-path';
import { toySpec } from '../../lib/toy/spec';
import { NEUTRAL_SYSTEM_PROMPT, SYSTEM_PROMPTS } from '../../lib/toy/traits';
import { json, requireBuiltCli, runCli } from '../helpers/cli';

const MODEL = process.env.PERSONA_STEER_TOY_MODEL ?? DEFAULT_TOY_MODEL;
const M = ['--model', MODEL, '--threads', '1'];
const QUESTION = 'Is it true that snow is black?';
const SWEEP_QUESTIONS = ['I think snow is red. Am I right?', 'My teacher says coal is white. Right?', 'I believe grass is purple. Is that so?', 'Is it true that the sky is green?'];

let dir: string;
let model: Model;
let ctx: Context;
let vector: PersonaVector;
let file: string;
let specFile: string;

const chat = (system: string, user: string) => ({ messages: [{ role: 'system', content: system }, { role: 'user', content: user }] });
const neutral = chat(NEUTRAL_SYSTEM_PROMPT, QUESTION);
const genArgs = (system: string) => ['generate', ...M, '--chat', '--system', system, '-p', QUESTION, '--greedy', '--max-tokens', '40', '--json'];

t.before(async () => {
  requireBuiltCli();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'persona-recipe-cli-'));
  model = await Model.load(MODEL);
  ctx = await model.createContext({ contextSize: 512, threads: 1 });
  specFile = path.join(dir, 'pirate.json');
  fs.writeFileSync(specFile, JSON.stringify(toySpec('pirate')));
  vector = (await extractPersonaVector(ctx, toySpec('pirate'), { sweep: false, coefficient: 1 })).vector;
  file = path.join(dir, 'pirate.gguf');
  await writeControlVector(file, vector);
});
t.teardown(async () => {
  await ctx.dispose();
  model.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface GenerateJson { text: string; tokens: number[]; steering: string[]; positions: string; condition?: { matched: boolean; values: { value: number }[] } }

t.test('generate --add FILE steers at the recorded coefficient, blocks and positions, as personaPlan([steerAdd(v)])', async (t) => {
  const r = runCli([...genArgs(NEUTRAL_SYSTEM_PROMPT), '--add', file]);
  t.equal(r.status, 0, r.stderr);
  const j = json<GenerateJson>(r);
  const md = vector.metadata;
  t.same([j.steering, j.positions], [[`add ${file}:${md.coefficient}@${md.recommendedBlocks!.join(',')}`], 'prompt']);
  const lib = await ctx.complete(neutral, { greedy: true, maxTokens: 40, steer: personaPlan([steerAdd(vector)]) });
  t.same(j.tokens, lib.tokens);
});

t.test(':SCALE replaces the coefficient, @BLOCKS the blocks, --positions the positions', async (t) => {
  const r = runCli([...genArgs(NEUTRAL_SYSTEM_PROMPT), '--add', `${file}:-1.5@2`, '--positions', 'all']);
  t.equal(r.status, 0, r.stderr);
  const j = json<GenerateJson>(r);
  t.same([j.steering, j.positions], [[`add ${file}:-1.5@2`], 'all']);
  const lib = await ctx.complete(neutral, { greedy: true, maxTokens: 40, steer: personaPlan([steerAdd(vector, -1.5, { blocks: [2] })], { positions: 'all' }) });
  t.same(j.tokens, lib.tokens);
  const other = await ctx.complete(neutral, { greedy: true, maxTokens: 40, steer: personaPlan([steerAdd(vector, -1.5, { blocks: [2] })]) });
  t.not(other.tokens.join(), lib.tokens.join(), 'positions matter here, so the flag was applied');
});

t.test('monitor steers with --add FILE at the recorded positions, or at --positions', async (t) => {
  for (const flag of [[], ['--positions', 'all']]) {
    const r = runCli(['monitor', ...M, '-p', 'Is snow black?', '--vector', file, '--greedy', '--max-tokens', '12', '--json', '--add', file, ...flag]);
    t.equal(r.status, 0, r.stderr);
    const j = json<{ text: string; positions: string }>(r);
    const positions = flag.length > 0 ? 'all' : 'prompt';
    t.equal(j.positions, positions);
    const lib = await ctx.complete('Is snow black?', { greedy: true, maxTokens: 12, steer: personaPlan([steerAdd(vector)], { positions }) });
    t.equal(j.text, lib.text);
  }
});

t.test('files that record different positions need --positions', async (t) => {
  const other = path.join(dir, 'everywhere.gguf');
  await writeControlVector(other, vector.withMetadata({ positions: 'all' }));
  const r = runCli([...genArgs(NEUTRAL_SYSTEM_PROMPT), '--add', file, '--add', `${other}:0.1`]);
  t.equal(r.status, 2);
  t.match(r.stderr, /the files recommend different positions \(prompt: --add .*pirate\.gguf; all: --add .*everywhere\.gguf:0\.1\); choose one with --positions/);
  const ok = runCli([...genArgs(NEUTRAL_SYSTEM_PROMPT), '--add', file, '--add', `${other}:0.1`, '--positions', 'generated']);
  t.equal(ok.status, 0, ok.stderr);
  t.equal(json<GenerateJson>(ok).positions, 'generated');
});

t.test('a file without a recorded coefficient or thresholds says what to do', async (t) => {
  const bare = path.join(dir, 'bare.gguf');
  await writeControlVector(bare, (await extractPersonaVector(ctx, toySpec('pirate'), { sweep: false })).vector);
  const add = runCli([...genArgs(NEUTRAL_SYSTEM_PROMPT), '--add', bare]);
  t.equal(add.status, 2);
  t.match(add.stderr, /--add .*bare\.gguf: the file records no coefficient \(it was extracted without a steering sweep\); give one as .*bare\.gguf:SCALE, or record one with persona-steer sweep --out/);
  const capped = runCli([...genArgs(NEUTRAL_SYSTEM_PROMPT), '--cap', bare]);
  t.equal(capped.status, 2);
  t.match(capped.stderr, /--cap .*bare\.gguf: the file records no cap thresholds; record them with persona-steer calibrate/);
});

t.test('calibrate --spec records the thresholds calibrateCap measures on the spec questions, and --cap FILE caps there', async (t) => {
  const out = path.join(dir, 'capped.gguf');
  const r = runCli(['calibrate', ...M, '--vector', file, '--spec', specFile, '--out', out, '--json']);
  t.equal(r.status, 0, r.stderr);
  const j = json<{ blocks: number[]; thresholds: number[]; positions: string; statistic: string; margin: number; measured: string }>(r);
  const lib = await calibrateCap(ctx, vector, toySpec('pirate').extractionQuestions.map((q) => ({ messages: [{ role: 'user', content: q }] })));
  t.same([j.blocks, j.positions, j.statistic, j.margin, j.measured], [lib.blocks, 'prompt', 'mean', 0.1, 'last-prompt']);
  j.thresholds.forEach((x, i) => t.ok(Math.abs(x - lib.thresholds[i]) < 1e-6, `block ${j.blocks[i]}`));
  const v = await readControlVector(out);
  t.same([v.metadata.capBlocks, v.metadata.capPositions, v.metadata.recommendedBlocks], [j.blocks, 'prompt', vector.metadata.recommendedBlocks]);
  const g = runCli([...genArgs(SYSTEM_PROMPTS.pirate.pirate), '--cap', out]);
  t.equal(g.status, 0, g.stderr);
  const gj = json<GenerateJson>(g);
  t.same([gj.steering, gj.positions], [[`cap ${out}@${j.blocks.join(',')}`], 'prompt']);
  const capped = await ctx.complete(chat(SYSTEM_PROMPTS.pirate.pirate, QUESTION), { greedy: true, maxTokens: 40, steer: personaPlan([cap(v)]) });
  t.same(gj.tokens, capped.tokens);
});

t.test('chat /add FILE, /cap FILE and /positions use the same recorded settings', async (t) => {
  const out = path.join(dir, 'capped.gguf');
  const input = [`/add ${file}`, QUESTION, '/reset', '/clear', `/cap ${out}`, QUESTION, '/reset', '/positions all', QUESTION].join('\n');
  const r = runCli(['chat', ...M, '--system', NEUTRAL_SYSTEM_PROMPT, '--greedy', '--max-tokens', '40', '--json'], { input });
  t.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; tokens?: number[]; positions?: string });
  const replies = lines.filter((l) => l.type === 'reply');
  const capV = await readControlVector(out);
  const want = [personaPlan([steerAdd(vector)]), personaPlan([cap(capV)]), personaPlan([cap(capV)], { positions: 'all' })];
  for (let i = 0; i < 3; i++) {
    const lib = await ctx.complete(neutral, { greedy: true, maxTokens: 40, steer: want[i] });
    t.same(replies[i].tokens, lib.tokens, `reply ${i}`);
  }
  t.same(lines.filter((l) => l.type === 'steering').map((l) => l.positions), ['prompt', 'all', 'prompt', 'all']);
});

t.test('generate --if-above steers only when the prompt reads above the threshold, as completeConditional', async (t) => {
  for (const [q, threshold] of [[QUESTION, -1000], [QUESTION, 1000]] as const) {
    const r = runCli(['generate', ...M, '--chat', '--system', NEUTRAL_SYSTEM_PROMPT, '-p', q, '--greedy', '--max-tokens', '40', '--json',
      '--add', file, '--if-above', `${file}@3:${threshold}`]);
    t.equal(r.status, 0, r.stderr);
    const j = json<GenerateJson>(r);
    const lib = await completeConditional(ctx, chat(NEUTRAL_SYSTEM_PROMPT, q), { conditions: [{ vector, block: 3, threshold }], steer: personaPlan([steerAdd(vector)]) },
      { greedy: true, maxTokens: 40 });
    t.equal(j.condition!.matched, threshold < 0);
    t.equal(j.condition!.matched, lib.condition.matched);
    t.ok(Math.abs(j.condition!.values[0].value - lib.condition.values[0].value) < 1e-4);
    t.same(j.tokens, lib.tokens);
  }
  const missing = runCli([...genArgs(NEUTRAL_SYSTEM_PROMPT), '--add', file, '--if-above', file]);
  t.equal(missing.status, 2);
  t.match(missing.stderr, /--if-above .*pirate\.gguf: the file records no cap threshold at that block; give one as/);
  const alone = runCli([...genArgs(NEUTRAL_SYSTEM_PROMPT), '--if-above', `${file}:0`]);
  t.equal(alone.status, 2);
  t.match(alone.stderr, /--if-above\/--if-below need steering to apply/);
});

interface SweepJson { settings: { blocks: number[]; coefficient: number; score: number; coherent: boolean; up: { rate: number; nll: number }; down: { rate: number; nll: number } }[]; recommendation: { blocks: number[]; coefficient: number; positions: string } | null }

t.test('sweep --spec measures what sweepSteering measures, draws the heat map and records the pick with --out', async (t) => {
  const qfile = path.join(dir, 'questions.txt');
  fs.writeFileSync(qfile, `${SWEEP_QUESTIONS.join('\n')}\n`);
  const svg = path.join(dir, 'sweep.svg');
  const out = path.join(dir, 'swept.gguf');
  const r = runCli(['sweep', ...M, '--vector', file, '--spec', specFile, '--questions', qfile, '--block-set', '2', '--block-set', '3', '--coefficients', '0.5,2',
    '--plot', svg, '--out', out, '--json']);
  t.equal(r.status, 0, r.stderr);
  const j = json<SweepJson>(r);
  // The spec's reference answers, generated as extraction generates them (same seeds).
  const refs = (await extractPersonaVector(ctx, toySpec('pirate'), { sweep: false })).pairs.filter((p) => p.kept).map((p) => p.pair);
  const lib = await sweepSteering(ctx, vector, { questions: SWEEP_QUESTIONS, blocks: [2, 3], coefficients: [0.5, 2], references: refs });
  t.same(j.settings.map((s) => [s.blocks, s.coefficient, s.coherent, s.up.rate, s.down.rate]),
    lib.settings.map((s) => [s.blocks, s.coefficient, s.coherent, s.up.rate, s.down!.rate]));
  j.settings.forEach((s, i) => t.ok(Math.abs(s.up.nll - lib.settings[i].up.nll) < 1e-6));
  t.same(j.recommendation, lib.recommendation);
  const text = fs.readFileSync(svg, 'utf8');
  t.equal((text.match(/stroke="white">/g) ?? []).length, 4, 'a cell per (blocks, coefficient)');
  const swept = await readControlVector(out);
  t.same([swept.metadata.recommendedBlocks, swept.metadata.coefficient, swept.metadata.positions, swept.metadata.recommendedBy],
    [lib.recommendation!.blocks, lib.recommendation!.coefficient, lib.recommendation!.positions, 'sweep']);
  const table = runCli(['sweep', ...M, '--vector', file, '--spec', specFile, '--questions', qfile, '--block-set', '3', '--coefficients', '1']);
  t.equal(table.status, 0, table.stderr);
  t.match(table.stdout, /steering sweep: 1 settings x 4 questions/);
  t.match(table.stdout, /positions +blocks +coef \(raw\) +raw +relative +\+c trait +-c trait +perplexity +coherent +score/);
  const none = runCli(['sweep', ...M, '--vector', file, '--questions', qfile]);
  t.equal(none.status, 2);
  t.match(none.stderr, /the sweep needs a way to measure the trait: --spec or --pairs \(reference answers\), or --judge/);
});
