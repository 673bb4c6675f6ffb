// calibrateCap's defaults for a vector read at the last prompt token (extract's default with a
// spec), on the toy model: measured where the vector was read, on neutral prompts, and applied at
// the prompt's positions. Oracles: captured rows projected here, and the monitored generation.
import t from 'tap';
import fs from 'node:fs';
import {
  Model, calibrateCap, cap, extractPersonaVector, personaPlan, separatingBlocks, withCapThresholds, type Context, type PersonaVector,
} from '../../lib/index';
import { DEFAULT_TOY_MODEL } from '../../lib/toy/model-path';
import { toySpec } from '../../lib/toy/spec';
import { SYSTEM_PROMPTS } from '../../lib/toy/traits';
import { dot } from '../helpers/math';

const MODEL = process.env.PERSONA_STEER_TOY_MODEL ?? DEFAULT_TOY_MODEL;
const spec = toySpec('pirate');
const NEUTRAL = spec.extractionQuestions.map((q) => ({ messages: [{ role: 'user', content: q }] }));

let model: Model;
let ctx: Context;
let vector: PersonaVector;

const unit = (v: PersonaVector, b: number) => { const x = v.block(b); const n = Math.sqrt(dot(x, x)); return Array.from(x, (a) => a / n); };

/** Linear interpolation between order statistics, as numpy.percentile does by default. */
function oraclePercentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = ((s.length - 1) * p) / 100;
  const i = Math.floor(pos);
  return i + 1 < s.length ? s[i] + (pos - i) * (s[i + 1] - s[i]) : s[i];
}

t.before(async () => {
  if (!fs.existsSync(MODEL)) throw new Error(`toy model missing: ${MODEL}`);
  model = await Model.load(MODEL);
  ctx = await model.createContext({ contextSize: 512, threads: 1 });
  vector = (await extractPersonaVector(ctx, spec, { sweep: false })).vector;
});
t.teardown(async () => {
  await ctx.dispose();
  model.dispose();
});

t.test("by default the threshold is the neutral prompts' mean projection at their last token, less a tenth of |v_b|, at the separating blocks", async (t) => {
  t.equal(vector.metadata.method, 'mean-diff/last-prompt', 'a spec extracts at the last prompt token by default');
  const cal = await calibrateCap(ctx, vector, NEUTRAL);
  t.same([cal.statistic, cal.measured, cal.positions, cal.margin, cal.percentile], ['mean', 'last-prompt', 'prompt', 0.1, undefined]);
  t.same(cal.blocks, separatingBlocks(vector));
  const sums = new Map(cal.blocks.map((b) => [b, 0]));
  for (const p of NEUTRAL) {
    const c = await ctx.capture(p, { blocks: cal.blocks, positions: 'last' });
    for (const rows of c.blocks) sums.set(rows.block, sums.get(rows.block)! + dot(rows.rows[0], unit(vector, rows.block)));
  }
  cal.blocks.forEach((b, i) => {
    const x = vector.block(b);
    const want = sums.get(b)! / NEUTRAL.length - 0.1 * Math.sqrt(dot(x, x));
    t.ok(Math.abs(cal.thresholds[i] - want) < 1e-3, `block ${b}: ${cal.thresholds[i]} vs ${want}`);
    t.equal(cal.counts[i], NEUTRAL.length, 'one token per prompt');
  });
});

t.test("positions 'response' measures the model's own greedy answers, at the 75th percentile", async (t) => {
  const prompts = NEUTRAL.slice(0, 3);
  const cal = await calibrateCap(ctx, vector, prompts, { positions: 'response', blocks: [3], maxTokens: 16 });
  t.same([cal.statistic, cal.percentile, cal.measured, cal.positions, cal.margin], ['percentile', 75, 'response', 'all', 0]);
  const values: number[] = [];
  for (const p of prompts) {
    const tokens = ctx.tokens(p);
    const r = await ctx.complete(tokens, { greedy: true, maxTokens: 16, steer: null });
    const c = await ctx.capture(Int32Array.from([...tokens, ...r.tokens]), { blocks: [3] });
    c.blocks[0].rows.forEach((row, k) => { if (c.blocks[0].positions[k] >= tokens.length) values.push(dot(row, unit(vector, 3))); });
  }
  t.equal(cal.counts[0], values.length);
  t.ok(Math.abs(cal.thresholds[0] - oraclePercentile(values, 75)) < 1e-3, `${cal.thresholds[0]} vs ${oraclePercentile(values, 75)}`);
});

t.test("the recorded cap holds the pushed prompt's last token at or below each threshold, at the prompt's positions", async (t) => {
  const v = withCapThresholds(vector, await calibrateCap(ctx, vector, NEUTRAL));
  const md = v.metadata;
  const plan = personaPlan([cap(v)]);
  t.equal(plan.positions, 'prompt');
  const p = { messages: [{ role: 'system', content: SYSTEM_PROMPTS.pirate.pirate }, { role: 'user', content: 'Is it true that snow is black?' }] };
  const monitor = [{ name: 'v', vector: v, blocks: [...md.capBlocks!] }];
  const free = await ctx.complete(p, { greedy: true, maxTokens: 4, steer: null, monitor });
  const capped = await ctx.complete(p, { greedy: true, maxTokens: 4, steer: plan, monitor });
  md.capBlocks!.forEach((b, i) => {
    const before = free.lastPromptProjections.find((x) => x.block === b)!.value;
    const after = capped.lastPromptProjections.find((x) => x.block === b)!.value;
    t.ok(after <= md.capThresholds![i] + 1e-3, `block ${b}: ${after} <= ${md.capThresholds![i]}`);
    if (i === md.capBlocks!.length - 1) t.ok(before > md.capThresholds![i], 'the pushing prompt was above it uncapped');
  });
});

t.test('calibrateCap checks its new options', async (t) => {
  await t.rejects(calibrateCap(ctx, vector, NEUTRAL, { positions: 'first' as never }), /options\.positions must be one of "last-prompt", "response", "all"/);
  await t.rejects(calibrateCap(ctx, vector, NEUTRAL, { statistic: 'mean', percentile: 50 }), /options\.percentile must be absent with statistic 'mean'/);
  await t.rejects(calibrateCap(ctx, vector, NEUTRAL, { maxTokens: 8 }), /options\.maxTokens must be absent unless positions is 'response'/);
  await t.rejects(calibrateCap(ctx, vector, NEUTRAL, { margin: -1 }), /options\.margin must be a finite number in \[0, 10\]/);
});
