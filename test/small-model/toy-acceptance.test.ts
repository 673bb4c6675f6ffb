// A fast subset of the toy model's behavioural acceptance (the full table: node dist/toy/acceptance.js).
// The vector is extracted by the library's own extraction from the trait's contrastive system
// prompts; answers are greedy, on held-out questions, judged by the repository's scorer.
import t from 'tap';
import fs from 'node:fs';
import { Model, type Context } from '../../lib/index';
import { steerAdd } from '../../lib/persona/steer';
import { DEFAULT_TOY_MODEL, auroc, chooseSteering, extractToyTrait, trainQuestions } from '../../lib/toy/acceptance';
import { evalQuestions } from '../../lib/toy/questions';
import { isWellFormed, scoreAnswer } from '../../lib/toy/scorer';
import { NEUTRAL_SYSTEM_PROMPT, SYSTEM_PROMPTS, TRAIT_NAMES } from '../../lib/toy/traits';
import type { PersonaVector } from '../../lib/vector/persona-vector';

const MODEL = process.env.PERSONA_STEER_TOY_MODEL ?? DEFAULT_TOY_MODEL;
const QUESTIONS = evalQuestions().slice(0, 20).map((q) => q.question);

let model: Model;
let ctx: Context;
let pirate: PersonaVector;
// Blocks and coefficient are chosen on training questions, as in the full acceptance run.
let BLOCKS: number[];
let COEFFICIENT: number;

const chat = (system: string, user: string) => ({ messages: [{ role: 'system', content: system }, { role: 'user', content: user }] });

async function answers(system: string, steer: ReturnType<typeof steerAdd>[] | null) {
  const out = [];
  for (const q of QUESTIONS) {
    const r = await ctx.complete(chat(system, q), { greedy: true, maxTokens: 96, steer });
    out.push(scoreAnswer(r.text, q));
  }
  ctx.setSteering(null);
  return out;
}

t.before(async () => {
  if (!fs.existsSync(MODEL)) throw new Error(`toy model missing: ${MODEL}`);
  model = await Model.load(MODEL);
  ctx = await model.createContext({ contextSize: 512, threads: 1 });
  pirate = await extractToyTrait(ctx, 'pirate', trainQuestions(16), 96);
  ({ blocks: BLOCKS, coefficient: COEFFICIENT } = await chooseSteering(ctx, 'pirate', pirate, trainQuestions(6), 96));
});
t.teardown(async () => {
  await ctx.dispose();
  model.dispose();
});

t.test('the toy model is a chat model llama.cpp treats as ChatML', async (t) => {
  t.ok(model.info.chatTemplate?.includes('<|im_start|>'));
  t.ok(model.info.blockCount >= 4 && model.info.embeddingSize >= 64);
  t.ok(fs.statSync(MODEL).size <= 4 * 1024 * 1024, 'file is at most 4 MB');
});

t.test('explicit system prompts give the requested pole at least 95% of the time', async (t) => {
  const pos = await answers(SYSTEM_PROMPTS.pirate.pirate, null);
  const neg = await answers(SYSTEM_PROMPTS.pirate.plain, null);
  t.ok(pos.filter((s) => s.pirate === 'pirate').length / pos.length >= 0.95);
  t.ok(neg.filter((s) => s.pirate === 'plain').length / neg.length >= 0.95);
});

t.test('adding the vector under the neutral prompt raises the trait to 90% and subtracting lowers it to 10%, answers well formed', async (t) => {
  const base = await answers(NEUTRAL_SYSTEM_PROMPT, null);
  const up = await answers(NEUTRAL_SYSTEM_PROMPT, [steerAdd(pirate, COEFFICIENT, { blocks: BLOCKS })]);
  const down = await answers(NEUTRAL_SYSTEM_PROMPT, [steerAdd(pirate, -COEFFICIENT, { blocks: BLOCKS })]);
  const rate = (xs: typeof base) => xs.filter((s) => s.pirate === 'pirate').length / xs.length;
  const baseRate = rate(base);
  t.ok(baseRate >= 0.3 && baseRate <= 0.7, `neutral rate ${baseRate}`);
  t.ok(rate(up) >= 0.9, `+v rate ${rate(up)}`);
  t.ok(rate(down) <= 0.1, `-v rate ${rate(down)}`);
  const formed = [...up, ...down].filter(isWellFormed).length / (up.length + down.length);
  t.ok(formed >= 0.9, `well-formed ${formed}`);
  for (const other of TRAIT_NAMES.filter((x) => x !== 'pirate')) {
    const pole = other === 'cheerful' ? 'cheerful' : 'sycophantic';
    const r0 = base.filter((s) => s[other] === pole).length / base.length;
    const moved = Math.max(...[up, down].map((xs) => Math.abs(xs.filter((s) => s[other] === pole).length / xs.length - r0)));
    t.ok(moved <= 0.1, `${other} moved ${(moved * 100).toFixed(0)} points`);
  }
});

t.test('the last prompt token projection separates the pirate and plain prompts (AUROC >= 0.95)', async (t) => {
  const proj = async (system: string) => {
    const items = QUESTIONS.map((q) => {
      const tokens = model.tokenize(model.applyChatTemplate(chat(system, q).messages), { addSpecial: false });
      return { tokens, start: tokens.length - 1, end: tokens.length };
    });
    return (await ctx.projectionMeans(items, [{ name: 'pirate', vector: pirate, blocks: BLOCKS }]))[0]!.values;
  };
  const a = auroc(await proj(SYSTEM_PROMPTS.pirate.pirate), await proj(SYSTEM_PROMPTS.pirate.plain));
  t.ok(a >= 0.95, `AUROC ${a}`);
});
