import t from 'tap';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { ErrorCodes, Model, extractPersonaVector, type Context, type ExtractionProgress } from '../../lib/index';
import { gpuLayers, requireModel, stories260K } from '../helpers/models';
import { covariance, topEigenvector } from '../helpers/linalg';
import { dot } from '../helpers/math';
import { storyPairs, storyPromptPairs } from '../helpers/stories';

// The oracle reads every row of every sample with Context.capture and averages in plain
// TypeScript: per sample over its response tokens, then over samples.
const PAIRS = storyPairs(6);
let model: Model;
let ctx: Context;
let embeddingSize: number;
let blockCount: number;

interface SampleRows { start: number; end: number; rows: Map<number, Map<number, Float32Array>> }
const oracleRows: { pos: SampleRows; neg: SampleRows }[] = [];

async function rowsOf(prompt: string, response: string): Promise<SampleRows> {
  const p = model.tokenize(prompt);
  const full = model.tokenize(prompt + response);
  // The fixtures are built so that the prompt tokenizes to a prefix of prompt + response.
  if (!p.every((x, i) => full[i] === x)) throw new Error(`prompt is not a token prefix: ${prompt}`);
  const c = await ctx.capture(full, { blocks: 'all' });
  const rows = new Map<number, Map<number, Float32Array>>();
  for (const b of c.blocks) rows.set(b.block, new Map(Array.from(b.positions, (pos, i) => [pos, b.rows[i]])));
  return { start: p.length, end: full.length, rows };
}

function maskedMean(s: SampleRows, block: number, from: number, to: number): number[] {
  const out = new Array<number>(embeddingSize).fill(0);
  for (let p = from; p < to; p++) {
    const row = s.rows.get(block)!.get(p)!;
    for (let i = 0; i < embeddingSize; i++) out[i] += row[i] / (to - from);
  }
  return out;
}

const mean = (xs: number[][]) => xs[0].map((_, i) => xs.reduce((s, x) => s + x[i], 0) / xs.length);
const sub = (a: number[], b: number[]) => a.map((x, i) => x - b[i]);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const unitOf = (a: ArrayLike<number>) => { const n = Math.sqrt(dot(a, a)); return Array.from(a, (x) => x / n); };

function oracleMeanDiff(block: number, withPrompt = false, at: 'response' | 'last-prompt' = 'response'): number[] {
  const range = (s: SampleRows): [number, number] => (at === 'last-prompt' ? [s.start - 1, s.start] : [withPrompt ? 0 : s.start, s.end]);
  const pos = oracleRows.map((s) => maskedMean(s.pos, block, ...range(s.pos)));
  const neg = oracleRows.map((s) => maskedMean(s.neg, block, ...range(s.neg)));
  return sub(mean(pos), mean(neg));
}

t.before(async () => {
  model = await Model.load(requireModel(stories260K), { gpuLayers });
  embeddingSize = model.info.embeddingSize;
  blockCount = model.info.blockCount;
  ctx = await model.createContext({ contextSize: 256, threads: 1 });
  for (const p of PAIRS) oracleRows.push({ pos: await rowsOf(p.positive.prompt, p.positive.response), neg: await rowsOf(p.negative.prompt, p.negative.response) });
});
t.teardown(async () => {
  await ctx.dispose();
  model.dispose();
});

t.test('mean-diff equals the mean over samples of response-token means, positive minus negative', async (t) => {
  const r = await extractPersonaVector(ctx, { trait: 'happy', samples: PAIRS });
  t.same(r.vector.blocks, [0, 1, 2, 3, 4]);
  for (let b = 0; b < blockCount; b++) {
    const want = oracleMeanDiff(b);
    const scale = Math.max(...want.map(Math.abs));
    t.ok(maxDiff(r.vector.block(b), want) <= 1e-4 * scale, `block ${b}: max diff ${maxDiff(r.vector.block(b), want)} (scale ${scale})`);
    // Averaging the prompt too would give a visibly different vector: the mask matters.
    t.ok(maxDiff(oracleMeanDiff(b, true), want) > 0.05 * scale, `block ${b}: prompt tokens would change the vector`);
  }
});

const LP_PAIRS = storyPromptPairs(PAIRS.length);

t.test('last-prompt extraction is the mean difference of the prompts\' last-token rows, with separation measured there too', async (t) => {
  const rows = [];
  for (const p of LP_PAIRS) rows.push({ pos: await rowsOf(p.positive.prompt, p.positive.response), neg: await rowsOf(p.negative.prompt, p.negative.response) });
  const r = await extractPersonaVector(ctx, { trait: 'happy', samples: LP_PAIRS }, { positions: 'last-prompt' });
  t.equal(r.vector.metadata.method, 'mean-diff/last-prompt');
  for (let b = 0; b < blockCount; b++) {
    const last = (s: SampleRows) => maskedMean(s, b, s.start - 1, s.start);
    const want = sub(mean(rows.map((x) => last(x.pos))), mean(rows.map((x) => last(x.neg))));
    const scale = Math.max(...want.map(Math.abs));
    t.ok(maxDiff(r.vector.block(b), want) <= 1e-4 * scale, `block ${b}: max diff ${maxDiff(r.vector.block(b), want)} (scale ${scale})`);
    const u = unitOf(r.vector.block(b));
    const proj = r.projections.find((p) => p.block === b)!;
    t.ok(maxDiff(proj.positive, rows.map((x) => dot(last(x.pos), u))) < 1e-4, `block ${b}: per-sample projections at the last prompt token`);
  }
});

t.test('last-prompt extraction still measures residual norms over response tokens', async (t) => {
  const a = await extractPersonaVector(ctx, { trait: 'happy', samples: LP_PAIRS }, { positions: 'last-prompt', normSamples: 4 });
  const b = await extractPersonaVector(ctx, { trait: 'happy', samples: LP_PAIRS }, { normSamples: 4 });
  t.same(a.vector.metadata.residualNorms, b.vector.metadata.residualNorms);
});

t.test('last-prompt extraction from pairs with identical prompts is ERR_EXTRACTION, not a zero vector', async (t) => {
  await t.rejects(extractPersonaVector(ctx, { trait: 'happy', samples: PAIRS }, { positions: 'last-prompt' }),
    { code: ErrorCodes.EXTRACTION, message: /no direction at blocks 0, 1, 2, 3, 4/ });
});

t.test('separation statistics come from per-sample mean projections on the unit vector', async (t) => {
  const r = await extractPersonaVector(ctx, { trait: 'happy', samples: PAIRS }, { blocks: [1, 3] });
  for (const s of r.blocks) {
    const u = unitOf(r.vector.block(s.block));
    const pos = oracleRows.map((x) => dot(maskedMean(x.pos, s.block, x.pos.start, x.pos.end), u));
    const neg = oracleRows.map((x) => dot(maskedMean(x.neg, s.block, x.neg.start, x.neg.end), u));
    const proj = r.projections.find((p) => p.block === s.block)!;
    t.ok(maxDiff(proj.positive, pos) < 1e-4 && maxDiff(proj.negative, neg) < 1e-4, `block ${s.block} projections`);
    const mp = pos.reduce((a, x) => a + x, 0) / pos.length;
    const mn = neg.reduce((a, x) => a + x, 0) / neg.length;
    const ss = pos.reduce((a, x) => a + (x - mp) ** 2, 0) + neg.reduce((a, x) => a + (x - mn) ** 2, 0);
    const sd = Math.sqrt(ss / (pos.length + neg.length - 2));
    t.ok(Math.abs(s.gap - (mp - mn)) < 1e-4, `block ${s.block} gap ${s.gap} vs ${mp - mn}`);
    t.ok(Math.abs(s.separation - (mp - mn) / sd) < 1e-3 * Math.abs(s.separation), `block ${s.block} separation ${s.separation} vs ${(mp - mn) / sd}`);
    // For mean-diff the gap along v/|v| is |v| itself.
    t.ok(Math.abs(s.gap - s.vectorNorm) < 1e-4 * s.vectorNorm, 'gap equals the vector norm');
  }
  const best = [...r.blocks].sort((a, b) => b.separation - a.separation)[0].block;
  t.same(r.vector.metadata.recommendedBlocks, [best], 'the recommended block has the highest separation');
});

t.test('metadata records the method, trait, source model, residual norms and coefficient', async (t) => {
  const r = await extractPersonaVector(ctx, { trait: 'happy', description: 'happy vs sad', samples: PAIRS }, { coefficient: 3, normSamples: 4 });
  const md = r.vector.metadata;
  t.equal(md.method, 'mean-diff');
  t.equal(md.trait, 'happy');
  t.equal(md.description, 'happy vs sad');
  t.equal(md.coefficient, 3);
  t.same({ ...md.source, hash: undefined }, { architecture: 'llama', blockCount, embeddingSize, hash: undefined });
  const bytes = fs.readFileSync(stories260K);
  const span = Math.min(bytes.length, 1 << 20);
  const hash = createHash('sha256').update(`${bytes.length}\n`).update(bytes.subarray(0, span)).update(bytes.subarray(bytes.length - span)).digest('hex');
  t.equal(md.source?.hash, `sha256-ends:${hash}`);
  // Residual norms: mean L2 norm over the response tokens of the first 4 samples (pos0, neg0, pos1, neg1).
  const samples = [oracleRows[0].pos, oracleRows[0].neg, oracleRows[1].pos, oracleRows[1].neg];
  t.equal(md.residualNorms?.length, blockCount);
  for (let b = 0; b < blockCount; b++) {
    const norms = samples.flatMap((s) => Array.from({ length: s.end - s.start }, (_, k) => Math.sqrt(dot(s.rows.get(b)!.get(s.start + k)!, s.rows.get(b)!.get(s.start + k)!))));
    const want = norms.reduce((a, x) => a + x, 0) / norms.length;
    t.ok(Math.abs(md.residualNorms![b] - want) < 1e-4 * want, `block ${b}: ${md.residualNorms![b]} vs ${want}`);
  }
});

t.test('pca finds the top principal axis of the centred sample means, signed so positives project higher', async (t) => {
  const r = await extractPersonaVector(ctx, { trait: 'happy', samples: PAIRS }, { method: 'pca' });
  t.equal(r.vector.metadata.method, 'pca');
  for (let b = 0; b < blockCount; b++) {
    const pos = oracleRows.map((x) => maskedMean(x.pos, b, x.pos.start, x.pos.end));
    const neg = oracleRows.map((x) => maskedMean(x.neg, b, x.neg.start, x.neg.end));
    const axis = topEigenvector(covariance([...pos, ...neg])).vector;
    const v = r.vector.block(b);
    const cos = dot(unitOf(v), axis);
    t.ok(Math.abs(Math.abs(cos) - 1) < 1e-4, `block ${b}: |cos| with the oracle axis ${Math.abs(cos)}`);
    const mp = pos.reduce((a, x) => a + dot(x, v), 0) / pos.length;
    const mn = neg.reduce((a, x) => a + dot(x, v), 0) / neg.length;
    t.ok(mp > mn, `block ${b}: positives project higher (${mp} > ${mn})`);
    const gap = dot(sub(mean(pos), mean(neg)), unitOf(v));
    t.ok(Math.abs(Math.sqrt(dot(v, v)) - gap) < 1e-4 * gap, `block ${b}: |v| is the mean gap along the axis`);
  }
});

t.test('the judge keeps only pairs scoring >= 50 positive and < 50 negative', async (t) => {
  // Rejects pair 1 (positive scored 49) and pair 3 (negative scored 50); async like a model judge.
  const judge = async (_q: string, answer: string) => {
    await new Promise((r) => setImmediate(r));
    if (answer === PAIRS[1].positive.response) return 49;
    if (answer === PAIRS[3].negative.response) return 50;
    return answer.includes('happy') ? 90 : 10;
  };
  const r = await extractPersonaVector(ctx, { trait: 'happy', samples: PAIRS }, { judge, blocks: [2] });
  t.same(r.counts, { pairs: 6, kept: 4, empty: 0, rejected: 2 });
  t.same(r.pairs.map((p) => p.kept), [true, false, true, false, true, true]);
  t.same([r.pairs[1].positiveScore, r.pairs[3].negativeScore], [49, 50]);
  const kept = [0, 2, 4, 5].map((i) => oracleRows[i]);
  const want = sub(mean(kept.map((s) => maskedMean(s.pos, 2, s.pos.start, s.pos.end))), mean(kept.map((s) => maskedMean(s.neg, 2, s.neg.start, s.neg.end))));
  t.ok(maxDiff(r.vector.block(2), want) < 1e-4, 'the vector is the mean difference of the kept pairs');
});

t.test('a judge that rejects everything, or scores out of range, is an error', async (t) => {
  await t.rejects(extractPersonaVector(ctx, { trait: 'happy', samples: PAIRS }, { judge: () => 0 }), { code: ErrorCodes.EXTRACTION, message: /6 rejected by the judge/ });
  await t.rejects(extractPersonaVector(ctx, { trait: 'happy', samples: PAIRS }, { judge: () => 101 }), { code: ErrorCodes.INVALID_ARG, message: /options\.judge returned for pairs\[0\]\.positive must be a finite number in \[0, 100\]; received 101/ });
});

t.test('progress is reported per phase and an abort stops extraction with ERR_ABORTED', async (t) => {
  const events: ExtractionProgress[] = [];
  await extractPersonaVector(ctx, { trait: 'happy', samples: PAIRS }, { onProgress: (e) => events.push(e) });
  t.same([...new Set(events.map((e) => e.phase))], ['activations', 'statistics', 'norms']);
  const acts = events.filter((e) => e.phase === 'activations');
  t.same(acts.map((e) => e.done), Array.from({ length: 12 }, (_, i) => i + 1));
  t.ok(acts.every((e) => e.total === 12));
  const ac = new AbortController();
  await t.rejects(extractPersonaVector(ctx, { trait: 'happy', samples: PAIRS }, {
    signal: ac.signal, onProgress: (e) => { if (e.done === 3) ac.abort(); },
  }), { code: ErrorCodes.ABORTED });
});

t.test('a trait spec generates answers under each system prompt, formatted as plain text for a model without a template', async (t) => {
  const spec = {
    name: 'happy', description: 'happy stories',
    pairs: [{ positive: 'Lily was very happy. She smiled and laughed.', negative: 'Lily was very sad. She cried and cried.' }],
    extractionQuestions: ['One day, she went to the park.', 'Then she saw her friend.'],
  };
  await t.rejects(extractPersonaVector(ctx, spec), { code: ErrorCodes.CHAT_TEMPLATE, message: /format: 'plain'/ });
  const r = await extractPersonaVector(ctx, spec, { format: 'plain', generation: { maxTokens: 6, seed: 7 } });
  t.equal(r.counts.pairs, 2);
  t.same(r.pairs.map((p) => [typeof p.pair.positive.prompt === 'object' && p.pair.positive.prompt.system, p.pair.question]),
    [[spec.pairs[0].positive, spec.extractionQuestions[0]], [spec.pairs[0].positive, spec.extractionQuestions[1]]]);
  const first = r.pairs[0].pair.positive;
  t.ok(first.responseTokens!.length >= 1 && first.responseTokens!.length <= 6, 'at most maxTokens tokens per answer');
  // The same seed and prompt reproduce the answer: it was generated from system + "\n\n" + question.
  const again = await ctx.complete(`${spec.pairs[0].positive}\n\n${spec.extractionQuestions[0]}`, { maxTokens: 6, temperature: 1, seed: 7 });
  t.same(again.tokens, Array.from(first.responseTokens!));
  t.equal(r.vector.metadata.trait, 'happy');
  t.equal(r.vector.metadata.description, 'happy stories');
});

t.test('bad input names the argument', async (t) => {
  await t.rejects(extractPersonaVector(ctx, { trait: 'x', samples: [] }), { code: ErrorCodes.INVALID_ARG, message: /input\.samples must be a non-empty array/ });
  await t.rejects(extractPersonaVector(ctx, { trait: 'x', samples: [{ positive: { prompt: 'a', response: '' }, negative: { prompt: 'a', response: 'b' } }] }), /input\.samples\[0\]\.positive\.response must be a non-empty string/);
  await t.rejects(extractPersonaVector(ctx, { trait: 'x', samples: PAIRS }, { methd: 'pca' } as never), /options\.methd/);
  await t.rejects(extractPersonaVector(ctx, { trait: 'x', samples: PAIRS }, { method: 'svd' as never }), /options\.method must be one of "mean-diff", "pca"/);
  await t.rejects(extractPersonaVector(ctx, { trait: 'x', samples: PAIRS }, { positions: 'prompt' as never }), { code: ErrorCodes.INVALID_ARG, message: /options\.positions must be one of "auto", "response", "last-prompt"/ });
  await t.rejects(extractPersonaVector(ctx, { trait: 'x', samples: PAIRS }, { blocks: [5] }), /options\.blocks\[0\] must be an integer in \[0, 4\]/);
  await t.rejects(extractPersonaVector(ctx, { trait: 'x', samples: PAIRS }, { samplesPerQuestion: 2 }), /options\.samplesPerQuestion must be absent/);
  await t.rejects(extractPersonaVector(ctx, { trait: 'x', samples: PAIRS }, { generation: { maxTokens: 5 } }), /options\.generation must be absent/);
  await t.rejects(extractPersonaVector(ctx, { trait: 'x', samples: [{ positive: { prompt: { user: 'q' }, response: 'a' }, negative: { prompt: 'q', response: 'b' } }] }),
    { code: ErrorCodes.CHAT_TEMPLATE }, 'a { system, user } prompt needs a format on a model without a template');
  await t.rejects(extractPersonaVector(ctx, { name: 'x', description: 'y', pairs: [], extractionQuestions: ['q'] } as never), { code: ErrorCodes.BAD_SPEC });
});
