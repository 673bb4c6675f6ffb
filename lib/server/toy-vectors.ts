// The built-in toy model's three trait vectors (cheerful, sycophantic, pirate), served when
// `persona-steer serve` gets no --model. They are shipped as small control-vector files
// (models/toy-vectors/*.gguf, 2 KiB each) made by this file's script, not extracted at start:
// extraction alone takes half a second per trait, but choosing a coefficient and blocks that
// flip answers without breaking them is a sweep of ~10 s per trait, and the files then carry
// reliable recorded defaults (coefficient, recommended blocks, cap thresholds) for every user.
//
//   node dist/server/toy-vectors.js [--out models/toy-vectors]     remake the files (~40 s)
//
// The making, per trait, with the library's own functions on the toy's training questions
// (never the held-out ones the tests ask):
//   1. extractPersonaVector from the trait's two system prompts (lib/toy: extractToyTrait);
//   2. for every block b, the cap threshold tau_b: the mean projection at the prompt's last
//      token under the neutral system prompt (lib/toy: neutralCap);
//   3. for every block b and coefficient c: answers under the neutral prompt with +c.v and -c.v
//      at b, and under the trait's positive prompt with the cap at tau_b; the score is the worst of
//      (+ rate, 1 - rate under -, negative-pole rate under the cap, well-formed rates); the best
//      (b, c) becomes recommendedBlocks [b], coefficient c and capThresholds [tau_b].
import path from 'node:path';
import type { Context } from '../context';
import { Model } from '../model';
import { cap, personaPlan, steerAdd } from '../persona/steer';
import type { SteerOp, SteeringPlan } from '../steering';
import { DEFAULT_TOY_MODEL, extractToyTrait, neutralCap, trainQuestions, type Q } from '../toy/acceptance';
import { isWellFormed, scoreAnswer } from '../toy/scorer';
import { NEUTRAL_SYSTEM_PROMPT, SYSTEM_PROMPTS, TRAIT_NAMES, TRAIT_POLES, type TraitName } from '../toy/traits';
import { writeControlVector } from '../vector/control-vector-file';
import type { PersonaVector } from '../vector/persona-vector';

export const TOY_MODEL = DEFAULT_TOY_MODEL;
export const TOY_VECTORS_DIR = path.resolve(__dirname, '..', '..', 'models', 'toy-vectors');

/** Questions the extraction reads, and questions the choice of block and coefficient is scored on. */
const EXTRACT_QUESTIONS = 12;
const TUNE_QUESTIONS = 8;
const CAP_QUESTIONS = 64;
const COEFFICIENTS = [0.25, 0.5, 1];
const MAX_TOKENS = 96;

async function poles(ctx: Context, trait: TraitName, system: string, qs: readonly Q[], plan: SteeringPlan | SteerOp[] | null) {
  const out: { pole: string | null; wellFormed: boolean }[] = [];
  for (const q of qs) {
    const r = await ctx.complete({ messages: [{ role: 'system', content: system }, { role: 'user', content: q.question }] },
      { greedy: true, maxTokens: MAX_TOKENS, steer: plan });
    const s = scoreAnswer(r.text, q.question);
    out.push({ pole: s[trait], wellFormed: isWellFormed(s) });
  }
  return out;
}

export interface ToyVectorChoice { trait: TraitName; block: number; coefficient: number; threshold: number; score: number }

/** Extracts one trait's vector and records the block, coefficient and cap threshold that work best. */
export async function makeToyVector(ctx: Context, trait: TraitName): Promise<{ vector: PersonaVector; choice: ToyVectorChoice }> {
  const [pos, neg] = TRAIT_POLES[trait];
  const pushing = (SYSTEM_PROMPTS[trait] as Record<string, string>)[pos]!;
  // Extraction and projections run under the context's plan (a generate({ steer }) leaves its plan
  // in force until issue 11's per-call plans): start from none.
  ctx.setSteering(null);
  const extracted = await extractToyTrait(ctx, trait, trainQuestions(EXTRACT_QUESTIONS), MAX_TOKENS);
  const { thresholds } = await neutralCap(ctx, extracted, trainQuestions(CAP_QUESTIONS), extracted.blocks);
  // Scored on training questions the extraction did not read.
  const tune = trainQuestions(EXTRACT_QUESTIONS + TUNE_QUESTIONS).slice(EXTRACT_QUESTIONS);
  const rate = (a: { pole: string | null }[], p: string) => a.filter((x) => x.pole === p).length / a.length;
  const formed = (a: { wellFormed: boolean }[]) => a.filter((x) => x.wellFormed).length / a.length;
  let best: ToyVectorChoice | null = null;
  for (const block of extracted.blocks) {
    const tau = thresholds.get(block)!;
    const capped = await poles(ctx, trait, pushing, tune, personaPlan([cap(extracted, { max: tau, blocks: [block] })]));
    for (const c of COEFFICIENTS) {
      const up = await poles(ctx, trait, NEUTRAL_SYSTEM_PROMPT, tune, [steerAdd(extracted, c, { blocks: [block] })]);
      const down = await poles(ctx, trait, NEUTRAL_SYSTEM_PROMPT, tune, [steerAdd(extracted, -c, { blocks: [block] })]);
      const score = Math.min(rate(up, pos), rate(down, neg), rate(capped, neg), formed(up), formed(down), formed(capped));
      if (!best || score > best.score) best = { trait, block, coefficient: c, threshold: tau, score };
    }
  }
  const vector = extracted.withMetadata({ recommendedBlocks: [best!.block], coefficient: best!.coefficient, capThresholds: [best!.threshold] });
  return { vector, choice: best! };
}

export async function makeToyVectors(outDir: string, log: (line: string) => void = () => undefined): Promise<ToyVectorChoice[]> {
  const model = await Model.load(TOY_MODEL);
  const ctx = await model.createContext({ contextSize: 512, threads: 1 });
  try {
    const out: ToyVectorChoice[] = [];
    for (const trait of TRAIT_NAMES) {
      const { vector, choice } = await makeToyVector(ctx, trait);
      await writeControlVector(path.join(outDir, `${trait}.gguf`), vector);
      log(`${trait}: block ${choice.block}, coefficient ${choice.coefficient}, cap threshold ${choice.threshold.toFixed(4)} (score ${choice.score.toFixed(2)})`);
      out.push(choice);
    }
    return out;
  } finally {
    await ctx.dispose();
    model.dispose();
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--out');
  const out = i >= 0 && args[i + 1] ? path.resolve(args[i + 1]!) : TOY_VECTORS_DIR;
  makeToyVectors(out, (s) => process.stderr.write(`${s}\n`)).then(() => undefined, (e) => {
    process.stderr.write(`${(e as { code?: string }).code ?? 'ERROR'}: ${(e as Error).message}\n`);
    process.exitCode = 1;
  });
}
