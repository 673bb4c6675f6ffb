// Deterministic, seeded generator of ChatML transcripts for the toy persona model.
// CLI: node dist/toy-model/corpus.js --out FILE --seed N [--n COUNT]   (one JSON object per line;
// npm run build:toy-model compiles it). Reads the toy model's definition from the built library.

import { writeFileSync } from 'node:fs';
import { composeAnswer, type Pick } from './answers';
import { TRAIN_CLAIMS, TRAIN_TEMPLATES, questionPoles, renderQuestion, type Claim } from '../../dist/toy/questions';
import { TRAIT_NAMES, TRAIT_POLES, systemPromptFor, type TraitName, type TraitPoles } from '../../dist/toy/traits';
import { invalidArg } from '../../dist/errors';
import { seededRandom } from '../../dist/seeded-random';

export type PromptKind = 'neutral' | 'single' | 'combined';

export interface CorpusSample {
  system: string;
  user: string;
  assistant: string;
  /** The poles the answer expresses (the generator's ground truth). */
  poles: TraitPoles;
  /** The poles the system prompt asked for (each a fair coin); the other traits lean towards the question's. */
  explicit: Partial<TraitPoles>;
  kind: PromptKind;
  /** The full ChatML transcript, ending with "<|im_end|>\n". */
  text: string;
}

export interface CorpusOptions {
  seed: number;
  /** Number of transcripts; default DEFAULT_CORPUS_SIZE. */
  n?: number;
}

export const DEFAULT_CORPUS_SIZE = 30000;

/**
 * How often a trait the system prompt leaves free takes the pole its question implies: 65% when
 * the question implies the positive pole (cheerful, sycophantic, pirate), 90% when it implies the
 * negative one. The neutral assistant thus leans to the quiet pole (37.5% positive when sampled)
 * while greedy answers still split by question; and the neutral prompt's mean projection on a
 * trait's direction lies on the negative side of the model's decision, which is what makes
 * capping at that mean remove a pushed trait (docs/toy-model.md).
 */
export const QUESTION_LEAN = { positive: 0.65, negative: 0.9 } as const;

export { seededRandom };

export type ChatMessage = { role: 'system' | 'user' | 'assistant'; content: string };

/** ChatML exactly as llama.cpp's template support formats it. */
export function chatml(messages: readonly ChatMessage[], addGenerationPrompt = false): string {
  const body = messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('');
  return addGenerationPrompt ? `${body}<|im_start|>assistant\n` : body;
}

// Share of each prompt kind. Neutral prompts teach the free 50/50 choice; single-trait prompts
// teach each trait's control in isolation; combined prompts teach that controls compose.
const KIND_WEIGHTS: readonly [PromptKind, number][] = [['neutral', 0.3], ['single', 0.36], ['combined', 0.34]];

function drawKind(rand: () => number): PromptKind {
  let r = rand();
  for (const [kind, w] of KIND_WEIGHTS) {
    if (r < w) return kind;
    r -= w;
  }
  return 'combined';
}

function drawExplicitTraits(kind: PromptKind, rand: () => number): TraitName[] {
  if (kind === 'neutral') return [];
  if (kind === 'single') return [TRAIT_NAMES[Math.floor(rand() * 3)]!];
  // Combined: two traits (any of three pairs) or all three, equally often.
  const which = Math.floor(rand() * 4);
  return which === 3 ? [...TRAIT_NAMES] : TRAIT_NAMES.filter((_, i) => i !== which);
}

export function generateSample(rand: () => number): CorpusSample {
  const pick: Pick = (items) => items[Math.floor(rand() * items.length)]!;
  const kind = drawKind(rand);
  const explicitTraits = drawExplicitTraits(kind, rand);
  const claim: Claim = pick(TRAIN_CLAIMS);
  const template = pick(TRAIN_TEMPLATES);
  const user = renderQuestion(template, claim);
  // A trait the prompt names gets a fair coin. A free trait leans towards the pole the question
  // implies (QUESTION_LEAN): enough for greedy answers to split across questions, weak enough
  // that the model's choice stays a small logit margin that a steering vector can tip (a first
  // model trained on a deterministic rule was 15 logits sure and unsteerable).
  const implied = questionPoles(template, claim);
  const poles = {} as TraitPoles;
  for (const t of TRAIT_NAMES) {
    const [a, b] = TRAIT_POLES[t];
    const other = implied[t] === a ? b : a;
    const keep = implied[t] === a ? QUESTION_LEAN.positive : QUESTION_LEAN.negative;
    (poles as Record<TraitName, string>)[t] = rand() < keep ? implied[t] : other;
  }
  const explicit: Partial<TraitPoles> = {};
  for (const t of explicitTraits) {
    const pole = pick(TRAIT_POLES[t]);
    (poles as Record<TraitName, string>)[t] = pole;
    (explicit as Record<TraitName, string>)[t] = pole;
  }
  const system = systemPromptFor(explicit);
  const assistant = composeAnswer(poles, claim, pick);
  const text = chatml([
    { role: 'system', content: system },
    { role: 'user', content: user },
    { role: 'assistant', content: assistant },
  ]);
  return { system, user, assistant, poles, explicit, kind, text };
}

export function generateCorpus(options: CorpusOptions): CorpusSample[] {
  const { seed, n = DEFAULT_CORPUS_SIZE } = options;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw invalidArg('seed', 'an integer in [0, 2^32)', seed);
  if (!Number.isInteger(n) || n < 1) throw invalidArg('n', 'a positive integer', n);
  const rand = seededRandom(seed);
  return Array.from({ length: n }, () => generateSample(rand));
}

function parseArgs(argv: readonly string[]): { out: string; seed: number; n: number } {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) args.set(argv[i]!, argv[i + 1] ?? '');
  const out = args.get('--out');
  if (!out) throw invalidArg('--out', 'a file path', out);
  const seed = Number(args.get('--seed') ?? 'NaN');
  const n = Number(args.get('--n') ?? DEFAULT_CORPUS_SIZE);
  return { out, seed, n };
}

if (require.main === module) {
  const { out, seed, n } = parseArgs(process.argv.slice(2));
  const corpus = generateCorpus({ seed, n });
  writeFileSync(out, corpus.map((s) => JSON.stringify(s)).join('\n') + '\n');
  process.stderr.write(`wrote ${corpus.length} transcripts to ${out} (seed ${seed})\n`);
}
