// A fast subset of the toy model's behavioural acceptance (the full table: node dist/toy/acceptance.js).
// The vector is extracted by the library's own extraction from the trait's contrastive system
// prompts; answers are greedy, on held-out questions, judged by the repository's scorer.
import t from 'tap';
import fs from 'node:fs';
import { Model, type Context } from '../../lib/index';
import { steerAdd } from '../../lib/persona/steer';
import { CAP_CALIBRATION_QUESTIONS, DEFAULT_TOY_MODEL, auroc, chooseSteering, extractToyTrait, lastPromptProjections, neutralCap, separatingBlocks, trainQuestions } from '../../lib/toy/acceptance';
import { evalQuestions } from '../../lib/toy/questions';
import { isWellFormed, scoreAnswer } from '../../lib/toy/scorer';
import { NEUTRAL_SYSTEM_PROMPT, SYSTEM_PROMPTS, TRAIT_NAMES, TRAIT_POLES, type TraitName } from '../../lib/toy/traits';
import type { SteeringPlan } from '../../lib/steering';
import type { PersonaVector } from '../../lib/vector/persona-vector';

const MODEL = process.env.PERSONA_STEER_TOY_MODEL ?? DEFAULT_TOY_MODEL;
const QUESTIONS = evalQuestions().slice(0, 20).map((q) => q.question);

let model: Model;
let ctx: Context;
let pirate: PersonaVector;
const vectors = new Map<TraitName, PersonaVector>();
// Blocks and coefficient are chosen on training questions, as in the full acceptance run.
let BLOCKS: number[];
let COEFFICIENT: number;

const chat = (system: string, user: string) => ({ messages: [{ role: 'system', content: system }, { role: 'user', content: user }] });

async function texts(system: string, steer: ReturnType<typeof steerAdd>[] | SteeringPlan | null) {
  const out = [];
  for (const q of QUESTIONS) out.push((await ctx.complete(chat(system, q), { greedy: true, maxTokens: 96, steer })).text);
  ctx.setSteering(null);
  return out;
}

async function answers(system: string, steer: ReturnType<typeof steerAdd>[] | SteeringPlan | null) {
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
  for (const trait of TRAIT_NAMES) vectors.set(trait, await extractToyTrait(ctx, trait, trainQuestions(16), 96));
  pirate = vectors.get('pirate')!;
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

for (const trait of TRAIT_NAMES) {
  const [pos, neg] = TRAIT_POLES[trait];
  const prompts = SYSTEM_PROMPTS[trait] as Record<string, string>;

  t.test(`the last prompt token projection separates the ${pos} and ${neg} prompts (AUROC >= 0.95)`, async (t) => {
    const v = vectors.get(trait)!;
    const block = v.blocks[v.blocks.length - 1]!;
    const proj = async (system: string) => (await lastPromptProjections(ctx, v, system, QUESTIONS.map((question) => ({ question })), [block])).get(block)!;
    const a = auroc(await proj(prompts[pos]!), await proj(prompts[neg]!));
    t.ok(a >= 0.95, `AUROC ${a} at block ${block}`);
  });

  t.test(`capping ${trait} at the neutral prompt's mean cuts it to 20% under the ${pos} prompt and changes at most 5% of answers under the ${neg} prompt`, async (t) => {
    const v = vectors.get(trait)!;
    const { plan } = await neutralCap(ctx, v, trainQuestions(CAP_CALIBRATION_QUESTIONS), separatingBlocks(v));
    const pushed = await answers(prompts[pos]!, null);
    const capped = await answers(prompts[pos]!, plan);
    const rate = (xs: typeof capped) => xs.filter((s) => s[trait] === pos).length / xs.length;
    t.ok(rate(pushed) >= 0.95, `uncapped ${pos} rate ${rate(pushed)}`);
    t.ok(rate(capped) <= 0.2, `capped ${pos} rate ${rate(capped)}`);
    t.ok(capped.filter(isWellFormed).length / capped.length >= 0.9, 'capped answers are well formed');
    const plain = await texts(prompts[neg]!, null);
    const cappedPlain = await texts(prompts[neg]!, plan);
    const changed = cappedPlain.filter((x, i) => x !== plain[i]).length / plain.length;
    t.ok(changed <= 0.05, `capping changed ${(changed * 100).toFixed(0)}% of answers under the ${neg} prompt`);
  });
}
