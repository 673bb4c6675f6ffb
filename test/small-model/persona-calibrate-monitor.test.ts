import t from 'tap';
import {
  Model, calibrateCap, cap, extractPersonaVector, lastPromptProjection, monitorVector, projectionDifference, projectionTrace, withCapThresholds,
  type Context, type PersonaVector,
} from '../../lib/index';
import { gpuLayers, requireModel, stories260K } from '../helpers/models';
import { dot } from '../helpers/math';
import { HAPPY, OPENINGS, SAD, storyPairs } from '../helpers/stories';

const REFERENCE = [
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.',
  'One day, a big dog ran to the tree. The dog was very fast and the cat was scared.',
  'Tom and Sue went to the beach. They built a big sand castle and ate ice cream.',
  'The bird sang a song in the morning. Everyone in the town liked the song.',
];
const BLOCKS = [2, 3];

let model: Model;
let ctx: Context;
let vector: PersonaVector;

const unitOf = (a: ArrayLike<number>) => { const n = Math.sqrt(dot(a, a)); return Array.from(a, (x) => x / n); };

/** Linear interpolation between order statistics, as numpy.percentile does by default. */
function oraclePercentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = ((s.length - 1) * p) / 100;
  const i = Math.floor(pos);
  return i + 1 < s.length ? s[i] + (pos - i) * (s[i + 1] - s[i]) : s[i];
}

/** Per block, the projection h . v/|v| of every captured row at the given positions. */
async function projections(tokens: ArrayLike<number>, keep: (pos: number) => boolean): Promise<Map<number, number[]>> {
  const c = await ctx.capture(Int32Array.from(tokens), { blocks: BLOCKS });
  return new Map(c.blocks.map((b) => {
    const u = unitOf(vector.block(b.block));
    return [b.block, b.rows.flatMap((row, i) => (keep(b.positions[i]) ? [dot(row, u)] : []))];
  }));
}

t.before(async () => {
  model = await Model.load(requireModel(stories260K), { gpuLayers });
  ctx = await model.createContext({ contextSize: 256, threads: 1 });
  vector = (await extractPersonaVector(ctx, { trait: 'happy', samples: storyPairs() })).vector;
});
t.teardown(async () => {
  await ctx.dispose();
  model.dispose();
});
t.beforeEach(() => ctx.setSteering(null));

t.test('calibrateCap takes the percentile of per-token projections on the reference text, BOS left out', async (t) => {
  const cal = await calibrateCap(ctx, vector, REFERENCE, { blocks: BLOCKS });
  t.equal(cal.bound, 'max');
  t.equal(cal.percentile, 75, "a quarter of ordinary tokens above a 'max' threshold by default");
  t.same(cal.blocks, BLOCKS);
  const all = new Map<number, number[]>(BLOCKS.map((b) => [b, []]));
  for (const text of REFERENCE) {
    for (const [b, xs] of await projections(model.tokenize(text), (p) => p > 0)) all.get(b)!.push(...xs);
  }
  BLOCKS.forEach((b, i) => {
    t.equal(cal.counts[i], all.get(b)!.length);
    const want = oraclePercentile(all.get(b)!, 75);
    t.ok(Math.abs(cal.thresholds[i] - want) < 1e-4, `block ${b}: ${cal.thresholds[i]} vs ${want}`);
  });
  const floor = await calibrateCap(ctx, vector, REFERENCE, { blocks: BLOCKS, bound: 'min', percentile: 10 });
  BLOCKS.forEach((b, i) => t.ok(Math.abs(floor.thresholds[i] - oraclePercentile(all.get(b)!, 10)) < 1e-4, `floor at block ${b}`));
});

t.test('a token range limits calibration to those tokens', async (t) => {
  const tokens = model.tokenize(REFERENCE[0]);
  const cal = await calibrateCap(ctx, vector, [{ tokens, start: 5, end: 12 }], { blocks: [3], percentile: 50 });
  const xs = (await projections(tokens, (p) => p >= 5 && p < 12)).get(3)!;
  t.equal(cal.counts[0], 7);
  t.ok(Math.abs(cal.thresholds[0] - oraclePercentile(xs, 50)) < 1e-4);
});

t.test('capping at the calibrated thresholds keeps every projection at or below them', async (t) => {
  const cal = await calibrateCap(ctx, vector, REFERENCE, { blocks: BLOCKS });
  const tokens = model.tokenize(`${OPENINGS[0]}${HAPPY[0]}`);
  const before = await projections(tokens, () => true);
  ctx.setSteering(cap(vector, cal));
  const after = await projections(tokens, () => true);
  BLOCKS.forEach((b, i) => {
    const tau = cal.thresholds[i];
    t.ok(before.get(b)!.some((x) => x > tau + 0.01), `block ${b}: some tokens were above ${tau.toFixed(3)} before`);
    t.ok(after.get(b)!.every((x) => x <= tau + 1e-4), `block ${b}: max after ${Math.max(...after.get(b)!).toFixed(4)}`);
    // Tokens below the threshold at the first capped block are left alone there.
    if (i === 0) before.get(b)!.forEach((x, k) => { if (x < tau - 1e-3) t.ok(Math.abs(after.get(b)![k] - x) < 1e-4); });
  });
});

t.test('thresholds recorded in the metadata cap the same way', async (t) => {
  const cal = await calibrateCap(ctx, vector, REFERENCE, { blocks: BLOCKS });
  const v = withCapThresholds(vector, cal);
  t.same(v.metadata.capBlocks, BLOCKS);
  t.same(v.metadata.recommendedBlocks, vector.metadata.recommendedBlocks, 'the steering recommendation stays');
  t.same(v.metadata.capThresholds, cal.thresholds);
  t.equal(v.metadata.capPositions, 'all', 'thresholds measured over every token apply at every position');
  t.same(cap(v).map((op) => [op.blocks, op.max]), cap(vector, cal).map((op) => [op.blocks, op.max]));
  const floor = await calibrateCap(ctx, vector, REFERENCE, { blocks: BLOCKS, bound: 'min' });
  t.throws(() => withCapThresholds(vector, floor), /calibration\.bound must be 'max'/);
});

t.test('monitored projections streamed with each token equal h . v/|v| at the position that picked it', async (t) => {
  const entry = monitorVector(vector, { blocks: BLOCKS });
  t.equal(entry.name, 'happy', 'named after the trait');
  const prompt = model.tokenize(OPENINGS[1]);
  const r = await ctx.complete(prompt, { greedy: true, maxTokens: 12, stopAtEog: false, monitor: [entry] });
  const seq = [...prompt, ...r.tokens];
  const oracle = await projections(seq, () => true);
  for (const b of BLOCKS) {
    const trace = projectionTrace(r, 'happy', b);
    t.equal(trace.length, 12);
    const want = trace.map((_, k) => oracle.get(b)![prompt.length - 1 + k]);
    // One-token decodes and a whole-sequence decode round differently (the KV cache is F16).
    const worst = Math.max(...trace.map((x, k) => Math.abs(x - want[k])));
    t.ok(worst < 1e-3, `block ${b}: trace matches the captured rows (max diff ${worst})`);
    t.ok(Math.abs(lastPromptProjection(r, 'happy', b) - oracle.get(b)![prompt.length - 1]) < 1e-3, `block ${b}: last prompt token`);
  }
  t.throws(() => projectionTrace(r, 'happy'), /one of the blocks "happy" watches \(2, 3\)/, 'ambiguous without a block');
  t.throws(() => projectionTrace(r, 'sad', 2), /monitored name/);
});

t.test('the projection difference is the dataset response mean projection minus the model response one', async (t) => {
  const samples = [0, 1, 2].map((i) => ({ prompt: OPENINGS[i], response: HAPPY[i], modelResponse: SAD[i] }));
  const r = await projectionDifference(ctx, vector, samples, { blocks: BLOCKS });
  t.same(r.blocks, BLOCKS);
  for (let i = 0; i < samples.length; i++) {
    const start = model.tokenize(OPENINGS[i]).length;
    const happy = await projections(model.tokenize(OPENINGS[i] + HAPPY[i]), (p) => p >= start);
    const sad = await projections(model.tokenize(OPENINGS[i] + SAD[i]), (p) => p >= start);
    BLOCKS.forEach((b, bi) => {
      const m = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
      const want = m(happy.get(b)!) - m(sad.get(b)!);
      t.ok(Math.abs(r.samples[i].deltaP[bi] - want) < 1e-4, `sample ${i} block ${b}: ${r.samples[i].deltaP[bi]} vs ${want}`);
      t.ok(r.samples[i].deltaP[bi] > 0, 'a happy response to a happy-trait vector scores positive');
    });
  }
});

t.test("without a model response, the model's own answer is generated and screened against", async (t) => {
  const r = await projectionDifference(ctx, vector, [{ prompt: OPENINGS[3], response: SAD[3] }], { blocks: [3], generation: { greedy: true, maxTokens: 10 } });
  const own = await ctx.complete(OPENINGS[3], { greedy: true, maxTokens: 10 });
  t.equal(r.samples[0].modelResponse, own.text);
  const prompt = model.tokenize(OPENINGS[3]);
  const ownRows = await projections([...prompt, ...own.tokens], (p) => p >= prompt.length);
  const mean = ownRows.get(3)!.reduce((a, x) => a + x, 0) / own.tokens.length;
  t.ok(Math.abs(r.samples[0].modelProjection[0] - mean) < 1e-4, 'the generated answer is projected');
  const data = (await projections(model.tokenize(OPENINGS[3] + SAD[3]), (p) => p >= prompt.length)).get(3)!;
  const dataMean = data.reduce((a, x) => a + x, 0) / data.length;
  t.ok(Math.abs(r.samples[0].deltaP[0] - (dataMean - mean)) < 1e-4, 'dP is the dataset mean projection minus the own-answer one');
});

t.test('screening and calibration name bad arguments', async (t) => {
  const one = [{ prompt: OPENINGS[0], response: HAPPY[0], modelResponse: SAD[0] }];
  await t.rejects(projectionDifference(ctx, vector.select([1, 2]), one, { blocks: [3] }), /options\.blocks\[0\] must be a block the vector has \(1, 2\); received 3/);
  await t.rejects(projectionDifference(ctx, vector, one, { blocks: [7] }), /options\.blocks\[0\] must be an integer in \[0, 4\]/);
  await t.rejects(projectionDifference(ctx, vector, [{ prompt: OPENINGS[0] } as never]), /samples\[0\]\.response must be a non-empty string/);
  await t.rejects(calibrateCap(ctx, vector, REFERENCE, { percentile: 101 }), /options\.percentile must be a finite number in \[0, 100\]/);
  await t.rejects(calibrateCap(ctx, vector, []), /prompts must be a non-empty array/);
  await t.rejects(calibrateCap(ctx, vector, REFERENCE, { bound: 'both' as never }), /options\.bound must be one of "max", "min"/);
});
