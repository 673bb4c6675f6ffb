// A subset of the persona recipe's acceptance on the toy model (the full table, 100 held-out
// questions, every trait through the API and the CLI: npm run toy:acceptance). Input per
// trait: its two contrastive system prompts and 12 training questions; every setting at its
// default. Answers are greedy, on held-out questions, judged by the repository's scorer.
import t, { type Test } from 'tap';
import fs from 'node:fs';
// The acceptance tooling drives the built library (dist/), as its CLI path does; the model and
// context it is given come from the same build.
import { Model, type Context } from '../../dist/index';
import { runApiRecipe, runCliRecipe, type TraitAcceptance } from '../../scripts/toy-model/acceptance';
import { DEFAULT_TOY_MODEL } from '../../lib/toy/model-path';
import { evalQuestions } from '../../lib/toy/questions';
import { scoreAnswer } from '../../lib/toy/scorer';
import { SYSTEM_PROMPTS } from '../../lib/toy/traits';
import { requireBuiltCli } from '../helpers/cli';

const MODEL = process.env.PERSONA_STEER_TOY_MODEL ?? DEFAULT_TOY_MODEL;
const QUESTIONS = evalQuestions().slice(0, 20).map((q) => q.question);

let model: Model;
let ctx: Context;

t.before(async () => {
  if (!fs.existsSync(MODEL)) throw new Error(`toy model missing: ${MODEL}`);
  requireBuiltCli();
  model = await Model.load(MODEL);
  ctx = await model.createContext({ contextSize: 512, threads: 1 });
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
  const rate = async (system: string, pole: string) => {
    let n = 0;
    for (const q of QUESTIONS) {
      const r = await ctx.complete({ messages: [{ role: 'system', content: system }, { role: 'user', content: q }] }, { greedy: true, maxTokens: 96, steer: null });
      if (scoreAnswer(r.text, q).pirate === pole) n++;
    }
    return n / QUESTIONS.length;
  };
  t.ok((await rate(SYSTEM_PROMPTS.pirate.pirate, 'pirate')) >= 0.95);
  t.ok((await rate(SYSTEM_PROMPTS.pirate.plain, 'plain')) >= 0.95);
});

function checkTargets(t: Test, r: TraitAcceptance): void {
  t.equal(r.recommendation.by, 'sweep', 'the recorded recommendation comes from the steering sweep');
  t.ok(r.negativeLeaning >= 5 && r.positiveLeaning >= 5, `both leanings present (${r.negativeLeaning} / ${r.positiveLeaning})`);
  t.ok(r.added >= 0.9, `+v turns ${(r.added * 100).toFixed(0)}% of ${r.negativeLeaning} negative-leaning answers (target >= 90%)`);
  t.ok(r.subtracted <= 0.1, `-v leaves ${(r.subtracted * 100).toFixed(0)}% of ${r.positiveLeaning} positive-leaning answers positive (target <= 10%)`);
  t.ok(r.wellFormed >= 0.9, `well-formed ${(r.wellFormed * 100).toFixed(0)}%`);
  t.ok(r.explicitPositive >= 0.95, `uncapped under the positive prompt ${(r.explicitPositive * 100).toFixed(0)}%`);
  t.ok(r.capped <= 0.2, `capped under the positive prompt ${(r.capped * 100).toFixed(0)}% (target <= 20%)`);
  t.ok(r.cappedWellFormed >= 0.9, `capped answers well-formed ${(r.cappedWellFormed * 100).toFixed(0)}%`);
  // Side effects (the toy card's targets, <= 5% and <= 10 points, are on 100 questions, where the full
  // run measures 1-2% and at most 4 points; on 20 questions one answer is 5%).
  t.ok(r.capChangedUnderNegative <= 0.1, `the cap changed ${(r.capChangedUnderNegative * 100).toFixed(0)}% of answers under the negative prompt`);
  t.ok(r.crossTraitShift <= 15, `other traits moved ${r.crossTraitShift.toFixed(0)} points`);
}

t.test('pirate through the CLI with every default: extract, chat --add FILE, --add FILE:-C, calibrate, chat --cap FILE', async (t) => {
  const { row } = await runCliRecipe(MODEL, 'pirate', QUESTIONS, 1);
  checkTargets(t, row);
  t.equal(row.recommendation.positions, 'prompt', 'a last-prompt vector acts at the prompt');
  t.equal(row.cap.positions, 'prompt');
});

for (const trait of ['cheerful', 'sycophantic'] as const) {
  t.test(`${trait} through the API with every default: extractPersonaVector, steerAdd(v), calibrateCap, cap(v)`, async (t) => {
    const { row } = await runApiRecipe(ctx, trait, QUESTIONS);
    checkTargets(t, row);
    t.ok(row.auroc! >= 0.95, `AUROC of the last prompt token's projection ${row.auroc}`);
  });
}
