// Behavioural acceptance of the toy persona model (issue 5), measured with the library's own
// extraction, steering, capping and monitoring on held-out questions, greedy decoding.
//   node dist/toy/acceptance.js [--model FILE] [--questions N] [--traits a,b] [--json]
import path from 'node:path';
import { Model, type Context } from '../index';
import { extractPersonaVector, type ExtractionPositions } from '../persona/extract';
import { cap, personaPlan, steerAdd } from '../persona/steer';
import type { PersonaVector } from '../vector/persona-vector';
import { TRAIN_CLAIMS, TRAIN_TEMPLATES, evalQuestions, renderQuestion } from './questions';
import { isWellFormed, scoreAnswer, type TraitScore } from './scorer';
import { NEUTRAL_SYSTEM_PROMPT, SYSTEM_PROMPTS, TRAIT_NAMES, TRAIT_POLES, type TraitName } from './traits';
import type { SteerOp, SteeringPlan } from '../steering';

export const DEFAULT_TOY_MODEL = path.resolve(__dirname, '..', '..', 'models', 'toy-persona.gguf');

export interface AcceptanceOptions {
  /** Held-out questions per condition (default 100, all of them). */
  questions?: number;
  /** Training questions used to extract and to pick the coefficient (default 24). */
  tuneQuestions?: number;
  traits?: TraitName[];
  maxTokens?: number;
  threads?: number;
  /** Tokens the extraction averages (default 'last-prompt'). */
  positions?: ExtractionPositions;
  /** Blocks capped: where the vector separates the poles ('separating', default; see separatingBlocks), the steering blocks, or all. */
  capBlocks?: CapBlocks;
  log?: (line: string) => void;
}

export type CapBlocks = 'separating' | 'steer' | 'all';

/** Training questions that calibrate the cap's threshold (the neutral prompt's mean). */
export const CAP_CALIBRATION_QUESTIONS = 64;

function capBlocksFor(which: CapBlocks, vector: PersonaVector, steer: readonly number[]): number[] {
  if (which === 'steer') return [...steer];
  return which === 'all' ? [...vector.blocks] : separatingBlocks(vector);
}

export interface Rates {
  /** Fraction of answers showing the trait's positive pole. */
  positive: number;
  negative: number;
  wellFormed: number;
}

export interface TraitAcceptance {
  trait: TraitName;
  blocks: number[];
  coefficient: number;
  explicitPositive: Rates;
  explicitNegative: Rates;
  neutral: Rates;
  added: Rates;
  subtracted: Rates;
  cappedUnderPositive: Rates;
  /** Blocks the cap acted on. */
  capBlocks: number[];
  /** Fraction of answers under the opposite prompt that capping changed. */
  cappedOppositeChanged: number;
  /** AUROC of the last-prompt-token projection, positive vs negative system prompt (best block). */
  auroc: number;
  aurocByBlock: { block: number; auroc: number }[];
  /** Largest move (in rate points, 0-100) of another trait's positive rate when this one is steered. */
  crossTraitShift: { trait: TraitName; points: number }[];
}

export interface Q { question: string }

function chat(system: string, user: string) {
  return { messages: [{ role: 'system', content: system }, { role: 'user', content: user }] };
}

async function answers(ctx: Context, system: string, qs: readonly Q[], steer: SteerOp[] | SteeringPlan | null, maxTokens: number): Promise<{ text: string; score: TraitScore }[]> {
  ctx.setSteering(steer);
  const out: { text: string; score: TraitScore }[] = [];
  for (const q of qs) {
    const r = await ctx.complete(chat(system, q.question), { greedy: true, maxTokens });
    out.push({ text: r.text, score: scoreAnswer(r.text, q.question) });
  }
  ctx.setSteering(null);
  return out;
}

function rates(trait: TraitName, a: { score: TraitScore }[]): Rates {
  const [pos, neg] = TRAIT_POLES[trait];
  const n = a.length;
  return {
    positive: a.filter((x) => x.score[trait] === pos).length / n,
    negative: a.filter((x) => x.score[trait] === neg).length / n,
    wellFormed: a.filter((x) => isWellFormed(x.score)).length / n,
  };
}

/** Probability that a random positive scores above a random negative (ties count half). */
export function auroc(pos: ArrayLike<number>, neg: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < pos.length; i++) for (let j = 0; j < neg.length; j++) s += pos[i] > neg[j] ? 1 : pos[i] === neg[j] ? 0.5 : 0;
  return s / (pos.length * neg.length);
}

/** Training-distribution questions (never in the held-out set), for extraction and tuning. */
export function trainQuestions(n: number): Q[] {
  const out: Q[] = [];
  for (let i = 0; out.length < n && i < TRAIN_CLAIMS.length * TRAIN_TEMPLATES.length; i++) {
    const claim = TRAIN_CLAIMS[(i * 7) % TRAIN_CLAIMS.length]!;
    out.push({ question: renderQuestion(TRAIN_TEMPLATES[i % TRAIN_TEMPLATES.length]!, claim) });
  }
  return out;
}

/** Extracts the trait's vector from its two contrastive system prompts with the library's extraction. */
export async function extractToyTrait(ctx: Context, trait: TraitName, questions: Q[], maxTokens: number,
  positions: ExtractionPositions = 'last-prompt'): Promise<PersonaVector> {
  const [pos, neg] = TRAIT_POLES[trait];
  const posPrompt = (SYSTEM_PROMPTS[trait] as Record<string, string>)[pos]!;
  const negPrompt = (SYSTEM_PROMPTS[trait] as Record<string, string>)[neg]!;
  const r = await extractPersonaVector(ctx, {
    name: trait,
    description: `${pos} versus ${neg}`,
    pairs: [{ positive: posPrompt, negative: negPrompt }],
    extractionQuestions: questions.map((q) => q.question),
  }, {
    format: 'chat',
    generation: { greedy: true, maxTokens },
    judge: (q, a) => (scoreAnswer(a, q)[trait] === pos ? 100 : 0),
    recommend: 2,
    positions,
  });
  return r.vector;
}

/**
 * Caps the trait at the neutral prompt's mean: per block, the mean projection at the last prompt
 * token under the neutral system prompt (over `qs`), applied at the prompt's positions. The
 * vector is read where the model decides its persona (the prompt's last token, before the first
 * answer token), so that is where the threshold is measured and where it is applied.
 */
export async function neutralCap(ctx: Context, vector: PersonaVector, qs: readonly Q[], blocks: readonly number[]): Promise<{ plan: SteeringPlan; thresholds: Map<number, number> }> {
  const projections = await lastPromptProjections(ctx, vector, NEUTRAL_SYSTEM_PROMPT, qs, blocks);
  const thresholds = new Map([...projections].map(([b, v]) => [b, v.reduce((s, x) => s + x, 0) / v.length]));
  const plan = personaPlan(blocks.map((b) => cap(vector, { max: thresholds.get(b)!, blocks: [b] })), { positions: 'prompt' });
  return { plan, thresholds };
}

/** Per block, the projection at the prompt's last token under `system`: one value per question, one pass. */
export async function lastPromptProjections(ctx: Context, vector: PersonaVector, system: string, qs: readonly Q[],
  blocks: readonly number[] = vector.blocks): Promise<Map<number, number[]>> {
  const items = qs.map((q) => {
    const tokens = ctx.model.tokenize(ctx.model.applyChatTemplate(chat(system, q.question).messages), { addSpecial: false });
    return { tokens, start: tokens.length - 1, end: tokens.length };
  });
  const res = await ctx.projectionMeans(items, [{ name: 'v', vector, blocks: [...blocks] }]);
  return new Map(res.map((r) => [r.block, Array.from(r.values)]));
}

/**
 * Blocks and coefficient for steering a trait, picked on training questions under the neutral
 * prompt: every single block and all blocks, a ladder of coefficients; best by the worst of
 * (+v rate, 1 - (-v rate), well-formed, 1 - the largest move of another trait's rate), ties to the
 * smaller coefficient.
 */
export async function chooseSteering(ctx: Context, trait: TraitName, vector: PersonaVector, qs: readonly Q[], maxTokens: number): Promise<{ blocks: number[]; coefficient: number; score: number }> {
  const allBlocks = [...vector.blocks];
  const others = TRAIT_NAMES.filter((t) => t !== trait);
  const base = await answers(ctx, NEUTRAL_SYSTEM_PROMPT, qs, null, maxTokens);
  const baseRate = new Map(others.map((t) => [t, rates(t, base).positive]));
  const moved = (a: { score: TraitScore }[]) => Math.max(...others.map((t) => Math.abs(rates(t, a).positive - baseRate.get(t)!)));
  let best = { score: -1, blocks: allBlocks, coefficient: 1 };
  for (const blocks of [...allBlocks.map((b) => [b]), allBlocks]) {
    for (const c of [0.25, 0.5, 1, 1.5, 2, 3, 4]) {
      const upA = await answers(ctx, NEUTRAL_SYSTEM_PROMPT, qs, [steerAdd(vector, c, { blocks })], maxTokens);
      const downA = await answers(ctx, NEUTRAL_SYSTEM_PROMPT, qs, [steerAdd(vector, -c, { blocks })], maxTokens);
      const up = rates(trait, upA);
      const down = rates(trait, downA);
      const score = Math.min(up.positive, 1 - down.positive, up.wellFormed, down.wellFormed, 1 - moved(upA), 1 - moved(downA));
      if (score > best.score) best = { score, blocks, coefficient: c };
    }
  }
  return best;
}

/**
 * The blocks a cap acts on: those where the vector separates the poles, |v_b| at least half the
 * largest. At the first block the last prompt token has barely read the system prompt (a gap
 * of a few units against tens later), and a threshold there sits inside both poles' spread.
 */
export function separatingBlocks(vector: PersonaVector): number[] {
  const norms = vector.blocks.map((b) => Math.hypot(...vector.block(b)));
  const top = Math.max(...norms);
  return vector.blocks.filter((_, i) => norms[i]! >= 0.5 * top);
}

export async function runTraitAcceptance(ctx: Context, trait: TraitName, evalQs: Q[], tuneQs: Q[], maxTokens: number,
  log: (s: string) => void, options: Pick<AcceptanceOptions, 'positions' | 'capBlocks'> = {}): Promise<TraitAcceptance> {
  const [pos, neg] = TRAIT_POLES[trait];
  const posPrompt = (SYSTEM_PROMPTS[trait] as Record<string, string>)[pos]!;
  const negPrompt = (SYSTEM_PROMPTS[trait] as Record<string, string>)[neg]!;
  const vector = await extractToyTrait(ctx, trait, tuneQs, maxTokens, options.positions);
  const allBlocks = [...vector.blocks];

  const { blocks: steerBlocks, coefficient, score } = await chooseSteering(ctx, trait, vector, tuneQs, maxTokens);
  log(`  ${trait}: chose blocks ${steerBlocks.join(',')} and coefficient ${coefficient} (tuning score ${score.toFixed(2)})`);

  const neutralAnswers = await answers(ctx, NEUTRAL_SYSTEM_PROMPT, evalQs, null, maxTokens);
  const negAnswers = await answers(ctx, negPrompt, evalQs, null, maxTokens);
  const added = await answers(ctx, NEUTRAL_SYSTEM_PROMPT, evalQs, [steerAdd(vector, coefficient, { blocks: steerBlocks })], maxTokens);
  const subtracted = await answers(ctx, NEUTRAL_SYSTEM_PROMPT, evalQs, [steerAdd(vector, -coefficient, { blocks: steerBlocks })], maxTokens);

  const capBlocks = capBlocksFor(options.capBlocks ?? 'separating', vector, steerBlocks);
  const { plan: capPlan } = await neutralCap(ctx, vector, trainQuestions(CAP_CALIBRATION_QUESTIONS), capBlocks);
  const cappedPos = await answers(ctx, posPrompt, evalQs, capPlan, maxTokens);
  const cappedNeg = await answers(ctx, negPrompt, evalQs, capPlan, maxTokens);
  const changed = cappedNeg.filter((a, i) => a.text !== negAnswers[i]!.text).length / evalQs.length;

  // AUROC of the last prompt token's projection, per block; the best block is reported.
  const pPos = await lastPromptProjections(ctx, vector, posPrompt, evalQs);
  const pNeg = await lastPromptProjections(ctx, vector, negPrompt, evalQs);
  const aurocByBlock = allBlocks.map((b) => ({ block: b, auroc: auroc(pPos.get(b)!, pNeg.get(b)!) }));

  const crossTraitShift = TRAIT_NAMES.filter((t) => t !== trait).map((t) => {
    const base = rates(t, neutralAnswers).positive;
    const moved = Math.max(Math.abs(rates(t, added).positive - base), Math.abs(rates(t, subtracted).positive - base));
    return { trait: t, points: moved * 100 };
  });

  return {
    trait,
    blocks: steerBlocks,
    coefficient,
    explicitPositive: rates(trait, await answers(ctx, posPrompt, evalQs, null, maxTokens)),
    explicitNegative: rates(trait, negAnswers),
    neutral: rates(trait, neutralAnswers),
    added: rates(trait, added),
    subtracted: rates(trait, subtracted),
    cappedUnderPositive: rates(trait, cappedPos),
    capBlocks,
    cappedOppositeChanged: changed,
    auroc: Math.max(...aurocByBlock.map((a) => a.auroc)),
    aurocByBlock,
    crossTraitShift,
  };
}

export async function runAcceptance(modelPath: string, options: AcceptanceOptions = {}): Promise<TraitAcceptance[]> {
  const log = options.log ?? (() => undefined);
  const maxTokens = options.maxTokens ?? 96;
  const evalQs = evalQuestions().slice(0, options.questions ?? 100);
  const tuneQs = trainQuestions(options.tuneQuestions ?? 16);
  const model = await Model.load(modelPath);
  const ctx = await model.createContext({ contextSize: 512, threads: options.threads ?? 1 });
  try {
    const out: TraitAcceptance[] = [];
    for (const trait of options.traits ?? [...TRAIT_NAMES]) {
      log(`${trait}: extracting and measuring on ${evalQs.length} held-out questions`);
      out.push(await runTraitAcceptance(ctx, trait, evalQs, tuneQs, maxTokens, log, options));
    }
    return out;
  } finally {
    await ctx.dispose();
    model.dispose();
  }
}

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;

export function formatAcceptance(rows: TraitAcceptance[]): string {
  const lines = [
    '| trait | explicit + / − (pole rate) | neutral + | +v | −v | well-formed ±v | capped under + | cap changes under − | AUROC | max cross-trait shift | blocks, coefficient | capped blocks |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    lines.push(`| ${r.trait} | ${pct(r.explicitPositive.positive)} / ${pct(r.explicitNegative.negative)} | ${pct(r.neutral.positive)} | ` +
      `${pct(r.added.positive)} | ${pct(r.subtracted.positive)} | ${pct(Math.min(r.added.wellFormed, r.subtracted.wellFormed))} | ` +
      `${pct(r.cappedUnderPositive.positive)} | ${pct(r.cappedOppositeChanged)} | ${r.auroc.toFixed(3)} | ` +
      `${Math.max(...r.crossTraitShift.map((c) => c.points)).toFixed(0)} pts | ${r.blocks.join(',')}; ${r.coefficient} | ${r.capBlocks.join(',')} |`);
  }
  return lines.join('\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const get = (flag: string) => { const i = args.indexOf(flag); return i >= 0 ? args[i + 1] : undefined; };
  const json = args.includes('--json');
  runAcceptance(get('--model') ?? DEFAULT_TOY_MODEL, {
    questions: get('--questions') ? Number(get('--questions')) : undefined,
    traits: get('--traits') ? (get('--traits')!.split(',') as TraitName[]) : undefined,
    positions: get('--positions') as ExtractionPositions | undefined,
    capBlocks: get('--cap-blocks') as CapBlocks | undefined,
    log: json ? undefined : (s) => process.stderr.write(`${s}\n`),
  }).then((rows) => {
    process.stdout.write(json ? `${JSON.stringify(rows, null, 2)}\n` : `${formatAcceptance(rows)}\n`);
  }, (err) => {
    process.stderr.write(`${err.code ?? 'ERROR'}: ${err.message}\n`);
    process.exit(1);
  });
}
