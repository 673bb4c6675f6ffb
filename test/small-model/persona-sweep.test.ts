// sweepSteering on the toy model: what each cell reports, checked against the repository's
// scorer (trait), the model's own logits (perplexity) and the vector's geometry (units).
import t from 'tap';
import fs from 'node:fs';
import { ErrorCodes, Model, extractPersonaVector, sweepSteering, type Context, type ExtractionResult, type SweepResult } from '../../lib/index';
import { DEFAULT_TOY_MODEL } from '../../lib/toy/model-path';
import { toySpec, trainQuestions } from '../../lib/toy/spec';
import { scoreAnswer } from '../../lib/toy/scorer';
import { dot } from '../helpers/math';

const MODEL = process.env.PERSONA_STEER_TOY_MODEL ?? DEFAULT_TOY_MODEL;
// Training questions the extraction did not see (it saw the first 12).
const QUESTIONS = trainQuestions(20).slice(12).map((q) => q.question);

let model: Model;
let ctx: Context;
let extracted: ExtractionResult;
let sweep: SweepResult;

t.before(async () => {
  if (!fs.existsSync(MODEL)) throw new Error(`toy model missing: ${MODEL}`);
  model = await Model.load(MODEL);
  ctx = await model.createContext({ contextSize: 512, threads: 1 });
  extracted = await extractPersonaVector(ctx, toySpec('pirate'), { sweep: false });
  sweep = await sweepSteering(ctx, extracted.vector, {
    questions: QUESTIONS, blocks: [1, [3]], coefficients: [0.5, 2], references: extracted.pairs.map((p) => p.pair),
  });
});
t.teardown(async () => {
  await ctx.dispose();
  model.dispose();
});

const cells = () => sweep.settings.flatMap((s) => [s.up, s.down!]);
const scorerRate = (answers: string[]) => answers.filter((a, i) => scoreAnswer(a, QUESTIONS[i]).pirate === 'pirate').length / answers.length;

t.test('every (blocks, coefficient) setting is tried with +c and -c at the positions the vector was read for', async (t) => {
  t.same(sweep.settings.map((s) => [s.blocks, s.coefficient, s.positions]), [[[1], 0.5, 'prompt'], [[1], 2, 'prompt'], [[3], 0.5, 'prompt'], [[3], 2, 'prompt']]);
  t.same(sweep.settings.map((s) => [s.up.coefficient, s.down!.coefficient]), [[0.5, -0.5], [2, -2], [0.5, -0.5], [2, -2]]);
  t.ok(cells().every((c) => c.answers.length === QUESTIONS.length));
  t.equal(sweep.measure.kind, 'projection');
});

t.test("the projection measure agrees with the scorer's pirate rate on every cell, within one answer", async (t) => {
  for (const c of [sweep.baseline, ...cells()]) {
    const want = scorerRate(c.answers);
    t.ok(Math.abs(c.rate - want) <= 1 / QUESTIONS.length + 1e-9, `coefficient ${c.coefficient}: measured ${c.rate}, scorer ${want}`);
  }
  const pick = sweep.best!;
  t.ok(pick.up.rate >= 0.9 && pick.down!.rate <= 0.1, 'the pick steers both ways');
});

t.test("a cell's perplexity is the unsteered model's, computed from its logits over the answer", async (t) => {
  let sum = 0;
  for (const q of QUESTIONS) {
    const prompt = model.tokenize(model.applyChatTemplate([{ role: 'user', content: q }], { addAssistant: true }), { addSpecial: false });
    const r = await ctx.complete(prompt, { greedy: true, maxTokens: 64, steer: null });
    const tokens = Int32Array.from([...prompt, ...r.tokens]);
    const { logits } = await ctx.logits(tokens, { all: true });
    const V = model.info.vocabularySize;
    let nll = 0;
    for (let i = prompt.length; i < tokens.length; i++) {
      const row = logits.subarray((i - 1) * V, i * V);
      const z = row.reduce((a, x) => a + Math.exp(x), 0);
      nll -= Math.log(Math.exp(row[tokens[i]]) / z);
    }
    sum += nll / r.tokens.length;
  }
  const want = sum / QUESTIONS.length;
  t.ok(Math.abs(sweep.baseline.nll - want) < 1e-4, `${sweep.baseline.nll} vs ${want}`);
  t.ok(Math.abs(sweep.baseline.perplexity - Math.exp(want)) < 1e-3);
});

t.test('coefficients are reported raw and relative to the block residual norm', async (t) => {
  const v = extracted.vector;
  for (const s of sweep.settings) {
    const b = s.blocks[0];
    const len = Math.sqrt(dot(v.block(b), v.block(b)));
    t.same(s.up.raw, [s.coefficient]);
    t.ok(Math.abs(s.up.relative![0] - (s.coefficient * len) / v.metadata.residualNorms![b]) < 1e-9, `block ${b}`);
  }
});

t.test('coherence compares each cell with the references, and the pick is a best-scoring coherent setting', async (t) => {
  for (const c of cells()) {
    t.equal(c.coherent, c.nll <= 1.25 * sweep.reference.nll && c.repetition <= sweep.reference.repetition + 0.2);
  }
  t.same(sweep.limits, { nll: 1.25 * sweep.reference.nll, repetition: sweep.reference.repetition + 0.2 });
  for (const c of cells()) {
  }
  const top = Math.max(...sweep.settings.filter((s) => s.coherent).map((s) => s.score));
  t.ok(sweep.best && sweep.best.coherent && sweep.best.score === top);
  t.same(sweep.recommendation, { blocks: sweep.best!.blocks, coefficient: sweep.best!.coefficient, positions: 'prompt' });
});

t.test('a judge replaces the projection measure: the rate is the share of answers it scores at 50 or more', async (t) => {
  const seen: string[] = [];
  const r = await sweepSteering(ctx, extracted.vector, {
    questions: QUESTIONS.slice(0, 4), blocks: [3], coefficients: [1],
    judge: (q, a) => { seen.push(q); return scoreAnswer(a, q).pirate === 'pirate' ? 100 : 0; },
  });
  t.equal(r.measure.kind, 'judge');
  t.same([...new Set(seen)].sort(), QUESTIONS.slice(0, 4).sort(), 'the judge gets the questions');
  for (const c of [r.baseline, r.settings[0].up, r.settings[0].down!]) t.equal(c.rate, scorerRate(c.answers));
});

t.test('a relative coefficient steers as the raw coefficient it converts to', async (t) => {
  const v = extracted.vector;
  const b = 3;
  const len = Math.sqrt(dot(v.block(b), v.block(b)));
  const rel = len / v.metadata.residualNorms![b]; // raw 1
  const refs = extracted.pairs.map((p) => p.pair);
  const questions = QUESTIONS.slice(0, 3);
  const relative = await sweepSteering(ctx, v, { questions, blocks: [b], coefficients: [rel], units: 'relative', references: refs });
  const raw = await sweepSteering(ctx, v, { questions, blocks: [b], coefficients: [1], references: refs });
  t.equal(relative.units, 'relative');
  t.ok(Math.abs(relative.settings[0].up.raw[0] - 1) < 1e-9, 'reported raw coefficient');
  t.same(relative.settings[0].up.answers, raw.settings[0].up.answers);
  t.same(relative.settings[0].down!.answers, raw.settings[0].down!.answers);
  t.ok(Math.abs(relative.recommendation!.coefficient - 1) < 1e-9, 'a one-block relative pick is recorded as its raw coefficient');
});

t.test('a context with several sequences sweeps the same answers, decoded together', async (t) => {
  const wide = await model.createContext({ contextSize: 512, threads: 1, sequences: 4 });
  try {
    const options = { questions: QUESTIONS.slice(0, 4), blocks: [3], coefficients: [2], references: extracted.pairs.map((p) => p.pair) };
    const a = await sweepSteering(ctx, extracted.vector, options);
    const b = await sweepSteering(wide, extracted.vector, options);
    for (const k of ['up', 'down'] as const) {
      t.same(b.settings[0][k]!.answers, a.settings[0][k]!.answers, k);
      t.ok(Math.abs(b.settings[0][k]!.nll - a.settings[0][k]!.nll) < 1e-4);
    }
    t.same(b.baseline.answers, a.baseline.answers);
  } finally {
    await wide.dispose();
  }
});

t.test('bad sweeps are refused with errors naming the option', async (t) => {
  const v = extracted.vector;
  const bad = { code: ErrorCodes.INVALID_ARG };
  await t.rejects(sweepSteering(ctx, v, { questions: QUESTIONS }), { ...bad, message: /options must be a judge or references/ });
  await t.rejects(sweepSteering(ctx, v, { questions: [], judge: () => 0 }), { ...bad, message: /options\.questions must be a non-empty array/ });
  await t.rejects(sweepSteering(ctx, v, { questions: QUESTIONS, judge: () => 0, coefficients: [-1] }), { ...bad, message: /options\.coefficients\[0\] must be a number > 0 \(a symmetric sweep/ });
  await t.rejects(sweepSteering(ctx, v, { questions: QUESTIONS, judge: () => 0, blocks: [[9]] }), { ...bad, message: /options\.blocks\[0\]\[0\] must be an integer in \[0, 3\]/ });
  await t.rejects(sweepSteering(ctx, v, { questions: QUESTIONS, judge: () => 0, positions: 'last' as never }), { ...bad, message: /options\.positions must be one of/ });
  await t.rejects(sweepSteering(ctx, v, { questions: QUESTIONS, judge: () => 0, sets: [] } as never), { ...bad, message: /options\.sets/ });
  await t.rejects(sweepSteering(ctx, v, { questions: QUESTIONS.slice(0, 1), blocks: [3], coefficients: [1], judge: () => 101 }), { ...bad, message: /options\.judge returned for question 0 must be a finite number in \[0, 100\]/ });
  const ac = new AbortController();
  ac.abort();
  await t.rejects(sweepSteering(ctx, v, { questions: QUESTIONS, judge: () => 0, signal: ac.signal }), { code: ErrorCodes.ABORTED });
});
