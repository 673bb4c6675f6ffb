// Conditional steering (CAST) on the toy model: the condition reads the prompt, and only the
// questions it selects get steered. Oracles: the projection measured independently at the prompt's
// last token, the corpus's own label of each held-out question (questionPoles), the scorer, and
// the unsteered generation.
import t from 'tap';
import fs from 'node:fs';
import {
  ErrorCodes, Model, calibrateCap, checkConditions, completeConditional, extractPersonaVector, personaPlan, steerAdd, withCapThresholds,
  type Context, type PersonaVector, type SteeringPlan,
} from '../../lib/index';
import { DEFAULT_TOY_MODEL } from '../../lib/toy/model-path';
import { evalQuestions, questionPoles } from '../../lib/toy/questions';
import { scoreAnswer } from '../../lib/toy/scorer';
import { toySpec } from '../../lib/toy/spec';
import { NEUTRAL_SYSTEM_PROMPT, type TraitName } from '../../lib/toy/traits';
import { dot } from '../helpers/math';

const MODEL = process.env.PERSONA_STEER_TOY_MODEL ?? DEFAULT_TOY_MODEL;
const HELD = evalQuestions().slice(0, 16);
const prompt = (q: string) => ({ messages: [{ role: 'system', content: NEUTRAL_SYSTEM_PROMPT }, { role: 'user', content: q }] });

let model: Model;
let ctx: Context;
const vectors = new Map<TraitName, PersonaVector>();
let pirate: SteeringPlan;

/** A condition vector with the neutral prompts' calibration recorded (its default threshold). */
async function conditionVector(trait: TraitName): Promise<PersonaVector> {
  const spec = toySpec(trait);
  const v = (await extractPersonaVector(ctx, spec, { sweep: false })).vector;
  return withCapThresholds(v, await calibrateCap(ctx, v, spec.extractionQuestions.map((q) => ({ messages: [{ role: 'user', content: q }] }))));
}

/** The projection at the prompt's last token, read from captured rows (not through the condition code). */
async function lastTokenProjection(v: PersonaVector, block: number, q: string): Promise<number> {
  const c = await ctx.capture(prompt(q), { blocks: [block], positions: 'last' });
  const x = v.block(block);
  return dot(c.blocks[0].rows[0], x) / Math.sqrt(dot(x, x));
}

t.before(async () => {
  if (!fs.existsSync(MODEL)) throw new Error(`toy model missing: ${MODEL}`);
  model = await Model.load(MODEL);
  ctx = await model.createContext({ contextSize: 512, threads: 1 });
  vectors.set('cheerful', await conditionVector('cheerful'));
  vectors.set('sycophantic', await conditionVector('sycophantic'));
  const p = (await extractPersonaVector(ctx, toySpec('pirate'), { sweep: false, coefficient: 1 })).vector;
  pirate = personaPlan([steerAdd(p)]);
});
t.teardown(async () => {
  await ctx.dispose();
  model.dispose();
});

t.test('a condition on the cheerful vector steers exactly the questions whose prompt reads above its threshold', async (t) => {
  const cheerful = vectors.get('cheerful')!;
  const md = cheerful.metadata;
  const block = md.capBlocks![md.capBlocks!.length - 1];
  const threshold = md.capThresholds![md.capThresholds!.length - 1];
  let labelled = 0;
  for (const q of HELD) {
    ctx.setSteering(null);
    const value = await lastTokenProjection(cheerful, block, q.question);
    const plain = await ctx.complete(prompt(q.question), { greedy: true, maxTokens: 96, steer: null });
    const r = await completeConditional(ctx, prompt(q.question), { conditions: [{ vector: cheerful }], steer: pirate }, { greedy: true, maxTokens: 96 });
    t.same([r.condition.values[0].block, r.condition.values[0].threshold], [block, threshold], 'defaults: the last cap block and its recorded threshold');
    t.ok(Math.abs(r.condition.values[0].value - value) < 1e-3, `measured ${r.condition.values[0].value} vs ${value}`);
    t.equal(r.condition.matched, value > threshold, q.question);
    if (r.condition.matched) t.equal(scoreAnswer(r.text, q.question).pirate, 'pirate', `steered: ${r.text}`);
    else t.equal(r.text, plain.text, 'not steered: the plain answer, byte for byte');
    if (r.condition.matched === (questionPoles(q.template, q.claim).cheerful === 'cheerful')) labelled++;
  }
  t.ok(labelled / HELD.length >= 0.9, `the condition agrees with the corpus's cheerful label on ${labelled} of ${HELD.length} questions`);
});

t.test("mode 'all' steers when every condition holds and 'any' when one does; 'below' inverts a condition", async (t) => {
  const conditions = [{ vector: vectors.get('cheerful')! }, { vector: vectors.get('sycophantic')! }];
  let both = 0;
  let either = 0;
  for (const q of HELD) {
    const each = (await checkConditions(ctx, prompt(q.question), conditions)).values.map((v) => v.holds);
    const all = await completeConditional(ctx, prompt(q.question), { conditions, mode: 'all', steer: pirate }, { greedy: true, maxTokens: 8 });
    const any = await checkConditions(ctx, prompt(q.question), conditions, { mode: 'any' });
    const below = await checkConditions(ctx, prompt(q.question), [{ ...conditions[0], when: 'below' }]);
    t.equal(all.condition.matched, each[0] && each[1]);
    t.equal(any.matched, each[0] || each[1]);
    t.equal(below.matched, !each[0]);
    const poles = questionPoles(q.template, q.claim);
    if (poles.cheerful === 'cheerful' && poles.sycophantic === 'sycophantic') both++;
    if (all.condition.matched) either++;
  }
  t.ok(both > 0 && both < HELD.length, `the held-out questions mix both labels (${both} of ${HELD.length} are both)`);
  t.ok(Math.abs(both - either) <= 2, `mode all selects ${either}, the labels say ${both}`);
});

t.test('conditional steering refuses bad conditions with errors naming them', async (t) => {
  const bad = { code: ErrorCodes.INVALID_ARG };
  const p = prompt('Is snow black?');
  await t.rejects(checkConditions(ctx, p, []), { ...bad, message: /conditions must be a non-empty array/ });
  await t.rejects(checkConditions(ctx, p, [{ vector: [1, 2] } as never]), { ...bad, message: /conditions\[0\]\.vector must be a PersonaVector/ });
  const uncalibrated = (await extractPersonaVector(ctx, toySpec('pirate'), { sweep: false })).vector;
  await t.rejects(checkConditions(ctx, p, [{ vector: uncalibrated }]), { ...bad, message: /conditions\[0\]\.threshold must be a number \(the vector records no cap threshold at block \d/ });
  await t.rejects(checkConditions(ctx, p, [{ vector: uncalibrated, threshold: 0, block: 9 }]), { ...bad, message: /conditions\[0\]\.block must be an integer in \[0, 3\]/ });
  await t.rejects(checkConditions(ctx, p, [{ vector: uncalibrated, threshold: 0, when: 'over' as never }]), { ...bad, message: /conditions\[0\]\.when must be one of/ });
  await t.rejects(checkConditions(ctx, p, [{ vector: uncalibrated, threshold: 0 }], { mode: 'most' as never }), { ...bad, message: /options\.mode/ });
  await t.rejects(completeConditional(ctx, p, { conditions: [{ vector: uncalibrated, threshold: 0 }], steer: pirate }, { steer: null } as never), { ...bad, message: /options\.steer must be absent/ });
});
